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
  DIGITIZE_PKCS11_MODULE   PKCS#11 library of a signing token or HSM (e.g. /usr/lib/softhsm/libsofthsm2.so);
                           set, it signs with the token's key instead of a PKCS#12
  DIGITIZE_PKCS11_TOKEN, DIGITIZE_PKCS11_KEY, DIGITIZE_PKCS11_PIN   token label, key (and certificate) label, PIN
  DIGITIZE_AGENCY_NAME     the agency's name on the Nghị định 30 copy stamp (default: DIGITIZE_AGENCY)
  DIGITIZE_COPY_FORM       "SAO Y" (default), "SAO LỤC" or "TRÍCH SAO": the stamp's first line
  DIGITIZE_STAMP_FONT      TrueType font of the stamp (default: Liberation Serif if installed, else DejaVu Serif)
  DIGITIZE_TSA_URL         RFC 3161 time-stamping authority (http[s]://...); unset = the development
                           TSA in-process with the development certificate (NOT FOR PRODUCTION), none
                           with a production PKCS#12
  DIGITIZE_SIGNING_LEVEL   "auto" (default: B-LTA where a TSA is available, else B-B), B-B, B-T, B-LT, B-LTA
  DIGITIZE_TRUST_ROOTS     PEM file of trust anchors (national root, Ban Cơ yếu roots) for verify, the
                           check before signing and revocation data; the development CA is added by default
  DIGITIZE_RETIMESTAMP_DAYS  `digitize retimestamp` renews a result whose last timestamp's TSA certificate
                           expires within this many days (default 365)
  DIGITIZE_OCR_ENGINE      "auto" (default: paddle-det if installed), "tesseract", "paddle-det"
  DIGITIZE_LINE_READER     with paddle-det, read each line with the trained reader (models/line_reader.onnx)
                           first and with Tesseract only where it is unsure (default true; false: Tesseract
                           reads every line)
  DIGITIZE_MAX_PIXELS      per page, as the file declares it (default 80 000 000: an A3 page at 600 dpi
                           is 70 MP); refused before anything is decoded
  DIGITIZE_MAX_PAGE_BYTES  per page, the raster cleanup works on: width x height x channels (1 grey,
                           3 colour), counted at 300 dpi for a page under it (cleanup upscales it). A page
                           over it is reduced to 300 dpi as it is decoded, and refused if still over; one
                           over 330 dpi always is (default 64 000 000: the largest sheet read, A3 with a
                           margin, is 59 MB in colour at 300 dpi)
  DIGITIZE_MAX_DECODED_BYTES  per input, decoded page rasters summed over its pages (default 2 000 000 000:
                           some 230 A4 pages in grey or 75 in colour at 300 dpi, a born-digital page
                           being drawn in colour); a PDF is refused before its first page is read when
                           its pages' sizes already add up to more. Longer books go through
                           `digitize batch`, which splits them into one input per page
  DIGITIZE_MAX_STREAM_BYTES  per PDF stream other than an image (contents, fonts, forms), decoded; an
                           image stream may decode to its own raster only (default 64 000 000)
  DIGITIZE_MAX_PAGES       per input (default 2000)
  DIGITIZE_MAX_BYTES       per input (default 500 MB)
  DIGITIZE_PAGE_TIME_LIMIT seconds a Celery page task may run (default 300)
  DIGITIZE_VISIBILITY_TIMEOUT  seconds after which a dead worker's page goes back on the queue (default 60;
                           live workers re-stamp theirs every timeout/6 seconds)
  DIGITIZE_RETRY_MAX       retries of a page after a storage/index failure (default 12)
  DIGITIZE_RETRY_BACKOFF_MAX  longest wait between those retries, seconds (default 300)
  DIGITIZE_BROKER_PATIENCE how long a waiting `digitize batch` rides through an unreachable broker (default 600)
  DIGITIZE_RESULT_BACKEND  Celery result store (default: the broker URL)
  DIGITIZE_KEEP_REJECTED   refused inputs kept per agency, with their reason (default 1000; 0 = none)
  DIGITIZE_KEEP_REJECTED_BYTES  largest refused input kept (default 25 MB)
  DIGITIZE_TRUSTED_PROXIES comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For
                           names the client (default: none; the TCP peer is the client)
  DIGITIZE_INSECURE_COOKIES 1 = cookies without Secure and no HSTS (local http development only)
  DIGITIZE_WEB_PROCESSES   OCR worker processes of `digitize serve` (default: DIGITIZE_WORKERS, else CPUs)
  DIGITIZE_WEB_MAX_UPLOADS upload bodies the web service receives at once (default 4)
  DIGITIZE_KEYING_BLIND_SHARE  share of keyed entries whose OCR is hidden from the keyer, to measure
                           both (0..1, default 0.10)
  DIGITIZE_AUDIT_KEY       key of the audit log's HMAC chain, at least 32 characters (default:
                           <home>/audit.key, made on first use with mode 0600)
  DIGITIZE_LOG             log level: DEBUG, INFO, WARNING (default), ERROR or CRITICAL
  DIGITIZE_DEBUG           1 = an unexpected error in a page raises with its traceback instead of
                           failing that page with a one-line "internal error"
  DIGITIZE_CACHE_DIR       folder of the start-up data cache (diskcache.py; default
                           $XDG_CACHE_HOME/digitize, else ~/.cache/digitize); "off" turns it off
  XDG_CACHE_HOME           the user's cache folder, under which that cache goes by default
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_AUDIT_KEY = 32


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
    pkcs11_module: Path | None = None
    pkcs11_token: str = ""
    pkcs11_key: str = ""
    pkcs11_pin: str = ""
    agency_name: str = ""  # on the copy stamp; "" = the agency code
    copy_form: str = "SAO Y"
    stamp_font: Path | None = None
    tsa_url: str = ""
    signing_level: str = "auto"
    trust_roots_file: Path | None = None
    retimestamp_days: int = 365  # renew archive timestamps whose TSA certificate expires this soon
    ocr_engine: str = "auto"  # auto = paddle-det where the ppocr extra is installed, else tesseract
    tessdata: str = TESSDATA
    postcorrect: bool = True  # put right words that are not Vietnamese syllables (ocr.vietnamese)
    line_reader: bool = True  # the trained line reader first, Tesseract where it is unsure (ocr.ppocr)
    max_pixels: int = 80_000_000
    max_page_bytes: int = 64_000_000
    max_decoded_bytes: int = 2_000_000_000
    max_stream_bytes: int = 64_000_000
    max_pages: int = 2000
    max_bytes: int = 500_000_000
    workers: int = 0  # 0 = number of CPUs
    # Tesseract instances reading one page's lines at once: 0 = the CPUs left to each worker
    # (all of them for `digitize process` with one input or --workers 1, else 1)
    ocr_line_threads: int = 0
    page_time_limit: int = 300
    visibility_timeout: int = 60
    retry_max: int = 12
    retry_backoff_max: float = 300.0
    broker_patience: float = 600.0
    result_backend: str = ""
    keep_rejected: int = 1000  # refused inputs kept per agency (bounded: refusals must not fill the disk)
    keep_rejected_bytes: int = 25_000_000
    trusted_proxies: str = ""  # comma-separated IPs/CIDRs; only their X-Forwarded-For is believed
    insecure_cookies: bool = False  # plain-http development: cookies without Secure, no HSTS
    web_processes: int = 0  # 0 = workers, else CPUs
    web_max_uploads: int = 4  # bodies received at once (each up to max_bytes): bounded memory under attack
    keying_blind_share: float = 0.10
    audit_key: str = ""  # "" = the key file next to the web database (web.audit)
    log_level: str = "WARNING"
    debug: bool = False  # a page's unexpected error raises (traceback) instead of failing the page
    cache_dir: str = ""  # start-up data cache (diskcache.py); "" = under xdg_cache_home, "off" = none
    xdg_cache_home: Path | None = None  # None = ~/.cache

    @property
    def archive_path(self) -> Path:
        return self.archive_dir or self.home / "archive"

    @property
    def sqlite_path(self) -> Path:
        return self.index_path or self.home / "index.sqlite3"

    @property
    def dev_cert_dir(self) -> Path:
        return self.home / "dev-signing"

    @property
    def cache_path(self) -> Path | None:
        """The start-up data cache's folder (diskcache.py), or None when it is turned off."""
        folder = self.cache_dir.strip()
        if folder.lower() in ("off", "0", "none", "false"):
            return None
        if folder:
            return Path(folder)
        return (self.xdg_cache_home or Path.home() / ".cache") / "digitize"

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in self.trusted_proxies.split(",") if part.strip()
        )

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
        if self.pkcs11_module is not None and not (self.pkcs11_token and self.pkcs11_key):
            raise ConfigError("PKCS#11 signing needs DIGITIZE_PKCS11_TOKEN and DIGITIZE_PKCS11_KEY")
        if self.copy_form not in ("SAO Y", "SAO LỤC", "TRÍCH SAO"):
            raise ConfigError(f"copy_form must be SAO Y, SAO LỤC or TRÍCH SAO, not {self.copy_form!r}")
        if self.signing_level not in ("auto", "B-B", "B-T", "B-LT", "B-LTA"):
            raise ConfigError(f"signing_level must be auto, B-B, B-T, B-LT or B-LTA, not {self.signing_level!r}")
        if self.tsa_url and not self.tsa_url.startswith(("http://", "https://")):
            raise ConfigError(f"tsa_url must be an http(s) URL, not {self.tsa_url!r}")
        if self.trust_roots_file is not None and not Path(self.trust_roots_file).is_file():
            raise ConfigError(f"trust roots file not found: {self.trust_roots_file}")
        if self.retimestamp_days < 0:
            raise ConfigError("retimestamp_days must be 0 or more")
        if self.ocr_engine not in ("auto", "tesseract", "paddle-det"):
            raise ConfigError(f"unknown OCR engine {self.ocr_engine!r}")
        if not self.agency.replace("-", "").replace("_", "").isalnum():
            raise ConfigError("agency must be letters, digits, - or _")
        for name in ("max_pixels", "max_pages", "max_bytes", "max_page_bytes", "max_decoded_bytes", "max_stream_bytes"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.web_processes < 0 or self.web_max_uploads < 1:
            raise ConfigError("web_processes must be 0 or more and web_max_uploads 1 or more")
        if not 0.0 <= self.keying_blind_share <= 1.0:
            raise ConfigError("keying_blind_share must be between 0 and 1")
        if self.audit_key and len(self.audit_key) < MIN_AUDIT_KEY:
            raise ConfigError(f"audit_key (DIGITIZE_AUDIT_KEY) must be at least {MIN_AUDIT_KEY} characters")
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        try:
            self.trusted_proxy_networks
        except ValueError as exc:
            raise ConfigError(f"trusted_proxies: {exc}") from None
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
    "DIGITIZE_PKCS11_MODULE": "pkcs11_module",
    "DIGITIZE_PKCS11_TOKEN": "pkcs11_token",
    "DIGITIZE_PKCS11_KEY": "pkcs11_key",
    "DIGITIZE_PKCS11_PIN": "pkcs11_pin",
    "DIGITIZE_AGENCY_NAME": "agency_name",
    "DIGITIZE_COPY_FORM": "copy_form",
    "DIGITIZE_STAMP_FONT": "stamp_font",
    "DIGITIZE_TSA_URL": "tsa_url",
    "DIGITIZE_SIGNING_LEVEL": "signing_level",
    "DIGITIZE_TRUST_ROOTS": "trust_roots_file",
    "DIGITIZE_RETIMESTAMP_DAYS": "retimestamp_days",
    "DIGITIZE_OCR_ENGINE": "ocr_engine",
    "DIGITIZE_POSTCORRECT": "postcorrect",
    "DIGITIZE_LINE_READER": "line_reader",
    "DIGITIZE_MAX_PIXELS": "max_pixels",
    "DIGITIZE_MAX_PAGES": "max_pages",
    "DIGITIZE_MAX_BYTES": "max_bytes",
    "DIGITIZE_MAX_PAGE_BYTES": "max_page_bytes",
    "DIGITIZE_MAX_DECODED_BYTES": "max_decoded_bytes",
    "DIGITIZE_MAX_STREAM_BYTES": "max_stream_bytes",
    "DIGITIZE_WORKERS": "workers",
    "DIGITIZE_OCR_LINE_THREADS": "ocr_line_threads",
    "DIGITIZE_PAGE_TIME_LIMIT": "page_time_limit",
    "DIGITIZE_VISIBILITY_TIMEOUT": "visibility_timeout",
    "DIGITIZE_RETRY_MAX": "retry_max",
    "DIGITIZE_RETRY_BACKOFF_MAX": "retry_backoff_max",
    "DIGITIZE_BROKER_PATIENCE": "broker_patience",
    "DIGITIZE_RESULT_BACKEND": "result_backend",
    "DIGITIZE_KEEP_REJECTED": "keep_rejected",
    "DIGITIZE_KEEP_REJECTED_BYTES": "keep_rejected_bytes",
    "DIGITIZE_TRUSTED_PROXIES": "trusted_proxies",
    "DIGITIZE_INSECURE_COOKIES": "insecure_cookies",
    "DIGITIZE_WEB_PROCESSES": "web_processes",
    "DIGITIZE_WEB_MAX_UPLOADS": "web_max_uploads",
    "DIGITIZE_KEYING_BLIND_SHARE": "keying_blind_share",
    "DIGITIZE_AUDIT_KEY": "audit_key",
    "DIGITIZE_LOG": "log_level",
    "DIGITIZE_DEBUG": "debug",
    "DIGITIZE_CACHE_DIR": "cache_dir",
    "XDG_CACHE_HOME": "xdg_cache_home",
}


def _coerce(name: str, raw: Any) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if "Path" in str(kind):
            return Path(str(raw)) if raw not in (None, "") else None
        if kind in ("bool", bool):
            return str(raw).lower() in ("1", "true", "yes", "on")
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return str(raw)


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
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
