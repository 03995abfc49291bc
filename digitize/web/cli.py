"""`digitize user ...`: create users and issue tokens in <home>/web.sqlite3."""

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
    db = WebDB(settings.home / "web.sqlite3")
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
            auth.set_password(args.name, password)
            _log(db, "password_reset", name=args.name)
            print(json.dumps({"name": args.name, "password": password}))
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


def _log(db: WebDB, action: str, **detail: object) -> None:
    audit.record(db, user="cli", role="admin", agency="-", action=action, detail=detail)
