"""The error contract of discflow's HTTP APIs (the server's and the agent's).

Invariant: every error answer is ``{"detail": "<what was wrong and how to fix
it>"}`` with the status its ``DiscflowError`` class maps to in the app's
table, validation errors included (one sentence, not FastAPI's list), and the
OpenAPI document says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from discflow.errors import DiscflowError

__all__ = ["PLAIN_ERROR", "ErrorTable", "install_plain_errors", "status_for"]

ErrorTable = tuple[tuple[type[DiscflowError], int], ...]

PLAIN_ERROR = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}


def status_for(error: DiscflowError, table: ErrorTable) -> int:
    """The first matching row wins, so list subclasses before their bases."""
    return next((status for kind, status in table if isinstance(error, kind)), 500)


def describe_validation(error: RequestValidationError, *, hint: str = "") -> str:
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) + hint


def install_plain_errors(
    app: FastAPI,
    table: ErrorTable,
    *,
    validation_hint: str = "",
    document: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Answer every ``DiscflowError`` and validation error as ``{"detail"}``, and make the
    spec say so (``document`` may add more to the spec, e.g. per-route error answers)."""

    async def discflow_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DiscflowError)
        retry = getattr(error, "retry_after_s", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return JSONResponse(
            {"detail": str(error)}, status_code=status_for(error, table), headers=headers
        )

    async def validation_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return JSONResponse(
            {"detail": describe_validation(error, hint=validation_hint)}, status_code=422
        )

    app.add_exception_handler(DiscflowError, discflow_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            spec.setdefault("components", {}).setdefault("schemas", {})["HTTPValidationError"] = (
                PLAIN_ERROR
            )
            if document is not None:
                document(spec)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
