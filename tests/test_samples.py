"""Tests of the synthetic document generator (samples/)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import unicodedata

import numpy as np
import pytest

from samples import degrade as D
from samples.content import so_dinh_danh, valid_so_dinh_danh
from samples.generate import main, render_page
from samples.vnwords import date_in_words, number_in_words

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "samples", "data")

CONTRACT_FIELDS = {
    "khai_sinh": set(
        "so quyen_so ho_ten ngay_sinh ngay_sinh_bang_chu gioi_tinh dan_toc quoc_tich noi_sinh que_quan "
        "so_dinh_danh ho_ten_me nam_sinh_me dan_toc_me quoc_tich_me noi_cu_tru_me ho_ten_cha nam_sinh_cha "
        "dan_toc_cha quoc_tich_cha noi_cu_tru_cha noi_cu_tru nguoi_di_khai noi_dang_ky ngay_dang_ky "
        "nguoi_ky ghi_chu".split()
    ),
    "ket_hon": set(
        "so quyen_so ho_ten_chong ngay_sinh_chong dan_toc_chong quoc_tich_chong noi_cu_tru_chong "
        "so_dinh_danh_chong ho_chieu_chong ho_ten_vo ngay_sinh_vo dan_toc_vo quoc_tich_vo noi_cu_tru_vo "
        "so_dinh_danh_vo ho_chieu_vo noi_dang_ky ngay_dang_ky nguoi_ky ghi_chu".split()
    ),
    "khai_tu": set(
        "so quyen_so ho_ten ngay_sinh gioi_tinh dan_toc quoc_tich so_dinh_danh noi_cu_tru gio_chet "
        "ngay_chet noi_chet nguyen_nhan_chet nguoi_khai quan_he noi_dang_ky ngay_dang_ky nguoi_ky "
        "ghi_chu".split()
    ),
    "van_ban": set(
        "co_quan_ban_hanh so_ky_hieu dia_danh ngay_ban_hanh loai_van_ban trich_yeu noi_nhan "
        "chuc_vu_nguoi_ky nguoi_ky".split()
    ),
}
TYPES = ["khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban", "prose"]


# --------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (105, "một trăm linh năm"),
        (1998, "một nghìn chín trăm chín mươi tám"),
        (2000, "hai nghìn"),
        (2005, "hai nghìn không trăm linh năm"),
        (2010, "hai nghìn không trăm mười"),
        (2014, "hai nghìn không trăm mười bốn"),
        (1954, "một nghìn chín trăm năm mươi tư"),
        (2021, "hai nghìn không trăm hai mươi mốt"),
    ],
)
def test_number_in_words(n, words):
    assert number_in_words(n) == words


@pytest.mark.parametrize(
    "date, words",
    [
        ("05/03/1998", "Ngày năm tháng ba năm một nghìn chín trăm chín mươi tám"),
        ("15/04/2005", "Ngày mười lăm tháng tư năm hai nghìn không trăm linh năm"),
        ("21/11/2010", "Ngày hai mươi mốt tháng mười một năm hai nghìn không trăm mười"),
        ("24/12/1964", "Ngày hai mươi tư tháng mười hai năm một nghìn chín trăm sáu mươi tư"),
        ("31/01/2000", "Ngày ba mươi mốt tháng một năm hai nghìn"),
    ],
)
def test_date_in_words(date, words):
    assert date_in_words(date) == words
    d, m, y = (int(p) for p in date.split("/"))
    assert date_in_words(dt.date(y, m, d)) == words


def test_date_in_words_reexported():
    from samples.generate import date_in_words as again

    assert again("10/10/2010") == "Ngày mười tháng mười năm hai nghìn không trăm mười"


# --------------------------------------------------------------------------- số định danh


def test_so_dinh_danh_generation_is_structurally_valid():
    rng = random.Random(1)
    for year in (1901, 1950, 1999, 2000, 2024):
        for sex in ("Nam", "Nữ"):
            n = so_dinh_danh(rng, "051", sex, year)
            assert valid_so_dinh_danh(n, sex, year), n
            assert not valid_so_dinh_danh(n, "Nữ" if sex == "Nam" else "Nam", year)
    assert so_dinh_danh(random.Random(0), "051", "Nam", 1998)[:6] == "051098"
    assert so_dinh_danh(random.Random(0), "001", "Nữ", 2005)[:6] == "001305"
    for bad in ("", "05109800123", "0510980012345", "000098001234", "097098001234", "05109800123a"):
        assert not valid_so_dinh_danh(bad)


def _check_id(fields, key, sex_key=None, sex=None, birth_key=None):
    number = fields[key]
    sex = sex or fields.get(sex_key)
    year = int(fields[birth_key][-4:])
    assert valid_so_dinh_danh(number, sex, year), (number, sex, year)


# --------------------------------------------------------------------------- ground truth


def _is_nfc(x):
    if isinstance(x, str):
        return unicodedata.is_normalized("NFC", x)
    if isinstance(x, dict):
        return all(_is_nfc(v) for v in x.values())
    if isinstance(x, list):
        return all(_is_nfc(v) for v in x)
    return True


def check_gt(gt: dict) -> None:
    for key in ("name", "doc_type", "text", "records", "font", "dpi", "degradations", "seed", "split"):
        assert key in gt, key
    assert _is_nfc(gt)
    assert gt["text"] and "...." not in gt["text"]
    for line in gt["text"].split("\n"):
        assert line == line.strip() and "  " not in line and line, repr(line)
    flat = " ".join(gt["text"].split())
    for rec in gt["records"]:
        dtp = rec["doc_type"]
        assert set(rec["fields"]) <= CONTRACT_FIELDS[dtp], set(rec["fields"]) - CONTRACT_FIELDS[dtp]
        for k, v in rec["fields"].items():
            assert isinstance(v, str) and v and v == " ".join(v.split()), (k, v)
            if k.startswith("ngay_") and k != "ngay_sinh_bang_chu":
                dt.datetime.strptime(v, "%d/%m/%Y")
            if k.startswith("nam_sinh"):
                assert len(v) == 4 and v.isdigit()
            if dtp != "van_ban" or k in ("so_ky_hieu", "nguoi_ky", "chuc_vu_nguoi_ky"):
                assert v in flat, (k, v)  # every value is printed on the page
        f = rec["fields"]
        if dtp in ("khai_sinh", "khai_tu") and "so_dinh_danh" in f:
            _check_id(f, "so_dinh_danh", sex_key="gioi_tinh", birth_key="ngay_sinh")
        if dtp == "ket_hon":
            _check_id(f, "so_dinh_danh_chong", sex="Nam", birth_key="ngay_sinh_chong")
            _check_id(f, "so_dinh_danh_vo", sex="Nữ", birth_key="ngay_sinh_vo")
        if "ngay_sinh_bang_chu" in f:
            assert f["ngay_sinh_bang_chu"] == date_in_words(f["ngay_sinh"])


@pytest.mark.parametrize("doc_type", TYPES)
def test_every_type_renders_valid_ground_truth(doc_type):
    for seed in (3, 4):
        page = render_page(doc_type, seed, degradations=[])
        check_gt(page.gt)
        img = page.images[0]
        assert img.dtype == np.uint8 and img.ndim == 3
        assert (img < 128).any()  # something was drawn
        if doc_type == "so_ho_tich":
            assert len(page.gt["records"]) >= 5
            assert [int(r["fields"]["so"]) for r in page.gt["records"]] == sorted(
                int(r["fields"]["so"]) for r in page.gt["records"]
            )
        elif doc_type == "prose":
            assert page.gt["records"] == []
        else:
            assert len(page.gt["records"]) == 1


def test_generator_is_deterministic():
    for doc_type, chain in [
        ("khai_sinh", None),
        ("so_ho_tich", [("ink", 2, {}), ("curl", 2, {})]),
        ("van_ban", [("security", 1, {}), ("stamp", 2, {}), ("skew", 2, {})]),
    ]:
        a = render_page(doc_type, 1234, degradations=chain)
        b = render_page(doc_type, 1234, degradations=chain)
        assert a.gt == b.gt
        assert np.array_equal(a.images[0], b.images[0])
    c = render_page("khai_sinh", 1235, degradations=[])
    d = render_page("khai_sinh", 1234, degradations=[])
    assert c.gt["records"] != d.gt["records"]


def test_degradations_are_pure_and_recorded():
    page = render_page("khai_tu", 7, degradations=[])
    img = page.images[0]
    before = img.copy()
    for name in D.ORDER:
        out, used = D.apply(img, [(name, 2)], 99, {})
        assert np.array_equal(img, before), name  # input untouched
        again, used2 = D.apply(img, [(name, 2)], 99, {})
        assert np.array_equal(out, again) and used == used2, name
        assert used[name]["level"] == 2
        assert out.dtype == np.uint8 and out.ndim == 3
    out, used = D.apply(img, [("skew", 2, {"angle": 4.0}), ("rotate", 1, {"degrees": 180})], 1, {})
    assert used["skew"]["angle"] == 4.0
    with pytest.raises(ValueError):
        D.apply(img, [("nope", 1)], 1)


def test_gt_records_skew_and_rotation():
    page = render_page("khai_sinh", 5, degradations=[("skew", 2, {"angle": -3.5}), ("rotate", 1, {"degrees": 90})])
    assert page.gt["degradations"]["skew"] == -3.5
    assert page.gt["degradations"]["rotation"] == 90
    assert page.gt["degradations"]["upright_rotation"] == 270
    h, w = page.images[0].shape[:2]
    assert w > h  # turned on its side


# --------------------------------------------------------------------------- CLI and committed set


def test_cli_writes_pages_and_ground_truth(tmp_path):
    out = tmp_path / "gen"
    rc = main(
        [
            "--out",
            str(out),
            "--count",
            "3",
            "--seed",
            "11",
            "--types",
            "khai_sinh,van_ban",
            "--degradations",
            "skew:1,noise:1",
        ]
    )
    assert rc == 0
    gts = sorted(out.glob("*.gt.json"))
    assert len(gts) == 3
    for p in gts:
        gt = json.loads(p.read_text(encoding="utf-8"))
        check_gt(gt)
        assert (out / gt["file"]).exists()
        assert set(gt["degradations"]) == {"skew", "noise"}
    # same arguments, same files
    out2 = tmp_path / "gen2"
    main(
        [
            "--out",
            str(out2),
            "--count",
            "3",
            "--seed",
            "11",
            "--types",
            "khai_sinh,van_ban",
            "--degradations",
            "skew:1,noise:1",
        ]
    )
    for p in gts:
        assert (out2 / p.name).read_bytes() == p.read_bytes()
    assert main(["--out", str(out), "--degradations", "bogus"]) == 2


@pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "MANIFEST.json")), reason="no committed sample set")
def test_committed_set():
    manifest = json.load(open(os.path.join(DATA, "MANIFEST.json"), encoding="utf-8"))
    total = 0
    for item in manifest["files"]:
        path = os.path.join(DATA, item["file"])
        assert os.path.exists(path), path
        total += os.path.getsize(path)
        gt = json.load(open(os.path.join(DATA, item["gt"]), encoding="utf-8"))
        check_gt(gt)
        assert gt["file"] == item["file"] and gt["doc_type"] == item["doc_type"]
        if item["pages"] > 1:
            assert len(gt["pages"]) == item["pages"] and gt["text"] == "\n".join(gt["pages"])
    assert total < 8 * 1024 * 1024
    assert len(manifest["files"]) >= 14
