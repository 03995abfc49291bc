"""Index benchmark: bulk-load N synthetic civil-status entries, then time lookups.

    .venv/bin/python benchmarks/bench_index.py                 # 1,000,000 entries, SQLite
    .venv/bin/python benchmarks/bench_index.py --n 100000 --postgres postgresql://user@host/db

Entries are birth-register entries with Vietnamese names, 12-digit personal ids
and birth dates, `--per-page` entries to a registry page (one result per page),
500 entries to a book. Reports load rate and p50/p95 latency of
  so_dinh_danh      exact id lookup
  name+birthdate    ho_ten (tone-folded) + ngay_sinh
  book+so           entry number in a book
  fulltext name     search("nguyen van an"-style folded full name), limit 20
The PostgreSQL tables are dropped and recreated: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.index.sqlite import SqliteIndex  # noqa: E402
from digitize.text import fold  # noqa: E402
from digitize.types import Result  # noqa: E402

FAMILY = (
    ["Nguyễn"] * 38
    + ["Trần"] * 11
    + ["Lê"] * 10
    + ["Phạm"] * 7
    + ["Hoàng"] * 5
    + ["Huỳnh"] * 5
    + ["Phan"] * 5
    + ["Vũ"] * 4
    + ["Võ"] * 4
    + ["Đặng"] * 2
    + ["Bùi"] * 2
    + ["Đỗ"] * 2
    + ["Hồ"] * 2
    + ["Ngô", "Dương", "Lý", "Đinh", "Trương", "Lương", "Mai", "Cao", "Tạ", "Đoàn"]
)
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Công", "Xuân", "Ngọc", "Trọng", "Gia", "Anh"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Kim", "Thanh", "Minh", "Bích", "Mai", "Thùy", "Hồng", "Phương", "Diệu"]
GIVEN_M = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Đức",
    "Giang",
    "Hải",
    "Hùng",
    "Huy",
    "Khang",
    "Khoa",
    "Kiên",
    "Long",
    "Lâm",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phong",
    "Phúc",
    "Quân",
    "Quang",
    "Sơn",
    "Tài",
    "Thành",
    "Thắng",
    "Tiến",
    "Toàn",
    "Trung",
    "Tuấn",
    "Việt",
    "Vinh",
    "Hoàng",
    "Hiếu",
    "Duy",
    "Bảo",
]
GIVEN_F = [
    "An",
    "Anh",
    "Chi",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hoa",
    "Hương",
    "Huyền",
    "Lan",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Ngọc",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Thảo",
    "Trang",
    "Trâm",
    "Uyên",
    "Vân",
    "Yến",
    "Thư",
    "Hiền",
    "Nhi",
    "Diệp",
    "Hồng",
    "Tâm",
    "Vy",
]
PLACES = [
    "Hà Nội",
    "Thành phố Hồ Chí Minh",
    "Hải Phòng",
    "Đà Nẵng",
    "Cần Thơ",
    "Nghệ An",
    "Thanh Hóa",
    "Thái Bình",
    "Nam Định",
    "Huế",
    "Quảng Ninh",
    "Bắc Ninh",
    "Đồng Nai",
    "Bình Dương",
    "Lâm Đồng",
]
PROVINCES = ["001", "031", "038", "040", "046", "048", "079", "092", "036", "034", "022", "027", "075", "074"]
BOOK_SIZE = 500


def entry(i: int, rng: random.Random) -> dict[str, str]:
    female = rng.random() < 0.49
    name = " ".join(
        [rng.choice(FAMILY), rng.choice(MIDDLE_F if female else MIDDLE_M), rng.choice(GIVEN_F if female else GIVEN_M)]
    )
    year = rng.randint(1950, 2024)
    dob = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}"
    century = (year // 100 - 19) * 2 + (1 if female else 0)
    sdd = f"{rng.choice(PROVINCES)}{century}{year % 100:02d}{i % 1_000_000:06d}"
    mother = " ".join([rng.choice(FAMILY), "Thị", rng.choice(GIVEN_F)])
    return {
        "so": str(i % BOOK_SIZE + 1),
        "ho_ten": name.upper(),
        "ngay_sinh": dob,
        "gioi_tinh": "Nữ" if female else "Nam",
        "dan_toc": "Kinh",
        "quoc_tich": "Việt Nam",
        "noi_sinh": rng.choice(PLACES),
        "so_dinh_danh": sdd,
        "ho_ten_me": mother,
        "nam_sinh_me": str(year - rng.randint(18, 40)),
        "noi_dang_ky": "UBND " + rng.choice(PLACES),
    }


def book_of(i: int) -> str:
    return f"KS-{i // BOOK_SIZE:05d}"


def results(n: int, per_page: int, seed: int) -> Iterator[tuple[dict[str, Any], list[dict[str, str]]]]:
    rng = random.Random(seed)
    for start in range(0, n, per_page):
        rows = [entry(i, rng) for i in range(start, min(n, start + per_page))]
        # keep a page inside one book
        text = "SỔ ĐĂNG KÝ KHAI SINH\n" + "\n".join(
            f"{r['so']} {r['ho_ten']} {r['ngay_sinh']} {r['gioi_tinh']} {r['noi_sinh']} {r['so_dinh_danh']}"
            for r in rows
        )
        yield (
            {
                "id": f"bench-{start:08d}",
                "book": book_of(start),
                "source": {"name": f"page{start}.jpg", "sha256": "0" * 64, "pages": 1},
                "pages": [{"number": 1, "text": text, "confidence": 0.95}],
                "records": [
                    {"doc_type": "khai_sinh", "page": 1, "fields": r, "confidence": {}, "needs_review": []}
                    for r in rows
                ],
                "pdf": None,
                "created_at": "2026-11-23T10:00:00+07:00",
                "agency": "bench",
                "version": 1,
                "keys": {},
            },
            rows,
        )


def load(index: Any, n: int, per_page: int, seed: int, batch: int, samples: int) -> tuple[float, list[dict]]:
    """Bulk-load; return seconds and a sample of entries (with book) for the queries."""
    rng = random.Random(seed + 1)
    wanted = set(rng.sample(range(n), min(samples, n)))
    picked: list[dict] = []
    buffer: list[Result] = []
    started = time.perf_counter()
    done = 0
    for result, rows in results(n, per_page, seed):
        for k, r in enumerate(rows):
            if done + k in wanted:
                picked.append({**r, "book": result["book"]})
        done += len(rows)
        buffer.append(Result.from_dict(result))
        if len(buffer) * per_page >= batch:
            index.upsert_many(buffer)
            buffer = []
            if done % (batch * 50) < batch:
                rate = done / (time.perf_counter() - started)
                print(f"  loaded {done:>9,} entries  {rate:>8,.0f}/s", file=sys.stderr, flush=True)
    if buffer:
        index.upsert_many(buffer)
    return time.perf_counter() - started, picked


def timed(
    fn: Callable[[dict], list], sample: list[dict], check: Callable[[dict, list], bool]
) -> tuple[float, float, int]:
    times, misses = [], 0
    for e in sample:
        t = time.perf_counter()
        hits = fn(e)
        times.append((time.perf_counter() - t) * 1000)
        misses += not check(e, hits)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], misses


def run(name: str, index: Any, args: argparse.Namespace) -> list[tuple]:
    print(f"[{name}] loading {args.n:,} entries ...", file=sys.stderr, flush=True)
    seconds, sample = load(index, args.n, args.per_page, args.seed, args.batch, args.queries)
    if hasattr(index, "_connection"):
        index._connection().execute("ANALYZE")
    elif hasattr(index, "_run"):
        index._run(lambda c: c.execute("ANALYZE"))
    rows = [(name, "bulk load", f"{args.n / seconds:,.0f} entries/s", f"{seconds:.1f} s total", "")]
    queries = {
        "so_dinh_danh": (
            lambda e: index.search(so_dinh_danh=e["so_dinh_danh"], limit=5),
            lambda e, h: any(x["fields"]["so_dinh_danh"] == e["so_dinh_danh"] for x in h),
        ),
        "name+birthdate": (
            lambda e: index.search(ho_ten=fold(e["ho_ten"]), ngay_sinh=e["ngay_sinh"], limit=20),
            lambda e, h: any(x["fields"]["so_dinh_danh"] == e["so_dinh_danh"] for x in h),
        ),
        "book+so": (
            lambda e: index.search(book=e["book"], so=e["so"], limit=5),
            lambda e, h: any(x["fields"]["so_dinh_danh"] == e["so_dinh_danh"] for x in h),
        ),
        "fulltext name": (lambda e: index.search(fold(e["ho_ten"]), limit=20), lambda e, h: len(h) > 0),
    }
    for label, (fn, check) in queries.items():
        fn(sample[0])  # warm
        p50, p95, misses = timed(fn, sample, check)
        rows.append((name, label, f"p50 {p50:.2f} ms", f"p95 {p95:.2f} ms", f"{misses} misses" if misses else ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="entries to generate (default 1,000,000)")
    parser.add_argument("--per-page", type=int, default=10, help="entries per registry page / result")
    parser.add_argument("--batch", type=int, default=5000, help="entries per load transaction")
    parser.add_argument("--queries", type=int, default=300, help="lookups of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite", type=Path, help="SQLite file (default: a new temporary file)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--postgres", help="postgresql:// URL of a scratch database")
    args = parser.parse_args(argv)

    table: list[tuple] = []
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        if not args.no_sqlite:
            path = args.sqlite or Path(tmp) / "index.sqlite3"
            if path.exists():
                sys.exit(f"{path} exists; give a new file")
            index = SqliteIndex(path)
            table += run("sqlite", index, args)
            index.close()
            size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            table.append(("sqlite", "file size", f"{size / 1e6:,.0f} MB", "", ""))
        if args.postgres:
            import psycopg

            from digitize.index.postgres import PostgresIndex

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute("DROP TABLE IF EXISTS people, records, results CASCADE")
            index = PostgresIndex(args.postgres)
            table += run("postgres", index, args)
            size = index._run(lambda c: c.execute("SELECT pg_database_size(current_database())").fetchone()[0])
            table.append(("postgres", "database size", f"{size / 1e6:,.0f} MB", "", ""))
            index.close()

    print(f"\n{args.n:,} entries, {args.per_page} per page, {args.queries} queries of each kind")
    widths = [max(len(str(r[i])) for r in table) for i in range(5)]
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
