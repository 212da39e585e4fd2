"""Keys never appear in results, listings, errors or logs."""

from __future__ import annotations

import json
import logging

import pytest

from tabrl.authoring import MissingKeyError, generate_approaches, list_providers
from tabrl.authoring.providers import PROVIDERS, make_client
from tabrl.authoring.settings import load_settings

from .fake_servers import FakeLLMServer, Reply
from .rewards_fixtures import BROKEN_BALANCE, GOOD_BALANCE, approaches_json

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-SECRET-aaaa1111",
    "OPENAI_API_KEY": "sk-oai-SECRET-bbbb2222",
    "GEMINI_API_KEY": "gm-SECRET-cccc3333",
    "DEEPSEEK_API_KEY": "sk-ds-SECRET-dddd4444",
    "TABRL_OPENAI_COMPATIBLE_API_KEY": "local-SECRET-eeee5555",
}
KIND = {
    "anthropic": "anthropic",
    "openai": "openai",
    "gemini": "gemini",
    "deepseek": "openai",
    "openai-compatible": "openai",
}


def assert_clean(text: str) -> None:
    for value in SECRETS.values():
        assert value not in text
    assert "SECRET" not in text


@pytest.mark.parametrize("provider", list(KIND))
def test_no_key_in_results_errors_or_logs(
    provider: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    caplog.set_level(logging.DEBUG)  # SDK debug logs included
    replies = [
        Reply(approaches_json(BROKEN_BALANCE)),
        Reply(approaches_json(GOOD_BALANCE)),
        Reply(status=401),
    ]
    with FakeLLMServer(KIND[provider], replies) as srv:
        monkeypatch.setenv(PROVIDERS[provider].base_url_names[0], srv.base_url)
        res = generate_approaches("CartpoleBalance", "balance", provider=provider, n=1)
        assert res.approaches[0].valid
        with pytest.raises(MissingKeyError) as err:
            generate_approaches("CartpoleBalance", "balance", provider=provider, n=1)
    assert_clean(json.dumps(res.to_dict()))
    assert_clean(repr(res))
    assert_clean(str(err.value))
    assert_clean(caplog.text)
    assert_clean(json.dumps(list_providers()))
    assert_clean(repr(load_settings()))
    assert_clean(repr(make_client(provider)))
