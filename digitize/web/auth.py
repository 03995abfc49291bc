"""Users, roles, passwords, API tokens, sessions and CSRF.

- Passwords: argon2id (argon2-cffi) when installed, else scrypt from hashlib.
- API: `Authorization: Bearer <token>`; only the SHA-256 of a token is stored.
- Pages: a session cookie holding a random session id signed with HMAC-SHA256
  (key kept in the database); the session row holds a per-session CSRF token
  that every state-changing request authenticated by the cookie must echo
  (header `X-CSRF-Token` or form field `csrf_token`).

Roles (what each may do is `PERMISSIONS`):
  intake    one-stop-shop officer: upload, see and correct fields, dossiers, search
  reviewer  review queue and corrections, search
  archivist reviewer + upload, share results with other agencies
  external  another agency's system: read-only, lookup by so_dinh_danh only
  admin     everything, all agencies, users, audit export, reports
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .audit import VN_TZ, now_iso
from .db import WebDB

ROLES = ("intake", "reviewer", "archivist", "external", "admin")
ROLE_ALIASES = {"intake_officer": "intake", "officer": "intake", "external_system": "external", "system": "external"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "intake": frozenset({"upload", "read", "view", "search_text", "search_id", "correct", "dossier", "verify"}),
    "reviewer": frozenset({"read", "view", "search_text", "search_id", "correct", "review", "verify"}),
    "archivist": frozenset({"upload", "read", "view", "search_text", "search_id", "correct", "review", "verify",
                            "share", "dossier"}),
    "external": frozenset({"read", "search_id", "verify"}),
    "admin": frozenset({"upload", "read", "view", "search_text", "search_id", "correct", "review", "verify",
                        "share", "dossier", "admin", "all_agencies"}),
}

SESSION_COOKIE = "dz_session"
LOGIN_CSRF_COOKIE = "dz_login_csrf"
SESSION_HOURS = 12
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_AGENCY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class AuthError(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    id: int
    name: str
    role: str
    agency: str
    via: str  # "session" or "token"
    sid: str = ""
    csrf: str = ""

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


# ------------------------------------------------------------------ password hashing

def hash_password(password: str) -> str:
    try:
        from argon2 import PasswordHasher
    except ImportError:
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
        return "scrypt$16384$8$1$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()
    return PasswordHasher().hash(password)


def check_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    if stored.startswith("scrypt$"):
        try:
            _, n, r, p, salt, digest = stored.split("$")
            got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                 dklen=len(base64.b64decode(digest)))
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(got, base64.b64decode(digest))
    try:
        from argon2 import PasswordHasher
        from argon2.exceptions import Argon2Error, InvalidHashError
    except ImportError:  # pragma: no cover - hash made where argon2 was installed
        return False
    try:
        return PasswordHasher().verify(stored, password)
    except (Argon2Error, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_role(role: str) -> str:
    role = ROLE_ALIASES.get(role.strip().lower(), role.strip().lower())
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return role


# ------------------------------------------------------------------ the store

class Auth:
    def __init__(self, db: WebDB) -> None:
        self.db = db
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = base64.b64decode(self.db.meta("session_key", lambda: base64.b64encode(
                secrets.token_bytes(32)).decode()) or "")
        return self._key

    # users ---------------------------------------------------------------
    def add_user(self, name: str, role: str, agency: str, *, password: str | None = None) -> dict[str, Any]:
        if not _NAME.match(name or ""):
            raise AuthError("user name: 1-64 letters, digits, . _ @ -")
        if not _AGENCY.match(agency or ""):
            raise AuthError("agency: 1-64 letters, digits, _ -")
        role = normalize_role(role)
        with self.db.connect(write=True) as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AuthError(f"user {name!r} exists")
            cur = conn.execute("INSERT INTO users(name, role, agency, password_hash, created_at) VALUES (?,?,?,?,?)",
                               (name, role, agency, hash_password(password) if password else None, now_iso()))
            return {"id": cur.lastrowid, "name": name, "role": role, "agency": agency}

    def user(self, name: str) -> dict[str, Any] | None:
        row = self.db.one("SELECT id, name, role, agency, disabled, created_at FROM users WHERE name = ?", (name,))
        return dict(row) if row else None

    def users(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.all("SELECT id, name, role, agency, disabled, created_at FROM users "
                                             "ORDER BY name")]

    def set_password(self, name: str, password: str) -> None:
        if self.db.run("UPDATE users SET password_hash = ? WHERE name = ?", (hash_password(password), name)) != 1:
            raise AuthError(f"no user {name!r}")

    def set_disabled(self, name: str, disabled: bool) -> None:
        if self.db.run("UPDATE users SET disabled = ? WHERE name = ?", (1 if disabled else 0, name)) != 1:
            raise AuthError(f"no user {name!r}")
        if disabled:
            self.db.run("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", (name,))

    def issue_token(self, name: str) -> str:
        user = self.user(name)
        if user is None:
            raise AuthError(f"no user {name!r}")
        token = "dz_" + secrets.token_urlsafe(32)
        self.db.run("INSERT INTO tokens(user_id, token_hash, created_at) VALUES (?, ?, ?)",
                    (user["id"], _token_hash(token), now_iso()))
        return token

    def revoke_tokens(self, name: str) -> int:
        return self.db.run("UPDATE tokens SET revoked = 1 WHERE user_id = (SELECT id FROM users WHERE name = ?)",
                           (name,))

    # authentication ----------------------------------------------------
    def token_principal(self, token: str) -> Principal | None:
        if not token or len(token) > 200:
            return None
        row = self.db.one("SELECT u.id, u.name, u.role, u.agency FROM tokens t JOIN users u ON u.id = t.user_id "
                          "WHERE t.token_hash = ? AND t.revoked = 0 AND u.disabled = 0", (_token_hash(token),))
        if row is None:
            return None
        return Principal(id=row["id"], name=row["name"], role=row["role"], agency=row["agency"], via="token")

    def locked_out(self, name: str) -> bool:
        since = (datetime.now(VN_TZ) - FAILURE_WINDOW).isoformat(timespec="milliseconds")
        row = self.db.one("SELECT count(*) AS n FROM login_failures WHERE name = ? AND at >= ?", (name, since))
        return bool(row and row["n"] >= MAX_FAILURES)

    def check_login(self, name: str, password: str) -> dict[str, Any] | None:
        """The user for a correct name/password, else None (and the failure is counted)."""
        row = self.db.one("SELECT id, name, role, agency, password_hash, disabled FROM users WHERE name = ?",
                          (name[:64],))
        ok = row is not None and not row["disabled"] and check_password(row["password_hash"], password)
        if not ok:
            if row is None:
                check_password(_DUMMY_HASH(), password)  # same work for unknown names (no user enumeration by timing)
            self.db.run("INSERT INTO login_failures(name, at) VALUES (?, ?)", (name[:64], now_iso()))
            return None
        self.db.run("DELETE FROM login_failures WHERE name = ?", (name,))
        return dict(row)

    def create_session(self, user_id: int) -> tuple[str, str]:
        """(cookie value, csrf token)."""
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = datetime.now(VN_TZ)
        self.db.run("DELETE FROM sessions WHERE expires_at < ?", (now.isoformat(timespec="milliseconds"),))
        self.db.run("INSERT INTO sessions(sid, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
                    (sid, user_id, csrf, now.isoformat(timespec="milliseconds"),
                     (now + timedelta(hours=SESSION_HOURS)).isoformat(timespec="milliseconds")))
        return self.sign(sid), csrf

    def session_principal(self, cookie: str) -> Principal | None:
        sid = self.unsign(cookie)
        if sid is None:
            return None
        row = self.db.one("SELECT u.id, u.name, u.role, u.agency, s.csrf, s.expires_at FROM sessions s "
                          "JOIN users u ON u.id = s.user_id WHERE s.sid = ? AND u.disabled = 0", (sid,))
        if row is None or row["expires_at"] < now_iso():
            return None
        return Principal(id=row["id"], name=row["name"], role=row["role"], agency=row["agency"], via="session",
                         sid=sid, csrf=row["csrf"])

    def end_session(self, sid: str) -> None:
        self.db.run("DELETE FROM sessions WHERE sid = ?", (sid,))

    # cookie signing ----------------------------------------------------
    def sign(self, value: str) -> str:
        mac = hmac.new(self.key, value.encode(), hashlib.sha256).digest()
        return value + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def unsign(self, signed: str | None) -> str | None:
        if not signed or "." not in signed or len(signed) > 300:
            return None
        value, _, mac = signed.rpartition(".")
        expected = base64.urlsafe_b64encode(hmac.new(self.key, value.encode(), hashlib.sha256).digest()).decode()
        return value if hmac.compare_digest(expected.rstrip("="), mac) else None


_dummy: list[str] = []


def _DUMMY_HASH() -> str:  # noqa: N802 - computed once, lazily
    if not _dummy:
        _dummy.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy[0]


def generate_password() -> str:
    return secrets.token_urlsafe(15)
