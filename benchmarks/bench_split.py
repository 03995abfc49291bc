"""Dossier splitting accuracy on generated dossiers: whose documents come out exactly right.

    .venv/bin/python -m benchmarks.bench_split [--count 8] [--seed 18] [--json FILE]

Each dossier is what a counter scans in one go: 1 to 12 documents drawn from the samples
generator (birth, marriage and death certificates, an ID card photocopy, an administrative
letter, a two-page letter whose second page is prose), with the variety of real scans: a
page turned 90 or 180 degrees now and then, blank backs of one-sided sheets after some
pages, skew and noise. Every page goes through the pipeline's cleanup and OCR
(`recognise_page`), then `split_dossier`. A dossier counts as split right when every
document has exactly its pages; as typed right when, besides, every document has its type.
Pages are OCR'd once per dossier; the table is printed in markdown."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.config import load_settings
from digitize.dossier import split_dossier
from digitize.pipeline import Engines, recognise_page
from digitize.types import PageImage
from samples.generate import render_page

# (kind, pages): a document as the generator draws it; "letter2" is a letter and a page of prose
KINDS = (("khai_sinh", 1), ("ket_hon", 1), ("khai_tu", 1), ("cccd", 1), ("van_ban", 1), ("letter2", 2))
EXPECTED_TYPE = {
    "khai_sinh": "khai_sinh",
    "ket_hon": "ket_hon",
    "khai_tu": "khai_tu",
    "cccd": "cccd",
    "van_ban": "van_ban",
    "letter2": "van_ban",
}
TURNS = (90, 180, 270)
P_TURNED = 0.15  # a page fed the wrong way round
P_BLANK_BACK = 0.25  # a one-sided sheet scanned on both sides
BUCKETS = ((1, 3), (4, 6), (7, 9), (10, 12))


@dataclass(frozen=True)
class Truth:
    doc_type: str
    pages: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    documents: int
    pages: int
    turned: int
    blanks: int
    split_right: bool
    typed_right: bool
    seconds: float
    truth: tuple[str, ...] = ()  # "type:first-last" per document, to see what went wrong
    found: tuple[str, ...] = ()


def _degradations(rng: random.Random, kind: str) -> list:
    chain: list = []
    if kind == "cccd":
        chain.append(("photocopy", 1, {}))
    roll = rng.random()
    if roll < 0.3:
        chain.append(("skew", 1, {}))
    elif roll < 0.45:
        chain.append(("noise", 1, {}))
    if rng.random() < P_TURNED:
        chain.append(("rotate", 1, {"degrees": rng.choice(TURNS)}))
    return chain


def blank_back(rng: random.Random, shape: tuple[int, int]) -> np.ndarray:
    """The empty back of a sheet: off-white paper, scanner noise, a few specks."""
    gen = np.random.default_rng(rng.randrange(2**32))
    page = np.clip(gen.normal(246, 3, shape), 0, 255).astype(np.uint8)
    for _ in range(rng.randint(0, 6)):
        y, x = gen.integers(0, shape[0] - 4), gen.integers(0, shape[1] - 4)
        page[y : y + 3, x : x + 3] = 60
    return page


def dossier_pages(seed: int) -> tuple[list[np.ndarray], list[Truth], int, int]:
    """A dossier's page images (BGR or grey, 200 dpi), its documents, how many pages are turned
    and how many are blank backs."""
    rng = random.Random(seed)
    images: list[np.ndarray] = []
    truth: list[Truth] = []
    turned = blanks = 0
    for d in range(rng.randint(1, 12)):
        kind, count = rng.choice(KINDS)
        first = len(images) + 1
        for k in range(count):
            template = kind if k == 0 and kind != "letter2" else ("van_ban" if k == 0 else "prose")
            chain = _degradations(rng, template)
            turned += any(c[0] == "rotate" for c in chain)
            page = render_page(template, seed * 100 + d * 3 + k, degradations=chain, font="random", fmt="png")
            images.append(np.ascontiguousarray(page.images[0][:, :, ::-1]))  # RGB -> BGR, as ingest gives
        if rng.random() < P_BLANK_BACK:
            images.append(blank_back(rng, images[-1].shape[:2]))
            blanks += 1
        truth.append(Truth(EXPECTED_TYPE[kind], tuple(range(first, len(images) + 1))))
    return images, truth, turned, blanks


def run_one(seed: int, engines: Engines) -> Outcome:
    images, truth, turned, blanks = dossier_pages(seed)
    started = time.perf_counter()
    pages = [
        recognise_page(PageImage(number=i, pixels=image, dpi=200.0), engines)[1] for i, image in enumerate(images, 1)
    ]
    found = split_dossier(pages)
    seconds = time.perf_counter() - started
    split_right = [s.pages for s in found] == [t.pages for t in truth]
    typed_right = split_right and all(s.doc_type == t.doc_type for s, t in zip(found, truth))
    return Outcome(
        len(truth),
        len(images),
        turned,
        blanks,
        split_right,
        typed_right,
        seconds,
        tuple(_label(t.doc_type, t.pages) for t in truth),
        tuple(_label(s.doc_type, s.pages) for s in found),
    )


def _label(doc_type: str, pages: tuple[int, ...]) -> str:
    return f"{doc_type}:{pages[0]}-{pages[-1]}" if pages else doc_type


def run(count: int, seed: int) -> list[Outcome]:
    engines = Engines.from_settings(load_settings())
    out = []
    for i in range(count):
        outcome = run_one(seed * 1000 + i, engines)
        out.append(outcome)
        print(
            f"dossier {i + 1}/{count}: {outcome.documents} documents, {outcome.pages} pages, "
            f"split {'right' if outcome.split_right else 'WRONG'}, {outcome.seconds:.0f} s"
            + ("" if outcome.typed_right else f" (want {outcome.truth}, got {outcome.found})"),
            file=sys.stderr,
        )
    engines.close()
    return out


def table(outcomes: list[Outcome]) -> str:
    rows = [
        "| documents per dossier | dossiers | pages | split right | split and typed right |",
        "|---|---:|---:|---:|---:|",
    ]

    def line(label: str, group: list[Outcome]) -> str:
        n = len(group)
        split = sum(o.split_right for o in group)
        typed = sum(o.typed_right for o in group)
        share = (lambda k: f"{k}/{n} ({100 * k / n:.0f} %)") if n else (lambda k: "–")
        return f"| {label} | {n} | {sum(o.pages for o in group)} | {share(split)} | {share(typed)} |"

    for low, high in BUCKETS:
        rows.append(line(f"{low}–{high}", [o for o in outcomes if low <= o.documents <= high]))
    rows.append(line("**all**", outcomes))
    rows.append(line("with a turned page", [o for o in outcomes if o.turned]))
    rows.append(line("with a blank back", [o for o in outcomes if o.blanks]))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_split", description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=8, help="dossiers to generate and split")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--json", help="also write each dossier's outcome here")
    a = ap.parse_args(argv)
    started = time.perf_counter()
    outcomes = run(a.count, a.seed)
    pages = sum(o.pages for o in outcomes)
    print(
        f"Dossier splitting: {a.count} generated dossiers, {pages} pages, "
        f"{sum(o.documents for o in outcomes)} documents (seed {a.seed}; "
        f"{time.perf_counter() - started:.0f} s, {sum(o.seconds for o in outcomes) / max(1, pages):.1f} s/page "
        f"cleanup + OCR + split)"
    )
    print(table(outcomes))
    if a.json:
        Path(a.json).write_text(json.dumps([o.__dict__ for o in outcomes], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
