"""Field extraction accuracy on generated pages with ground truth.

    python benchmarks/bench_fields.py                      # 40 generated pages (seed 7001) + samples/data
    python benchmarks/bench_fields.py --count 60 --seed 9 --degradations random
    python benchmarks/bench_fields.py --dir /tmp/pages     # an existing folder of NAME.* + NAME.gt.json
    python benchmarks/bench_fields.py --calibrate          # also sweep the review threshold
    python benchmarks/bench_fields.py --fit                # fit the confidence model's weights
    python benchmarks/bench_fields.py --cache /tmp/ocr     # keep OCR results between runs (pickles)

Runs the real cleanup + OCR (`digitize.pipeline.recognise_page`) and the
extractors (`digitize.extract.extract_pages`), then compares every field with
the ground truth written by `samples.generate`:

* field exact match per field and per doc type (a field missing or wrong is a miss;
  a field the paper does not have but was produced counts against precision);
* record-level exact rate (every field of the record right, nothing extra);
* auto-accept precision (fields NOT in needs_review that are right) and the review
  rate (fields in needs_review / fields produced) at the configured threshold,
  and with --calibrate the lowest threshold that keeps auto-accepted fields
  >= 99.5 % right, with the review rate that costs.

Prints a table; --json FILE writes the numbers."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TYPES = "khai_sinh,ket_hon,khai_tu,so_ho_tich,van_ban,prose"


def generate(out: Path, count: int, seed: int, types: str, degradations: str, split: str) -> None:
    cmd = [
        sys.executable,
        "-m",
        "samples.generate",
        "--out",
        str(out),
        "--count",
        str(count),
        "--seed",
        str(seed),
        "--types",
        types,
        "--degradations",
        degradations,
        "--split",
        split,
    ]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def samples_in(folder: Path) -> list[tuple[Path, dict]]:
    out = []
    for gt_path in sorted(folder.glob("*.gt.json")):
        gt = json.loads(gt_path.read_text(encoding="utf-8"))
        image = folder / gt["file"]
        if image.exists():
            out.append((image, gt))
    return out


class Recogniser:
    def __init__(self, cache: Path | None) -> None:
        from digitize.config import load_settings
        from digitize.ocr import make_ocr_engine
        from digitize.pipeline import Engines
        from digitize.preprocess import CleanupOptions

        settings = load_settings()
        self.settings = settings
        self.engines = Engines(
            settings=settings,
            ocr=make_ocr_engine(settings),
            signer=None,
            storage=None,
            index=None,
            cleanup=CleanupOptions(),
        )
        self.cache = cache
        if cache:
            cache.mkdir(parents=True, exist_ok=True)

    def pages(self, path: Path):
        """The file's OCR pages and, as the pipeline keeps them, its form pages' images
        for reading figure fields again (`digitize.extract.rereading`)."""
        from digitize import ingest
        from digitize.pipeline import PageValues, read_input

        data = path.read_bytes()
        key = hashlib.sha256(data).hexdigest()[:24]
        cached = self.cache / f"{key}.figures.pkl" if self.cache else None
        if cached and cached.exists():
            pages, kept = pickle.loads(cached.read_bytes())
            return pages, PageValues.unpacked(self.engines.ocr, kept)
        pages, figures = read_input(ingest.describe(path.name, data, self.settings), data, self.engines)
        if cached:
            cached.write_bytes(pickle.dumps((pages, figures.packed())))
        return pages, figures


def page_type(gt: dict, page: int) -> str:
    if gt.get("page_details"):
        details = gt["page_details"]
        if 0 < page <= len(details) and details[page - 1].get("doc_type"):
            return details[page - 1]["doc_type"]
    return gt["doc_type"]


def align(gt_records: list[dict], predicted: list) -> list[tuple[dict | None, object | None]]:
    """Pairs (gt record, predicted record): by page; on a registry page by entry number,
    then the entries left over in page order."""
    pairs: list[tuple[dict | None, object | None]] = []
    used: set[int] = set()
    pages = sorted({g.get("page", 1) for g in gt_records})
    for page in pages:
        gts = [g for g in gt_records if g.get("page", 1) == page]
        cands = [i for i, r in enumerate(predicted) if r.page == page]
        matched: dict[int, int] = {}
        if len(gts) > 1:
            for gi, g in enumerate(gts):
                i = next(
                    (i for i in cands if i not in used and predicted[i].fields.get("so") == g["fields"].get("so")), None
                )
                if i is not None:
                    matched[gi] = i
                    used.add(i)
        rest = [i for i in cands if i not in used]
        for gi, g in enumerate(gts):
            if gi not in matched and rest:
                matched[gi] = rest.pop(0)
                used.add(matched[gi])
            pairs.append((g, predicted[matched[gi]] if gi in matched else None))
    for i, r in enumerate(predicted):
        if i not in used:
            pairs.append((None, r))
    return pairs


def evaluate(samples: list[tuple[Path, dict]], recogniser: Recogniser, verbose: bool = False) -> dict:
    from digitize.extract import classify, extract_pages
    from digitize.extract.rereading import reading_values

    field_rows: list[dict] = []  # one per (gt or predicted) field
    records = {"total": 0, "exact": 0}
    by_type_records: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    classification = {"pages": 0, "right": 0, "wrong": []}
    ocr_seconds = 0.0
    for path, gt in samples:
        started = time.perf_counter()
        pages, figures = recogniser.pages(path)
        ocr_seconds += time.perf_counter() - started
        for page in pages:
            classification["pages"] += 1
            want = page_type(gt, page.number)
            got = classify(page)
            if want == got or (
                want == "van_ban"
                and not [r for r in gt["records"] if r.get("page", 1) == page.number]
                and got == "van_ban"
            ):
                classification["right"] += 1
            else:
                classification["wrong"].append(f"{path.name} p{page.number}: {want} -> {got}")
        with reading_values(figures):
            predicted = extract_pages(pages)
        for g, p in align(gt["records"], predicted):
            doc_type = (g or {}).get("doc_type") or p.doc_type
            gf = (g or {}).get("fields", {})
            pf = p.fields if p else {}
            review = set(p.needs_review) if p else set()
            handwritten = set(gt.get("handwritten", ()))  # written by hand into the page: reviewed by design
            conf = p.confidence if p else {}
            evidence = p.evidence if p else {}
            provenance = p.provenance if p else {}
            exact = bool(g) and bool(p)
            for name in sorted(set(gf) | set(pf)):
                right = gf.get(name) is not None and pf.get(name) == gf.get(name)
                exact = exact and right
                field_rows.append(
                    {
                        "file": path.name,
                        "doc_type": doc_type,
                        "field": name,
                        "gt": gf.get(name),
                        "got": pf.get(name),
                        "right": right,
                        "in_gt": name in gf,
                        "produced": name in pf,
                        "review": name in review,
                        "confidence": conf.get(name, 0.0),
                        "evidence": evidence.get(name),
                        "handwritten": name in handwritten,
                        "repairs": [(r.rule, r.before, r.after) for r in provenance[name].repairs]
                        if name in provenance
                        else [],
                    }
                )
                if verbose and not right:
                    flag = "R" if name in review else " "
                    print(
                        f"  {flag} {path.name:38} {name:20} gt={gf.get(name)!r} got={pf.get(name)!r} "
                        f"c={conf.get(name, 0):.3f}",
                        file=sys.stderr,
                    )
            if g:
                records["total"] += 1
                records["exact"] += exact
                by_type_records[doc_type][0] += 1
                by_type_records[doc_type][1] += exact
    return {
        "fields": field_rows,
        "records": records,
        "by_type_records": dict(by_type_records),
        "classification": classification,
        "ocr_seconds": ocr_seconds,
    }


def summarise(result: dict, threshold: float) -> dict:
    rows = result["fields"]
    in_gt = [r for r in rows if r["in_gt"]]
    produced = [r for r in rows if r["produced"]]
    accepted = [r for r in produced if r["confidence"] >= threshold and not r["review"]]
    flagged = [r for r in produced if not (r["confidence"] >= threshold and not r["review"])]
    per_field: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in in_gt:
        per_field[r["field"]][0] += 1
        per_field[r["field"]][1] += r["right"]
        per_type[r["doc_type"]][0] += 1
        per_type[r["doc_type"]][1] += r["right"]
    missing_flagged = sum(1 for r in in_gt if not r["produced"] and r["review"])
    printed = [r for r in in_gt if not r.get("handwritten")]
    rules: dict[str, dict[str, int]] = defaultdict(lambda: {"fired": 0, "right": 0, "undid": 0})
    for r in produced:
        for rule in {rule for rule, _, _ in r.get("repairs", ())}:
            rules[rule]["fired"] += 1
            rules[rule]["right"] += r["right"]
        for rule, before, after in r.get("repairs", ()):
            # a repair that changed a value the ground truth has into one it has not
            if r["in_gt"] and before == r["gt"] and after != r["gt"]:
                rules[rule]["undid"] += 1
    return {
        "field_exact": sum(r["right"] for r in in_gt) / max(1, len(in_gt)),
        "printed_exact": sum(r["right"] for r in printed) / max(1, len(printed)),
        "fields_printed": len(printed),
        "repairs": dict(sorted(rules.items())),
        "fields_in_gt": len(in_gt),
        "fields_produced": len(produced),
        "extra_fields": sum(1 for r in produced if not r["in_gt"]),
        "record_exact": result["records"]["exact"] / max(1, result["records"]["total"]),
        "records": result["records"]["total"],
        "auto_accept_precision": sum(r["right"] for r in accepted) / max(1, len(accepted)),
        "auto_accepted": len(accepted),
        "review_rate": len(flagged) / max(1, len(produced)),
        "missing_flagged": missing_flagged,
        "threshold": threshold,
        "per_field": {k: {"n": n, "exact": right / n} for k, (n, right) in sorted(per_field.items())},
        "per_type": {k: {"n": n, "exact": right / n} for k, (n, right) in sorted(per_type.items())},
        "per_type_records": {
            k: {"n": n, "exact": right / n} for k, (n, right) in sorted(result["by_type_records"].items())
        },
        "classification": result["classification"]["right"] / max(1, result["classification"]["pages"]),
        "misclassified": result["classification"]["wrong"],
    }


def calibrate(result: dict, target: float = 0.995) -> list[dict]:
    """Precision and review rate of auto-accepted fields for each threshold. Only the
    confidence decides here (missing required fields are not part of the sweep)."""
    produced = [r for r in result["fields"] if r["produced"]]
    curve = []
    for t in [x / 100 for x in range(30, 95)] + [x / 1000 for x in range(950, 1000)]:
        acc = [r for r in produced if r["confidence"] >= t]
        precision = sum(r["right"] for r in acc) / max(1, len(acc))
        curve.append(
            {
                "threshold": t,
                "precision": precision,
                "review_rate": 1 - len(acc) / max(1, len(produced)),
                "accepted": len(acc),
                "meets_target": precision >= target,
            }
        )
    return curve


def fit(result: dict, l2: float = 1.0, steps: int = 100) -> dict[str, float]:
    """Weights of the confidence model (`digitize.extract.base.CALIBRATION`): a logistic
    regression of "the field is right" on each produced field's features, fitted by
    Newton's method with a small L2 penalty."""
    import numpy as np

    from digitize.extract.base import FEATURE_NAMES

    rows = [r for r in result["fields"] if r["produced"] and r["evidence"]]
    x = np.array([r["evidence"] for r in rows], dtype=np.float64)
    y = np.array([1.0 if r["right"] else 0.0 for r in rows])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {name: round(float(v), 4) for name, v in zip(FEATURE_NAMES, w)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, action="append", help="folder of NAME.* + NAME.gt.json (repeatable)")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7001)
    ap.add_argument("--types", default=TYPES)
    ap.add_argument("--degradations", default="random")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--no-committed", action="store_true", help="leave out samples/data")
    ap.add_argument("--cache", type=Path, help="folder to keep OCR results in")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--fit", action="store_true", help="fit the confidence model's weights on these pages")
    ap.add_argument("--threshold", type=float, help="review threshold (default: digitize.extract.REVIEW_THRESHOLD)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every wrong field")
    args = ap.parse_args(argv)
    os.environ.setdefault("DIGITIZE_HOME", tempfile.mkdtemp(prefix="bench-fields-"))

    from digitize.extract import REVIEW_THRESHOLD

    samples: list[tuple[Path, dict]] = []
    tmp = None
    if args.dir:
        for folder in args.dir:
            samples += samples_in(folder)
    elif args.count > 0:
        tmp = tempfile.TemporaryDirectory(prefix="bench-fields-")
        generate(Path(tmp.name), args.count, args.seed, args.types, args.degradations, args.split)
        samples += samples_in(Path(tmp.name))
    if not args.no_committed:
        samples += samples_in(ROOT / "samples" / "data")
    recogniser = Recogniser(args.cache)
    started = time.perf_counter()
    result = evaluate(samples, recogniser, verbose=args.verbose)
    threshold = REVIEW_THRESHOLD if args.threshold is None else args.threshold
    summary = summarise(result, threshold)
    summary["files"] = len(samples)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(
        f"files {summary['files']}, records {summary['records']}, fields {summary['fields_in_gt']} "
        f"(produced {summary['fields_produced']}, extra {summary['extra_fields']}), {summary['seconds']} s"
    )
    print(f"classification            {summary['classification']:.3f}  {summary['misclassified'] or ''}")
    print(f"field exact match         {summary['field_exact']:.4f}")
    if summary["fields_printed"] < summary["fields_in_gt"]:
        print(
            f"  printed values only     {summary['printed_exact']:.4f}  ({summary['fields_printed']} fields; "
            f"the {summary['fields_in_gt'] - summary['fields_printed']} written by hand are reviewed by design)"
        )
    print(f"record exact              {summary['record_exact']:.4f}")
    print(
        f"auto-accept precision     {summary['auto_accept_precision']:.4f}  (threshold {threshold}, "
        f"{summary['auto_accepted']} fields)"
    )
    print(
        f"review rate               {summary['review_rate']:.4f}  (+{summary['missing_flagged']} missing "
        f"fields flagged)"
    )
    print("per doc type:   " + "  ".join(f"{k} {v['exact']:.3f} ({v['n']})" for k, v in summary["per_type"].items()))
    print(
        "records exact:  "
        + "  ".join(f"{k} {v['exact']:.3f} ({v['n']})" for k, v in summary["per_type_records"].items())
    )
    print("per field:")
    for k, v in summary["per_field"].items():
        print(f"  {k:22} {v['exact']:.3f}  ({v['n']})")
    if summary["repairs"]:
        print("repairs (rule: fields it changed, right in the end, a right reading changed to a wrong one):")
        for rule, n in summary["repairs"].items():
            print(f"  {rule:28} {n['fired']:5} {n['right']:5} {n['undid']:5}")
    if args.calibrate:
        curve = calibrate(result)
        summary["calibration"] = curve
        ok = [c for c in curve if c["meets_target"]]
        best = min(ok, key=lambda c: c["threshold"]) if ok else None
        print("threshold  precision  review")
        for c in curve:
            if abs(c["threshold"] * 20 - round(c["threshold"] * 20)) < 1e-9 or c is best:
                print(
                    f"  {c['threshold']:.3f}    {c['precision']:.4f}    {c['review_rate']:.4f}"
                    f"{'  <- lowest meeting 99.5 %' if c is best else ''}"
                )
    if args.fit:
        summary["fitted_weights"] = fit(result)
        print("CALIBRATION = " + json.dumps(summary["fitted_weights"]))
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
