"""Generate Vietnamese civil-status pages with known ground truth.

    python -m samples.generate --out DIR --count N --seed S \\
        [--types khai_sinh,ket_hon,khai_tu,so_ho_tich,van_ban,prose] \\
        [--degradations random | clean | skew:2,noise:1,...] [--split dev|heldout] \\
        [--font NAME|random|typewriter] [--dpi 200] [--leaders] [--format auto|png|jpg|tif|pdf]
    python -m samples.generate --committed --out samples/data

Each page NAME.<ext> gets NAME.gt.json:

    {"name", "file", "doc_type", "text", "records": [{"doc_type", "page", "fields"}],
     "font", "dpi", "degradations", "seed", "split", "variant", "format"}

plus "pages" (one text per page) for multi-page files. `text` is the page
text as read (NFC, lines joined by "\\n"); dotted leaders, seals and
signatures are not text. Same arguments, same files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import unicodedata
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from . import degrade as D
from . import fonts
from .templates import DOC_TYPE, RED, TEMPLATES, RenderOptions
from .vnwords import date_in_words, number_in_words  # noqa: F401  (re-exported for other modules)

# the default mix of --types; an ID card page is asked for by name (adding it to the mix
# would change which page every existing seed gives)
OPT_IN = ("cccd",)
TYPES = [t for t in TEMPLATES if t not in OPT_IN]
SPLITS = {"dev": 0, "heldout": 1}
COLOUR_DEGRADATIONS = {"security", "yellow", "stamp", "signature", "bleed", "photo"}

# Realistic combinations for --degradations random: (name, [(degradation, level or None=random)])
PRESETS: list[tuple[str, list[tuple[str, int | None]]]] = [
    ("clean", []),
    ("skew", [("skew", None)]),
    ("skew_noise", [("skew", None), ("noise", None)]),
    ("yellow_skew", [("yellow", None), ("skew", 1)]),
    ("security_stamp", [("security", 2), ("stamp", 2), ("signature", 2)]),
    ("rotate", [("rotate", None)]),
    ("photo", [("photo", None)]),
    ("typewriter_ink", [("ink", None)]),
    ("bleed_yellow", [("bleed", None), ("yellow", 1)]),
    ("low_dpi_jpeg", [("low_dpi", None), ("jpeg", None)]),
    ("blur_noise", [("blur", None), ("noise", None)]),
    ("borders_skew", [("borders", None), ("skew", 1)]),
    ("curl", [("curl", None)]),
]


@dataclass
class Page:
    """A generated file: one or more page images and the ground truth."""

    name: str
    images: list[np.ndarray]
    gt: dict
    fmt: str = "png"
    quality: int = 90
    dpi: int = 200
    extra: dict = field(default_factory=dict)


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _nfc_tree(x):
    if isinstance(x, str):
        return nfc(x)
    if isinstance(x, dict):
        return {k: _nfc_tree(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nfc_tree(v) for v in x]
    return x


def page_seed(seed: int, index: int, split: str = "dev") -> int:
    return int(np.random.SeedSequence([seed, index, SPLITS.get(split, 7)]).generate_state(1)[0])


def parse_degradations(spec: str | None) -> list[tuple[str, int, dict]] | None:
    """'clean' -> []; 'random' -> None; 'skew:2,noise' -> [('skew', 2, {}), ('noise', 2, {})]."""
    if spec is None or spec == "random":
        return None
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part or part == "clean":
            continue
        name, _, level = part.partition(":")
        out.append((D.canonical(name), int(level) if level else 2, {}))
    return out


def _gt_degradations(used: dict) -> dict:
    out = {}
    for k, v in used.items():
        if k == "skew":
            out["skew"] = v["angle"]
        elif k == "rotate":
            out["rotation"] = v["degrees"]  # clockwise, as applied to the page
            out["upright_rotation"] = (360 - v["degrees"]) % 360  # clockwise rotation that makes it upright
        else:
            out[k] = _jsonable(v)
    return out


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    return x


def choose_font(rng: random.Random, doc_type: str, spec: str | None, chain: list) -> str:
    names = {d[0] for d in chain}
    if spec and spec not in ("random", "typewriter"):
        return spec
    if spec == "typewriter" or "ink" in names:
        return fonts.typewriter_face()
    if doc_type in ("khai_sinh", "khai_tu", "so_ho_tich") and rng.random() < 0.25:
        return fonts.typewriter_face()
    return rng.choice(fonts.proportional_faces())


def render_page(
    doc_type: str,
    seed: int,
    *,
    font: str | None = None,
    dpi: int = 200,
    leaders: bool | None = None,
    variant: str | None = None,
    degradations: list | None = None,
    split: str = "dev",
    name: str | None = None,
    fmt: str = "auto",
    ruling: bool | None = None,
    bleed_other: np.ndarray | None = None,
    card: dict | None = None,
) -> Page:
    """Render and degrade one page deterministically from `seed`. `card`: options of an ID
    card page (RenderOptions `qr`, `qr_module_mm`)."""
    if doc_type not in TEMPLATES:
        raise ValueError(f"unknown document type '{doc_type}' (known: {', '.join(TEMPLATES)})")
    rng = random.Random(seed)
    if degradations is None:  # random preset
        preset_name, preset = rng.choice(PRESETS)
        if doc_type != "so_ho_tich" and preset_name == "curl":
            preset_name, preset = "skew", [("skew", None)]
        chain = [(n, lvl if lvl is not None else rng.randint(1, 3), {}) for n, lvl in preset]
    else:
        chain = [tuple(c) if len(c) == 3 else (c[0], c[1], {}) for c in degradations]
    names = {c[0] for c in chain}
    face = choose_font(rng, doc_type, font, chain)
    if leaders is None:
        leaders = rng.random() < 0.35 and doc_type in ("khai_sinh", "khai_tu", "ket_hon")
    if ruling is None:
        ruling = rng.random() < 0.8
    opts = RenderOptions(
        font=face,
        dpi=dpi,
        leaders=leaders,
        variant=variant,
        ruling=ruling,
        title_fill=RED if "security" in names else None,
        **(card or {}),
    )
    rendered = TEMPLATES[doc_type](random.Random(rng.random()), opts)
    img = np.asarray(rendered.image)
    hints = dict(rendered.anchors)
    chain2 = []
    for n, lvl, ov in chain:
        ov = dict(ov)
        if n == "bleed" and "other" not in ov:
            other = bleed_other
            if other is None:
                other_doc = TEMPLATES["prose"](random.Random(rng.random()), RenderOptions(font=face, dpi=dpi)).image
                other = np.asarray(other_doc)
            ov["other"] = other
        chain2.append((n, lvl, ov))
    # output format
    if fmt == "auto":
        fmt = "jpg" if names & (COLOUR_DEGRADATIONS | {"noise", "jpeg", "blur", "low_dpi"}) else "png"
    quality = 90
    skip = ()
    if "jpeg" in names and fmt == "jpg":
        skip = ("jpeg",)
    out, used = D.apply(img, chain2, seed, hints, skip=skip)
    if "jpeg" in used and fmt == "jpg":
        quality = int(used["jpeg"]["quality"])
    elif fmt == "jpg":
        quality = 80 if names & {"photo", "security", "yellow", "stamp", "signature", "bleed"} else 85
    name = name or f"{doc_type}_{seed}"
    records = [{"doc_type": r["doc_type"], "page": 1, "fields": r["fields"]} for r in rendered.records]
    gt = {
        "name": name,
        "doc_type": DOC_TYPE[doc_type],
        "text": rendered.text,
        "records": records,
        "font": face,
        "dpi": dpi,
        "degradations": _gt_degradations(used),
        "seed": int(seed),
        "split": split,
        "variant": rendered.variant,
        "leaders": bool(leaders),
    }
    if doc_type == "so_ho_tich":
        gt["ruling"] = bool(ruling)
    if doc_type == "cccd":  # what the card prints, the QR code's text and where the code is
        gt.update(
            {
                "printed": rendered.extra["printed"],
                "qr": opts.qr,
                "qr_payload": rendered.extra["payload"],
                "qr_module_mm": opts.qr_module_mm,
                "qr_box": list(rendered.anchors.get("qr_box", ())),
            }
        )
    return Page(name, [out], _nfc_tree(gt), fmt, quality, dpi)


def _is_grey(img: np.ndarray) -> bool:
    return bool(np.array_equal(img[:, :, 0], img[:, :, 1]) and np.array_equal(img[:, :, 1], img[:, :, 2]))


def _pil(img: np.ndarray) -> Image.Image:
    return Image.fromarray(img[:, :, 0]) if _is_grey(img) else Image.fromarray(img)


def write_page(page: Page, out_dir: str) -> str:
    """Write the image file and NAME.gt.json; returns the image path."""
    os.makedirs(out_dir, exist_ok=True)
    ext = {"jpeg": "jpg", "tiff": "tif"}.get(page.fmt, page.fmt)
    path = os.path.join(out_dir, f"{page.name}.{ext}")
    ims = [_pil(i) for i in page.images]
    dpi = (page.dpi, page.dpi)
    if ext == "png":
        ims[0].save(path, compress_level=7, dpi=dpi)
    elif ext == "jpg":
        ims[0].convert("RGB" if ims[0].mode != "L" else "L").save(path, quality=page.quality, dpi=dpi, optimize=True)
    elif ext == "tif":
        if page.extra.get("bilevel"):  # archival bilevel scan, CCITT Group 4
            ims = [
                i.convert("L").point(lambda v: 255 if v >= 160 else 0).convert("1", dither=Image.Dither.NONE)
                for i in ims
            ]
            ims[0].save(path, save_all=True, append_images=ims[1:], compression="group4", dpi=dpi)
        else:
            ims[0].save(path, save_all=True, append_images=ims[1:], compression="tiff_deflate", dpi=dpi)
    elif ext == "pdf":
        # a scanned PDF: each page an embedded JPEG image at the scan resolution
        rgb = [i if i.mode in ("L", "RGB") else i.convert("RGB") for i in ims]
        fixed = time.gmtime(1735689600)  # 2025-01-01: reproducible bytes
        rgb[0].save(
            path,
            "PDF",
            resolution=float(page.dpi),
            save_all=True,
            append_images=rgb[1:],
            quality=page.quality,
            creationDate=fixed,
            modDate=fixed,
            producer="samples.generate",
        )
    else:
        raise ValueError(f"unknown format '{page.fmt}'")
    gt = dict(page.gt)
    gt["file"] = os.path.basename(path)
    gt["format"] = ext
    with open(os.path.join(out_dir, f"{page.name}.gt.json"), "w", encoding="utf-8") as fh:
        json.dump(gt, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    return path


def combine(pages: list[Page], name: str, fmt: str) -> Page:
    """Several single pages as one multi-page file (TIFF or PDF)."""
    texts = [p.gt["text"] for p in pages]
    records = []
    for i, p in enumerate(pages, 1):
        for r in p.gt["records"]:
            records.append(dict(r, page=i))
    gt = dict(pages[0].gt)
    gt.update(
        {
            "name": name,
            "text": "\n".join(texts),
            "pages": texts,
            "records": records,
            "page_details": [
                {k: p.gt[k] for k in ("doc_type", "font", "dpi", "degradations", "seed", "variant")} for p in pages
            ],
        }
    )
    return Page(name, [i for p in pages for i in p.images], gt, fmt, pages[0].quality, pages[0].dpi)


def generate(
    out_dir: str,
    count: int,
    seed: int,
    *,
    types: list[str] | None = None,
    degradations: str | None = "random",
    split: str = "dev",
    font: str | None = "random",
    dpi: int = 200,
    leaders: bool | None = None,
    fmt: str = "auto",
    verbose: bool = False,
) -> list[dict]:
    types = types or TYPES
    chain = parse_degradations(degradations)
    gts = []
    for i in range(count):
        s = page_seed(seed, i, split)
        doc_type = types[random.Random(f"type-{s}").randrange(len(types))] if len(types) > 1 else types[0]
        t = time.time()
        page = render_page(
            doc_type,
            s,
            font=font,
            dpi=dpi,
            leaders=leaders,
            degradations=chain,
            split=split,
            name=f"{split}_{seed}_{i:04d}_{doc_type}",
            fmt=fmt,
        )
        path = write_page(page, out_dir)
        gts.append(page.gt)
        if verbose:
            print(f"{path}  {time.time() - t:.2f}s  {','.join(page.gt['degradations']) or 'clean'}", file=sys.stderr)
    return gts


# ---------------------------------------------------------------------------
# the committed sample set


def committed_set(out_dir: str, seed: int = 2025) -> list[dict]:
    """The small sample set kept in the repository (samples/data)."""
    typewriter = fonts.typewriter_face()
    serif = "LiberationSerif" if "LiberationSerif" in fonts.available() else "NotoSerif"
    specs = [
        # name, doc_type, kwargs, description
        (
            "khai_sinh_clean",
            "khai_sinh",
            dict(font=serif, degradations=[], variant="giay_khai_sinh", leaders=False),
            "clean birth certificate",
        ),
        (
            "khai_sinh_skew4_noise",
            "khai_sinh",
            dict(font="DejaVuSerif", degradations=[("skew", 2, {"angle": 4.0}), ("noise", 1, {})], leaders=False),
            "skewed 4° with scanner noise",
        ),
        (
            "khai_sinh_security_stamp",
            "khai_sinh",
            dict(
                font=serif,
                leaders=True,
                variant="giay_khai_sinh",
                degradations=[("security", 2, {"colour": "green"}), ("stamp", 2, {}), ("signature", 2, {})],
            ),
            "green security paper, red title, dotted leaders, red seal, blue signature",
        ),
        (
            "khai_sinh_typewriter_180",
            "khai_sinh",
            dict(font=typewriter, leaders=False, degradations=[("ink", 1, {}), ("rotate", 3, {"degrees": 180})]),
            "typewritten, uneven ink, upside down",
        ),
        ("ket_hon_clean", "ket_hon", dict(font=serif, degradations=[], variant="table"), "clean marriage certificate"),
        (
            "khai_tu_clean",
            "khai_tu",
            dict(font="NotoSans" if "NotoSans" in fonts.available() else serif, degradations=[], leaders=True),
            "clean death extract, dotted leaders",
        ),
        (
            "so_ho_tich_typewriter",
            "so_ho_tich",
            dict(font=typewriter, ruling=True, degradations=[("ink", 1, {})]),
            "typewritten registry page with ruled table",
        ),
        (
            "van_ban_cong_van",
            "van_ban",
            dict(font=serif, variant="cong_van", degradations=[]),
            "clean official letter (công văn)",
        ),
        (
            "van_ban_quyet_dinh_yellow_skew",
            "van_ban",
            dict(font="DejaVuSerif", variant="quyet_dinh", degradations=[("yellow", 2, {}), ("skew", 1, {})]),
            "decision (quyết định) on yellowed paper, slight skew",
        ),
        (
            "prose_150dpi",
            "prose",
            dict(font=serif, dpi=150, degradations=[("jpeg", 2, {"quality": 60})], fmt="jpg"),
            "plain prose page rendered at 150 dpi, JPEG",
        ),
        (
            "khai_sinh_photo",
            "khai_sinh",
            dict(font=serif, degradations=[("photo", 2, {}), ("stamp", 1, {}), ("signature", 1, {})]),
            "phone photo of a birth certificate",
        ),
        (
            "so_ho_tich_curl",
            "so_ho_tich",
            dict(font=serif, ruling=True, degradations=[("curl", 2, {}), ("yellow", 1, {})]),
            "registry page near the spine of a bound book",
        ),
    ]
    manifest = []
    for i, (name, doc_type, kw, desc) in enumerate(specs):
        page = render_page(doc_type, seed + i, name=name, split="dev", **kw)
        path = write_page(page, out_dir)
        manifest.append(
            {
                "file": os.path.basename(path),
                "gt": f"{name}.gt.json",
                "doc_type": page.gt["doc_type"],
                "degradations": sorted(page.gt["degradations"]) or ["clean"],
                "font": page.gt["font"],
                "pages": 1,
                "description": desc,
            }
        )
    # a two-page TIFF: an official letter and a prose continuation page
    p1 = render_page("van_ban", seed + 100, font=serif, variant="cong_van", degradations=[("skew", 1, {})])
    p2 = render_page("prose", seed + 101, font=serif, degradations=[("skew", 1, {})])
    tif = combine([p1, p2], "van_ban_2pages", "tif")
    tif.extra["bilevel"] = True
    tif.gt["bilevel"] = True
    path = write_page(tif, out_dir)
    manifest.append(
        {
            "file": os.path.basename(path),
            "gt": "van_ban_2pages.gt.json",
            "doc_type": "van_ban",
            "degradations": ["skew"],
            "font": serif,
            "pages": 2,
            "description": "two-page bilevel (CCITT G4) multi-page TIFF: letter + prose page",
        }
    )
    # a scanned PDF: one page image embedded at 200 dpi
    p = render_page(
        "khai_tu",
        seed + 200,
        font="DejaVuSerif",
        name="khai_tu_scanned_pdf",
        degradations=[("skew", 1, {}), ("borders", 1, {}), ("noise", 1, {})],
        fmt="pdf",
    )
    p.quality = 80
    path = write_page(p, out_dir)
    manifest.append(
        {
            "file": os.path.basename(path),
            "gt": "khai_tu_scanned_pdf.gt.json",
            "doc_type": "khai_tu",
            "degradations": sorted(p.gt["degradations"]),
            "font": p.gt["font"],
            "pages": 1,
            "description": "scanned PDF (one JPEG page image in a PDF)",
        }
    )
    with open(os.path.join(out_dir, "MANIFEST.json"), "w", encoding="utf-8") as fh:
        json.dump(
            {"generator": "samples.generate.committed_set", "seed": seed, "files": manifest},
            fh,
            ensure_ascii=False,
            indent=1,
        )
        fh.write("\n")
    return manifest


# ---------------------------------------------------------------------------
# CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.generate", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--types", default=",".join(TYPES), help=f"comma list of {','.join(TYPES)}")
    ap.add_argument(
        "--degradations",
        default="random",
        help="'random' (a realistic preset per page), 'clean', or a comma list name[:level] applied to "
        f"every page; names: {','.join(D.ORDER)}",
    )
    ap.add_argument("--split", default="dev", choices=sorted(SPLITS))
    ap.add_argument("--font", default="random", help=f"random, typewriter, or one of {','.join(fonts.available())}")
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument(
        "--leaders",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="type values over dotted leader lines (default: random)",
    )
    ap.add_argument("--format", default="auto", choices=["auto", "png", "jpg", "tif", "pdf"])
    ap.add_argument("--committed", action="store_true", help="write the committed sample set into --out")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    try:
        if a.committed:
            for m in committed_set(a.out):
                print(m["file"])
            return 0
        types = [t.strip() for t in a.types.split(",") if t.strip()]
        for t in types:
            if t not in TEMPLATES:
                ap.error(f"unknown type '{t}'")
        if a.font not in ("random", "typewriter") and a.font not in fonts.available():
            ap.error(f"font '{a.font}' unavailable (available: {', '.join(fonts.available())})")
        parse_degradations(a.degradations)
        gts = generate(
            a.out,
            a.count,
            a.seed,
            types=types,
            degradations=a.degradations,
            split=a.split,
            font=a.font,
            dpi=a.dpi,
            leaders=a.leaders,
            fmt=a.format,
            verbose=a.verbose,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(gts)} pages to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
