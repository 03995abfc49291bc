"""Trust anchors, revocation data and the check before signing.

`Trust` is the configured trust store (the Vietnamese national root and Ban Cơ
yếu's roots in production, DIGITIZE_TRUST_ROOTS; the development CA by default)
plus where revocation data comes from: fetched online from the certificates'
OCSP responders and CRL distribution points (production), and/or supplied
locally (the development CA's in-process CRL; nothing is fetched then).

`check_signer` is the check Nghị định 23/2025 art. 15 asks for before every
signature: the signer's own certificate valid now, chaining to a trust anchor
and not revoked; otherwise one clear `SigningError` line, and nothing is signed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import SigningError
from .base import common_name

__all__ = ["Trust", "check_signer", "load_pem_bundle"]


@dataclass(frozen=True)
class Trust:
    roots: tuple[Any, ...]  # asn1crypto certificates
    other_certs: tuple[Any, ...] = ()
    local_crls: Callable[[], Sequence[bytes]] | None = None  # DER CRLs known without fetching
    fetch: bool = False  # fetch OCSP responses / CRLs from the URLs in the certificates
    extra: dict[str, Any] = field(default_factory=dict)

    def context(
        self, *, moment: datetime | None = None, revocation_mode: str = "hard-fail", fetch: bool | None = None
    ) -> Any:
        """A fresh pyHanko ValidationContext (fresh local CRLs; new fetchers)."""
        from pyhanko_certvalidator import ValidationContext

        fetching = self.fetch if fetch is None else fetch
        kwargs: dict[str, Any] = {}
        if fetching:
            from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

            kwargs["fetcher_backend"] = RequestsFetcherBackend(per_request_timeout=10)
        crls = list(self.local_crls()) if self.local_crls else []
        return ValidationContext(
            trust_roots=list(self.roots),
            other_certs=list(self.other_certs),
            crls=crls,
            allow_fetching=fetching,
            revocation_mode=revocation_mode,
            moment=moment,
            **kwargs,
        )


def load_pem_bundle(data: bytes) -> list[Any]:
    from .verify import load_certificates

    return load_certificates([data])


def check_signer(cert: Any, chain: Sequence[Any], trust: Trust | None, now: datetime | None = None) -> None:
    """Refuse (SigningError, one line) a signer certificate that is not valid now,
    does not reach a trust anchor, or is revoked. `trust` None: validity dates only."""
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import (
        ExpiredError,
        InsufficientRevinfoError,
        NotYetValidError,
        PathBuildingError,
        PathValidationError,
        RevokedError,
    )

    now = now or datetime.now(timezone.utc)
    name = repr(common_name(cert))
    validity = cert["tbs_certificate"]["validity"]
    start, end = validity["not_before"].native, validity["not_after"].native
    if now < start:
        raise SigningError(f"signing certificate {name} is not valid before {start:%d/%m/%Y %H:%M:%S} UTC; not signing")
    if now > end:
        raise SigningError(f"signing certificate {name} expired on {end:%d/%m/%Y %H:%M:%S} UTC; not signing")
    if trust is None:
        return
    from .base import run_sync

    validator = CertificateValidator(cert, intermediate_certs=list(chain), validation_context=trust.context(moment=now))
    try:
        run_sync(validator.async_validate_usage(set()))
    except RevokedError as exc:
        raise SigningError(f"signing certificate {name} is revoked ({_one_line(exc)}); not signing") from None
    except (ExpiredError, NotYetValidError) as exc:
        raise SigningError(f"signing certificate {name} is not valid now ({_one_line(exc)}); not signing") from None
    except PathBuildingError:
        raise SigningError(
            f"signing certificate {name} does not chain to a configured trust anchor; not signing"
        ) from None
    except InsufficientRevinfoError as exc:
        raise SigningError(
            f"revocation status of signing certificate {name} unknown ({_one_line(exc)}); not signing"
        ) from None
    except PathValidationError as exc:
        raise SigningError(f"signing certificate {name} not valid: {_one_line(exc)}; not signing") from None


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or exc.__class__.__name__)[:200]
