"""The web service's defences from issue #14, each against the attack it stops:
login throttling (no lock-out of an officer by name, no per-address spraying,
no free password hashing for strangers), sessions ended by a password change,
the keyed audit chain and `digitize audit verify`, refused reads in the audit
log with the client's address, X-Forwarded-For believed from configured
proxies only, a private web database, Secure cookies and HSTS by default, and
agency admins kept to their own agency.

No OCR here: apps are built empty, results are put in the index directly."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
pytest.importorskip("fastapi")
pytest.importorskip("httpx")

import anyio  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from digitize.config import load_settings  # noqa: E402
from digitize.errors import ConfigError  # noqa: E402
from digitize.types import Result  # noqa: E402
from digitize.web import audit  # noqa: E402
from digitize.web import auth as auth_module  # noqa: E402
from digitize.web.app import client_address, create_app  # noqa: E402
from digitize.web.auth import ACCOUNT, KDF_QUEUE, KDF_SLOTS, PAIR, LoginBusy  # noqa: E402
from digitize.web.db import WebDB  # noqa: E402

OFFICE = ("10.20.0.5", 40000)  # the officer's desk
ATTACKER = ("203.0.113.66", 40001)
ID_HUE = "a" * 32


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Clock:
    """Time that moves only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_audit_key_from_outside(monkeypatch):
    monkeypatch.delenv(audit.KEY_ENV, raising=False)


@pytest.fixture
def kdf_calls(monkeypatch) -> list[str]:
    """A cheap stand-in for argon2 that counts how often a password is hashed."""
    calls: list[str] = []

    def fake_hash(password: str) -> str:
        return "fake$" + hashlib.sha256(password.encode()).hexdigest()

    def fake_check(stored: str | None, password: str) -> bool:
        calls.append(password)
        return stored == fake_hash(password)

    monkeypatch.setattr(auth_module, "hash_password", fake_hash)
    monkeypatch.setattr(auth_module, "check_password", fake_check)
    monkeypatch.setattr(auth_module, "_dummy", [])
    return calls


@contextmanager
def web(home: Path, *, insecure: bool = True, **env: str) -> Iterator[dict[str, Any]]:
    """An app on an empty home (agency 'hue' runs it), its services and clients
    maker; users: 'lan' (intake, hue), 'boss' (admin, hue), 'sgadmin' (admin, hcm),
    'other' (intake, hcm)."""
    values = {"DIGITIZE_HOME": str(home), "DIGITIZE_AGENCY": "hue", **env}
    if insecure:
        values["DIGITIZE_INSECURE_COOKIES"] = "1"
    app = create_app(load_settings(env=values), processes=0)
    svc = app.state.services
    tokens = {}
    for name, role, agency in [
        ("lan", "intake", "hue"),
        ("boss", "admin", "hue"),
        ("sgadmin", "admin", "hcm"),
        ("other", "intake", "hcm"),
    ]:
        svc.auth.add_user(name, role, agency, password=f"pw-{name}-secret")
        tokens[name] = svc.auth.issue_token(name)
    clients: list[TestClient] = []

    def client(address: tuple[str, int] = OFFICE) -> TestClient:
        c = TestClient(app, client=address)
        c.__enter__()
        clients.append(c)
        return c

    try:
        yield {"app": app, "svc": svc, "tokens": tokens, "client": client, "home": home}
    finally:
        for c in clients:
            c.__exit__(None, None, None)


def login(client: TestClient, name: str, password: str, headers: dict[str, str] | None = None):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": "/search"},
        headers=headers or {},
        follow_redirects=False,
    )


def rows(svc, **match) -> list[dict[str, Any]]:
    return [r for r in audit.rows(svc.db) if all(r.get(k) == v for k, v in match.items())]


# ------------------------------------------------------------------ 6. login throttling


def test_failures_slow_the_address_down_without_hashing(tmp_path, kdf_calls):
    with web(tmp_path) as w:
        clock = Clock()
        w["svc"].auth.clock = clock
        c = w["client"]()
        for _ in range(PAIR.free):
            assert login(c, "lan", "guess").status_code == 401
        hashed = len(kdf_calls)
        r = login(c, "lan", "pw-lan-secret")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) == PAIR.base
        assert len(kdf_calls) == hashed  # refused before the password was hashed
        clock.advance(PAIR.base + 0.1)
        assert login(c, "lan", "wrong again").status_code == 401
        r = login(c, "lan", "pw-lan-secret")
        assert r.status_code == 429 and int(r.headers["retry-after"]) == 2 * PAIR.base  # the delay doubles
        clock.advance(2 * PAIR.base + 0.1)
        assert login(c, "lan", "pw-lan-secret").status_code == 303  # slowed down, never locked


def test_an_attack_from_elsewhere_does_not_lock_the_officer_out(tmp_path, kdf_calls):
    with web(tmp_path) as w:
        w["svc"].auth.clock = Clock()  # time stands still: every backoff is still running
        office = w["client"](OFFICE)
        assert login(office, "lan", "pw-lan-secret").status_code == 303  # the officer's usual desk
        office.cookies.clear()
        # A botnet: a few guesses from each of many addresses, far past the old lock (5).
        hashed = len(kdf_calls)
        statuses = []
        for i in range(5):
            bot = w["client"]((f"198.51.100.{i + 1}", 1))
            statuses += [login(bot, "lan", f"guess-{i}-{j}").status_code for j in range(PAIR.free)]
        # The account is slowed down for strangers once it has had its share, without hashing ...
        assert statuses == [401] * ACCOUNT.free + [429] * (5 * PAIR.free - ACCOUNT.free)
        assert len(kdf_calls) == hashed + ACCOUNT.free
        # ... but not for the officer's own desk, with the right password.
        assert login(office, "lan", "pw-lan-secret").status_code == 303
        # (The price: a first login from a new place waits until the account's backoff ends.)
        assert login(w["client"](("10.20.0.77", 1)), "lan", "pw-lan-secret").status_code == 429


def test_one_address_spraying_many_names_is_throttled(tmp_path, kdf_calls):
    with web(tmp_path) as w:
        w["svc"].auth.clock = Clock()
        c = w["client"](ATTACKER)
        for i in range(auth_module.ADDRESS.free):
            assert login(c, f"user{i}", "123456").status_code == 401
        hashed = len(kdf_calls)
        r = login(c, "lan", "123456")  # a name this address never tried
        assert r.status_code == 429 and "retry-after" in r.headers
        assert len(kdf_calls) == hashed
        assert login(w["client"](OFFICE), "lan", "pw-lan-secret").status_code == 303


def test_password_hashing_runs_a_few_at_a_time(tmp_path, monkeypatch):
    active = peak = 0
    lock = threading.Lock()

    def slow_check(stored: str | None, password: str) -> bool:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.5)
        with lock:
            active -= 1
        return False

    monkeypatch.setattr(auth_module, "check_password", slow_check)
    monkeypatch.setattr(auth_module, "_DUMMY_HASH", lambda: "x")
    auth = auth_module.Auth(WebDB(tmp_path / "web.sqlite3"))
    outcomes: list[str] = []

    async def attempt(i: int) -> None:
        try:
            await auth.login(f"name{i}", "guess", f"192.0.2.{i}")
            outcomes.append("tried")
        except LoginBusy as exc:
            assert exc.status == 503 and exc.retry_after >= 1
            outcomes.append("busy")

    async def flood() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(KDF_SLOTS + KDF_QUEUE + 4):
                tg.start_soon(attempt, i)

    anyio.run(flood)
    assert peak <= KDF_SLOTS
    assert "busy" in outcomes and outcomes.count("tried") >= KDF_SLOTS


# ------------------------------------------------------------------ 7. password change


def test_password_change_ends_the_users_sessions(tmp_path, kdf_calls, monkeypatch, capsys):
    from digitize.cli import main

    with web(tmp_path) as w:
        svc = w["svc"]
        desk, phone = w["client"](OFFICE), w["client"](("10.20.0.6", 1))
        assert login(desk, "lan", "pw-lan-secret").status_code == 303
        assert login(phone, "lan", "pw-lan-secret").status_code == 303
        assert desk.get("/api/me").status_code == 200 and phone.get("/api/me").status_code == 200
        monkeypatch.setenv("DIGITIZE_HOME", str(tmp_path))
        assert main(["user", "password", "lan"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["sessions_ended"] == 2
        assert desk.get("/api/me").status_code == 401 and phone.get("/api/me").status_code == 401
        # API tokens are separate credentials (never obtainable with the password): kept.
        assert desk.get("/api/me", headers=bearer(w["tokens"]["lan"])).status_code == 200
        assert rows(svc, action="password_reset")[-1]["detail"]["sessions_ended"] == 2


def test_own_password_change_may_keep_the_current_session(tmp_path, kdf_calls):
    with web(tmp_path) as w:
        auth = w["svc"].auth
        user = auth.user("lan")
        mine, _ = auth.create_session(user["id"])
        elsewhere, _ = auth.create_session(user["id"])
        assert auth.set_password("lan", "new-password-1", keep_sid=auth.unsign(mine)) == 1
        assert auth.session_principal(mine) is not None
        assert auth.session_principal(elsewhere) is None


# ------------------------------------------------------------------ 9. audit


def _tamper_and_rechain_without_key(db_path: Path) -> None:
    """What someone with the database file can do: drop the triggers, change a row,
    and recompute the whole chain with the (public) unkeyed formula."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    first = conn.execute("SELECT min(id) FROM audit").fetchone()[0]
    conn.execute("UPDATE audit SET detail = ? WHERE id = ?", (json.dumps({"name": "nobody"}), first))
    prev = audit.GENESIS
    for row in conn.execute(f"SELECT {', '.join(audit.COLUMNS)} FROM audit ORDER BY id").fetchall():
        fields = dict(zip(audit.COLUMNS, row))
        digest = audit._row_hash(
            prev,
            fields["at"],
            fields["user"],
            fields["role"],
            fields["agency"],
            fields["action"],
            fields["result_id"],
            fields["detail"],
            fields["ip"],
        )
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, fields["id"]))
        prev = digest
    conn.close()


def test_audit_chain_cannot_be_recomputed_without_the_key(tmp_path, kdf_calls):
    with web(tmp_path) as w:
        svc = w["svc"]
        assert login(w["client"](ATTACKER), "lan", "guess").status_code == 401
        svc.audit(None, "something", None, "10.0.0.1", n=1)
        assert audit.check_chain(svc.db).ok
        key_file = tmp_path / audit.KEY_FILE
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        _tamper_and_rechain_without_key(svc.db.path)
        check = audit.check_chain(svc.db)
        assert not check.ok and check.bad_id is not None
        assert audit.verify_chain(svc.db)[0] is False


def test_audit_key_from_the_environment(tmp_path, monkeypatch):
    from digitize.config import load_settings
    from digitize.errors import ConfigError

    monkeypatch.setenv(audit.KEY_ENV, "k" * 40)
    db = WebDB(tmp_path / "web.sqlite3", audit_key=load_settings().audit_key)
    audit.record(db, user="u", role="admin", agency="hue", action="x")
    assert audit.check_chain(db).ok and not (tmp_path / audit.KEY_FILE).exists()
    assert not audit.check_chain(WebDB(db.path, audit_key="another key, just as long as the first")).ok
    monkeypatch.setenv(audit.KEY_ENV, "short")
    with pytest.raises(ConfigError, match="at least 32"):  # refused once, with the other settings
        load_settings()
    with pytest.raises(audit.AuditKeyError):
        audit.record(WebDB(db.path, audit_key="short"), user="u", role="admin", agency="hue", action="x")


def test_rows_from_before_the_key_are_sealed_by_the_first_keyed_row(tmp_path):
    db = WebDB(tmp_path / "web.sqlite3")
    audit.audit_key(db)  # made when the upgraded server starts
    prev = audit.GENESIS
    with db.connect(write=True) as conn:  # an installation from before the key
        for action in ("login", "read"):
            values = (audit.now_iso(), "u", "intake", "hue", action, None, "{}", "")
            digest = audit._row_hash(prev, *values)
            conn.execute(
                "INSERT INTO audit(at, user, role, agency, action, result_id, detail, ip, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, prev, digest),
            )
            prev = digest
    assert not audit.check_chain(db).ok  # an unkeyed chain alone proves nothing
    audit.record(db, user="u", role="intake", agency="hue", action="read")
    check = audit.check_chain(db)
    assert check.ok and check.rows == 3 and check.unkeyed == 2


def test_audit_verify_command(tmp_path, monkeypatch, capsys, kdf_calls):
    from digitize.cli import main

    monkeypatch.setenv("DIGITIZE_HOME", str(tmp_path))
    with web(tmp_path) as w:
        w["svc"].audit(None, "something", None, "10.0.0.1")
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("audit log intact")
    _tamper_and_rechain_without_key(tmp_path / "web.sqlite3")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "NOT intact" in out[0]


def _put_result(svc, rid: str, agency: str) -> None:
    svc.index.upsert(
        Result.from_dict(
            {
                "id": rid,
                "agency": agency,
                "version": 1,
                "created_at": audit.now_iso(),
                "source": {"name": "x.png", "sha256": rid * 2, "pages": 1},
                "pages": [],
                "records": [],
            }
        )
    )


def test_refused_cross_agency_read_is_audited_with_the_address(tmp_path, kdf_calls):
    with web(tmp_path) as w:
        svc = w["svc"]
        _put_result(svc, ID_HUE, "hue")
        r = w["client"](ATTACKER).get(f"/api/results/{ID_HUE}", headers=bearer(w["tokens"]["other"]))
        assert r.status_code == 404 and r.json() == {"error": "no such result", "code": "not_found"}
        refused = [x for x in rows(svc, user="other", result_id=ID_HUE) if x["action"].startswith("refused")]
        assert refused and refused[-1]["ip"] == ATTACKER[0]
        assert not rows(svc, user="other", action="read", result_id=ID_HUE)


def test_moj_export_logs_the_result_ids(tmp_path, kdf_calls, monkeypatch):
    import digitize.export

    ids = ["b" * 32, "c" * 32]
    monkeypatch.setattr(
        digitize.export,
        "build_package",
        lambda engines, book, **kw: (b"PK", {"book": book, "entries": 2, "results": ids}),
    )
    with web(tmp_path) as w:
        r = w["client"]().get("/api/export/moj", params={"book": "B-1"}, headers=bearer(w["tokens"]["boss"]))
        assert r.status_code == 200
        logged = rows(w["svc"], user="boss", action="export_moj")
        assert logged and logged[-1]["detail"]["results"] == ids


# ------------------------------------------------------------------ 9. X-Forwarded-For


def test_forwarded_for_is_believed_from_configured_proxies_only():
    proxies = load_settings(env={"DIGITIZE_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"}).trusted_proxy_networks
    assert client_address("127.0.0.1", "6.6.6.6", ()) == "127.0.0.1"  # loopback is no proxy by default
    assert client_address("127.0.0.1", "6.6.6.6", proxies) == "127.0.0.1"
    assert client_address("192.0.2.7", "198.51.100.1", proxies) == "198.51.100.1"
    # The client writes the left of the header: only the hops the proxies added count.
    assert client_address("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", proxies) == "198.51.100.1"
    assert client_address("10.0.0.2", "not-an-ip", proxies) == "10.0.0.2"
    with pytest.raises(ConfigError):
        load_settings(env={"DIGITIZE_TRUSTED_PROXIES": "10.0.0.0/33"})


def test_forwarded_for_through_the_app(tmp_path, kdf_calls):
    with web(tmp_path, DIGITIZE_TRUSTED_PROXIES="10.9.0.1") as w:
        svc = w["svc"]
        spoof = {"X-Forwarded-For": "10.20.0.5"}
        assert login(w["client"](("127.0.0.1", 1)), "lan", "guess", spoof).status_code == 401
        assert rows(svc, action="login_failed")[-1]["ip"] == "127.0.0.1"
        assert (
            login(w["client"](("10.9.0.1", 1)), "lan", "guess", {"X-Forwarded-For": "198.51.100.8"}).status_code == 401
        )
        assert rows(svc, action="login_failed")[-1]["ip"] == "198.51.100.8"


def test_serve_reads_forwarded_for_itself_and_warns_when_cookies_are_insecure(tmp_path, monkeypatch, capsys):
    import uvicorn

    from digitize.cli import main

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(dict(kw, app=app)))
    monkeypatch.setenv("DIGITIZE_HOME", str(tmp_path))
    monkeypatch.delenv("DIGITIZE_INSECURE_COOKIES", raising=False)
    assert main(["serve", "--processes", "0"]) == 0
    assert calls[-1]["proxy_headers"] is False  # uvicorn would believe any loopback peer
    assert "warning" not in capsys.readouterr().err
    assert main(["serve", "--processes", "0", "--insecure-cookies"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not Secure" in err[0]


# ------------------------------------------------------------------ 10. database, cookies, admins


def test_web_database_and_its_wal_are_private(tmp_path, kdf_calls):
    old = os.umask(0o022)
    try:
        with web(tmp_path) as w:
            db_path = w["svc"].db.path
            with w["svc"].db.connect() as conn:  # WAL and shared memory exist while a connection is open
                conn.execute("SELECT count(*) FROM users").fetchone()
                for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
                    assert path.exists(), path
                    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
        older = tmp_path / "older"
        older.mkdir()
        legacy = older / "web.sqlite3"
        sqlite3.connect(legacy).close()
        os.chmod(legacy, 0o644)
        WebDB(legacy).init()
        assert stat.S_IMODE(legacy.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_cookies_are_secure_with_hsts_unless_turned_off(tmp_path, kdf_calls):
    with web(tmp_path / "tls", insecure=False) as w:
        r = w["client"]().get("/login")
        assert "secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"].startswith("max-age=")
    with web(tmp_path / "dev") as w:
        r = w["client"]().get("/login")
        assert "secure" not in r.headers["set-cookie"].lower()
        assert "strict-transport-security" not in r.headers


def test_an_agency_admin_adds_users_to_its_own_agency_only(tmp_path, kdf_calls):
    with web(tmp_path) as w:
        c, tokens = w["client"](), w["tokens"]
        r = c.post(
            "/api/users", json={"name": "mole", "role": "admin", "agency": "hue"}, headers=bearer(tokens["sgadmin"])
        )
        assert r.status_code == 403
        assert w["svc"].auth.user("mole") is None
        assert rows(w["svc"], user="sgadmin", action="refused_user_add")
        r = c.post(
            "/api/users", json={"name": "sgclerk", "role": "intake", "agency": "hcm"}, headers=bearer(tokens["sgadmin"])
        )
        assert r.status_code == 201
        # The agency that runs the installation (DIGITIZE_AGENCY) administers all of them.
        r = c.post(
            "/api/users", json={"name": "dnclerk", "role": "intake", "agency": "danang"}, headers=bearer(tokens["boss"])
        )
        assert r.status_code == 201
