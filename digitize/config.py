"""Settings: embedded defaults, overridden by a TOML config file and then by
environment variables. Validated once, at start.

Environment variables (all optional):
  DIGITIZE_HOME            base folder for the embedded defaults (default ./var)
  DIGITIZE_CONFIG          path of a TOML file with the keys below
  DIGITIZE_AGENCY          agency code used in storage keys and records (default "dev")
  DIGITIZE_STORAGE         "local" (default) or "s3"
  DIGITIZE_ARCHIVE_DIR     local archive folder (default $DIGITIZE_HOME/archive)
  DIGITIZE_S3_ENDPOINT     host:port of an S3 server (MinIO, SeaweedFS, AWS)
  DIGITIZE_S3_BUCKET       bucket name (default "digitize")
  DIGITIZE_S3_SECURE       1 for https
  DIGITIZE_S3_RETENTION_DAYS  object-lock retention for signed results (0 = off)
  DIGITIZE_S3_RETENTION_MODE  GOVERNANCE or COMPLIANCE
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY   S3 credentials
  DIGITIZE_INDEX           "sqlite" (default) or a postgresql:// URL
  DIGITIZE_INDEX_PATH      SQLite file (default $DIGITIZE_HOME/index.sqlite3)
  DIGITIZE_BROKER          Celery broker URL (redis://...); unset = in-process
  DIGITIZE_SIGNING_P12     PKCS#12 file of the production signing certificate
  DIGITIZE_SIGNING_P12_PASSWORD
  DIGITIZE_OCR_ENGINE      "auto" (default: paddle-det if installed), "tesseract", "paddle-det"
  DIGITIZE_MAX_PIXELS      per page (default 200 000 000)
  DIGITIZE_MAX_PAGES       per input (default 2000)
  DIGITIZE_MAX_BYTES       per input (default 500 MB)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import ConfigError

TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


@dataclass(frozen=True)
class Settings:
    home: Path = Path("var")
    agency: str = "dev"
    storage: str = "local"
    archive_dir: Path | None = None
    s3_endpoint: str = ""
    s3_bucket: str = "digitize"
    s3_secure: bool = False
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_retention_days: int = 0
    s3_retention_mode: str = "GOVERNANCE"
    index: str = "sqlite"
    index_path: Path | None = None
    broker: str = ""
    signing_p12: Path | None = None
    signing_p12_password: str = ""
    ocr_engine: str = "auto"  # auto = paddle-det where the ppocr extra is installed, else tesseract
    tessdata: str = TESSDATA
    postcorrect: bool = True  # put right words that are not Vietnamese syllables (ocr.vietnamese)
    max_pixels: int = 200_000_000
    max_pages: int = 2000
    max_bytes: int = 500_000_000
    workers: int = 0  # 0 = number of CPUs

    @property
    def archive_path(self) -> Path:
        return self.archive_dir or self.home / "archive"

    @property
    def sqlite_path(self) -> Path:
        return self.index_path or self.home / "index.sqlite3"

    @property
    def dev_cert_dir(self) -> Path:
        return self.home / "dev-signing"

    def validate(self) -> "Settings":
        if self.storage not in ("local", "s3"):
            raise ConfigError(f"storage must be 'local' or 's3', not {self.storage!r}")
        if self.storage == "s3" and not self.s3_endpoint:
            raise ConfigError("storage 's3' needs DIGITIZE_S3_ENDPOINT")
        if self.s3_retention_mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ConfigError("s3_retention_mode must be GOVERNANCE or COMPLIANCE")
        if not (self.index == "sqlite" or self.index.startswith(("postgresql://", "postgres://"))):
            raise ConfigError("index must be 'sqlite' or a postgresql:// URL")
        if self.signing_p12 is not None and not Path(self.signing_p12).is_file():
            raise ConfigError(f"signing certificate not found: {self.signing_p12}")
        if self.ocr_engine not in ("auto", "tesseract", "paddle-det"):
            raise ConfigError(f"unknown OCR engine {self.ocr_engine!r}")
        if not self.agency.replace("-", "").replace("_", "").isalnum():
            raise ConfigError("agency must be letters, digits, - or _")
        for name in ("max_pixels", "max_pages", "max_bytes"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        return self


_ENV = {
    "DIGITIZE_HOME": "home",
    "DIGITIZE_AGENCY": "agency",
    "DIGITIZE_STORAGE": "storage",
    "DIGITIZE_ARCHIVE_DIR": "archive_dir",
    "DIGITIZE_S3_ENDPOINT": "s3_endpoint",
    "DIGITIZE_S3_BUCKET": "s3_bucket",
    "DIGITIZE_S3_SECURE": "s3_secure",
    "AWS_ACCESS_KEY_ID": "s3_access_key",
    "AWS_SECRET_ACCESS_KEY": "s3_secret_key",
    "DIGITIZE_S3_RETENTION_DAYS": "s3_retention_days",
    "DIGITIZE_S3_RETENTION_MODE": "s3_retention_mode",
    "DIGITIZE_INDEX": "index",
    "DIGITIZE_INDEX_PATH": "index_path",
    "DIGITIZE_BROKER": "broker",
    "DIGITIZE_SIGNING_P12": "signing_p12",
    "DIGITIZE_SIGNING_P12_PASSWORD": "signing_p12_password",
    "DIGITIZE_OCR_ENGINE": "ocr_engine",
    "DIGITIZE_POSTCORRECT": "postcorrect",
    "DIGITIZE_MAX_PIXELS": "max_pixels",
    "DIGITIZE_MAX_PAGES": "max_pages",
    "DIGITIZE_MAX_BYTES": "max_bytes",
    "DIGITIZE_WORKERS": "workers",
}


def _coerce(name: str, raw: object) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if "Path" in str(kind):
            return Path(str(raw)) if raw not in (None, "") else None
        if kind in ("bool", bool):
            return str(raw).lower() in ("1", "true", "yes", "on")
        if kind in ("int", int):
            return int(raw)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return str(raw)


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    config_file = env.get("DIGITIZE_CONFIG")
    if config_file:
        try:
            data = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {config_file}: {exc}") from None
        known = {f.name for f in fields(Settings)}
        for key, raw in data.items():
            if key not in known:
                raise ConfigError(f"unknown config key {key!r} in {config_file}")
            values[key] = _coerce(key, raw)
    for var, name in _ENV.items():
        if env.get(var, "") != "":
            values[name] = _coerce(name, env[var])
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("home") is None:
        values.pop("home", None)
    return replace(Settings(), **values).validate()
