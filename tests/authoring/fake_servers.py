"""Local HTTP servers speaking the LLM providers' wire formats, for tests without network.

`FakeLLMServer(kind)` listens on 127.0.0.1 (a free port) and answers the real SDKs:

- "anthropic": POST /v1/messages                                   (Messages API)
- "openai":    POST /v1/chat/completions                           (Chat Completions; also DeepSeek / compatible)
- "gemini":    POST /v1beta/models/{model}:generateContent         (generateContent)

Each request pops the next scripted `Reply` (the last one repeats): a text answer, an
HTTP error status (e.g. 429 with Retry-After), a refusal, or a delayed answer (timeouts).
Every request is recorded (path, headers, JSON body) so tests can assert on what the SDK
sent. Replies may be callables of the request body, for answers that depend on the prompt.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer."""

    text: str | Callable[[dict[str, Any]], str] = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    refusal: bool = False
    #: Raw body to send instead of the provider-shaped JSON (malformed responses).
    raw: str | None = None
    input_tokens: int = 120
    output_tokens: int = 80


@dataclass
class Recorded:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeLLMServer:
    """A scripted provider endpoint; use as a context manager."""

    def __init__(self, kind: str, replies: list[Reply] | None = None, model: str = "fake-model") -> None:
        assert kind in ("anthropic", "openai", "gemini")
        self.kind = kind
        self.model = model
        self.replies = list(replies or [Reply("{}")])
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # Addresses the SDKs take as base_url.
    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """base_url for the SDK: /v1 for OpenAI-style, the root for Anthropic and Gemini."""
        root = f"http://127.0.0.1:{self.port}"
        return root + "/v1" if self.kind == "openai" else root

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self) -> Reply:
        with self._lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    # Wire formats ---------------------------------------------------------------------------

    def _ok_body(self, reply: Reply, text: str) -> dict[str, Any]:
        if self.kind == "anthropic":
            return {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [{"type": "text", "text": text}] if text else [],
                "stop_reason": "refusal" if reply.refusal else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
            }
        if self.kind == "openai":
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None if reply.refusal else text,
                            "refusal": text if reply.refusal else None,
                        },
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": reply.input_tokens,
                    "completion_tokens": reply.output_tokens,
                    "total_tokens": reply.input_tokens + reply.output_tokens,
                },
            }
        if reply.refusal:
            return {
                "promptFeedback": {"blockReason": "SAFETY"},
                "usageMetadata": {
                    "promptTokenCount": reply.input_tokens,
                    "totalTokenCount": reply.input_tokens,
                },
            }
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": reply.input_tokens,
                "candidatesTokenCount": reply.output_tokens,
                "totalTokenCount": reply.input_tokens + reply.output_tokens,
            },
            "modelVersion": self.model,
        }

    def _error_body(self, status: int) -> dict[str, Any]:
        if self.kind == "anthropic":
            kind = "rate_limit_error" if status == 429 else "api_error"
            return {"type": "error", "error": {"type": kind, "message": f"fake error {status}"}}
        if self.kind == "openai":
            return {"error": {"message": f"fake error {status}", "type": "server_error", "code": None}}
        return {
            "error": {
                "code": status,
                "message": f"fake error {status}",
                "status": "RESOURCE_EXHAUSTED" if status == 429 else "INTERNAL",
            }
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with server._lock:
                    server.requests.append(
                        Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                reply = server._next()
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    payload = json.dumps(server._error_body(reply.status)).encode()
                else:
                    text = reply.text(body) if callable(reply.text) else reply.text
                    payload = (
                        reply.raw if reply.raw is not None else json.dumps(server._ok_body(reply, text))
                    ).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        return Handler


def last_user_text(kind: str, body: dict[str, Any]) -> str:
    """The last user message of a recorded request, whatever the wire format."""
    if kind == "gemini":
        users = [c for c in body.get("contents", []) if c.get("role") == "user"]
        return "".join(p.get("text", "") for p in users[-1]["parts"]) if users else ""
    msgs = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not msgs:
        return ""
    content = msgs[-1]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return str(content)
