"""Policy store: one directory per policy, parameters in flax msgpack plus `manifest.json`.

    <policy_dir>/
        manifest.json     id, scene, sizes, networks, normaliser, reward (source + sha256),
                          resolved training config, metric history, created_at, TabRL version
        params.msgpack    {"normalizer": {...}, "policy": {...}, "value": {...}} (flax.serialization)
        reward.py         the reward source the policy was trained on (when there was one)

Checkpoints written during training use the same layout, so a checkpoint *is* a policy and
`load_policy` / `tabrl export-onnx` work on either. Nothing here uses pickle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tabrl.atomic import atomic_write_bytes, atomic_write_text
from tabrl.errors import NotFoundError, TabRLError

MANIFEST = "manifest.json"
PARAMS = "params.msgpack"
REWARD_FILE = "reward.py"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class NetworkSpec:
    """What is needed to rebuild the networks from the saved parameters."""

    policy_hidden_layer_sizes: tuple[int, ...]
    value_hidden_layer_sizes: tuple[int, ...]
    activation: str
    #: Brax's action distribution: the deterministic action is tanh(first half of the policy output).
    distribution: str = "tanh_normal"
    normalize_observations: bool = True
    policy_obs_key: str = "state"
    value_obs_key: str = "state"


@dataclass(frozen=True)
class RewardInfo:
    """The reward a policy was trained on: its source text (None: the scene's own task reward)."""

    source: str | None
    sha256: str
    name: str = "task"
    terms: tuple[str, ...] = ()

    @classmethod
    def from_source(
        cls, source: str | None, name: str | None = None, terms: tuple[str, ...] = ()
    ) -> RewardInfo:
        """RewardInfo of reward code (or of the scene's task reward when `source` is None)."""
        text = source if source is not None else ""
        return cls(
            source=source,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            name=name or ("custom" if source is not None else "task"),
            terms=tuple(terms),
        )


@dataclass(frozen=True)
class PolicyManifest:
    """Contents of `manifest.json`."""

    id: str
    scene_id: str
    #: Size of the observation the *policy* reads (the `policy_obs_key` entry for dict observations).
    observation_size: int
    #: Observation sizes of every key when the env's observation is a dict, else {"state": n}.
    observation_sizes: dict[str, int]
    action_size: int
    network: NetworkSpec
    reward: RewardInfo
    config: dict[str, Any]
    #: Evaluation history: [{"step", "eval_reward_mean", "eval_reward_std", "episode_length", "reward_terms", "elapsed_s"}].
    metrics: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    eval_reward: float | None = None
    created_at: str = ""
    tabrl_version: str = ""
    #: Policy this one was fine-tuned from (its id and directory), if any.
    base_policy: dict[str, str] | None = None
    #: "final" or "checkpoint".
    kind: str = "final"
    #: Step whose parameters these are (the best evaluation when the run kept the best; else == steps).
    selected_step: int | None = None
    #: Whether the env's observation is a dict (the policy then reads `network.policy_obs_key`).
    observation_is_dict: bool = False
    #: Physics backend it was trained on ("mjx": MJX env; "mujoco": MuJoCo C with TabRL's conventions).
    #: Videos, the live view and fine-tuning rebuild the same environment from it.
    backend: str = "mjx"
    #: Command program (level 1, or a fine-tune that follows one): `command(t)` source the policy's
    #: velocity commands come from in videos and the live view. None: random draws / a joystick.
    commands: str | None = None
    #: How it was made: "command" (a base policy playing a command program, no training),
    #: "fine_tune" (from a base policy) or "from_scratch".
    level: str = "from_scratch"
    #: Success check it was judged on after training: {"code": source, "verdict": Verdict.to_dict()}.
    check: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION

    @property
    def action_repeat(self) -> int:
        """Control steps each action is held for (`TrainConfig.action_repeat`; 1 for most policies)."""
        return max(1, int(self.config.get("action_repeat") or 1))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        data = asdict(self)
        data["network"]["policy_hidden_layer_sizes"] = list(self.network.policy_hidden_layer_sizes)
        data["network"]["value_hidden_layer_sizes"] = list(self.network.value_hidden_layer_sizes)
        data["reward"]["terms"] = list(self.reward.terms)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyManifest:
        """Inverse of `to_dict`."""
        net = dict(data["network"])
        net["policy_hidden_layer_sizes"] = tuple(net["policy_hidden_layer_sizes"])
        net["value_hidden_layer_sizes"] = tuple(net["value_hidden_layer_sizes"])
        reward = dict(data["reward"])
        reward["terms"] = tuple(reward.get("terms", ()))
        known = set(cls.__dataclass_fields__)
        rest = {k: v for k, v in data.items() if k in known and k not in ("network", "reward")}
        return cls(network=NetworkSpec(**net), reward=RewardInfo(**reward), **rest)


def new_policy_id(scene_id: str) -> str:
    """A readable unique id: `<scene>-<yyyymmdd-hhmmss>-<6 hex>`."""
    return f"{scene_id.replace('/', '_').replace(':', '_')}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


# --- parameters <-> msgpack ---------------------------------------------------------------------


def params_to_state(params: tuple[Any, Any, Any]) -> dict[str, Any]:
    """Brax PPO's (normalizer, policy, value) params as a nested dict of numpy arrays."""
    normalizer, policy, value = params
    count = normalizer.count
    count_value = float(count.to_numpy()) if hasattr(count, "to_numpy") else float(np.asarray(count))
    to_np = _tree_to_numpy
    return {
        "normalizer": {
            "mean": to_np(normalizer.mean),
            "std": to_np(normalizer.std),
            "summed_variance": to_np(normalizer.summed_variance),
            "count": count_value,
            "std_eps": float(np.asarray(normalizer.std_eps)),
        },
        "policy": to_np(policy),
        "value": to_np(value),
    }


def state_to_params(state: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Inverse of `params_to_state`: Brax's (RunningStatisticsState, policy, value) as JAX arrays."""
    import jax
    import jax.numpy as jnp
    from brax.training import types as brax_types
    from brax.training.acme import running_statistics

    norm = state["normalizer"]
    count = int(norm["count"])
    normalizer = running_statistics.RunningStatisticsState(
        count=brax_types.UInt64(hi=np.uint32(count >> 32), lo=np.uint32(count & 0xFFFFFFFF)),
        mean=jax.tree.map(jnp.asarray, norm["mean"]),
        std=jax.tree.map(jnp.asarray, norm["std"]),
        summed_variance=jax.tree.map(jnp.asarray, norm["summed_variance"]),
        std_eps=jnp.float32(norm.get("std_eps", 0.0)),
    )
    return normalizer, jax.tree.map(jnp.asarray, state["policy"]), jax.tree.map(jnp.asarray, state["value"])


def _tree_to_numpy(tree: Any) -> Any:
    if isinstance(tree, dict) or hasattr(tree, "items"):
        return {str(k): _tree_to_numpy(v) for k, v in tree.items()}
    return np.asarray(tree, dtype=np.float32)


def write_params(path: Path, params: tuple[Any, Any, Any]) -> None:
    """Save Brax PPO params to `path` (flax msgpack), atomically."""
    from flax import serialization

    atomic_write_bytes(path, serialization.msgpack_serialize(params_to_state(params)))


def read_params(path: Path) -> tuple[Any, Any, Any]:
    """Load Brax PPO params written by `write_params`."""
    from flax import serialization

    try:
        state = serialization.msgpack_restore(path.read_bytes())
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist; is {path.parent} a TabRL policy folder?") from None
    except Exception as exc:  # msgpack raises several types on a damaged file
        raise TabRLError(
            f"{path} is not a readable TabRL parameter file ({type(exc).__name__}: {exc})"
        ) from None
    return state_to_params(state)


# --- whole policies -----------------------------------------------------------------------------


def save_policy(directory: Path, manifest: PolicyManifest, params: tuple[Any, Any, Any]) -> Path:
    """Write a policy folder (params, manifest, reward source); replaces an existing one atomically."""
    directory = Path(directory)
    staging = directory.with_name(f".{directory.name}.staging-{uuid.uuid4().hex[:6]}")
    staging.mkdir(parents=True)
    try:
        write_params(staging / PARAMS, params)
        (staging / MANIFEST).write_text(
            json.dumps(manifest.to_dict(), indent=2, default=_json_default) + "\n"
        )
        if manifest.reward.source is not None:
            (staging / REWARD_FILE).write_text(manifest.reward.source, encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def update_manifest(directory: Path | str, **fields: Any) -> PolicyManifest:
    """Rewrite a policy folder's manifest.json with `fields` changed (atomically); the new manifest."""
    directory = Path(directory)
    manifest = dataclasses.replace(read_manifest(directory), **fields)
    atomic_write_text(
        directory / MANIFEST, json.dumps(manifest.to_dict(), indent=2, default=_json_default) + "\n"
    )
    return manifest


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def read_manifest(directory: Path | str) -> PolicyManifest:
    """The manifest of a policy folder, with an actionable error when it is not one."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(
            f"{directory} is not a TabRL policy folder (no {MANIFEST}); pass the folder `tabrl train` wrote"
        ) from None
    except json.JSONDecodeError as exc:
        raise TabRLError(f"{path} is not valid JSON ({exc})") from None
    try:
        return PolicyManifest.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise TabRLError(
            f"{path} is missing or has a malformed field ({exc}); was it written by TabRL?"
        ) from None


def load_params(directory: Path | str) -> tuple[PolicyManifest, tuple[Any, Any, Any]]:
    """Manifest and Brax PPO params of a policy folder."""
    manifest = read_manifest(directory)
    return manifest, read_params(Path(directory) / PARAMS)


__all__ = [
    "MANIFEST",
    "PARAMS",
    "NetworkSpec",
    "PolicyManifest",
    "RewardInfo",
    "load_params",
    "new_policy_id",
    "read_manifest",
    "read_params",
    "save_policy",
    "write_params",
]
