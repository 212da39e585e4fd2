"""Each provider through its real SDK against a local server speaking its wire format."""

from __future__ import annotations

import json
import time

import pytest

from tabrl.authoring import (
    MissingKeyError,
    ProviderError,
    ProviderRefusal,
    ProviderTimeout,
    RateLimited,
    list_providers,
    select_default,
)
from tabrl.authoring.providers import PROVIDERS, current_default, make_client

from .fake_servers import FakeLLMServer, Reply

SDK_KIND = {
    "anthropic": "anthropic",
    "openai": "openai",
    "gemini": "gemini",
    "deepseek": "openai",
    "openai-compatible": "openai",
}
KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openai-compatible": "TABRL_OPENAI_COMPATIBLE_API_KEY",
}
ALL = list(SDK_KIND)


def client_for(
    provider: str, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, timeout_s: float = 10.0
):
    monkeypatch.setenv(KEY_ENV[provider], "test-key-0123456789")
    # Keys only go to the endpoint the server owner configured: the fake server is configured as it.
    monkeypatch.setenv(PROVIDERS[provider].base_url_names[0], server.base_url)
    return make_client(provider, "fake-model", timeout_s=timeout_s)


@pytest.mark.parametrize("provider", ALL)
def test_answer_tokens_and_request_shape(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(SDK_KIND[provider], [Reply("hello there", input_tokens=11, output_tokens=7)]) as srv:
        out = client_for(provider, srv, monkeypatch).complete(
            "SYSTEM TEXT", [{"role": "user", "content": "hi"}]
        )
    assert out.text == "hello there"
    assert (out.input_tokens, out.output_tokens) == (11, 7)
    assert out.model == "fake-model"
    [req] = srv.requests
    kind = SDK_KIND[provider]
    if kind == "anthropic":
        assert req.path == "/v1/messages"
        assert req.body["system"] == "SYSTEM TEXT" and req.body["messages"][0]["content"] == "hi"
        # SDK generations differ: x-api-key (1.x) or a bearer token (2.x).
        assert "test-key-0123456789" in (
            req.headers.get("x-api-key", ""),
            req.headers.get("authorization", "")[7:],
        )
    elif kind == "openai":
        assert req.path == "/v1/chat/completions"
        assert req.body["messages"][0] == {"role": "system", "content": "SYSTEM TEXT"}
        assert req.headers.get("authorization") == "Bearer test-key-0123456789"
        if provider == "openai":  # reasoning models: no temperature, max_completion_tokens
            assert "temperature" not in req.body and req.body["max_completion_tokens"] > 0
        else:
            assert req.body["max_tokens"] > 0 and "temperature" in req.body
    else:
        assert req.path.endswith("/models/fake-model:generateContent")
        assert req.body["systemInstruction"]["parts"][0]["text"] == "SYSTEM TEXT"
        assert req.headers.get("x-goog-api-key") == "test-key-0123456789"


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_refusal_is_a_clear_error(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        FakeLLMServer(SDK_KIND[provider], [Reply("I can't help with that.", refusal=True)]) as srv,
        pytest.raises(ProviderRefusal, match="declined") as err,
    ):
        client_for(provider, srv, monkeypatch).complete("s", [{"role": "user", "content": "x"}])
    assert "rephrase" in str(err.value)
    assert err.value.status_code == 422


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_429_then_success_is_retried(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [Reply(status=429), Reply("after retry")]
    with FakeLLMServer(SDK_KIND[provider], replies) as srv:
        out = client_for(provider, srv, monkeypatch).complete("s", [{"role": "user", "content": "x"}])
    assert out.text == "after retry"
    assert len(srv.requests) == 2


def test_backoff_is_exponential(monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenAI SDK: 0.5 s then 1 s (minus up to 25% jitter) between attempts on 429 / 5xx.
    stamps: list[float] = []

    def stamp(_body):
        stamps.append(time.perf_counter())
        return "third time lucky"

    replies = [Reply(status=429), Reply(status=503), Reply(stamp)]
    with FakeLLMServer("openai", replies) as srv:
        start = time.perf_counter()
        out = client_for("openai", srv, monkeypatch).complete("s", [{"role": "user", "content": "x"}])
    assert out.text == "third time lucky" and len(srv.requests) == 3
    total = stamps[0] - start
    assert 0.375 + 0.75 - 0.05 <= total < 5.0


def test_gemini_backoff_uses_configured_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABRL_LLM_RETRY_DELAY_S", "0.2")
    with FakeLLMServer("gemini", [Reply(status=500), Reply(status=503), Reply("ok")]) as srv:
        start = time.perf_counter()
        out = client_for("gemini", srv, monkeypatch).complete("s", [{"role": "user", "content": "x"}])
    assert out.text == "ok" and len(srv.requests) == 3
    assert time.perf_counter() - start >= 0.2 + 0.4 - 0.05


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_persistent_429_gives_rate_limited(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABRL_LLM_MAX_RETRIES", "1")
    with (
        FakeLLMServer(SDK_KIND[provider], [Reply(status=429, headers={"retry-after-ms": "10"})]) as srv,
        pytest.raises(RateLimited, match="429"),
    ):
        client_for(provider, srv, monkeypatch).complete("s", [{"role": "user", "content": "x"}])
    assert len(srv.requests) == 2


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_timeout_is_a_clear_error(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABRL_LLM_MAX_RETRIES", "0")
    with FakeLLMServer(SDK_KIND[provider], [Reply("too late", delay_s=3.0)]) as srv:
        start = time.perf_counter()
        with pytest.raises(ProviderTimeout, match="did not answer within") as err:
            client_for(provider, srv, monkeypatch, timeout_s=0.5).complete(
                "s", [{"role": "user", "content": "x"}]
            )
    assert time.perf_counter() - start < 2.9
    assert err.value.status_code == 504


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_rejected_key(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        FakeLLMServer(SDK_KIND[provider], [Reply(status=401)]) as srv,
        pytest.raises(MissingKeyError, match="rejected the API key") as err,
    ):
        client_for(provider, srv, monkeypatch).complete("s", [{"role": "user", "content": "x"}])
    assert "test-key-0123456789" not in str(err.value)


def test_unreachable_server() -> None:
    with pytest.raises(ProviderError, match="cannot reach"):
        make_client("openai-compatible", "m", "http://127.0.0.1:9/v1", timeout_s=2).complete(
            "s", [{"role": "user", "content": "x"}]
        )


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini", "deepseek"])
def test_missing_key_message(provider: str) -> None:
    with pytest.raises(MissingKeyError) as err:
        make_client(provider)
    assert KEY_ENV[provider] in str(err.value)


def test_openai_compatible_needs_base_url() -> None:
    with pytest.raises(MissingKeyError, match="--base-url"):
        make_client("openai-compatible")


def test_settings_file_and_dotenv(llm_env, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    llm_env.write_text(
        '[llm]\nprovider = "anthropic"\nmodel = "claude-x"\n\n[keys]\nANTHROPIC_API_KEY = "from-file-key"\n'
    )
    client = make_client("anthropic")
    assert client.key.get_secret_value() == "from-file-key" and client.model == "claude-x"
    assert "from-file-key" not in repr(client)
    assert current_default()["provider"] == "anthropic"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-wins")
    assert make_client("anthropic").key.get_secret_value() == "env-wins"


def test_list_providers_and_select_default(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {r["name"]: r for r in list_providers()}
    assert set(rows) == {"offline", "anthropic", "openai", "gemini", "deepseek", "openai-compatible"}
    assert rows["offline"]["configured"] and rows["offline"]["selected"]
    assert not rows["anthropic"]["configured"]
    for r in rows.values():
        assert set(r) >= {"name", "configured", "default_model", "models"}
    with pytest.raises(MissingKeyError):
        select_default("openai")
    monkeypatch.setenv("GOOGLE_API_KEY", "g-key-123456")
    entry = select_default("gemini", "gemini-2.5-pro")
    assert entry["selected"] and entry["default_model"] == "gemini-2.5-pro"
    assert current_default()["provider"] == "gemini"
    assert "g-key-123456" not in repr(list_providers())
    with pytest.raises(Exception, match="unknown LLM provider"):
        select_default("claude")


# --- Where keys may go (issue 14, point 1) ---------------------------------------------------------

KEYED = ["anthropic", "openai", "gemini", "deepseek"]


@pytest.mark.parametrize("provider", KEYED)
def test_caller_base_url_never_receives_a_configured_key(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tabrl.authoring import generate_approaches
    from tabrl.authoring.providers import BaseUrlError

    monkeypatch.setenv(KEY_ENV[provider], "sk-REAL-KEY-0123456789")
    with FakeLLMServer(SDK_KIND[provider], [Reply("x")] * 3) as srv:
        with pytest.raises(BaseUrlError, match="openai-compatible"):
            make_client(provider, "m", srv.base_url)
        with pytest.raises(BaseUrlError, match="configured endpoint"):
            generate_approaches("CartpoleBalance", "balance", provider=provider, base_url=srv.base_url, n=1)
        # A runtime default with a foreign URL is refused when selected, not used later.
        with pytest.raises(BaseUrlError):
            select_default(provider, base_url=srv.base_url)
    assert srv.requests == []


def test_openai_compatible_caller_url_gets_no_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABRL_OPENAI_COMPATIBLE_API_KEY", "local-REAL-KEY-0123456789")
    monkeypatch.setenv("TABRL_OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/v1")
    with FakeLLMServer("openai", [Reply("hi")]) as srv:
        make_client("openai-compatible", "m", srv.base_url).complete("s", [{"role": "user", "content": "x"}])
    [req] = srv.requests
    assert "REAL-KEY" not in json.dumps(dict(req.headers))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999/v1", "http://127.0.0.1:0/v1", "ftp://127.0.0.1/v1", "http:///v1"]
)
def test_malformed_base_url_is_refused(url: str) -> None:
    from tabrl.authoring.providers import BaseUrlError

    with pytest.raises(BaseUrlError, match="base URL"):
        make_client("openai-compatible", "m", url)
