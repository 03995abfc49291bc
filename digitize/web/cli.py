"""`digitize user ...`: create users and issue tokens in <home>/web.sqlite3;
`digitize audit verify`: check the audit log's keyed chain; `digitize serve`."""

from __future__ import annotations

import argparse
import json
import sys

from ..config import Settings
from ..errors import ExitCode
from . import audit
from .auth import Auth, AuthError, generate_password
from .db import WebDB


def user_command(args: argparse.Namespace, settings: Settings) -> int:
    db = WebDB(settings.home / "web.sqlite3", audit_key=settings.audit_key)
    auth = Auth(db)
    command = args.user_command
    try:
        if command == "add":
            role = args.role
            password = None if role in ("external", "external_system") else generate_password()
            user = auth.add_user(args.name, role, args.agency, password=password)
            out = dict(user)
            if password:
                out["password"] = password
            if user["role"] == "external" or args.token:
                out["token"] = auth.issue_token(args.name)
            _log(db, "user_add", name=args.name, role=user["role"], agency=args.agency)
            print(json.dumps(out, ensure_ascii=False))
        elif command == "token":
            token = auth.issue_token(args.name)
            _log(db, "token_issue", name=args.name)
            print(json.dumps({"name": args.name, "token": token}))
        elif command == "password":
            password = generate_password()
            ended = auth.set_password(args.name, password)
            _log(db, "password_reset", name=args.name, sessions_ended=ended)
            print(json.dumps({"name": args.name, "password": password, "sessions_ended": ended}))
        elif command == "disable":
            auth.set_disabled(args.name, True)
            revoked = auth.revoke_tokens(args.name)
            _log(db, "user_disable", name=args.name, tokens_revoked=revoked)
            print(json.dumps({"name": args.name, "disabled": True, "tokens_revoked": revoked}))
        elif command == "list":
            for user in auth.users():
                print(json.dumps(user, ensure_ascii=False))
    except AuthError as exc:
        print(f"digitize: {exc}", file=sys.stderr)
        return ExitCode.usage
    return ExitCode.ok


def audit_command(args: argparse.Namespace, settings: Settings) -> int:
    """`verify`: one line, exit 0 when the chain is intact, 1 when not."""
    path = settings.home / "web.sqlite3"
    if not path.exists():
        print(f"digitize: no web database in {settings.home}", file=sys.stderr)
        return ExitCode.failed
    try:
        check = audit.check_chain(WebDB(path, audit_key=settings.audit_key))
    except audit.AuditKeyError as exc:
        print(f"audit log cannot be checked: {exc}")
        return ExitCode.failed
    print(check.line())
    return ExitCode.ok if check.ok else ExitCode.failed


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .app import create_app

    # Secure cookies and HSTS unless asked not to; --secure-cookies (the old
    # opt-in) wins over DIGITIZE_INSECURE_COOKIES.
    insecure = (args.insecure_cookies or settings.insecure_cookies) and not args.secure_cookies
    if insecure:
        print(
            "digitize: warning: cookies are not Secure and HSTS is off: for local http development only",
            file=sys.stderr,
        )
    app = create_app(settings, processes=args.processes, secure_cookies=not insecure)
    # The app reads X-Forwarded-For itself, from DIGITIZE_TRUSTED_PROXIES only;
    # uvicorn's own proxy headers would believe any loopback peer.
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False, log_level=settings.log_level.lower())
    return ExitCode.ok


def _log(db: WebDB, action: str, **detail: object) -> None:
    audit.record(db, user="cli", role="admin", agency="-", action=action, detail=detail)
