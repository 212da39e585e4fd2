"""LLM providers through their official SDKs, and the provider registry.

| provider            | SDK                      | API                              | key                           |
|---------------------|--------------------------|----------------------------------|-------------------------------|
| `anthropic`         | `anthropic`              | Messages                         | ANTHROPIC_API_KEY             |
| `openai`            | `openai`                 | Chat Completions                 | OPENAI_API_KEY                |
| `gemini`            | `google-genai`           | generateContent                  | GEMINI_API_KEY/GOOGLE_API_KEY |
| `deepseek`          | `openai` (base_url)      | Chat Completions (DeepSeek)      | DEEPSEEK_API_KEY              |
| `openai-compatible` | `openai` (base_url)      | Chat Completions (Ollama, vLLM, llama.cpp) | optional            |
| `offline`           | none                     | the local composer               | none                          |

Retries on 429 / 5xx with exponential back-off are the SDKs' own (`max_retries` for
OpenAI and Anthropic, `HttpRetryOptions` for Gemini); every SDK error is turned into a
`ProviderError` whose message says what to do and never contains a key.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from tabrl.authoring.settings import LLMSettings, load_settings
from tabrl.errors import NotFoundError, TabRLError, did_you_mean

log = logging.getLogger(__name__)


# --- Errors -------------------------------------------------------------------------------------


class ProviderError(TabRLError):
    """An LLM provider could not produce an answer."""

    status_code = 502


class MissingKeyError(ProviderError):
    """The provider needs a key (or base URL) that is not configured."""

    status_code = 400


class ProviderRefusal(ProviderError):
    """The model declined to answer."""

    status_code = 422


class ProviderTimeout(ProviderError):
    """The provider did not answer in time (after retries)."""

    status_code = 504


class BaseUrlError(ProviderError):
    """A base URL that is malformed, or not allowed for this provider."""

    status_code = 400


class RateLimited(ProviderError):
    """The provider kept answering 429 after every retry."""

    status_code = 429


# --- Registry --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderSpec:
    """A provider TabRL can talk to."""

    name: str
    label: str
    default_model: str
    models: tuple[str, ...]
    #: Environment / settings names of the key, first found wins; empty: no key needed.
    key_names: tuple[str, ...] = ()
    key_required: bool = True
    base_url: str | None = None
    base_url_names: tuple[str, ...] = ()
    model_names: tuple[str, ...] = ()


PROVIDERS: dict[str, ProviderSpec] = {
    p.name: p
    for p in (
        ProviderSpec(
            "offline",
            "Offline composer (no key, no network)",
            "minilm-composer",
            ("minilm-composer",),
            key_required=False,
        ),
        ProviderSpec(
            "anthropic",
            "Anthropic Claude",
            "claude-sonnet-5-5",
            ("claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5"),
            key_names=("ANTHROPIC_API_KEY",),
            base_url_names=("ANTHROPIC_BASE_URL",),
        ),
        ProviderSpec(
            "openai",
            "OpenAI GPT",
            "gpt-5.5",
            ("gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-4.1"),
            key_names=("OPENAI_API_KEY",),
            base_url_names=("OPENAI_BASE_URL",),
        ),
        ProviderSpec(
            "gemini",
            "Google Gemini",
            "gemini-3.8-flash",
            ("gemini-3.8-flash", "gemini-3.1-pro-preview", "gemini-2.5-flash"),
            key_names=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            base_url_names=("GEMINI_BASE_URL",),
        ),
        ProviderSpec(
            "deepseek",
            "DeepSeek",
            "deepseek-chat",
            ("deepseek-chat", "deepseek-reasoner"),
            key_names=("DEEPSEEK_API_KEY",),
            base_url="https://api.deepseek.com",
            base_url_names=("DEEPSEEK_BASE_URL",),
        ),
        ProviderSpec(
            "openai-compatible",
            "OpenAI-compatible server (Ollama, vLLM, llama.cpp)",
            "llama3.1",
            (),
            key_names=("TABRL_OPENAI_COMPATIBLE_API_KEY",),
            key_required=False,
            base_url_names=("TABRL_OPENAI_COMPATIBLE_BASE_URL",),
            model_names=("TABRL_OPENAI_COMPATIBLE_MODEL",),
        ),
    )
}

_default_lock = threading.Lock()
_runtime_default: dict[str, str | None] = {}


def get_spec(name: str) -> ProviderSpec:
    """The provider called `name` (NotFoundError with suggestions otherwise)."""
    if name not in PROVIDERS:
        raise NotFoundError(
            f"unknown LLM provider {name!r}.{did_you_mean(name, PROVIDERS)} Known: {', '.join(PROVIDERS)}"
        )
    return PROVIDERS[name]


def _configured_url(spec: ProviderSpec, settings: LLMSettings) -> str | None:
    """The provider's endpoint as the server owner configured it (settings or environment)."""
    configured = settings.plain(*spec.base_url_names) if spec.base_url_names else None
    if configured:
        return configured
    if settings.base_url and settings.provider == spec.name:
        return settings.base_url
    return spec.base_url


def _base_url(spec: ProviderSpec, settings: LLMSettings, override: str | None = None) -> str | None:
    if override:
        return override
    return _configured_url(spec, settings)


def _same_url(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.rstrip("/") == b.rstrip("/")


def check_base_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host and a valid port; ProviderError saying why not."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for ports outside 0-65535
    except ValueError as exc:
        raise BaseUrlError(f"base URL {url!r} is not valid ({exc}); e.g. http://127.0.0.1:11434/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise BaseUrlError(
            f"base URL {url!r} must be http(s)://HOST[:PORT][/PATH] with a port from 1 to 65535, "
            "e.g. http://127.0.0.1:11434/v1"
        )
    return url


def _endpoint(spec: ProviderSpec, settings: LLMSettings, override: str | None) -> tuple[str | None, bool]:
    """(the URL to call, whether the configured key may go there).

    A provider's key only ever goes to that provider's configured endpoint. A caller's own
    base URL is for `openai-compatible` (a local model server) and gets no configured key;
    for keyed providers it must equal the configured endpoint.
    """
    configured = _configured_url(spec, settings)
    if not override or _same_url(override, configured):
        return configured, True
    check_base_url(override)
    if spec.name == "openai-compatible":
        return override, False
    names = " or ".join(spec.base_url_names) or "its base URL setting"
    raise BaseUrlError(
        f"a base URL can only be chosen per request for openai-compatible; {spec.name} always uses its "
        f"configured endpoint (set {names} on the server to change it)"
    )


def is_configured(spec: ProviderSpec, settings: LLMSettings, base_url: str | None = None) -> bool:
    """Whether a request to this provider can be made with the current settings."""
    if spec.name == "offline":
        return True
    if spec.name == "openai-compatible":
        return bool(_base_url(spec, settings, base_url))
    return bool(settings.get(*spec.key_names))


def default_model(spec: ProviderSpec, settings: LLMSettings) -> str:
    """The model used when a request names none."""
    configured = settings.plain(*spec.model_names) if spec.model_names else None
    if configured:
        return configured
    if settings.model and settings.provider == spec.name:
        return settings.model
    return spec.default_model


def list_providers() -> list[dict[str, Any]]:
    """Every provider: name, label, configured, default_model, models, selected. Never keys."""
    settings = load_settings()
    current = current_default(settings)
    out = []
    for spec in PROVIDERS.values():
        model = (
            current["model"]
            if current["provider"] == spec.name and current["model"]
            else default_model(spec, settings)
        )
        out.append(
            {
                "name": spec.name,
                "label": spec.label,
                "configured": is_configured(spec, settings),
                "default_model": model,
                "models": list(dict.fromkeys([model, *spec.models])),
                "selected": current["provider"] == spec.name,
            }
        )
    return out


def current_default(settings: LLMSettings | None = None) -> dict[str, str | None]:
    """{"provider", "model", "base_url"} used when a request names no provider."""
    with _default_lock:
        if _runtime_default:
            return dict(_runtime_default)
    settings = settings or load_settings()
    provider = settings.provider or "offline"
    return {
        "provider": provider,
        "model": settings.model if settings.provider else None,
        "base_url": settings.base_url if settings.provider else None,
    }


def select_default(provider: str, model: str | None = None, base_url: str | None = None) -> dict[str, Any]:
    """Make `provider` (and `model`) the default for requests that name none (process-wide).

    Raises MissingKeyError when the provider is not configured, so a UI learns at
    selection time, not at the first generation. Returns the provider's listing entry.
    """
    spec = get_spec(provider)
    settings = load_settings()
    _endpoint(spec, settings, base_url)  # a URL the key may not go to is refused now, not at generation
    if not is_configured(spec, settings, base_url):
        raise MissingKeyError(missing_key_message(spec))
    with _default_lock:
        _runtime_default.clear()
        _runtime_default.update({"provider": provider, "model": model, "base_url": base_url})
    return next(p for p in list_providers() if p["name"] == provider)


def reset_default() -> None:
    """Forget the runtime selection (back to settings / offline)."""
    with _default_lock:
        _runtime_default.clear()


def missing_key_message(spec: ProviderSpec) -> str:
    """What to set for `spec` to work."""
    if spec.name == "openai-compatible":
        return (
            "openai-compatible needs a server URL: pass --base-url http://HOST:PORT/v1 or set "
            "TABRL_OPENAI_COMPATIBLE_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama)"
        )
    names = " or ".join(spec.key_names)
    return (
        f"{spec.name} needs an API key: set {names} in the environment or under [keys] in "
        f"<TABRL_HOME>/settings.toml (or use --provider offline)"
    )


# --- Calls ------------------------------------------------------------------------------------------


@dataclass
class Completion:
    """One model answer."""

    text: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None
    latency_s: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ChatClient:
    """A configured provider: `complete(system, messages)` -> Completion."""

    spec: ProviderSpec
    model: str
    key: SecretStr | None
    base_url: str | None
    timeout_s: float
    max_retries: int
    retry_initial_delay_s: float
    temperature: float = 0.7
    max_tokens: int = 8000

    @property
    def name(self) -> str:
        """Provider name."""
        return self.spec.name

    def complete(self, system: str, messages: list[dict[str, str]]) -> Completion:
        """Send one conversation; raise ProviderError (with an actionable message) on failure."""
        start = time.perf_counter()
        try:
            if self.spec.name == "anthropic":
                out = self._anthropic(system, messages)
            elif self.spec.name == "gemini":
                out = self._gemini(system, messages)
            else:
                out = self._openai(system, messages)
        except ProviderError:
            raise
        except Exception as exc:
            err = self._translate(exc)
            # SDK messages can echo request details; make sure a key never rides along.
            raise type(err)(scrub(str(err), self.key)) from None
        out.latency_s = time.perf_counter() - start
        log.info(
            "llm %s/%s answered in %.2fs (%s in, %s out tokens)",
            self.name,
            out.model,
            out.latency_s,
            out.input_tokens,
            out.output_tokens,
        )
        return out

    # Anthropic Messages API -----------------------------------------------------------------------

    def _anthropic(self, system: str, messages: list[dict[str, str]]) -> Completion:
        import anthropic

        client = anthropic.Anthropic(
            api_key=self.key.get_secret_value() if self.key else None,
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
        )
        resp = client.messages.create(
            model=self.model,
            max_tokens=self.max_tokens,
            system=system,
            # This SDK generation takes no sampling temperature; the model default is used.
            messages=[{"role": m["role"], "content": m["content"]} for m in messages],
        )
        text = "".join(getattr(b, "text", "") for b in resp.content if getattr(b, "type", "") == "text")
        if resp.stop_reason == "refusal":
            raise ProviderRefusal(self._refusal_message(text))
        return Completion(
            text,
            resp.model or self.model,
            resp.usage.input_tokens,
            resp.usage.output_tokens,
            resp.stop_reason,
        )

    # OpenAI Chat Completions (OpenAI, DeepSeek, any compatible server) ---------------------------

    def _openai(self, system: str, messages: list[dict[str, str]]) -> Completion:
        import openai

        client = openai.OpenAI(
            # Local servers (Ollama, llama.cpp) ignore the key, but the SDK insists on one.
            api_key=self.key.get_secret_value() if self.key else "not-needed",
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
        )
        # OpenAI's reasoning models take `max_completion_tokens` and only the default
        # temperature; DeepSeek and local servers (Ollama, vLLM, llama.cpp) take the classic pair.
        if self.spec.name == "openai":
            extra: dict[str, Any] = {"max_completion_tokens": self.max_tokens}
        else:
            extra = {"max_tokens": self.max_tokens, "temperature": self.temperature}
        resp = client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": system}, *messages],
            **extra,
        )
        if not resp.choices:
            raise ProviderError(
                f"{self.name} returned no choices for model {self.model}; try again or another model"
            )
        choice = resp.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal or choice.finish_reason == "content_filter":
            raise ProviderRefusal(self._refusal_message(refusal or ""))
        usage = resp.usage
        return Completion(
            choice.message.content or "",
            resp.model or self.model,
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
            choice.finish_reason,
        )

    # Gemini generateContent -------------------------------------------------------------------------

    def _gemini(self, system: str, messages: list[dict[str, str]]) -> Completion:
        from google import genai
        from google.genai import types

        retry = types.HttpRetryOptions(
            attempts=self.max_retries + 1,
            initial_delay=self.retry_initial_delay_s,
            max_delay=30.0,
            exp_base=2.0,
            # tenacity adds up to `jitter` seconds at random; keep it proportional to the delay.
            jitter=self.retry_initial_delay_s * 0.5,
            http_status_codes=[408, 429, 500, 502, 503, 504],
        )
        client = genai.Client(
            api_key=self.key.get_secret_value() if self.key else None,
            http_options=types.HttpOptions(
                base_url=self.base_url, timeout=int(self.timeout_s * 1000), retry_options=retry
            ),
        )
        contents = [
            types.Content(
                role="model" if m["role"] == "assistant" else "user", parts=[types.Part(text=m["content"])]
            )
            for m in messages
        ]
        resp = client.models.generate_content(
            model=self.model,
            contents=contents,
            config=types.GenerateContentConfig(
                system_instruction=system, temperature=self.temperature, max_output_tokens=self.max_tokens
            ),
        )
        feedback = getattr(resp, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            raise ProviderRefusal(self._refusal_message(f"prompt blocked ({feedback.block_reason})"))
        cand = (resp.candidates or [None])[0]
        finish = str(getattr(cand, "finish_reason", "") or "")
        parts = getattr(getattr(cand, "content", None), "parts", None) or []
        text = "".join(p.text or "" for p in parts if getattr(p, "text", None))
        if any(w in finish.upper() for w in ("SAFETY", "PROHIBITED", "BLOCKLIST", "SPII")) and not text:
            raise ProviderRefusal(self._refusal_message(f"finish reason {finish}"))
        usage = getattr(resp, "usage_metadata", None)
        return Completion(
            text,
            getattr(resp, "model_version", None) or self.model,
            getattr(usage, "prompt_token_count", None),
            getattr(usage, "candidates_token_count", None),
            finish or None,
        )

    # Errors --------------------------------------------------------------------------------------------

    def _refusal_message(self, detail: str) -> str:
        detail = " ".join(detail.split())[:200]
        return (
            f"{self.name} ({self.model}) declined to write reward code"
            + (f": {detail}" if detail else "")
            + "; rephrase the task or use another provider (e.g. --provider offline)"
        )

    def _translate(self, exc: Exception) -> ProviderError:
        """Turn an SDK exception into a ProviderError with a clear, key-free message."""
        where = f"{self.name} ({self.model}{' at ' + self.base_url if self.base_url else ''})"
        status = _status_of(exc)
        if _is_timeout(exc):
            return ProviderTimeout(
                f"{where} did not answer within {self.timeout_s:g}s after {self.max_retries} "
                f"retries; try again, raise TABRL_LLM_TIMEOUT_S, or use a smaller model"
            )
        if status in (401, 403):
            return MissingKeyError(
                f"{where} rejected the API key (HTTP {status}); check "
                f"{' / '.join(self.spec.key_names) or 'the key'}"
            )
        if status == 404:
            return ProviderError(
                f"{where}: model or endpoint not found (HTTP 404); pick a model from "
                f"`tabrl generate --list-providers` or check the base URL"
            )
        if status == 429:
            return RateLimited(
                f"{where} is rate-limiting requests (HTTP 429) after {self.max_retries} retries; "
                f"wait a minute or use another provider"
            )
        if status is not None and status >= 500:
            return ProviderError(
                f"{where} failed with HTTP {status} after {self.max_retries} retries; try again later"
            )
        if status is not None:
            return ProviderError(f"{where} rejected the request (HTTP {status}): {_short(exc)}")
        if _is_connection(exc):
            return ProviderError(f"cannot reach {where}: {_short(exc)}; check the network or the base URL")
        return ProviderError(f"{where} failed: {type(exc).__name__}: {_short(exc)}")


def scrub(text: str, *secrets: SecretStr | None) -> str:
    """`text` with every secret value replaced by ***."""
    for secret in secrets:
        if secret and len(secret.get_secret_value()) >= 4:
            text = text.replace(secret.get_secret_value(), "***")
    return text


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _is_timeout(exc: Exception) -> bool:
    return any(isinstance(e, TimeoutError) or "timeout" in type(e).__name__.lower() for e in _chain(exc))


def _is_connection(exc: Exception) -> bool:
    return any("connect" in type(e).__name__.lower() or isinstance(e, ConnectionError) for e in _chain(exc))


def _status_of(exc: Exception) -> int | None:
    for e in _chain(exc):
        for attr in ("status_code", "code", "status"):
            value = getattr(e, attr, None)
            if isinstance(value, int) and 100 <= value < 600:
                return value
    return None


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def make_client(
    provider: str,
    model: str | None = None,
    base_url: str | None = None,
    *,
    settings: LLMSettings | None = None,
    timeout_s: float | None = None,
) -> ChatClient:
    """A ready client for `provider`; MissingKeyError when its key / URL is not configured."""
    spec = get_spec(provider)
    if spec.name == "offline":
        raise ValueError("the offline composer has no chat client")
    settings = settings or load_settings()
    url, key_allowed = _endpoint(spec, settings, base_url)
    if url is not None:
        check_base_url(url)
    if not is_configured(spec, settings, base_url):
        raise MissingKeyError(missing_key_message(spec))
    key = settings.get(*spec.key_names) if spec.key_names and key_allowed else None
    return ChatClient(
        spec=spec,
        model=model or default_model(spec, settings),
        key=key,
        base_url=url,
        timeout_s=timeout_s or settings.timeout_s,
        max_retries=settings.max_retries,
        retry_initial_delay_s=settings.retry_initial_delay_s,
    )
