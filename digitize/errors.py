"""Typed errors. Each carries the CLI exit code and a one-line message.

The CLI edge catches `DigitizeError` and prints `<input>: <message>`; any
other exception is a bug, reported as one line too (never a traceback unless
DIGITIZE_DEBUG=1)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The CLI's exit statuses (CONTRACT): 1 when any input failed or a signature
    does not verify, 2 for a usage error, 3 for a configuration error."""

    ok = 0
    failed = 1
    usage = 2
    config = 3


class DigitizeError(Exception):
    exit_code = ExitCode.failed

    def __str__(self) -> str:  # one line, always
        msg = super().__str__() or self.__class__.__name__
        return " ".join(msg.split())


class InputError(DigitizeError):
    """The input file cannot be read as a document."""


class EmptyInput(InputError):
    pass


class UnsupportedInput(InputError):
    pass


class CorruptInput(InputError):
    pass


class EncryptedInput(InputError):
    pass


class TooLarge(InputError):
    """Pixel count, page count or byte size over the configured limits."""


class ConfigError(DigitizeError):
    exit_code = ExitCode.config


class EngineError(DigitizeError):
    """An OCR engine or other external component failed."""


class SigningError(DigitizeError):
    pass


class PdfaInvalid(SigningError):
    """A rendered PDF failed the PDF/A check that runs before signing: a bug in
    rendering; nothing is signed or shipped."""


class StorageError(DigitizeError):
    """Object storage failed; may be transient (retry)."""


class IndexError_(DigitizeError):
    """Search index failed; may be transient (retry)."""


class QueueUnavailable(DigitizeError):
    """The task broker (Redis) stayed unreachable longer than we wait for it."""


class NotFound(DigitizeError):
    pass


class Forbidden(DigitizeError):
    """Allowed to see, not to do (a result shared read-only)."""


class VerificationFailed(DigitizeError):
    exit_code = ExitCode.failed
