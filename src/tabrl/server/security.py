"""The edge of the server: who may talk to it, and how much.

Threat model: by default TabRL is a single-user app on loopback. Its API can start
processes (training workers), spend the owner's LLM keys and read files under
`TABRL_HOME`, so:

- Host header: only the names this server is reached by (loopback names; the bound address
  and `TABRL_ALLOWED_HOSTS` when bound elsewhere). This stops DNS rebinding, where a web page
  on another site resolves its own name to 127.0.0.1.
- Origin (browsers send it on cross-site requests and on every WebSocket): only this
  server's own origin and `TABRL_CORS_ORIGINS`.
- Token: bound beyond loopback, every route and WebSocket needs the access token (set in
  `TABRL_TOKEN`, or generated and printed at start): `Authorization: Bearer <token>`, a
  `?token=` query parameter (it also sets a cookie so the web UI works), or that cookie.
- Bodies: at most `max_body_bytes`, read within `body_timeout_s`.

This module is a plain ASGI middleware so it covers HTTP and WebSocket alike, before
any route runs.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TOKEN_COOKIE = "tabrl_token"
TOKEN_QUERY = "token"


def is_loopback(host: str) -> bool:
    """Whether binding to `host` only exposes the server to this machine."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random access token (URL-safe)."""
    return secrets.token_urlsafe(24)


def _host_name(value: str) -> str:
    """'Example.COM:8000' -> 'example.com'; '[::1]:80' -> '[::1]'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class EdgeGuard:
    """ASGI middleware: Host / Origin checks, access token, body size and read timeout."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        bind_host: str,
        token: str | None,
        allowed_hosts: list[str] | None = None,
        allowed_origins: list[str] | None = None,
        max_body_bytes: int = 2 * 1024 * 1024,
        body_timeout_s: float = 30.0,
    ) -> None:
        self.app = app
        self.token = token or None
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        hosts = set(LOOPBACK_NAMES)
        if bind_host not in ("0.0.0.0", "::", ""):
            hosts.add(_host_name(bind_host))  # e.g. 127.0.0.2, or the LAN address it is bound to
        hosts.update(_host_name(h) for h in allowed_hosts or [])
        #: Bound to every interface with a token: any name may reach it (the token is the check).
        self.any_host = "*" in (allowed_hosts or []) or (
            bind_host in ("0.0.0.0", "::", "") and self.token is not None
        )
        self.hosts = frozenset(hosts)
        self.origins = frozenset(o.rstrip("/").lower() for o in allowed_origins or [])

    # --- checks -------------------------------------------------------------------------------

    def _header(self, scope: Scope, name: bytes) -> str | None:
        for key, value in scope.get("headers", ()):
            if key == name:
                return value.decode("latin-1")
        return None

    def _host_ok(self, host: str | None) -> bool:
        if host is None:
            return False
        return self.any_host or _host_name(host) in self.hosts

    def _origin_ok(self, origin: str | None, host: str | None) -> bool:
        if origin is None:
            return True  # not a browser cross-site request (curl, SDKs, same-origin GET)
        origin = origin.rstrip("/").lower()
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        # Same origin: the page was served by this server under a name it accepts.
        return (
            bool(parts.netloc) and host is not None and parts.netloc == host.lower() and self._host_ok(host)
        )

    def _token_of(self, scope: Scope) -> tuple[str | None, bool]:
        """(the token the request carries, whether it came in the query string)."""
        auth = self._header(scope, b"authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get(TOKEN_QUERY):
            return query[TOKEN_QUERY][0], True
        for part in (self._header(scope, b"cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == TOKEN_COOKIE:
                return value, False
        return None, False

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        host = self._header(scope, b"host")
        if not self._host_ok(host):
            return (
                421,
                "host_not_allowed",
                f"Host {host!r} is not a name this server answers to (allowed: {', '.join(sorted(self.hosts))}); "
                "open it as http://127.0.0.1:<port>, or add the name to TABRL_ALLOWED_HOSTS",
            )
        if not self._origin_ok(self._header(scope, b"origin"), host):
            return (
                403,
                "origin_not_allowed",
                "requests from another web site are refused; open the app from this server's own address, "
                "or add the site to TABRL_CORS_ORIGINS",
            )
        if self.token is not None:
            given, _ = self._token_of(scope)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                return (
                    401,
                    "unauthorized",
                    "this server needs its access token (printed by `tabrl serve`, or TABRL_TOKEN): send "
                    "`Authorization: Bearer <token>` or open /?token=<token> once in the browser",
                )
        return None

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4000 + refusal[0] % 1000})
                return
            await _send_error(send, *refusal)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        length = self._header(scope, b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_body_bytes):
            await _send_error(send, 413, "body_too_large", self._too_large())
            return
        send = self._with_cookie(scope, send)
        await self.app(scope, self._limited(receive), send)

    def _too_large(self) -> str:
        return (
            f"request body over {self.max_body_bytes:,} bytes; reward code is limited to 50,000 characters "
            "and a batch to 8 approaches"
        )

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        done = False

        async def wrapped() -> Message:
            nonlocal seen, done
            if done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout_s)
            except TimeoutError:
                raise BodyError(408, "body_timeout", self._timeout_message()) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyError(413, "body_too_large", self._too_large())
                done = not message.get("more_body", False)
            return message

        return wrapped

    def _timeout_message(self) -> str:
        return f"the request body did not arrive within {self.body_timeout_s:g} s; send it in one go"

    def _with_cookie(self, scope: Scope, send: Send) -> Send:
        """Remember a `?token=` in a cookie so the web UI's later requests carry it."""
        if self.token is None:
            return send
        given, from_query = self._token_of(scope)
        if not from_query:
            return send
        cookie = f"{TOKEN_COOKIE}={given}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return wrapped


class BodyError(HTTPException):
    """A request body too large or too slow (raised from `receive`; FastAPI passes HTTP errors on)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(status_code=status, detail=message)
        self.kind = kind


async def _send_error(send: Send, status: int, kind: str, message: str) -> None:
    body = json.dumps({"error": kind, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
