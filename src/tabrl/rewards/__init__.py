"""Reward language: semantic state API, sandboxed compiler, reward-driven MJX environments.

    >>> from tabrl.rewards import check_reward, make_env
    >>> check_reward(open("reward.py").read(), "CartpoleBalance").valid      # doctest: +SKIP
    True
    >>> env = make_env("CartpoleBalance", open("reward.py").read())         # doctest: +SKIP

`API_REFERENCE` is the one reference page (contract + API) that prompts embed (`reward_api.md`;
`docs/reward-api.md` points to it). Heavy modules (JAX, MuJoCo) load on first use.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from tabrl.rewards.result import CheckResult, RewardCompileError, RewardError

#: The reward contract and semantic API, as Markdown (embedded in LLM prompts).
API_REFERENCE: str = resources.files("tabrl.rewards").joinpath("reward_api.md").read_text(encoding="utf-8")

if TYPE_CHECKING:
    from tabrl.rewards.compiler import CompiledReward, check_reward, compile_reward
    from tabrl.rewards.env import EnvConfig, PlaygroundRewardEnv, SceneRewardEnv, make_env
    from tabrl.rewards.state import SceneIndex, SemanticState
    from tabrl.rewards.validate import ValidationReport, validate_env

_LAZY = {
    "CompiledReward": "tabrl.rewards.compiler",
    "check_reward": "tabrl.rewards.compiler",
    "compile_reward": "tabrl.rewards.compiler",
    "EnvConfig": "tabrl.rewards.env",
    "PlaygroundRewardEnv": "tabrl.rewards.env",
    "SceneRewardEnv": "tabrl.rewards.env",
    "make_env": "tabrl.rewards.env",
    "SceneIndex": "tabrl.rewards.state",
    "SemanticState": "tabrl.rewards.state",
    "ValidationReport": "tabrl.rewards.validate",
    "validate_env": "tabrl.rewards.validate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tabrl.rewards' has no attribute {name!r}")


__all__ = [
    "API_REFERENCE",
    "CheckResult",
    "CompiledReward",
    "EnvConfig",
    "PlaygroundRewardEnv",
    "RewardCompileError",
    "RewardError",
    "SceneIndex",
    "SceneRewardEnv",
    "SemanticState",
    "ValidationReport",
    "check_reward",
    "compile_reward",
    "make_env",
    "validate_env",
]
