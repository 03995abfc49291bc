"""Search index backends: SQLite and a real PostgreSQL server, same tests for both."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from digitize.config import Settings
from digitize.errors import IndexError_
from digitize.index import SqliteIndex, make_index
from digitize.types import Result

pytest_plugins = ["conftest_servers"]


def result(
    rid: str,
    records: list[dict[str, Any]],
    pages: list[str] | None = None,
    *,
    book: str | None = None,
    created_at: str = "2026-11-23T10:00:00+07:00",
) -> Result:
    pages = pages if pages is not None else [""]
    out: dict[str, Any] = {
        "id": rid,
        "source": {"name": f"{rid}.jpg", "sha256": "0" * 64, "pages": len(pages)},
        "pages": [{"number": i + 1, "text": t, "confidence": 0.9} for i, t in enumerate(pages)],
        "records": [
            {
                "doc_type": r.pop("doc_type", "khai_sinh"),
                "page": r.pop("page", 1),
                "fields": r,
                "confidence": {},
                "needs_review": [],
            }
            for r in records
        ],
        "pdf": None,
        "created_at": created_at,
        "agency": "dev",
        "version": 1,
        "keys": {},
    }
    if book is not None:
        out["book"] = book
    return Result.from_dict(out)


def birth(rid: str, name: str, sdd: str, dob: str, **extra: str) -> Result:
    fields = {"ho_ten": name, "ngay_sinh": dob, "so_dinh_danh": sdd, "gioi_tinh": "Nam", **extra}
    text = f"GIẤY KHAI SINH\nHọ, chữ đệm, tên: {name}\nNgày, tháng, năm sinh: {dob}\nSố định danh cá nhân: {sdd}"
    return result(rid, [fields], [text])


@pytest.fixture
def sqlite_index(tmp_path: Path):
    index = SqliteIndex(tmp_path / "index.sqlite3")
    yield index
    index.close()


@pytest.fixture
def postgres_index(postgres_url: str):
    import psycopg

    from digitize.index.postgres import PostgresIndex

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS people, records, results CASCADE")
    index = PostgresIndex(postgres_url)
    yield index
    index.close()


@pytest.fixture(params=["sqlite", "postgres"])
def index(request):
    return request.getfixturevalue(f"{request.param}_index")


@pytest.fixture
def people(index):
    index.upsert(birth("r1", "NGUYỄN VĂN AN", "001098012345", "05/03/1998"))
    index.upsert(birth("r2", "Nguyên Văn Bình", "079201000111", "12/12/2001"))
    index.upsert(birth("r3", "Trần Thị Đào", "001301000222", "01/01/2001", noi_sinh="Hà Nội"))
    index.upsert(
        result(
            "r4",
            [
                {
                    "doc_type": "ket_hon",
                    "ho_ten_chong": "LÊ VĂN CƯỜNG",
                    "ngay_sinh_chong": "02/02/1990",
                    "so_dinh_danh_chong": "001090000333",
                    "ho_ten_vo": "PHẠM THỊ DUNG",
                    "ngay_sinh_vo": "03/03/1992",
                    "so_dinh_danh_vo": "001192000444",
                }
            ],
            ["GIẤY CHỨNG NHẬN KẾT HÔN"],
        )
    )
    return index


def ids(hits: list[dict]) -> list[str]:
    return [h["result_id"] for h in hits]


def test_tone_insensitive_search(people) -> None:
    hits = people.search("nguyen van an")
    assert ids(hits)[0] == "r1"
    assert "r2" not in ids(hits)  # "an" is missing there
    hit = hits[0]
    assert hit["record"] == 0 and hit["page"] == 1 and hit["doc_type"] == "khai_sinh"
    assert hit["name"] == "NGUYỄN VĂN AN" and hit["fields"]["so_dinh_danh"] == "001098012345"
    assert "NGUYỄN VĂN AN" in hit["snippet"] or "Nguyễn" in hit["snippet"] or "NGUYỄN" in hit["snippet"]
    assert ids(people.search("tran thi dao")) == ["r3"]  # đ folds to d
    assert ids(people.search("Ha Noi")) == ["r3"]
    assert set(ids(people.search("nguyen"))) == {"r1", "r2"}


def test_exact_accents(people) -> None:
    assert ids(people.search("Nguyễn", fold=False)) == ["r1"]
    assert ids(people.search("nguyên", fold=False)) == ["r2"]
    assert ids(people.search("Đào", fold=False)) == ["r3"]
    assert ids(people.search("Dao", fold=False)) == []
    assert ids(people.search("nguyễn văn an", fold=False)) == ["r1"]  # case does not matter


def test_lookup_by_so_dinh_danh(people) -> None:
    assert ids(people.search(so_dinh_danh="001098012345")) == ["r1"]
    assert ids(people.search(so_dinh_danh="001 098 012 345")) == ["r1"]
    assert ids(people.search(so_dinh_danh="001192000444")) == ["r4"]  # the wife in a marriage record
    assert people.search(so_dinh_danh="999999999999") == []


def test_lookup_by_name_and_birth_date(people) -> None:
    assert ids(people.search(ho_ten="nguyen van an", ngay_sinh="05/03/1998")) == ["r1"]
    assert ids(people.search(ho_ten="Nguyễn Văn An", ngay_sinh="5/3/1998")) == ["r1"]
    assert people.search(ho_ten="nguyen van an", ngay_sinh="06/03/1998") == []
    assert ids(people.search(ho_ten="NGUYỄN VĂN AN", fold=False)) == ["r1"]
    assert people.search(ho_ten="Nguyên Văn An", fold=False) == []
    assert ids(people.search(ho_ten="le van cuong", ngay_sinh="02/02/1990")) == ["r4"]


def test_book_and_so(index) -> None:
    for n in (10, 2, 1, 33):
        index.upsert(
            result(f"b{n}", [{"so": f"{n:02d}", "ho_ten": f"Người Số {n}"}], [f"entry {n}"], book="KS-2005-01")
        )
    index.upsert(result("other", [{"so": "2", "ho_ten": "Khác"}], book="KS-2005-02"))
    assert ids(index.search(book="KS-2005-01", so="2")) == ["b2"]
    assert ids(index.search(book="KS-2005-01", so="02")) == ["b2"]
    assert ids(index.search(book="KS-2005-02", so="2")) == ["other"]
    listed = index.records_for_book("KS-2005-01")
    assert [r["so"] for r in listed] == ["01", "02", "10", "33"]
    assert listed[0]["fields"]["ho_ten"] == "Người Số 1" and listed[0]["record"] == 0


def test_registry_page_one_hit_per_entry(index) -> None:
    page = (
        "SỔ ĐĂNG KÝ KHAI SINH năm 2005\n1 Hoàng Văn Em 01/01/2005\n2 Võ Thị Phương 02/02/2005\n"
        "3 Đỗ Văn Giang 03/03/2005"
    )
    entries = [
        {"so": "1", "ho_ten": "Hoàng Văn Em", "ngay_sinh": "01/01/2005"},
        {"so": "2", "ho_ten": "Võ Thị Phương", "ngay_sinh": "02/02/2005"},
        {"so": "3", "ho_ten": "Đỗ Văn Giang", "ngay_sinh": "03/03/2005"},
    ]
    index.upsert(result("page7", entries, [page], book="B1"))
    hits = index.search("vo thi phuong")
    assert [(h["result_id"], h["record"]) for h in hits] == [("page7", 1)]
    header = index.search("so dang ky khai sinh")
    assert [(h["result_id"], h["record"], h["page"]) for h in header] == [("page7", None, 1)]
    browse = index.search()
    assert sorted(h["record"] for h in browse) == [0, 1, 2]


def test_result_without_records(index) -> None:
    index.upsert(result("blank", [], ["Trang một có chữ", "Trang hai"]))
    hits = index.search()
    assert [(h["result_id"], h["record"], h["page"]) for h in hits] == [("blank", None, 1)]
    assert [(h["record"], h["page"]) for h in index.search("trang hai")] == [(None, 2)]


def test_reupsert_is_idempotent(people) -> None:
    before = people.search("nguyen van an")
    people.upsert(birth("r1", "NGUYỄN VĂN AN", "001098012345", "05/03/1998"))
    people.upsert(birth("r1", "NGUYỄN VĂN AN", "001098012345", "05/03/1998"))
    assert people.search("nguyen van an") == before
    assert len(people.search(so_dinh_danh="001098012345")) == 1
    assert people.count() == 4
    # a changed result replaces its records
    people.upsert(birth("r1", "NGUYỄN VĂN ANH", "001098012345", "05/03/1998"))
    assert people.search(ho_ten="nguyen van an") == []
    assert ids(people.search(ho_ten="nguyen van anh")) == ["r1"]
    assert people.count() == 4
    assert people.get("r1").records[0].fields["ho_ten"] == "NGUYỄN VĂN ANH"
    assert people.get("missing") is None


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "nguyen*",
        "NEAR(",
        "NEAR(a b",
        "-an",
        "an -",
        "a OR",
        "AND",
        "NOT",
        "(",
        ")",
        "^an",
        "an:",
        "ho_ten:an",
        "'",
        "\\",
        "%",
        "_",
        "{a}",
        "nguyen & van | !an",
        "<->",
        "a:*",
        "",
        "   ",
        "\x00",
        "😀",
    ],
)
def test_fts_syntax_in_query_never_raises(people, query: str) -> None:
    hits = people.search(query)
    assert isinstance(hits, list)
    if query.strip() and not any(c.isalnum() for c in query):
        assert hits == []  # only punctuation: no word to find
    people.search(query, fold=False)
    people.search(query, so_dinh_danh=query, ho_ten=query, ngay_sinh=query, book=query, so=query, doc_type=query)


def test_filters_combine(people) -> None:
    assert ids(people.search("nguyen", doc_type="khai_sinh", so_dinh_danh="079201000111")) == ["r2"]
    assert people.search("nguyen", doc_type="ket_hon") == []
    assert len(people.search(limit=2)) == 2


def test_phrase_first(index) -> None:
    index.upsert(birth("x1", "Văn An Nguyễn", "001098000001", "01/01/2000"))
    index.upsert(birth("x2", "Nguyễn Văn An", "001098000002", "01/01/2000"))
    assert ids(index.search("nguyen van an"))[:2] == ["x2", "x1"]


def _write_many(path: str, start: int) -> None:
    index = SqliteIndex(path)
    for i in range(start, start + 25):
        index.upsert(birth(f"p{i}", f"Người {i}", f"0010980{i:05d}", "01/01/2000"))
    index.close()


def test_sqlite_concurrent_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    SqliteIndex(path).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(path, n * 100)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    index = SqliteIndex(path)
    assert index.count() == 75
    assert ids(index.search(so_dinh_danh="001098000107")) == ["p107"]


def test_sqlite_bad_path_is_index_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(IndexError_):
        SqliteIndex(tmp_path / "file" / "index.sqlite3").search("x")


def test_postgres_reconnects(postgres_index, postgres_url: str) -> None:
    import psycopg

    postgres_index.upsert(birth("c1", "Ngô Văn Hùng", "001098000009", "09/09/1999"))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'digitize' AND pid <> pg_backend_pid()"
        )
    assert ids(postgres_index.search("ngo van hung")) == ["c1"]


def test_postgres_unreachable_is_index_error() -> None:
    from conftest_servers import free_port
    from digitize.index.postgres import PostgresIndex

    index = PostgresIndex(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", connect_timeout=2)
    with pytest.raises(IndexError_) as info:
        index.search("x")
    assert "\n" not in str(info.value)


def test_make_index(tmp_path: Path) -> None:
    index = make_index(Settings(home=tmp_path))
    assert isinstance(index, SqliteIndex) and index.path == tmp_path / "index.sqlite3"
    pg = make_index(Settings(index="postgresql://u@127.0.0.1:1/db"))
    assert pg.__class__.__name__ == "PostgresIndex"


def _open_together(path: str, barrier, failures) -> None:
    from digitize.index.sqlite import SqliteIndex

    barrier.wait()
    try:
        SqliteIndex(path).count()
    except Exception as exc:  # reported to the parent, which asserts there were none
        failures.put(str(exc))


def test_many_workers_open_a_fresh_index_at_once(tmp_path) -> None:
    # A process pool's workers all open the index on their first page; switching the new
    # file to WAL once lost a page to "database is locked".
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for round_ in range(5):
        path = str(tmp_path / f"fresh{round_}" / "index.sqlite3")
        barrier, failures = ctx.Barrier(12), ctx.Queue()
        workers = [ctx.Process(target=_open_together, args=(path, barrier, failures)) for _ in range(12)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert failures.empty(), failures.get()
