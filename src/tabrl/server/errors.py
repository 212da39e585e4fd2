"""One error shape for every error response: `{"error": kind, "message": one line}` (`ErrorBody`),
plus `details` (one entry per invalid field) when the request failed validation (422, `invalid_request`).

TabRL's own errors (`TabRLError`), FastAPI's request validation (a body that is not JSON, a field out of
its pattern), Starlette's HTTP errors (an unknown route, a wrong method, an `HTTPException` raised
anywhere, the static files' 404) and unexpected failures (500, the details stay in the log) all answer
it. `API_ERRORS` documents it in the OpenAPI schema for every API operation.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tabrl.errors import TabRLError
from tabrl.server.schemas import PATTERN_HINTS, ErrorBody, ErrorDetail

#: Responses every API operation can give (route-specific statuses are documented on the routes).
API_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorBody,
        "description": "Client error; `details` lists the invalid fields of an invalid_request.",
    },
    "5XX": {"model": ErrorBody, "description": "Server error; the server log has the details."},
}
#: Validation errors listed in `details` (the message summarises the first few).
MAX_DETAILS = 50
_MESSAGE_PARTS = 5
#: Kinds of Starlette/FastAPI HTTP errors whose name is not simply the status phrase.
_HTTP_KINDS = {
    408: "body_timeout",
    413: "body_too_large",
    422: "invalid_request",
    500: "internal_error",
}
log = logging.getLogger(__name__)


def error_response(
    status: int,
    kind: str,
    message: str,
    *,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON error response in the one shape (`details` only when given)."""
    body = ErrorBody(error=kind, message=message, details=details or [])
    content = body.model_dump(mode="json", exclude={"details"} if details is None else None)
    return JSONResponse(status_code=status, content=content, headers=headers)


def http_kind(status: int) -> str:
    """not_found, method_not_allowed, conflict...: the status phrase in snake case (a few named apart)."""
    if status in _HTTP_KINDS:
        return _HTTP_KINDS[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "http_error"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower().replace("'", "")).strip("_")


def _detail(err: dict[str, Any]) -> ErrorDetail:
    loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
    msg = str(err.get("msg"))
    kind = str(err.get("type", "value_error"))
    field = next((p for p in reversed(loc) if isinstance(p, str)), None)
    if kind == "string_pattern_mismatch" and field in PATTERN_HINTS:
        msg = PATTERN_HINTS[field]
    elif kind == "json_invalid":
        reason = (err.get("ctx") or {}).get("error", "parse error")
        at = f" at position {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        msg = f"the body is not valid JSON ({reason}{at}); send a JSON object"
    return ErrorDetail(loc=loc, msg=msg, type=kind)


def _summary(details: list[ErrorDetail]) -> str:
    parts = []
    for d in details[:_MESSAGE_PARTS]:
        where = ".".join(str(p) for p in d.loc[1:] if d.type != "json_invalid")
        parts.append(f"{where}: {d.msg}" if where else d.msg)
    more = len(details) - _MESSAGE_PARTS
    return "; ".join(parts) + (f"; and {more} more (see details)" if more > 0 else "") or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in the one shape."""

    @app.exception_handler(TabRLError)
    async def _tabrl_error(_: Request, exc: TabRLError) -> JSONResponse:
        name = type(exc).__name__.removesuffix("Error") or "Error"
        kind = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        return error_response(exc.status_code, kind, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_detail(err) for err in exc.errors()[:MAX_DETAILS]]
        return error_response(422, "invalid_request", _summary(details), details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        status, headers = exc.status_code, dict(exc.headers or {})
        if status in (204, 304):  # not errors: no body, as Starlette answers them
            return Response(status_code=status, headers=headers)
        kind = getattr(exc, "kind", None) or http_kind(status)
        detail = exc.detail
        message = detail if isinstance(detail, str) else json.dumps(detail, default=str)
        if status == 404 and message == "Not Found":
            message = f"no route {request.url.path!r}; see the API documentation at /docs"
        elif status == 405:
            allowed = f" (allowed: {headers['Allow']})" if headers.get("Allow") else ""
            message = f"{request.method} is not allowed on {request.url.path}{allowed}; see /docs"
        elif status == 400 and "parsing the body" in message:
            message = (
                "the body could not be read as JSON (invalid UTF-8 or nested too deeply); send UTF-8 JSON"
            )
        return error_response(status, kind, message, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises the exception after this response (the server logs it); the body stays generic.
        return error_response(
            500,
            "internal_error",
            f"the server hit an unexpected error ({request.method} {request.url.path}); its log has the details",
        )


__all__ = ["API_ERRORS", "MAX_DETAILS", "error_response", "http_kind", "install_error_handlers"]
