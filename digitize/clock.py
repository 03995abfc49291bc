"""Vietnam time: every timestamp digitize writes (results, signatures, audit,
exports) is in it, written with its +07:00 offset."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving since 1975), so a fixed
# offset is exact and needs no tz database.
VN_TZ = timezone(timedelta(hours=7), "ICT")


def now_vn() -> datetime:
    """The current time in Vietnam, to the second."""
    return datetime.now(VN_TZ).replace(microsecond=0)
