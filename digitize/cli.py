"""Command line (see ../shared/CONTRACT.md). A thin shell over the Python API.

Errors are typed (`digitize.errors`); this module is the one place that turns
them into exit codes and one-line messages on stderr."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from dataclasses import replace
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, NoReturn, Sequence

from . import __version__
from .config import Settings, load_settings
from .errors import DigitizeError, ExitCode

if TYPE_CHECKING:
    from .types import Result

DOC_TYPES = ("auto", "khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban", "cccd")
INPUT_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf", ".webp", ".bmp", ".gif"}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 on usage errors; keep it, one line
        self.print_usage(sys.stderr)
        print(f"digitize: {message}", file=sys.stderr)
        raise SystemExit(ExitCode.usage)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="digitize", description="Vietnamese civil-status paper to signed, searchable data")
    parser.add_argument("--version", action="version", version=f"digitize {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("process", help="process scans into signed searchable PDFs and JSON results")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--out", type=Path, help="also write OUT/<stem>.pdf and OUT/<stem>.json")
    p.add_argument("--type", dest="doc_type", choices=DOC_TYPES, default="auto")
    p.add_argument("--book", help="registry book id to file the results under")
    p.add_argument("--workers", type=int, default=0, help="parallel processes (default: CPUs, 1 = in this process)")
    p.add_argument("--debug-images", type=Path, help="save every cleanup stage's image in this folder")
    p.add_argument("--no-progress", action="store_true")

    v = sub.add_parser("verify", help="check a signed PDF: exit 0 when valid and unchanged since signing")
    v.add_argument("pdf", type=Path)

    s = sub.add_parser("search", help="search the index; one JSON object per line")
    s.add_argument("text", nargs="?")
    s.add_argument("--so-dinh-danh")
    s.add_argument("--type", dest="doc_type", choices=DOC_TYPES[1:])
    s.add_argument("--book")
    s.add_argument("--exact", action="store_true", help="match tone marks exactly (default: ignore them)")
    s.add_argument("--limit", type=int, default=20)

    g = sub.add_parser("get", help="print a stored result; optionally save its PDF and JSON")
    g.add_argument("id")
    g.add_argument("--pdf", type=Path)
    g.add_argument("--json", type=Path)

    e = sub.add_parser("export", help="write the Ministry of Justice package (zip) of a registry book")
    e.add_argument("--book", required=True, help="book id the results were filed under (process --book)")
    e.add_argument("--out", type=Path, help="zip file to write (default ./<book>.zip)")

    c = sub.add_parser("correct", help="correct one field of a result: a new signed version (v N+1)")
    c.add_argument("id", metavar="RESULT_ID")
    c.add_argument("--record", type=int, required=True, help="record index in the result (0 = first)")
    c.add_argument("--field", required=True, help="CONTRACT field name, e.g. ho_ten")
    c.add_argument("--value", required=True, help="the value as on the paper ('' = absent from the paper)")
    c.add_argument("--user", default=os.environ.get("USER") or "cli", help="who made the correction")
    c.add_argument("--expected-version", type=int, help="refuse if the result is no longer at this version")

    f = sub.add_parser("fixity", help="verify the SHA-256 of every object in the archive")
    f.add_argument("--prefix", default="")

    rt = sub.add_parser("retimestamp", help="renew the archive timestamp of signed results whose TSA expires soon")
    rt.add_argument("--prefix", default="", help="only results stored under this key prefix")
    rt.add_argument(
        "--within-days",
        type=int,
        default=None,
        help="renew when the last timestamp's TSA certificate expires within N days "
        "(default DIGITIZE_RETIMESTAMP_DAYS, 365)",
    )

    w = sub.add_parser("serve", help="run the HTTP API and web pages")
    w.add_argument("--host", default="127.0.0.1")
    w.add_argument("--port", type=int, default=8000)
    w.add_argument("--processes", type=int, help="OCR worker processes (default: CPUs; 0 = in this process)")
    w.add_argument("--secure-cookies", action="store_true", help="Secure cookies and HSTS (the default)")
    w.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="no Secure cookies, no HSTS: local http development only (or DIGITIZE_INSECURE_COOKIES=1)",
    )

    b = sub.add_parser("batch", help="process a book (folder of page scans, multi-page PDF or TIFF), one task per page")
    b.add_argument("source", nargs="?", type=Path, metavar="SOURCE")
    b.add_argument("--book-id", help="registry book id the pages are filed under")
    b.add_argument("--status", metavar="ID", help="print the report of an earlier batch (refreshed) instead")
    b.add_argument("--type", dest="doc_type", choices=DOC_TYPES, default="auto")
    b.add_argument(
        "--workers",
        type=int,
        default=0,
        help="local processes when no broker is set (default: CPUs, 1 = in this process)",
    )
    b.add_argument("--no-wait", action="store_true", help="queue the pages and return (needs a broker)")
    b.add_argument("--no-progress", action="store_true")

    k = sub.add_parser("worker", help="run a Celery worker for batch pages (needs DIGITIZE_BROKER)")
    k.add_argument("--concurrency", type=int, default=0, help="page processes (default: CPUs)")
    k.add_argument("--loglevel", default="INFO")
    k.add_argument("--hostname", default="", help="worker node name (default digitize-<pid>@<host>)")
    k.add_argument("--pool", choices=("prefork", "solo"), default="prefork")
    k.add_argument("--max-tasks-per-child", type=int, default=0)

    u = sub.add_parser("user", help="manage web users (add prints a generated password or token)")
    usub = u.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    ua = usub.add_parser("add", help="create a user")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, help="intake, reviewer, archivist, external or admin")
    ua.add_argument("--agency", required=True)
    ua.add_argument("--token", action="store_true", help="also issue an API token (external users always get one)")
    ut = usub.add_parser("token", help="issue a new API token for a user")
    ut.add_argument("name")
    up = usub.add_parser("password", help="set a new generated password for a user")
    up.add_argument("name")
    ud = usub.add_parser("disable", help="disable a user and revoke their tokens")
    ud.add_argument("name")
    usub.add_parser("list", help="list users")

    au = sub.add_parser("audit", help="the web audit log")
    ausub = au.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    ausub.add_parser("verify", help="check the audit log's keyed hash chain (exit 0 intact, 1 not)")
    return parser


# ------------------------------------------------------------------ helpers


def expand_inputs(inputs: Iterable[str]) -> list[Path]:
    paths: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            paths.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES))
        else:
            paths.append(path)
    return paths


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def unique_stems(paths: Sequence[Path]) -> dict[Path, str]:
    """<stem> per CONTRACT; two inputs with one stem (a.png, a.pdf) get a suffix, not an overwrite."""
    seen: dict[str, int] = {}
    stems: dict[Path, str] = {}
    for path in paths:
        stem = path.stem
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        stems[path] = stem if count == 0 else f"{stem}-{count + 1}"
    return stems


# ------------------------------------------------------------------ process (per worker process)


def _worker_init(settings: Settings, debug_dir: str | None) -> None:
    from .preprocess import CleanupOptions
    from .runner import process_runner

    process_runner(settings, CleanupOptions(debug_dir=Path(debug_dir) if debug_dir else None))


def _process_one(path: str, doc_type: str, book: str | None) -> tuple[str, Result | None, str | None]:
    """(path, result, error) — never raises, so one bad file cannot stop the others."""
    from .runner import current_runner

    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        return path, None, "is a folder with no supported files"
    except OSError as exc:
        return path, None, f"cannot read: {exc.strerror or exc}"
    runner = None
    try:
        runner = current_runner()
        result = runner.process(Path(path).name, data, doc_type=doc_type, book=book)
        return path, result, None
    except DigitizeError as exc:
        return path, None, str(exc)
    except MemoryError:
        return path, None, "out of memory while processing"
    except Exception as exc:  # a bug: still one line, and the neighbours go on
        if runner is not None and runner.settings.debug:
            raise
        return path, None, f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def cmd_process(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import to_json_bytes

    paths = expand_inputs(args.inputs)
    if not paths:
        print("digitize: no input files found", file=sys.stderr)
        return ExitCode.failed
    stems = unique_stems(paths)
    workers = args.workers or settings.workers or (os.cpu_count() or 1)
    workers = max(1, min(workers, len(paths)))
    if not settings.ocr_line_threads:
        # the cores the workers leave: one page at the counter reads its lines on all of them
        # (a single certificate page 0.95 -> 0.55 s of OCR on 2 cores)
        settings = replace(settings, ocr_line_threads=max(1, (os.cpu_count() or 1) // workers))
    debug_dir = str(args.debug_images) if args.debug_images else None
    progress = _progress_bar(len(paths), disable=args.no_progress)
    failed = 0
    results: list[Result] = []

    def handle(path: str, result: Result | None, error: str | None) -> None:
        nonlocal failed
        progress.update(1)
        if error is not None:
            failed += 1
            progress.write(f"{path}: {error}", file=sys.stderr)
            return
        assert result is not None
        results.append(result)
        if args.out:
            stem = stems[Path(path)]
            try:
                write_atomic(args.out / f"{stem}.json", to_json_bytes(result))
                write_atomic(args.out / f"{stem}.pdf", _fetch_pdf(result, settings))
            except (OSError, DigitizeError) as exc:
                failed += 1
                progress.write(f"{path}: cannot write output: {exc}", file=sys.stderr)

    if workers == 1:
        _worker_init(settings, debug_dir)
        for path in paths:
            handle(*_process_one(str(path), args.doc_type, args.book))
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, initargs=(settings, debug_dir)) as pool:
            futures = [pool.submit(_process_one, str(p), args.doc_type, args.book) for p in paths]
            for future in as_completed(futures):
                handle(*future.result())
    progress.close()
    _summary(results, len(paths), failed)
    return ExitCode.failed if failed else ExitCode.ok


# the archive the signed PDFs are copied out of, with the settings it was opened with: a
# later run in the same process (the tests call `main` many times) may name another archive
_storage_for_output: tuple[Settings, Any] | None = None


def _fetch_pdf(result: Result, settings: Settings) -> bytes:
    global _storage_for_output
    if _storage_for_output is None or _storage_for_output[0] != settings:
        from .storage import make_storage

        _storage_for_output = (settings, make_storage(settings))
    return _storage_for_output[1].get(result.keys["pdf"])


class _NoProgress:
    def update(self, n: int) -> None: ...

    def write(self, line: str, file=sys.stderr) -> None:
        print(line, file=file, flush=True)

    def close(self) -> None: ...


def _progress_bar(total: int, disable: bool):
    if disable or not sys.stderr.isatty():
        return _NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoProgress()
    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)


def _summary(results: list[Result], total: int, failed: int) -> None:
    """Short table on stderr (stdout stays free for scripts)."""
    if not results:
        return
    print(f"{'input':32} {'pages':>5} {'type':10} {'conf':>5} {'review':>6}  id", file=sys.stderr)
    for r in results:
        types = ",".join(sorted({rec.doc_type for rec in r.records})) or "text"
        review = sum(len(rec.needs_review) for rec in r.records)
        conf = sum(round(p.confidence, 4) for p in r.pages) / max(1, len(r.pages))
        print(
            f"{r.source.name[:32]:32} {len(r.pages):>5} {types[:10]:10} {conf:>5.2f} {review:>6}  {r.id}",
            file=sys.stderr,
        )
    print(f"{total - failed} of {total} inputs processed, {failed} failed", file=sys.stderr)


# ------------------------------------------------------------------ other commands


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from .signing import trust_roots
    from .signing.verify import verify_pdf

    try:
        data = args.pdf.read_bytes()
    except OSError as exc:
        print(f"{args.pdf}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.failed
    report = verify_pdf(data, trust_roots(settings))
    print(
        json.dumps(
            {
                "file": str(args.pdf),
                "valid": report.valid,
                "intact": report.intact,
                "covers_whole_file": report.covers_whole_file,
                "signer": report.signer,
                "signed_at": report.signed_at,
                "trusted": report.trusted,
                "problems": list(report.problems),
                "level": report.level,
                "timestamped_at": report.timestamped_at,
                "archive_timestamped_at": report.archive_timestamped_at,
                "trust_anchor": report.trust_anchor,
                "certificates": list(report.certificates),
            },
            ensure_ascii=False,
        )
    )
    if not report.valid:
        print(f"{args.pdf}: signature not valid: {'; '.join(report.problems) or 'document changed'}", file=sys.stderr)
        return ExitCode.failed
    return ExitCode.ok


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .index import make_index

    if not (args.text or args.so_dinh_danh or args.doc_type or args.book):
        print("digitize: search needs TEXT or a filter (--so-dinh-danh, --type, --book)", file=sys.stderr)
        return ExitCode.usage
    index = make_index(settings)
    try:
        hits = index.search(
            args.text,
            so_dinh_danh=args.so_dinh_danh,
            doc_type=args.doc_type,
            book=args.book,
            fold=not args.exact,
            limit=args.limit,
        )
    finally:
        index.close()
    for hit in hits:
        print(json.dumps(hit, ensure_ascii=False))
    return ExitCode.ok


def cmd_get(args: argparse.Namespace, settings: Settings) -> int:
    from .index import make_index
    from .pipeline import to_json_bytes
    from .storage import make_storage

    index = make_index(settings)
    try:
        result = index.get(args.id)
    finally:
        index.close()
    if result is None:
        print(f"{args.id}: no such result", file=sys.stderr)
        return ExitCode.failed
    storage = make_storage(settings)
    if args.pdf:
        write_atomic(args.pdf, storage.get(result.keys["pdf"]))
    if args.json:
        write_atomic(args.json, to_json_bytes(result))
    if not args.pdf and not args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    return ExitCode.ok


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from .export import export_book
    from .pipeline import Engines

    engines = Engines.from_settings(settings)
    try:
        path, manifest = export_book(engines, args.book, args.out)
    finally:
        engines.close()
    print(
        json.dumps(
            {
                "book": manifest["book"],
                "file": str(path),
                "entries": manifest["entries"],
                "files": len(manifest["files"]) + 1,
            },
            ensure_ascii=False,
        )
    )
    return ExitCode.ok


def cmd_correct(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import Engines
    from .review import correct_field

    engines = Engines.from_settings(settings)
    try:
        result = correct_field(
            engines, args.id, args.record, args.field, args.value, args.user, expected_version=args.expected_version
        )
    finally:
        engines.close()
    record = result.records[args.record]
    print(
        json.dumps(
            {
                "id": result.id,
                "version": result.version,
                "record": args.record,
                "field": args.field,
                "value": record.fields.get(args.field),
                "needs_review": list(record.needs_review),
            },
            ensure_ascii=False,
        )
    )
    return ExitCode.ok


def cmd_fixity(args: argparse.Namespace, settings: Settings) -> int:
    from .index import make_index
    from .pipeline import unreferenced_signed_copies
    from .storage import make_storage

    storage = make_storage(settings)
    ok = bad = 0
    keys: list[str] = []
    for key, good in storage.fixity(args.prefix):
        keys.append(key)
        if good:
            ok += 1
        else:
            bad += 1
            print(f"{key}: checksum mismatch", file=sys.stderr)
    index = make_index(settings)
    try:
        orphans = unreferenced_signed_copies(keys, index)
    finally:
        index.close()
    for key in orphans:
        print(f"{key}: signed copy not referenced by any indexed result", file=sys.stderr)
    print(json.dumps({"checked": ok + bad, "ok": ok, "bad": bad, "unreferenced_signed": len(orphans)}))
    return ExitCode.failed if bad or orphans else ExitCode.ok


def cmd_retimestamp(args: argparse.Namespace, settings: Settings) -> int:
    from .errors import ConfigError
    from .index import make_index
    from .signing import make_timestamper, make_trust, trust_roots
    from .signing.retimestamp import retimestamp_archive
    from .storage import make_storage

    days = settings.retimestamp_days if args.within_days is None else args.within_days
    if days < 0:
        print("digitize: --within-days must be 0 or more", file=sys.stderr)
        return ExitCode.usage
    timestamper = make_timestamper(settings)
    if timestamper is None:
        raise ConfigError("retimestamp needs a time-stamping authority (DIGITIZE_TSA_URL)")
    storage, index = make_storage(settings), make_index(settings)
    counts = {"renewed": 0, "not due": 0, "skipped": 0, "failed": 0}
    try:
        for done in retimestamp_archive(
            storage,
            index,
            timestamper,
            make_trust(settings),
            trust_roots(settings),
            prefix=args.prefix,
            within_days=days,
        ):
            counts[done.status] += 1
            where = f" -> {done.new_key}" if done.new_key else ""
            until = f" (expires {done.expires})" if done.expires else ""
            print(f"{done.key}: {done.status}{where}: {done.detail}{until}", file=sys.stderr)
    finally:
        index.close()
    print(
        json.dumps(
            {
                "checked": sum(counts.values()),
                "renewed": counts["renewed"],
                "not_due": counts["not due"],
                "skipped": counts["skipped"],
                "failed": counts["failed"],
                "within_days": days,
            }
        )
    )
    print(
        f"retimestamp: {counts['renewed']} renewed, {counts['not due']} not due within {days} days, "
        f"{counts['skipped']} without a timestamp, {counts['failed']} failed",
        file=sys.stderr,
    )
    return ExitCode.failed if counts["failed"] else ExitCode.ok


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .web.cli import serve_command

    return serve_command(args, settings)


def cmd_batch(args: argparse.Namespace, settings: Settings) -> int:
    from .batch import batch_status, run_batch

    if args.status:
        if args.source is not None:
            print("digitize: batch takes SOURCE or --status ID, not both", file=sys.stderr)
            return ExitCode.usage
        report = batch_status(args.status, settings)
    else:
        if args.source is None or not args.book_id:
            print("digitize: batch needs SOURCE and --book-id (or --status ID)", file=sys.stderr)
            return ExitCode.usage
        events = _BatchProgress(disable=args.no_progress)
        try:
            report = run_batch(
                args.source,
                args.book_id,
                settings,
                doc_type=args.doc_type,
                workers=args.workers,
                wait=not args.no_wait,
                events=events,
            )
        except KeyboardInterrupt:
            events.close()
            if settings.broker:
                print(
                    "digitize: interrupted; queued pages go on in the workers (see digitize batch --status ID)",
                    file=sys.stderr,
                )
            raise
        events.close()
    print(json.dumps(report, ensure_ascii=False, indent=1))
    s = report["summary"]
    print(
        f"batch {report['id']} ({report['book']}): {s['done']} of {s['pages']} pages done, {s['failed']} failed, "
        f"{s['pending']} pending; {s['records']} records, {s['fields_to_review']} fields to review",
        file=sys.stderr,
    )
    # 1 when any page failed; a queued (--no-wait) or unfinished book is not a failure: see "state".
    return ExitCode.failed if s["failed"] else ExitCode.ok


class _BatchProgress:
    """Batch events as a progress bar on stderr; a failed page prints `<page>: <reason>`."""

    def __init__(self, disable: bool) -> None:
        self.bar: Any = _NoProgress()
        if not disable and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=0, unit="page", file=sys.stderr, dynamic_ncols=True)

    def split(self, pages: int) -> None:
        if hasattr(self.bar, "total"):
            self.bar.total = pages
            self.bar.refresh()

    def page(self, entry: dict[str, Any]) -> None:
        self.bar.update(1)
        if entry.get("status") == "failed":
            line = f"{entry['name']}: {entry.get('error')}"
            if isinstance(self.bar, _NoProgress):
                self.bar.write(line)
            else:  # tqdm.write defaults to stdout, which carries the report
                self.bar.write(line, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from .batch import distributed_queue

    distributed_queue().run_worker(
        settings,
        concurrency=args.concurrency,
        loglevel=args.loglevel,
        hostname=args.hostname,
        pool=args.pool,
        max_tasks_per_child=args.max_tasks_per_child,
    )
    return ExitCode.ok


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    from .web.cli import user_command

    return user_command(args, settings)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from .web.cli import audit_command

    return audit_command(args, settings)


COMMANDS = {
    "process": cmd_process,
    "verify": cmd_verify,
    "search": cmd_search,
    "get": cmd_get,
    "fixity": cmd_fixity,
    "serve": cmd_serve,
    "user": cmd_user,
    "batch": cmd_batch,
    "worker": cmd_worker,
    "export": cmd_export,
    "correct": cmd_correct,
    "audit": cmd_audit,
    "retimestamp": cmd_retimestamp,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
        return COMMANDS[args.command](args, settings)
    except DigitizeError as exc:
        print(f"digitize: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("digitize: interrupted", file=sys.stderr)
        return 130


def run() -> NoReturn:
    """The console script: `main`, then the process ends without tearing its heap down.

    A one-page `digitize process` builds the gazetteer, the lexicons and the recognisers;
    the interpreter's orderly teardown of them (module by module, object by object) took
    0.35-0.4 s of a 3.5 s cold run. By the time `main` returns every result is stored
    (atomic writes) and indexed (committed), so the runner's index is closed, the logs and
    streams flushed, and the process ends. A command that left a thread of its own running
    exits the ordinary way, which waits for it."""
    code = int(main())
    from .runner import close_process_runner

    close_process_runner()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say there
            pass
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
