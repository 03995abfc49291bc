"""Service routes: health, and who the caller is."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import Depends, FastAPI

from ... import __version__
from ..auth import Principal


def add_service_api(app: FastAPI, principal: Callable[..., Any]) -> None:
    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/me", tags=["service"])
    def me(who: Principal = Depends(principal)) -> dict[str, Any]:
        return {
            "name": who.name,
            "role": who.role,
            "agency": who.agency,
            "permissions": sorted(
                p
                for p in (
                    "upload",
                    "read",
                    "view",
                    "search_text",
                    "search_id",
                    "lookup",
                    "correct",
                    "review",
                    "dossier",
                    "share",
                    "export",
                    "admin",
                    "key",
                    "keying_manage",
                )
                if who.can(p)
            ),
        }
