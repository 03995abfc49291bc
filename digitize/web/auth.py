"""Users, roles, passwords, API tokens, sessions and CSRF.

- Passwords: argon2id (argon2-cffi) when installed, else scrypt from hashlib.
- API: `Authorization: Bearer <token>`; only the SHA-256 of a token is stored.
- Pages: a session cookie holding a random session id signed with HMAC-SHA256
  (key kept in the database); the session row holds a per-session CSRF token
  that every state-changing request authenticated by the cookie must echo
  (header `X-CSRF-Token` or form field `csrf_token`).
- Logins: failures slow further attempts down (`Backoff`) per (account, address),
  per address and per account; a slowed-down attempt is refused (429) before any
  password hashing, and at most `KDF_SLOTS` hashes run at once (`Auth.login`).
  No account is ever locked: the right password from the officer's own address
  still works while the account is attacked from elsewhere.
- A password change ends the user's sessions (`set_password`). API tokens are
  separate credentials, issued by an operator for systems and never obtainable
  with the password, so they stay until revoked (`user disable`).

Roles (what each may do is `PERMISSIONS`):
  intake    one-stop-shop officer: upload, see and correct fields, dossiers, search
  reviewer  review queue and corrections, search
  archivist reviewer + upload, share results with other agencies
  external  another agency's system: lookup by so_dinh_danh only (the records naming it)
  (keying: "key" types entries twice-keyed by people, for intake, reviewer, archivist and
  admin; "review" arbitrates them; "keying_manage" sends pages to keying, assigns and
  follows progress, for archivist and admin)
  admin     everything, all agencies, users, audit export, reports; users of other
            agencies only as a system admin (`is_system_admin`)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import anyio
import anyio.to_thread

from .audit import VN_TZ, now_iso
from .db import WebDB

ROLES = ("intake", "reviewer", "archivist", "external", "admin")
ROLE_ALIASES = {"intake_officer": "intake", "officer": "intake", "external_system": "external", "system": "external"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "intake": frozenset(
        {"upload", "read", "view", "search_text", "search_id", "lookup", "correct", "dossier", "verify", "key"}
    ),
    "reviewer": frozenset({"read", "view", "search_text", "search_id", "lookup", "correct", "review", "verify", "key"}),
    "archivist": frozenset(
        {
            "upload",
            "read",
            "view",
            "search_text",
            "search_id",
            "lookup",
            "correct",
            "review",
            "verify",
            "share",
            "dossier",
            "export",
            "key",
            "keying_manage",
        }
    ),
    # Another agency's system: the fields it is entitled to, by lookup only; nothing
    # by id (no result, PDF, versions or matches) and no search to enumerate with.
    "external": frozenset({"lookup", "verify"}),
    "admin": frozenset(
        {
            "upload",
            "read",
            "view",
            "search_text",
            "search_id",
            "lookup",
            "correct",
            "review",
            "verify",
            "share",
            "dossier",
            "export",
            "admin",
            "all_agencies",
            "key",
            "keying_manage",
        }
    ),
}

SESSION_COOKIE = "dz_session"
LOGIN_CSRF_COOKIE = "dz_login_csrf"
SESSION_HOURS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_AGENCY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class AuthError(Exception):
    pass


class LoginRefused(AuthError):
    """A login attempt not even tried; `retry_after` seconds, `status` for HTTP."""

    status = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"try again in {self.retry_after} s")


class LoginThrottled(LoginRefused):
    """Too many recent failures for this account, address or both."""


class LoginBusy(LoginRefused):
    """Every password-hashing slot is taken and the queue is full."""

    status = 503


@dataclass(frozen=True)
class Backoff:
    """After `free` failures, each further attempt must wait base·2^(n-free)
    seconds (at most `cap`) after the last failure."""

    free: int
    base: float
    cap: float

    def wait(self, failures: int, since_last: float) -> float:
        if failures < self.free:
            return 0.0
        delay = min(self.cap, self.base * 2.0 ** min(failures - self.free, 32))
        return max(0.0, delay - max(0.0, since_last))  # a clock set back waits `delay`, no longer


# Three counters, because each stops a different attack without handing the
# attacker a way to lock officers out:
# - (account, address): one attacker at one place guessing one password. Strict.
# - address: one place spraying many accounts, or names that do not exist.
#   Looser, since an office behind one NAT address shares it.
# - account: many places (a botnet) on one account. Loosest, and not applied
#   from addresses the account has logged in from before, so that an attack
#   from elsewhere cannot keep the officer out from their own desk (a first
#   login from a new place waits out the account's backoff, never longer than
#   `cap`).
PAIR = Backoff(free=3, base=2.0, cap=900.0)
ADDRESS = Backoff(free=20, base=2.0, cap=900.0)
ACCOUNT = Backoff(free=10, base=2.0, cap=300.0)
FORGET_AFTER = 3600.0  # a counter quiet this long starts again from zero
KNOWN_FOR = 90 * 86400.0  # an address the account logged in from is known this long
# Argon2 costs ~0.3 s of a core and 64 MiB per attempt: a few at a time per
# process, the rest wait in the event loop (no thread held), and beyond
# KDF_QUEUE waiting attempts are refused at once.
KDF_SLOTS = 2
KDF_QUEUE = 8


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
            got = hashlib.scrypt(
                password.encode(),
                salt=base64.b64decode(salt),
                n=int(n),
                r=int(r),
                p=int(p),
                dklen=len(base64.b64decode(digest)),
            )
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
    def __init__(self, db: WebDB, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._key: bytes | None = None
        self.clock = clock  # seconds; replaceable in tests of the backoff
        self._kdf = anyio.CapacityLimiter(KDF_SLOTS)
        self._kdf_pending = 0  # hashing or waiting to; changed only on the event loop's thread

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = base64.b64decode(
                self.db.meta("session_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()) or ""
            )
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
            cur = conn.execute(
                "INSERT INTO users(name, role, agency, password_hash, created_at) VALUES (?,?,?,?,?)",
                (name, role, agency, hash_password(password) if password else None, now_iso()),
            )
            return {"id": cur.lastrowid, "name": name, "role": role, "agency": agency}

    def user(self, name: str) -> dict[str, Any] | None:
        row = self.db.one("SELECT id, name, role, agency, disabled, created_at FROM users WHERE name = ?", (name,))
        return dict(row) if row else None

    def users(self) -> list[dict[str, Any]]:
        return [
            dict(r) for r in self.db.all("SELECT id, name, role, agency, disabled, created_at FROM users ORDER BY name")
        ]

    def set_password(self, name: str, password: str, *, keep_sid: str | None = None) -> int:
        """Set the password and end the user's sessions: whoever logged in with the
        old password is out. `keep_sid`: the session making the change itself (a
        user changing their own password stays logged in). The number ended."""
        digest = hash_password(password)  # outside the write lock: it takes a while
        with self.db.connect(write=True) as conn:
            row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise AuthError(f"no user {name!r}")
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (digest, row["id"]))
            return conn.execute(
                "DELETE FROM sessions WHERE user_id = ? AND sid != ?", (row["id"], keep_sid or "")
            ).rowcount

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
        self.db.run(
            "INSERT INTO tokens(user_id, token_hash, created_at) VALUES (?, ?, ?)",
            (user["id"], _token_hash(token), now_iso()),
        )
        return token

    def revoke_tokens(self, name: str) -> int:
        return self.db.run(
            "UPDATE tokens SET revoked = 1 WHERE user_id = (SELECT id FROM users WHERE name = ?)", (name,)
        )

    # authentication ----------------------------------------------------
    def token_principal(self, token: str) -> Principal | None:
        if not token or len(token) > 200:
            return None
        row = self.db.one(
            "SELECT u.id, u.name, u.role, u.agency FROM tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = ? AND t.revoked = 0 AND u.disabled = 0",
            (_token_hash(token),),
        )
        if row is None:
            return None
        return Principal(id=row["id"], name=row["name"], role=row["role"], agency=row["agency"], via="token")

    # login throttling ------------------------------------------------------
    def login_wait(self, name: str, addr: str) -> float:
        """Seconds before `name` may try to log in from `addr` (0 = now)."""
        name, now = name[:64], self.clock()
        policies = {_pair_key(name, addr): PAIR, _addr_key(addr): ADDRESS}
        known = self.db.one(
            "SELECT 1 FROM login_known WHERE name = ? AND addr = ? AND at >= ?", (name, addr, now - KNOWN_FOR)
        )
        if known is None:
            policies[_account_key(name)] = ACCOUNT
        keys = list(policies)
        marks = ",".join("?" * len(keys))
        rows = self.db.all(
            f"SELECT key, failures, last FROM login_throttle WHERE key IN ({marks}) AND last >= ?",
            [*keys, now - FORGET_AFTER],
        )
        return max([policies[r["key"]].wait(r["failures"], now - r["last"]) for r in rows], default=0.0)

    def _count_failure(self, name: str, addr: str) -> None:
        now = self.clock()
        with self.db.connect(write=True) as conn:
            conn.execute("DELETE FROM login_throttle WHERE last < ?", (now - FORGET_AFTER,))
            for key in (_pair_key(name, addr), _addr_key(addr), _account_key(name)):
                conn.execute(
                    "INSERT INTO login_throttle(key, failures, last) VALUES (?, 1, ?) "
                    "ON CONFLICT(key) DO UPDATE SET failures = failures + 1, last = excluded.last",
                    (key, now),
                )

    def _count_success(self, name: str, addr: str) -> None:
        # Only the pair is cleared: an attacker holding one good account must not
        # wipe their address's count, nor an officer the count of a botnet on them.
        now = self.clock()
        with self.db.connect(write=True) as conn:
            conn.execute("DELETE FROM login_throttle WHERE key = ?", (_pair_key(name, addr),))
            conn.execute(
                "INSERT INTO login_known(name, addr, at) VALUES (?, ?, ?) "
                "ON CONFLICT(name, addr) DO UPDATE SET at = excluded.at",
                (name, addr, now),
            )

    async def login(self, name: str, password: str, addr: str) -> dict[str, Any] | None:
        """The user for a correct name/password from `addr`, else None. Raises
        LoginThrottled before any hashing when the attempt must wait, LoginBusy when
        every hashing slot is taken and KDF_QUEUE attempts already wait for one."""
        wait = await anyio.to_thread.run_sync(self.login_wait, name, addr)
        if wait > 0:
            raise LoginThrottled(wait)
        if self._kdf_pending >= KDF_SLOTS + KDF_QUEUE:
            raise LoginBusy(1)
        self._kdf_pending += 1
        try:
            return await anyio.to_thread.run_sync(self.check_login, name, password, addr, limiter=self._kdf)
        finally:
            self._kdf_pending -= 1

    def check_login(self, name: str, password: str, addr: str = "") -> dict[str, Any] | None:
        """The user for a correct name/password, else None (and the failure is
        counted). Raises LoginThrottled, without hashing, when the attempt must wait
        (checked again here: the attempt may have queued behind others)."""
        name = name[:64]
        wait = self.login_wait(name, addr)
        if wait > 0:
            raise LoginThrottled(wait)
        row = self.db.one("SELECT id, name, role, agency, password_hash, disabled FROM users WHERE name = ?", (name,))
        ok = row is not None and not row["disabled"] and check_password(row["password_hash"], password)
        if not ok or row is None:
            if row is None:
                check_password(_DUMMY_HASH(), password)  # same work for unknown names (no user enumeration by timing)
            self._count_failure(name, addr)
            return None
        self._count_success(name, addr)
        return dict(row)

    def create_session(self, user_id: int) -> tuple[str, str]:
        """(cookie value, csrf token)."""
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = datetime.now(VN_TZ)
        self.db.run("DELETE FROM sessions WHERE expires_at < ?", (now.isoformat(timespec="milliseconds"),))
        self.db.run(
            "INSERT INTO sessions(sid, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
            (
                sid,
                user_id,
                csrf,
                now.isoformat(timespec="milliseconds"),
                (now + timedelta(hours=SESSION_HOURS)).isoformat(timespec="milliseconds"),
            ),
        )
        return self.sign(sid), csrf

    def session_principal(self, cookie: str) -> Principal | None:
        sid = self.unsign(cookie)
        if sid is None:
            return None
        row = self.db.one(
            "SELECT u.id, u.name, u.role, u.agency, s.csrf, s.expires_at FROM sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.sid = ? AND u.disabled = 0",
            (sid,),
        )
        if row is None or row["expires_at"] < now_iso():
            return None
        return Principal(
            id=row["id"],
            name=row["name"],
            role=row["role"],
            agency=row["agency"],
            via="session",
            sid=sid,
            csrf=row["csrf"],
        )

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


def _pair_key(name: str, addr: str) -> str:
    return f"pair:{name} {addr}"  # unambiguous: an address has no spaces


def _addr_key(addr: str) -> str:
    return f"addr:{addr}"


def _account_key(name: str) -> str:
    return f"acct:{name}"


def is_system_admin(who: Principal, operator_agency: str) -> bool:
    """An admin of the agency that runs this installation (DIGITIZE_AGENCY): only
    such admins manage other agencies' users; another agency's admin manages its
    own agency's users and cannot make itself or anyone an admin elsewhere."""
    return who.role == "admin" and who.agency == operator_agency


_dummy: list[str] = []


def _DUMMY_HASH() -> str:  # noqa: N802 - computed once, lazily
    if not _dummy:
        _dummy.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy[0]


def generate_password() -> str:
    return secrets.token_urlsafe(15)
