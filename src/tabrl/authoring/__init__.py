"""Reward authoring from plain language: LLM providers, prompts, the offline composer, repair.

    >>> from tabrl.authoring import generate_approaches, list_providers, select_default
    >>> res = generate_approaches("Go1JoystickFlatTerrain", "walk like you're on the moon")  # doctest: +SKIP
    >>> [(a.name, a.valid) for a in res.approaches]                                          # doctest: +SKIP
    [('Low-gravity bounding', True), ('Walk in circles', True), ('Astronaut hop', True)]

Providers: offline (default, no key), anthropic, openai, gemini, deepseek,
openai-compatible (any server speaking Chat Completions: Ollama, vLLM, llama.cpp).
Keys come from the environment or `<TABRL_HOME>/settings.toml` / `.env` and never leave
the SDK client: results, logs and listings do not contain them.
"""

from tabrl.authoring.approach import Approach
from tabrl.authoring.generate import GenerationError, GenerationResult, generate_approaches
from tabrl.authoring.providers import (
    PROVIDERS,
    MissingKeyError,
    ProviderError,
    ProviderRefusal,
    ProviderTimeout,
    RateLimited,
    current_default,
    list_providers,
    reset_default,
    select_default,
)

__all__ = [
    "PROVIDERS",
    "Approach",
    "GenerationError",
    "GenerationResult",
    "MissingKeyError",
    "ProviderError",
    "ProviderRefusal",
    "ProviderTimeout",
    "RateLimited",
    "current_default",
    "generate_approaches",
    "list_providers",
    "reset_default",
    "select_default",
]
