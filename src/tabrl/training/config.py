"""Training configuration: one frozen pydantic dataclass, per-scene presets, YAML and `key=value` overrides.

Resolution order (later wins): the scene's preset for the device JAX computes on -> a YAML
file -> `--set key=value` overrides -> `--steps`. The resolved config is saved with every run
(`config.yaml` in the run folder, and in the policy's `manifest.json`).

Every value, from Python, YAML, the command line or an API request, goes through the same pydantic
validation (lax mode: `"3e-4"` is a number, `"false"` a boolean); a bad one is a `ConfigError` naming the
field, the value and what is allowed.

    >>> from tabrl.training.config import preset_for, apply_overrides
    >>> cfg = apply_overrides(preset_for("CartpoleBalance", "cpu"), ["learning_rate=3e-4"])
    >>> cfg.learning_rate
    0.0003
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    create_model,
    model_serializer,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo
from pydantic_core import ArgsKwargs, PydanticKnownError

from tabrl.errors import TabRLError, did_you_mean

Activation = Literal["swish", "relu", "tanh", "elu"]
Backend = Literal["auto", "mjx", "mujoco"]
StepsPreset = Literal["quick", "standard", "quality"]
STEPS_PRESETS: tuple[str, ...] = ("quick", "standard", "quality")


class ConfigError(TabRLError):
    """A training config value is missing, of the wrong type or out of range."""

    status_code = 422


# --- how text and YAML values reach pydantic's own parsing ----------------------------------------


def _integer(value: Any) -> Any:
    """`true` is not a count; `"1e6"` is (pydantic's int parsing takes `"1_000"` and `2.0`, not exponents)."""
    if isinstance(value, bool):
        raise PydanticKnownError("int_type")
    if isinstance(value, str) and "e" in value.lower():
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            return value
        return int(number) if number.is_integer() else value
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticKnownError("float_type")
    return value


def _none(value: Any) -> Any:
    """`none` / `null` on the command line (YAML already reads `null` as None)."""
    return None if isinstance(value, str) and value.strip().lower() in ("none", "null") else value


def _items(value: Any) -> Any:
    """`64,64` (or `[64, 64]`, `(64,64)`) on the command line is a list; pydantic parses each item."""
    if isinstance(value, str):
        return [v.strip() for v in value.strip("[]() ").split(",") if v.strip()]
    return value


Int = Annotated[int, BeforeValidator(_integer)]
Float = Annotated[float, BeforeValidator(_number)]
Count = Annotated[Int, Field(ge=1)]
Sizes = Annotated[tuple[Count, ...], BeforeValidator(_items), Field(min_length=1)]
OptionalFloat = Annotated[Float | None, BeforeValidator(_none)]
OptionalCount = Annotated[Count | None, BeforeValidator(_none)]
OptionalBool = Annotated[bool | None, BeforeValidator(_none)]
Range = Annotated[tuple[Float, ...] | None, BeforeValidator(lambda v: _items(_none(v)))]


@dataclass(frozen=True, config=ConfigDict(extra="forbid", allow_inf_nan=False))
class TrainConfig:
    """Everything that shapes one PPO run (Brax PPO's arguments, plus TabRL's evaluation and stopping).

    Steps count environment steps, including action repeats, as Brax does. Built, replaced
    (`dataclasses.replace`, `.replace`) or read (`from_dict`, YAML, overrides), it is validated, and
    a bad value raises `ConfigError`.
    """

    #: Total environment steps to train for (the person's main knob).
    num_timesteps: Count = 1_000_000
    #: Parallel environments collecting experience.
    num_envs: Count = 256
    #: Minibatch size, in unrolls of `unroll_length` steps; batch_size * num_minibatches % num_envs == 0.
    batch_size: Count = 256
    #: Steps per unroll: the horizon over which advantages are computed before bootstrapping.
    unroll_length: Count = 10
    #: SGD minibatches per update.
    num_minibatches: Count = 8
    #: Passes over the collected batch per update.
    num_updates_per_batch: Count = 4
    #: Adam learning rate.
    learning_rate: Annotated[Float, Field(gt=0)] = 1e-3
    #: Entropy bonus: larger keeps the policy exploring longer.
    entropy_cost: Annotated[Float, Field(ge=0)] = 1e-2
    #: Discount factor gamma.
    discounting: Annotated[Float, Field(gt=0, le=1)] = 0.97
    #: GAE lambda.
    gae_lambda: Annotated[Float, Field(ge=0, le=1)] = 0.95
    #: PPO ratio clipping.
    clipping_epsilon: Float = 0.3
    #: Rewards are multiplied by this before the loss (value-scale conditioning).
    reward_scaling: Float = 1.0
    #: Global gradient-norm clip (None: no clipping).
    max_grad_norm: OptionalFloat = None
    #: Running mean/std normalisation of observations (saved with the policy).
    normalize_observations: bool = True
    #: Added to the normaliser's variance: bounds how much a near-constant observation is amplified.
    normalize_observations_std_eps: Float = 0.0
    #: Training episode length in environment steps (eval uses `eval_episode_length`).
    episode_length: Count = 1000
    #: Physics control steps per policy action.
    action_repeat: Count = 1
    #: Hidden layer sizes of the policy MLP.
    policy_hidden_layer_sizes: Sizes = (32, 32)
    #: Hidden layer sizes of the value MLP.
    value_hidden_layer_sizes: Sizes = (64, 64)
    #: Hidden-layer activation of both MLPs.
    activation: Activation = "swish"
    #: Observation key the policy reads when the env's observation is a dict (Playground locomotion).
    policy_obs_key: str = "state"
    #: Observation key the value function reads (e.g. "privileged_state").
    value_obs_key: str = "state"
    #: Evaluations during the run; each one also writes a checkpoint and emits a progress event.
    num_evals: Count = 10
    #: Episodes run in parallel per evaluation.
    num_eval_envs: Count = 32
    #: Evaluation episode length (None: the scene's own episode length).
    eval_episode_length: OptionalCount = None
    #: Evaluate the deterministic (tanh-mean) policy: the one that is exported and deployed.
    deterministic_eval: bool = True
    #: Stop at the first evaluation whose mean reward reaches this (None: use all steps). Applies to
    #: the scene's own task reward only; runs with a custom reward module use all their steps.
    stop_at_reward: OptionalFloat = None
    #: Checkpoints kept in the run folder (oldest removed first).
    keep_checkpoints: Count = 3
    #: The final policy is the best-evaluated one (False: the last one). PPO's reward can dip late in a run.
    keep_best: bool = True
    #: Fine-tuning: also restore the base value function (None: only when the reward is unchanged).
    restore_value_fn: OptionalBool = None
    #: Fine-tuning with a fresh value function (a new reward): fit it to the base policy's returns
    #: under the new reward before training (`tabrl.training.value_warmup`). None: on for mjx, off for
    #: mujoco, as measured. mjx, CartpoleBalance: without it a fine-tune fell from 985 to 277 in 0.9 M
    #: steps even under the same reward (with it: ~999), and the cart-held-right fine-tune moved the cart
    #: +0.05..+0.87 m (with it: +0.64..+0.92). mujoco, Go1 joystick base, walk backwards with the command
    #: at "stand still": without it the base kept standing (eval 787 -> 792, 0 / 16 falls at 0.84 M steps);
    #: with it the policy left standing and fell (eval 787 -> 220, 16 / 16 falls at 1.57 M).
    value_warmup: OptionalBool = None
    #: Random seed: same seed, config, scene and device -> same policy.
    seed: Int = 0
    #: Physics backend: "mjx" (Brax PPO on MJX), "mujoco" (MuJoCo C on threads) or "auto" (the rule
    #: in `tabrl.training.backends`: MuJoCo C for contact-rich scenes on a CPU, else MJX).
    backend: Backend = "auto"
    #: Menagerie/MJCF conventions: action 1.0 moves a position target this fraction of half its range.
    action_scale: Annotated[Float, Field(gt=0, le=10)] = 0.5
    #: Domain randomisation (mujoco backend): per-episode friction scale range (lo, hi); None: off.
    friction_range: Range = None
    #: ...per-episode scale range of the robot's body masses; None: off.
    mass_scale_range: Range = None
    #: ...sideways pushes of the floating base at this speed (m/s), every `push_interval_s`; 0: off.
    push_velocity: Annotated[Float, Field(ge=0)] = 0.0
    push_interval_s: Annotated[Float, Field(gt=0)] = 5.0
    #: Velocity commands (mujoco backend; joystick policies): the largest |forward m/s|, |sideways m/s|,
    #: |yaw rad/s| drawn; the observation ends with the command and rewards read it as `s.command`.
    #: None: no commands. A policy trained with commands keeps them when fine-tuned or played.
    command_range: Range = None
    #: Seconds between command draws in an episode.
    command_resample_s: Annotated[Float, Field(gt=0)] = 5.0
    #: Left-right mirror loss (mujoco backend, symmetric legged robots): weight of the mean squared
    #: difference between the policy's mean action for a mirrored observation and its mirrored mean
    #: action (`tabrl.training.symmetry`). 0: off. For training from scratch: continuing the Go1 joystick
    #: base with it (0.2 and 1.0) unlearned walking backwards and sideways within 0.7 M steps.
    symmetry_cost: Annotated[Float, Field(ge=0, le=100)] = 0.0

    @model_validator(mode="wrap")
    @classmethod
    def _validate(cls, data: Any, handler: Any) -> TrainConfig:
        """Field checks (pydantic), then the checks that relate fields; every failure a ConfigError."""
        try:
            config = handler(data)
        except ValidationError as exc:
            given = (data.kwargs or {}) if isinstance(data, ArgsKwargs) else data
            raise ConfigError(_explain(exc, given if isinstance(given, Mapping) else {})) from None
        config._check_together()
        return config

    def _check_together(self) -> None:
        if (self.batch_size * self.num_minibatches) % self.num_envs:
            raise ConfigError(
                f"batch_size * num_minibatches ({self.batch_size} * {self.num_minibatches}) must be a multiple "
                f"of num_envs ({self.num_envs}); e.g. set batch_size={self.num_envs}"
            )
        for name in ("friction_range", "mass_scale_range"):
            value = getattr(self, name)
            if value is not None and not (len(value) == 2 and 0 < value[0] <= value[1]):
                raise ConfigError(
                    f"{name} must be two numbers lo,hi with 0 < lo <= hi, e.g. 0.5,1.2; got {value}"
                )
        if self.command_range is not None and (
            len(self.command_range) != 3 or any(not 0 <= v <= 10 for v in self.command_range)
        ):
            raise ConfigError(
                "command_range must be three limits in [0, 10]: forward m/s, sideways m/s, yaw rad/s, "
                f"e.g. 1.0,0.5,1.0; got {self.command_range}"
            )

    @property
    def randomized(self) -> bool:
        """Whether any domain randomisation is on (the mujoco backend implements it)."""
        return bool(self.friction_range or self.mass_scale_range or self.push_velocity > 0)

    # --- derived sizes --------------------------------------------------------------------

    @property
    def steps_per_update(self) -> int:
        """Environment steps collected for one PPO update."""
        return self.batch_size * self.num_minibatches * self.unroll_length * self.action_repeat

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-safe dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
        """`base` (or the defaults) updated with `data`, validated as a whole (ConfigError otherwise)."""
        known = cls.__pydantic_fields__
        for key in data:
            if key not in known:
                raise ConfigError(f"unknown training setting {key!r}.{did_you_mean(str(key), known)}")
        return dataclasses.replace(base or cls(), **data)

    def with_overrides(self, overrides: Iterable[str] | Mapping[str, Any]) -> TrainConfig:
        """This config with `key=value` strings (or a mapping) applied (see `apply_overrides`)."""
        return apply_overrides(self, overrides)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with `changes` (validated like overrides)."""
        return TrainConfig.from_dict(changes, base=self)


# --- errors a person can act on ---------------------------------------------------------------------

#: What pydantic's error types ask for, in words.
_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "bool_type": "true or false", "bool_parsing": "true or false", "string_type": "text",
    "tuple_type": "a list (or comma-separated values, e.g. 64,64)",
}  # fmt: skip
_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _explain(exc: ValidationError, given: Mapping[str, Any]) -> str:
    """The first error of `exc` as one line: the field, what it must be (its whole allowed range), the value."""
    error = exc.errors(include_url=False)[0]
    loc, kind = error["loc"], error["type"]
    name = str(loc[0]) if loc else ""
    field = TrainConfig.__pydantic_fields__.get(name)
    if field is None:
        if kind in ("unexpected_keyword_argument", "extra_forbidden"):
            return f"unknown training setting {name!r}.{did_you_mean(name, TrainConfig.__pydantic_fields__)}"
        return str(error["msg"]).removeprefix("Value error, ")
    value = given.get(name, error["input"])
    if kind in _BOUNDS:
        must = _range(field.annotation, field.metadata)
        if len(loc) > 1:
            must = f"a list of values {must}"
    elif len(loc) > 1 and kind in _EXPECTED:  # an item of a list
        number = "integers, e.g. 64,64" if "int" in kind else "numbers, e.g. 0.5,1.2"
        must = f"comma-separated {number}"
    elif kind == "too_short":
        must = "at least one value"
    elif kind == "literal_error":
        must = f"one of {error.get('ctx', {}).get('expected', '')}"
    else:
        must = _EXPECTED.get(kind) or str(error["msg"]).removeprefix("Value error, ")
    if field.default is None:
        must += " or none"
    return f"{name} must be {must}, got {value!r}"


def _range(annotation: Any, metadata: list[Any]) -> str:
    """`in (0, 1]`, `>= 1`...: the bounds declared on a field (or on the items of its list)."""
    found: dict[str, Any] = {}
    stack = [annotation, *metadata]
    while stack:
        item = stack.pop()
        if isinstance(item, annotated_types.BaseMetadata):
            found.update({k: getattr(item, k) for k in ("gt", "ge", "lt", "le") if hasattr(item, k)})
        elif hasattr(item, "metadata") and isinstance(item.metadata, list):  # a FieldInfo
            stack.extend(item.metadata)
        else:  # Annotated[...] (its type and metadata), a union or a tuple (their members)
            stack.extend(typing.get_args(item))
    gt, ge, lt, le = (found.get(k) for k in ("gt", "ge", "lt", "le"))
    low, high = (gt if gt is not None else ge), (lt if lt is not None else le)
    if low is not None and high is not None:
        return f"in {'(' if gt is not None else '['}{low:g}, {high:g}{')' if lt is not None else ']'}"
    if low is not None:
        return f"{'>' if gt is not None else '>='} {low:g}"
    return f"{'<' if lt is not None else '<='} {high:g}"


# --- some settings: a request's overrides ------------------------------------------------------------


class _Overrides(BaseModel):
    """Some TrainConfig settings (a request's overrides), each validated as its field is; the settings
    not given stay unset (and out of `model_dump`). Whether they make a valid config together is
    known once they are applied to a preset (`validate_overrides`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _validate(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ConfigError(_explain(exc, data if isinstance(data, Mapping) else {})) from None

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}

    def __repr_args__(self) -> Any:
        return [(k, v) for k, v in super().__repr_args__() if k in self.model_fields_set]


TrainOverrides = create_model(
    "TrainOverrides",
    __base__=_Overrides,
    __module__=__name__,
    **{  # type: ignore[call-overload]
        name: (field.annotation, FieldInfo.merge_field_infos(field, default=None))
        for name, field in TrainConfig.__pydantic_fields__.items()
    },
)


def parse_override(text: str) -> tuple[str, str]:
    """`"key=value"` -> ("key", "value") with a helpful error for other shapes."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} must look like key=value, e.g. learning_rate=3e-4")
    return key.strip(), value.strip()


def apply_overrides(config: TrainConfig, overrides: Iterable[str] | Mapping[str, Any]) -> TrainConfig:
    """`config` with overrides applied: `key=value` strings (the text is parsed by the field's
    validation, as YAML and API values are) or a mapping of settings."""
    changes = _changes(overrides)
    return TrainConfig.from_dict(changes, base=config) if changes else config


def _changes(overrides: Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(overrides, Mapping):
        return dict(overrides)
    return dict(parse_override(o) for o in overrides)


def load_yaml(path: Path, base: TrainConfig) -> TrainConfig:
    """`base` updated with the settings in a YAML file (a mapping of TrainConfig fields)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of training settings (key: value)")
    try:
        return TrainConfig.from_dict(data, base=base)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def save_yaml(config: TrainConfig, path: Path) -> None:
    """Write the resolved config (every field) as YAML."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")


#: The preset files shipped in `configs/` (`tabrl presets --out configs`): file -> (scene, device,
#: backend) of `preset_for`. A test keeps the committed files equal to the presets.
PRESET_FILES: dict[str, tuple[str, str, str]] = {
    "cartpole_balance_cpu.yaml": ("CartpoleBalance", "cpu", "mjx"),
    "go1_joystick_cpu.yaml": ("Go1JoystickFlatTerrain", "cpu", "mujoco"),
    "go1_joystick_gpu.yaml": ("Go1JoystickFlatTerrain", "gpu", "mjx"),
}


def preset_yaml(scene_id: str, device: str, physics: str) -> str:
    """The text of a preset file: a header saying where it comes from, then every field of `preset_for`."""
    header = (
        f"# TabRL training preset (tabrl train --config FILE): preset_for({scene_id!r}, {device!r}, {physics!r}),\n"
        "# every TrainConfig field. Generated by `tabrl presets --out configs` (a test keeps it equal to the\n"
        "# preset); a copy is yours to edit: unknown keys are rejected with a suggestion.\n"
    )
    return header + yaml.safe_dump(preset_for(scene_id, device, physics).to_dict(), sort_keys=False)


# --- presets ------------------------------------------------------------------------------------

#: CartpoleBalance on CPU, tuned by experiment (bench/README.md has the record). From Playground's
#: published learning settings (epochs, unroll, reward scale, entropy, learning rate) at 256 envs:
#: - small networks: Playground's 5x256 value MLP costs ~10x the env-steps/s on two cores;
#: - 500-step training episodes with discount 0.99: twice the episode starts, where a balancing
#:   policy is learned, and values that fit a 100-step horizon; evaluation still runs the full
#:   1000 steps. Median steps to eval 900 over 5 seeds: 2.46 M -> 0.92 M;
#: - minibatches of 64 x 30 steps, 16 per update: 4x the policy updates per env step at the same
#:   SGD cost per sample (~115 k env-steps/s).
_CARTPOLE_CPU = TrainConfig(
    num_timesteps=4_000_000,
    num_envs=256,
    batch_size=64,
    unroll_length=30,
    num_minibatches=16,
    num_updates_per_batch=16,
    learning_rate=1e-3,
    entropy_cost=1e-2,
    discounting=0.99,
    reward_scaling=10.0,
    episode_length=500,
    policy_hidden_layer_sizes=(32, 32),
    value_hidden_layer_sizes=(64, 64),
    # An evaluation every 3 updates (~0.8 s of training, 92 k steps; each costs ~0.1 s): the learning
    # curve is noisy, so a run stopping at a target reward stops soon after it first reaches it.
    num_evals=50,
    num_eval_envs=32,
)


#: The other classic-control tasks (swing-ups, point mass) on CPU: `_CARTPOLE_CPU`'s learning settings,
#: a 1 s horizon, and each action held for two control steps (Playground's published PendulumSwingUp
#: setting; its swing-ups learn to pump energy from held actions). Measured at 5 M steps with the task
#: rewards (bench/README.md): PendulumSwingup upright 10 % -> 66 % of a rollout, CartpoleSwingup
#: 23 % -> 100 %, where Playground's settings shrunk to two cores (`_cpu_from_playground`) had not.
_CLASSIC_CPU: dict[str, Any] = {
    "batch_size": 64,
    "unroll_length": 30,
    "num_minibatches": 16,
    "num_updates_per_batch": 16,
    "discounting": 0.99,
    "action_repeat": 2,
}


def _playground_rl_config(scene_id: str) -> Any | None:
    """Playground's published Brax PPO config for a task (None when it has none)."""
    try:
        from mujoco_playground import registry
        from mujoco_playground.config import dm_control_suite_params, locomotion_params, manipulation_params
    except ImportError:  # pragma: no cover - playground is a dependency
        return None
    if scene_id in registry.dm_control_suite.ALL_ENVS:
        return dm_control_suite_params.brax_ppo_config(scene_id)
    if scene_id in registry.locomotion.ALL_ENVS:
        return locomotion_params.brax_ppo_config(scene_id)
    if scene_id in registry.manipulation.ALL_ENVS:
        return manipulation_params.brax_ppo_config(scene_id)
    return None


def _from_playground(rl: Any) -> TrainConfig:
    """TrainConfig of Playground's published (GPU-sized) Brax PPO settings."""
    net = dict(rl.get("network_factory", {}))
    return TrainConfig(
        num_timesteps=int(rl.num_timesteps),
        num_envs=int(rl.num_envs),
        batch_size=int(rl.batch_size),
        unroll_length=int(rl.unroll_length),
        num_minibatches=int(rl.num_minibatches),
        num_updates_per_batch=int(rl.num_updates_per_batch),
        learning_rate=float(rl.learning_rate),
        entropy_cost=float(rl.entropy_cost),
        discounting=float(rl.discounting),
        clipping_epsilon=float(rl.get("clipping_epsilon", 0.3)),
        reward_scaling=float(rl.reward_scaling),
        max_grad_norm=rl.get("max_grad_norm"),
        normalize_observations=bool(rl.normalize_observations),
        episode_length=int(rl.episode_length),
        action_repeat=int(rl.action_repeat),
        policy_hidden_layer_sizes=tuple(net.get("policy_hidden_layer_sizes", (32, 32, 32, 32))),
        value_hidden_layer_sizes=tuple(net.get("value_hidden_layer_sizes", (256, 256, 256, 256, 256))),
        policy_obs_key=str(net.get("policy_obs_key", "state")),
        value_obs_key=str(net.get("value_obs_key", "state")),
        num_evals=int(rl.num_evals),
        num_eval_envs=128,
    )


def _cpu_from_playground(rl: Any, category: str) -> TrainConfig:
    """Playground's settings shrunk to what two CPU cores can step: fewer envs, smaller networks."""
    gpu = _from_playground(rl)
    heavy = category in ("locomotion", "manipulation")
    num_envs = 128 if heavy else 256
    return dataclasses.replace(
        gpu,
        num_envs=num_envs,
        batch_size=num_envs,
        num_minibatches=8,
        unroll_length=min(gpu.unroll_length, 20),
        num_updates_per_batch=4,
        policy_hidden_layer_sizes=(128, 128) if heavy else (32, 32),
        value_hidden_layer_sizes=(256, 256) if heavy else (64, 64),
        num_evals=10,
        num_eval_envs=16 if heavy else 32,
        reward_scaling=gpu.reward_scaling if heavy else 10.0,
        discounting=min(gpu.discounting, 0.97) if not heavy else gpu.discounting,
    )


#: CPU steps for quick / standard / quality, by scene kind (GPU: fractions of Playground's published steps).
_CPU_STEPS: dict[str, tuple[int, int, int]] = {
    "CartpoleBalance": (1_500_000, 4_000_000, 8_000_000),
    "classic_control": (1_000_000, 5_000_000, 20_000_000),
    "locomotion": (500_000, 5_000_000, 20_000_000),
    "manipulation": (500_000, 5_000_000, 20_000_000),
    "other": (1_000_000, 5_000_000, 20_000_000),
}
_GPU_FRACTIONS = (0.1, 0.5, 1.0)


def _scene_category(scene_id: str) -> str:
    try:
        from tabrl.scenes import get_spec

        return get_spec(scene_id).category
    except TabRLError:
        return "other"


def _generic_cpu(category: str) -> TrainConfig:
    heavy = category in ("locomotion", "manipulation")
    return TrainConfig(
        num_timesteps=_CPU_STEPS[category][1],
        num_envs=128 if heavy else 256,
        batch_size=128 if heavy else 256,
        unroll_length=20 if heavy else 10,
        learning_rate=3e-4 if heavy else 1e-3,
        max_grad_norm=1.0 if heavy else None,
        policy_hidden_layer_sizes=(128, 128) if heavy else (32, 32),
        value_hidden_layer_sizes=(256, 256) if heavy else (64, 64),
        num_eval_envs=16 if heavy else 32,
    )


#: MuJoCo C backend on a CPU (contact-rich robots), after mjbatch's Go1 PPO example: 1024
#: simulations x 24-step unrolls per update (24,576 steps), 4 minibatches of 256 unrolls, 5 epochs,
#: ELU 128x128 networks. Physics dominates (~10 k control steps/s on two cores for Go1), so the
#: network and the update are sized to cost a small fraction of it.
_MUJOCO_CPU = TrainConfig(
    num_timesteps=10_000_000,
    num_envs=1024,
    batch_size=256,
    unroll_length=24,
    num_minibatches=4,
    num_updates_per_batch=5,
    learning_rate=1e-3,
    entropy_cost=5e-3,
    discounting=0.99,
    gae_lambda=0.95,
    clipping_epsilon=0.2,
    reward_scaling=1.0,
    max_grad_norm=1.0,
    episode_length=1000,
    policy_hidden_layer_sizes=(128, 128),
    value_hidden_layer_sizes=(128, 128),
    activation="elu",
    num_evals=20,
    num_eval_envs=16,
    eval_episode_length=500,
    # Go1's position targets move 0.3 of half their range per unit action (hip +-0.26, thigh +-0.78,
    # calf +-0.29 rad): the default 0.5 lets random actions fling the thighs (+-1.3 rad) and fall.
    action_scale=0.3,
    backend="mujoco",
)

#: MuJoCo C backend for small scenes that do not touch the floor (CartpoleBalance...): the MJX CPU
#: preset's learning settings (`_CARTPOLE_CPU`), run on C.
_MUJOCO_SMALL_CPU = dataclasses.replace(_CARTPOLE_CPU, num_evals=30, backend="mujoco")

#: mujoco-backend steps for quick / standard / quality (CPU; a GPU runs MJX).
_MUJOCO_STEPS: tuple[int, int, int] = (5_000_000, 10_000_000, 25_000_000)


def preset_for(scene_id: str, device: str | None = None, physics: str = "mjx") -> TrainConfig:
    """The default config for `scene_id` on `device` ('cpu', 'gpu', 'tpu'; None: the one JAX uses)
    with the `physics` backend ('mjx' or 'mujoco').

    mjx on a GPU/TPU: Playground's published Brax PPO settings for the task (when it has them). mjx on
    a CPU: the same task settings shrunk to what two cores can step, or TabRL's tuned preset where one
    exists. mujoco: the MuJoCo C presets (`_MUJOCO_CPU` for contact-rich scenes, else `_MUJOCO_SMALL_CPU`).
    """
    device = device or _backend()
    if physics == "mujoco":
        base = _MUJOCO_CPU if _contact_rich(scene_id) else _MUJOCO_SMALL_CPU
        return dataclasses.replace(base, num_timesteps=steps_for(scene_id, "standard", device, physics))
    category = _scene_category(scene_id)
    rl = _playground_rl_config(scene_id)
    if device != "cpu":
        base = _from_playground(rl) if rl is not None else _generic_cpu(category)
        base = (
            base
            if rl is not None
            else dataclasses.replace(base, num_envs=2048, batch_size=1024, num_minibatches=32)
        )
        return dataclasses.replace(base, backend="mjx")
    if scene_id == "CartpoleBalance":
        return dataclasses.replace(_CARTPOLE_CPU, backend="mjx")
    cfg = _cpu_from_playground(rl, category) if rl is not None else _generic_cpu(category)
    if category == "classic_control":
        cfg = dataclasses.replace(cfg, **_CLASSIC_CPU)
    return dataclasses.replace(cfg, num_timesteps=steps_for(scene_id, "standard", "cpu"), backend="mjx")


def steps_for(scene_id: str, preset: str, device: str | None = None, physics: str = "mjx") -> int:
    """Environment steps of a steps preset (quick / standard / quality) for a scene, device and backend."""
    if preset not in STEPS_PRESETS:
        raise ConfigError(f"steps preset must be one of {', '.join(STEPS_PRESETS)}, got {preset!r}")
    index = STEPS_PRESETS.index(preset)
    device = device or _backend()
    if physics == "mujoco":
        return _MUJOCO_STEPS[index] if _contact_rich(scene_id) else _CPU_STEPS["CartpoleBalance"][index]
    if device != "cpu":
        rl = _playground_rl_config(scene_id)
        if rl is not None:
            return int(int(rl.num_timesteps) * _GPU_FRACTIONS[index])
    key = scene_id if scene_id in _CPU_STEPS else _scene_category(scene_id)
    steps = _CPU_STEPS.get(key, _CPU_STEPS["other"])
    return steps[index] * (1 if device == "cpu" else 10)


#: Fine-tuning a contact-rich robot's base policy on the mujoco backend within "a few minutes":
#: bench/finetune_go1.py measures what this many steps teach the Go1 joystick policy, and how long.
FINE_TUNE_STEPS_MUJOCO = 2_000_000


def level_steps(
    scene_id: str, level: str, budget: str, device: str | None = None, physics: str = "mjx"
) -> int:
    """Steps an approach of `level` (command / fine_tune / from_scratch) trains for within `budget`
    (instant / minutes / unlimited; `tabrl.authoring.levels`): 0 for a command program; a fine-tune
    within minutes uses the measured fine-tuning budget (`FINE_TUNE_STEPS_MUJOCO`) or the quick
    preset; otherwise quick within minutes and standard with no limit."""
    if level == "command":
        return 0
    if budget in ("instant", "minutes"):
        quick = steps_for(scene_id, "quick", device, physics)
        if level == "fine_tune" and physics == "mujoco" and _contact_rich(scene_id):
            return min(quick, FINE_TUNE_STEPS_MUJOCO)
        return quick
    return steps_for(scene_id, "standard", device, physics)


def _contact_rich(scene_id: str) -> bool:
    from tabrl.training.backends import scene_support

    try:
        return scene_support(scene_id).contact_rich
    except TabRLError:
        return _scene_category(scene_id) == "locomotion"


def backend_for(
    scene_id: str, device: str | None = None, reward_source: str | None = None, requested: str = "auto"
) -> str:
    """The physics backend a run of `scene_id` uses (`tabrl.training.backends.choose_backend`)."""
    from tabrl.scenes import get_spec
    from tabrl.training.backends import choose_backend

    playground = get_spec(scene_id).source == "playground"
    return choose_backend(scene_id, device or _backend(), reward_source, requested, playground=playground)


def resolve_backend(
    config: TrainConfig, scene_id: str, device: str, reward_source: str | None
) -> TrainConfig:
    """`config` with a concrete backend ("auto" resolved; a named one checked against the scene)."""
    return config.replace(backend=backend_for(scene_id, device, reward_source, config.backend))


def _backend() -> str:
    from tabrl.runtime import device_kind

    return device_kind()


#: What fine-tuning changes in a scene's preset. A base policy under a new reward needs small steps:
#: at the from-scratch learning rate (1e-3) a CartpoleBalance policy collapsed after its first update;
#: at 1e-4, with the value warm-up (`value_warmup`), it kept balancing and learned the new behaviour
#: (tests/training, cart held right: +0.44..+0.92 m on three bases).
FINE_TUNE_SETTINGS: dict[str, Any] = {"learning_rate": 1e-4, "entropy_cost": 1e-3}


def fine_tune_preset(config: TrainConfig) -> TrainConfig:
    """`config` with the fine-tuning settings (`FINE_TUNE_SETTINGS`)."""
    return config.replace(**FINE_TUNE_SETTINGS)


#: Settings that shape what a policy observes and how its actions act: a fine-tune keeps its base's.
POLICY_CONVENTIONS = ("action_scale", "action_repeat", "command_range", "command_resample_s")


def base_config(base_dir: Path) -> tuple[str, dict[str, Any]]:
    """(backend, config) a policy folder was trained with (read from its manifest.json)."""
    import json

    path = Path(base_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; is {base_dir} a TabRL policy folder?") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc})") from None
    config = manifest.get("config") or {}
    return str(manifest.get("backend") or config.get("backend") or "mjx"), config


def with_base_conventions(config: TrainConfig, base: Mapping[str, Any]) -> TrainConfig:
    """`config` with the base policy's `POLICY_CONVENTIONS` (what its network was trained to see)."""
    known = {k: base[k] for k in POLICY_CONVENTIONS if k in base}
    return config.replace(**known) if known else config


def resolve_config(
    scene_id: str,
    *,
    yaml_path: Path | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    steps: int | str | None = None,
    device: str | None = None,
    fine_tune: bool = False,
    reward_source: str | None = None,
    base_dir: Path | None = None,
) -> TrainConfig:
    """Preset (fine-tuning settings when `fine_tune` or `base_dir`) -> YAML -> overrides -> steps (an
    int, or quick / standard / quality). The backend is resolved first ("backend" from the YAML or the
    overrides, else the base policy's, else the rule), since the preset depends on it; the result names
    a concrete backend. A fine-tune from `base_dir` keeps the base's `POLICY_CONVENTIONS`."""
    device = device or _backend()
    overrides = _changes(overrides)
    requested = TrainConfig().backend
    if yaml_path is not None:
        requested = load_yaml(yaml_path, TrainConfig()).backend
    requested = apply_overrides(TrainConfig(backend=requested), overrides).backend
    base = base_config(base_dir) if base_dir is not None else None
    if base is not None and requested == "auto":
        requested = base[0]  # a fine-tune runs where its base was trained (the observations match)
    physics = backend_for(scene_id, device, reward_source, requested)
    config = preset_for(scene_id, device, physics)
    if fine_tune or base is not None:
        config = fine_tune_preset(config)
    if yaml_path is not None:
        config = load_yaml(yaml_path, config)
    config = apply_overrides(config, overrides).replace(backend=physics)
    if base is not None:
        config = with_base_conventions(config, base[1])
    if steps is not None:
        if isinstance(steps, str) and steps in STEPS_PRESETS:
            steps = steps_for(scene_id, steps, device, physics)
        config = config.replace(num_timesteps=steps)
    return config


__all__ = [
    "FINE_TUNE_SETTINGS",
    "POLICY_CONVENTIONS",
    "PRESET_FILES",
    "STEPS_PRESETS",
    "ConfigError",
    "TrainConfig",
    "TrainOverrides",
    "apply_overrides",
    "backend_for",
    "base_config",
    "fine_tune_preset",
    "level_steps",
    "load_yaml",
    "parse_override",
    "preset_for",
    "preset_yaml",
    "resolve_backend",
    "resolve_config",
    "save_yaml",
    "steps_for",
    "with_base_conventions",
]


# --- requests from the API -------------------------------------------------------------------

#: Upper bounds on settings an API request may ask for: one request must not make a worker
#: allocate more than a machine holds (`num_envs=1e9`). The CLI's own configs are not limited.
REQUEST_LIMITS: dict[str, int] = {
    "num_envs": 16_384,
    "num_eval_envs": 16_384,
    "batch_size": 65_536,
    "num_minibatches": 1_024,
    "unroll_length": 1_000,
    "num_updates_per_batch": 64,
    "episode_length": 100_000,
    "eval_episode_length": 100_000,
    "action_repeat": 64,
    "num_evals": 10_000,
    "keep_checkpoints": 100,
    "hidden_layer_width": 4_096,
    "hidden_layers": 8,
}


def validate_overrides(
    scene_id: str,
    overrides: Mapping[str, object],
    *,
    fine_tune: bool = False,
    reward_source: str | None = None,
    base_dir: Path | None = None,
) -> TrainConfig:
    """The config a worker would build from `overrides` (a mapping of settings, as it applies them;
    the backend resolved as it resolves it), checked against `REQUEST_LIMITS`; ConfigError (or the
    backend's error) with the worker's message otherwise."""
    config = resolve_config(
        scene_id,
        overrides=overrides,
        fine_tune=fine_tune,
        reward_source=reward_source,
        base_dir=base_dir,
    )
    for name, limit in REQUEST_LIMITS.items():
        value = getattr(config, name, None)
        if isinstance(value, int) and value > limit:
            raise ConfigError(f"{name}={value} is over the limit of {limit:,} for a training request")
    for name in ("policy_hidden_layer_sizes", "value_hidden_layer_sizes"):
        sizes = getattr(config, name)
        if len(sizes) > REQUEST_LIMITS["hidden_layers"] or max(sizes) > REQUEST_LIMITS["hidden_layer_width"]:
            raise ConfigError(
                f"{name}={list(sizes)}: at most {REQUEST_LIMITS['hidden_layers']} layers of at most "
                f"{REQUEST_LIMITS['hidden_layer_width']:,} units for a training request"
            )
    return config
