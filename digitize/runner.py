"""The execution layer: one `PipelineRunner` per process owns that process's engines and runs
inputs through the pipeline on them.

The CLI's process pool, the web service's workers, local batches and Celery tasks all run
their inputs here. A pool's initialiser builds the runner once (`process_runner`); its tasks
take it back with `current_runner`. A forked child builds its own (it must not share its
parent's Tesseract or database handles), and so does a process given other settings."""

from __future__ import annotations

import os
from dataclasses import replace

from .config import Settings
from .index.base import Index
from .pipeline import Engines, ProgressFn, keep_rejected, process_bytes
from .preprocess import CleanupOptions
from .storage.base import Storage
from .types import Result, SourceFile


class PipelineRunner:
    """A process's engines (OCR, signer, storage, index) and the inputs run on them."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    @classmethod
    def from_settings(cls, settings: Settings, cleanup: CleanupOptions | None = None) -> "PipelineRunner":
        """Engines built from `settings`, with the gazetteer loaded before the first page."""
        from .extract import warm_up

        runner = cls(Engines.from_settings(settings, cleanup, reads_pages=True))
        warm_up()
        return runner

    @property
    def settings(self) -> Settings:
        return self.engines.settings

    @property
    def storage(self) -> Storage:
        return self.engines.storage

    @property
    def index(self) -> Index:
        return self.engines.index

    def for_agency(self, agency: str) -> "PipelineRunner":
        """This runner for another agency's inputs (the web service's workers serve every
        agency): the same engines, the agency's storage keys and records. Close the original."""
        if agency == self.settings.agency:
            return self
        return PipelineRunner(replace(self.engines, settings=replace(self.settings, agency=agency)))

    def process(
        self,
        name: str,
        data: bytes,
        *,
        doc_type: str = "auto",
        book: str | None = None,
        progress: ProgressFn | None = None,
        result_id: str | None = None,
    ) -> Result:
        """One input file through the pipeline (`pipeline.process_bytes`)."""
        return process_bytes(
            name, data, self.engines, doc_type=doc_type, book=book, progress=progress, result_id=result_id
        )

    def keep_rejected(self, source: SourceFile, data: bytes, reason: str) -> None:
        """Keep a refused input with its reason (`pipeline.keep_rejected`)."""
        keep_rejected(source, data, reason, self.engines)

    def warm_up(self) -> None:
        """The later stages' first-use work done now (rendering, the PDF/A check, the signing
        modules), in a long-lived worker's start-up: a web worker's first result then takes
        as long as the others (1.81 -> 1.41 s against 1.34 s for the next ones, measured)."""
        from . import render, signing

        render.warm_up()
        signing.warm_up()

    def close(self) -> None:
        self.engines.close()


_held: tuple[int, Settings, CleanupOptions, PipelineRunner] | None = None


def process_runner(settings: Settings, cleanup: CleanupOptions | None = None) -> PipelineRunner:
    """This process's runner for `settings`: built on first use, and again in a forked child
    or for other settings or cleanup options. What a pool's initialiser calls."""
    global _held
    cleanup = cleanup or CleanupOptions()
    held = _held
    if held is None or held[0] != os.getpid() or held[1] != settings or held[2] != cleanup:
        held = _held = (os.getpid(), settings, cleanup, PipelineRunner.from_settings(settings, cleanup))
    return held[3]


def close_process_runner() -> None:
    """Close this process's runner (its index connection), if `process_runner` built one here."""
    global _held
    held, _held = _held, None
    if held is not None and held[0] == os.getpid():
        held[3].close()


def current_runner() -> PipelineRunner:
    """The runner this process's pool initialiser built (`process_runner`)."""
    held = _held
    if held is None or held[0] != os.getpid():
        raise RuntimeError("no runner in this process: process_runner has not run")
    return held[3]
