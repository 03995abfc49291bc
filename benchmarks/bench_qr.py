"""QR read rate on photocopied ID cards, by resolution and degradation, per decoder.

    .venv/bin/python -m benchmarks.bench_qr [--count 8] [--dpi 300,200] [--module-mm 0.27]
                                            [--decoders zxing,opencv,zbar,chain] [--json FILE]

Pages come from the samples generator (`cccd`: a card's front and back photocopied onto A4,
both card layouts in turn, the QR code's modules `--module-mm` wide: 0.27 mm is about 3 px
at 300 dpi and 2 px at 200 dpi). A page counts as read when a decoder returns exactly the
encoded text. Each decoder gets the whole page as the pipeline has it; `chain` is
`digitize.codes.read_codes`, what the pipeline runs (zxing-cpp, then enlarged crops of the
places where a code was seen but not read). A decoder that is not installed is skipped."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize import codes
from samples.generate import render_page

# (name, degradations): a colour scan, then photocopies scanned in ever worse ways
CONDITIONS: list[tuple[str, list]] = [
    ("colour scan", []),
    ("photocopy (grey)", [("photocopy", 1, {})]),
    ("photocopy + noise", [("photocopy", 2, {}), ("noise", 2, {})]),
    ("photocopy + blur", [("photocopy", 1, {}), ("blur", 2, {})]),
    ("photocopy + JPEG q50", [("photocopy", 1, {}), ("jpeg", 2, {})]),
    ("photocopy + skew 2-5°", [("photocopy", 1, {}), ("skew", 2, {})]),
    (
        "all: copy, skew, noise, blur, JPEG",
        [("photocopy", 2, {}), ("skew", 1, {}), ("noise", 1, {}), ("blur", 1, {}), ("jpeg", 2, {})],
    ),
]


def decoders_for(names: list[str]) -> dict[str, object]:
    have = set(codes.available_decoders())
    out: dict[str, object] = {}
    for name in names:
        if name == "chain":
            out[name] = codes.read_codes
        elif name in have:
            out[name] = codes.DECODERS[name]
        else:
            print(f"bench_qr: decoder '{name}' is not installed: skipped", file=sys.stderr)
    return out


def run(count: int, dpis: list[int], module_mm: float, names: list[str]) -> dict:
    decoders = decoders_for(names)
    rows = []
    for cond, chain in CONDITIONS:
        for dpi in dpis:
            hits = {n: 0 for n in decoders}
            seconds = {n: 0.0 for n in decoders}
            for i in range(count):
                variant = ("cccd_2021", "can_cuoc_2024")[i % 2]
                page = render_page(
                    "cccd",
                    9000 + i,
                    dpi=dpi,
                    variant=variant,
                    degradations=chain,
                    font="DejaVuSans",
                    card={"qr_module_mm": module_mm},
                )
                image = np.ascontiguousarray(page.images[0][:, :, ::-1])  # RGB -> BGR, as ingest gives
                want = page.gt["qr_payload"]
                for name, decode in decoders.items():
                    started = time.perf_counter()
                    found = decode(image)
                    seconds[name] += time.perf_counter() - started
                    hits[name] += any(c.text == want for c in found)
            rows.append(
                {
                    "condition": cond,
                    "dpi": dpi,
                    "pages": count,
                    "read": {n: hits[n] / count for n in decoders},
                    "ms_per_page": {n: 1000 * seconds[n] / count for n in decoders},
                }
            )
            print(_row(rows[-1], list(decoders)), file=sys.stderr)
    return {"module_mm": module_mm, "decoders": list(decoders), "rows": rows}


def _row(row: dict, names: list[str]) -> str:
    cells = [f"{100 * row['read'][n]:3.0f} % {row['ms_per_page'][n]:5.0f} ms" for n in names]
    return f"| {row['condition']:<36} | {row['dpi']:>3} | " + " | ".join(cells) + " |"


def table(result: dict) -> str:
    names = result["decoders"]
    head = f"| {'condition':<36} | dpi | " + " | ".join(f"{n:<14}" for n in names) + " |"
    rule = "|" + "-" * 38 + "|-----|" + "|".join("-" * 16 for _ in names) + "|"
    return "\n".join([head, rule] + [_row(r, names) for r in result["rows"]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_qr", description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=8, help="pages per condition and resolution")
    ap.add_argument("--dpi", default="300,200")
    ap.add_argument("--module-mm", type=float, default=0.27)
    ap.add_argument("--decoders", default="zxing,opencv,zbar,chain")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args(argv)
    result = run(
        a.count,
        [int(d) for d in a.dpi.split(",")],
        a.module_mm,
        [d.strip() for d in a.decoders.split(",") if d.strip()],
    )
    print(
        f"QR read rate (share of pages whose code is read exactly) and time per page; "
        f"{a.count} pages per row, module {a.module_mm} mm"
    )
    print(table(result))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
