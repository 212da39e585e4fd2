"""Run one PPO training: scene + reward -> policy folder, with progress events, checkpoints and cancel.

    result = run_training(TrainRequest("CartpoleBalance", Path("runs/cp")), on_event=print, cancel=CancelToken())

PPO is Brax's (`brax.training.agents.ppo.train`) on Playground's training wrapper; TabRL adds
around it, through Brax's `policy_params_fn` hook (called on the host after every training
epoch): evaluation on full-length episodes, a checkpoint per evaluation, progress events,
early stop at a target reward, and cooperative cancel. The function is synchronous and does
all its I/O on the calling thread, so the server can call it in a worker process.

Run folder (`request.out_dir`):
    config.yaml          resolved TrainConfig
    events.jsonl         every ProgressEvent, one JSON object per line
    checkpoints/step_N/  policy folders (same layout as the final one), the last `keep_checkpoints`
    policy/              the final policy (also written on cancel: the last checkpoint's params)
    tensorboard/         when requested
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tabrl.errors import TabRLError
from tabrl.training.config import TrainConfig, load_yaml, preset_for, save_yaml
from tabrl.training.estimates import estimate, format_duration
from tabrl.training.events import CancelToken, ProgressEvent

CONFIG_FILE = "config.yaml"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS = "checkpoints"
POLICY = "policy"

EventCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class TrainRequest:
    """What to train. Everything else comes from the config (None: the scene's preset)."""

    scene_id: str
    out_dir: Path
    config: TrainConfig | None = None
    #: Reward module source (None: the scene's own task reward).
    reward_source: str | None = None
    #: Short name for the reward (shown in manifests and the UI).
    reward_name: str | None = None
    #: Policy folder to fine-tune from (params and observation normaliser).
    base_policy: Path | None = None
    #: Continue the run in `out_dir` from its latest checkpoint.
    resume: bool = False
    #: Write TensorBoard event files to `out_dir/tensorboard`.
    tensorboard: bool = False
    run_id: str | None = None


@dataclass(frozen=True)
class TrainResult:
    """How a run ended and where its policy is."""

    status: Literal["finished", "cancelled"]
    run_id: str
    policy_dir: Path
    eval_reward: float | None
    steps: int
    wall_s: float
    #: Evaluation history (the manifest's `metrics`).
    metrics: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "status": self.status,
            "run_id": self.run_id,
            "policy_dir": str(self.policy_dir),
            "eval_reward": self.eval_reward,
            "steps": self.steps,
            "wall_s": round(self.wall_s, 2),
            "stopped_early": self.stopped_early,
        }


class _Stop(Exception):
    """Raised from Brax's callback to end training early (target reached or cancelled)."""

    def __init__(self, reason: Literal["target", "cancel"]) -> None:
        super().__init__(reason)
        self.reason = reason


# --- JAX / XLA setup ----------------------------------------------------------------------------


def configure_xla_for_cpu() -> None:
    """Cheaper XLA:CPU compiles, set before JAX starts its backend (no effect afterwards).

    `--xla_llvm_disable_expensive_passes`: measured under load, it took an MJX step compile from
    9.4 s to 5.0 s; on a quiet machine it makes no measurable difference, to compiles or to
    throughput (bench/README.md). Skipped when a CUDA plugin is present, where GPU kernels may
    want the full LLVM pipeline.
    """
    import importlib.util

    if importlib.util.find_spec("jax_cuda12_plugin") or importlib.util.find_spec("jax_cuda13_plugin"):
        return
    flag = "--xla_llvm_disable_expensive_passes=true"
    current = os.environ.get("XLA_FLAGS", "")
    if "xla_llvm_disable_expensive_passes" in current:
        return
    try:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return
    except (ImportError, AttributeError):  # pragma: no cover - private API moved
        pass
    os.environ["XLA_FLAGS"] = f"{current} {flag}".strip()


# --- helpers ------------------------------------------------------------------------------------


def _activation(name: str) -> Any:
    import jax
    from flax import linen

    return {"swish": linen.swish, "relu": linen.relu, "tanh": linen.tanh, "elu": jax.nn.elu}[name]


def network_factory(config: TrainConfig) -> Callable[..., Any]:
    """Brax's `make_ppo_networks` with the config's sizes and activation, initialised under `jit`.

    Brax initialises the networks eagerly: every layer's ops compile one by one (~2 s of tiny
    XLA compiles on CPU, on every run: they are too small for the persistent cache). One jitted
    init per network gives the same parameters for a fraction of that.
    """
    from brax.training.agents.ppo import networks as ppo_networks

    make = functools.partial(
        ppo_networks.make_ppo_networks,
        policy_hidden_layer_sizes=tuple(config.policy_hidden_layer_sizes),
        value_hidden_layer_sizes=tuple(config.value_hidden_layer_sizes),
        activation=_activation(config.activation),
        policy_obs_key=config.policy_obs_key,
        value_obs_key=config.value_obs_key,
    )

    @functools.wraps(make)
    def factory(*args: Any, **kwargs: Any) -> Any:
        import jax

        nets = make(*args, **kwargs)
        return nets.replace(
            policy_network=dataclasses.replace(nets.policy_network, init=jax.jit(nets.policy_network.init)),
            value_network=dataclasses.replace(nets.value_network, init=jax.jit(nets.value_network.init)),
        )

    return factory


def _obs_sizes(size: Any) -> dict[str, int]:
    if isinstance(size, dict):
        return {k: int(v[0]) if isinstance(v, tuple | list) else int(v) for k, v in size.items()}
    return {"state": int(size[0]) if isinstance(size, tuple | list) else int(size)}


class _NoEvalEnv:
    """Stand-in for Brax's internal evaluator, which TabRL does not use (`run_evals=False`).

    Brax builds its evaluator even when it never runs it, and eagerly compiles that evaluator's
    reset -- a full MJX compile (5-10 s on CPU) for nothing. This env's reset is a few zeros.
    """

    def __init__(self, observation_size: Any, action_size: int) -> None:
        self.observation_size = observation_size
        self.action_size = action_size

    def reset(self, rng: Any) -> Any:
        import jax
        import jax.numpy as jnp
        from mujoco_playground._src import mjx_env

        batch = rng.shape[:-1]
        size = self.observation_size
        obs = (
            {k: jnp.zeros((*batch, *v)) for k, v in size.items()}
            if isinstance(size, dict)
            else jnp.zeros((*batch, size if isinstance(size, int) else size[0]))
        )
        zero = jnp.zeros(batch)
        info = {"steps": zero, "truncation": zero}
        return mjx_env.State(
            data=jax.numpy.zeros(batch), obs=obs, reward=zero, done=zero, metrics={}, info=info
        )

    def step(self, state: Any, action: Any) -> Any:  # pragma: no cover - never run
        return state


def _no_eval_wrap(env: Any, episode_length: int, action_repeat: int, randomization_fn: Any = None) -> Any:
    from mujoco_playground import wrapper

    if isinstance(env, _NoEvalEnv):
        return env
    return wrapper.wrap_for_brax_training(
        env, episode_length=episode_length, action_repeat=action_repeat, randomization_fn=randomization_fn
    )


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest checkpoint folder of a run (None when there is none)."""
    folder = Path(out_dir) / CHECKPOINTS
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := re.fullmatch(r"step_(\d+)", p.name))]
    found = [(s, p) for s, p in found if (p / "manifest.json").is_file()]
    return max(found)[1] if found else None


def _prune_checkpoints(out_dir: Path, keep: int) -> None:
    folder = out_dir / CHECKPOINTS
    found = sorted(
        (int(m.group(1)), p) for p in folder.iterdir() if (m := re.fullmatch(r"step_(\d+)", p.name))
    )
    for _, path in found[:-keep]:
        shutil.rmtree(path, ignore_errors=True)


class _TensorBoard:
    """Optional TensorBoard writer (tensorboardX ships with Brax)."""

    def __init__(self, log_dir: Path | None) -> None:
        self._writer = None
        if log_dir is not None:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:  # pragma: no cover - brax depends on it
                raise TabRLError(
                    "TensorBoard logging needs tensorboardX (pip install tensorboardX)"
                ) from None
            self._writer = SummaryWriter(str(log_dir))

    def log(self, event: ProgressEvent) -> None:
        if self._writer is None or event.kind != "eval":
            return
        w, step = self._writer, event.step
        for name, value in (
            ("eval/reward_mean", event.eval_reward_mean),
            ("eval/reward_std", event.eval_reward_std),
            ("eval/episode_length", event.episode_length),
            ("training/env_steps_per_s", event.env_steps_per_s),
        ):
            if value is not None:
                w.add_scalar(name, value, step)
        for term, value in event.reward_terms.items():
            w.add_scalar(f"eval/reward/{term}", value, step)
        w.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


# --- the run --------------------------------------------------------------------------------------


@dataclass
class _RunState:
    """Mutable bookkeeping of one run (host side only)."""

    run_id: str
    scene_id: str
    total_steps: int
    step_offset: int
    start: float
    history: list[dict[str, Any]]
    last_callback: float
    last_step: int = 0
    eval_s: float = 0.0
    train_s: float = 0.0
    sps: float | None = None
    last_params: Any = None
    last_eval: float | None = None
    #: (eval reward, step, params) of the best evaluation so far.
    best: tuple[float, int, Any] | None = None
    last_checkpoint: Path | None = None
    stopped: str | None = None


def run_training(
    request: TrainRequest,
    on_event: EventCallback | None = None,
    cancel: CancelToken | None = None,
) -> TrainResult:
    """Train a policy for `request`; report progress to `on_event`; stop early when `cancel` is set.

    Returns when training ends (finished, target reward reached, or cancelled -- the latter two
    keep the last checkpoint's policy). Errors a person can act on raise `TabRLError`.
    """
    configure_xla_for_cpu()
    from tabrl.runtime import configure_jax, device_kind

    configure_jax()
    from tabrl.policies.store import new_policy_id, read_manifest, read_params
    from tabrl.training.envs import SharedTraceEnv, make_training_env

    cancel = cancel or CancelToken()
    emit_user = on_event or (lambda _event: None)
    out_dir = Path(request.out_dir)
    backend = device_kind()
    start = time.perf_counter()

    # --- config, resume and base policy ---
    resume_from = latest_checkpoint(out_dir) if request.resume else None
    if request.resume and resume_from is None:
        raise TabRLError(f"nothing to resume in {out_dir}: it has no checkpoints; start a new run instead")
    config = request.config
    if config is None:
        config = (
            load_yaml(out_dir / CONFIG_FILE, TrainConfig())
            if request.resume and (out_dir / CONFIG_FILE).is_file()
            else preset_for(request.scene_id, backend)
        )
    restore_params = None
    base_info: dict[str, str] | None = None
    history: list[dict[str, Any]] = []
    step_offset = 0
    reward_source = request.reward_source
    if resume_from is not None:
        manifest = read_manifest(resume_from)
        if manifest.scene_id != request.scene_id:
            raise TabRLError(f"{out_dir} holds a run of {manifest.scene_id}, not {request.scene_id}")
        restore_params = read_params(resume_from / "params.msgpack")
        history = list(manifest.metrics)
        step_offset = manifest.steps
        if reward_source is None:
            reward_source = manifest.reward.source
        base_info = manifest.base_policy
        restore_value = True
    elif request.base_policy is not None:
        base_dir = Path(request.base_policy)
        manifest = read_manifest(base_dir)
        restore_params = read_params(base_dir / "params.msgpack")
        # The saved parameters fix the network shapes; the rest of the config is the person's.
        config = dataclasses.replace(
            config,
            policy_hidden_layer_sizes=manifest.network.policy_hidden_layer_sizes,
            value_hidden_layer_sizes=manifest.network.value_hidden_layer_sizes,
            activation=manifest.network.activation,  # type: ignore[arg-type]
            normalize_observations=manifest.network.normalize_observations,
            policy_obs_key=manifest.network.policy_obs_key,
            value_obs_key=manifest.network.value_obs_key,
        )
        base_info = {"id": manifest.id, "dir": str(base_dir.resolve()), "scene_id": manifest.scene_id}
        from tabrl.policies.store import RewardInfo

        same_reward = manifest.reward.sha256 == RewardInfo.from_source(reward_source).sha256
        restore_value = config.restore_value_fn if config.restore_value_fn is not None else same_reward
    else:
        restore_value = True
        manifest = None

    remaining = config.num_timesteps - step_offset
    if remaining <= 0:
        raise TabRLError(
            f"the run in {out_dir} already did {step_offset:,} of {config.num_timesteps:,} steps; "
            "raise num_timesteps (--steps) to train longer"
        )

    # Brax runs whole PPO updates and splits them evenly between evaluations; plan the real total
    # so progress and ETA are honest (it can exceed the request by less than one eval interval).
    n_iter, planned = plan_iterations(remaining, config)
    total_steps = step_offset + planned

    run_id = request.run_id or (
        read_manifest(resume_from).id if resume_from else new_policy_id(request.scene_id)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    save_yaml(config, out_dir / CONFIG_FILE)
    events_path = out_dir / EVENTS_FILE
    tb = _TensorBoard(out_dir / "tensorboard" if request.tensorboard else None)

    def emit(event: ProgressEvent) -> None:
        with events_path.open("a", encoding="utf-8") as fh:
            fh.write(event.to_json() + "\n")
        tb.log(event)
        emit_user(event)

    # --- environment ---
    tenv = make_training_env(request.scene_id, reward_source, request.reward_name)
    # The observation size below and the evaluator share one trace of reset (SharedTraceEnv).
    env = SharedTraceEnv(tenv.env)
    observation_size = env.observation_size
    obs_sizes = _obs_sizes(observation_size)
    if manifest is not None:
        _check_compatible(manifest, obs_sizes, env.action_size, request.scene_id)
    eval_length = config.eval_episode_length or tenv.episode_length
    n_substeps = round(float(getattr(env, "dt", 0.02)) / float(getattr(env, "sim_dt", 0.02))) or 1
    est = estimate(request.scene_id, backend, planned, mj_model=tenv.mj_model, n_substeps=n_substeps)
    state = _RunState(
        run_id=run_id,
        scene_id=tenv.scene_id,
        total_steps=total_steps,
        step_offset=step_offset,
        start=start,
        history=history,
        last_callback=time.perf_counter(),
        last_step=step_offset,
    )

    def base_event(kind: str, step: int, **kw: Any) -> ProgressEvent:
        return ProgressEvent(
            kind=kind,  # type: ignore[arg-type]
            run_id=run_id,
            scene_id=tenv.scene_id,
            step=step,
            total_steps=total_steps,
            elapsed_s=time.perf_counter() - start,
            **kw,
        )

    what = "resuming" if resume_from else ("fine-tuning" if request.base_policy else "training")
    emit(
        base_event(
            "started",
            step_offset,
            eta_s=est.total_s,
            message=f"{what} {tenv.scene_id} for {planned:,} steps on {backend}: {est.describe()}",
            extra={"estimate": est.to_dict(), "config": config.to_dict(), "backend": backend,
                   "reward": tenv.reward_name, "resumed_from": str(resume_from) if resume_from else None},
        )
    )  # fmt: skip
    emit(
        base_event(
            "compiling",
            step_offset,
            eta_s=est.total_s,
            message=f"compiling the training step and evaluation (~{format_duration(est.compile_s)} on a cold cache)",
        )
    )

    # --- Brax PPO ---
    from brax.training.agents.ppo import train as ppo

    from tabrl.training.evaluation import Evaluator

    factory = network_factory(config)
    evaluator: Evaluator | None = None
    save_ctx = _SaveContext(
        request=request, config=config, tenv=tenv, obs_sizes=obs_sizes, action_size=int(env.action_size),
        base_info=base_info, run_id=run_id, observation_is_dict=isinstance(observation_size, dict),
    )  # fmt: skip

    def on_params(current_step: int, make_policy: Any, params: Any) -> None:
        nonlocal evaluator
        now = time.perf_counter()
        step = step_offset + int(current_step)
        if evaluator is None:
            evaluator = Evaluator(
                env, make_policy, num_envs=config.num_eval_envs, episode_length=eval_length,
                action_repeat=config.action_repeat, deterministic=config.deterministic_eval, seed=config.seed,
            )  # fmt: skip
        if current_step == 0 and (restore_params is None or resume_from is not None):
            # From scratch: a random policy's score only delays training. Resuming: the checkpoint
            # was evaluated already. Fine-tuning: the base policy's score under the new reward is
            # the baseline a person wants to see, so that one is evaluated. Here the evaluation
            # compiles in a background thread while Brax traces its training epoch: cold, the first
            # evaluation came ~3 s sooner (median of 7 runs each on two cores; bench/README.md E2).
            evaluator.prepare(params)
            state.last_callback = time.perf_counter()
            return
        interval = now - state.last_callback
        if current_step > 0:
            state.train_s += interval
            if step > state.last_step and interval > 0:
                state.sps = (step - state.last_step) / interval
        result = evaluator(params)
        state.eval_s += result.wall_s
        state.last_params = params
        state.last_eval = result.reward_mean
        # The fine-tuning baseline (step 0: the base policy, unchanged) is reported but never kept as
        # "best": the run's result must be a policy trained under this run's reward.
        if current_step > 0 and (state.best is None or result.reward_mean > state.best[0]):
            state.best = (result.reward_mean, step, params)
        state.last_step = step
        record = {
            "step": step,
            "eval_reward_mean": result.reward_mean,
            "eval_reward_std": result.reward_std,
            "episode_length": result.episode_length,
            "reward_terms": result.reward_terms,
            "env_steps_per_s": state.sps,
            "elapsed_s": time.perf_counter() - start,
        }
        state.history.append(record)
        ckpt = out_dir / CHECKPOINTS / f"step_{step:012d}"
        save_ctx.save(ckpt, params, step, state.history, kind="checkpoint")
        _prune_checkpoints(out_dir, config.keep_checkpoints)
        state.last_checkpoint = ckpt
        eta = _eta(state, step, total_steps, n_iter)
        emit(
            base_event(
                "eval", step, eta_s=eta, eval_reward_mean=result.reward_mean, eval_reward_std=result.reward_std,
                reward_terms=result.reward_terms, episode_length=result.episode_length,
                env_steps_per_s=state.sps, checkpoint=str(ckpt),
                extra={"eval_s": result.wall_s, **{f"metric/{k}": v for k, v in result.other_metrics.items()}},
            )
        )  # fmt: skip
        state.last_callback = time.perf_counter()
        if cancel.cancelled:
            state.stopped = "cancel"
            raise _Stop("cancel")
        # The target is on the scene's own reward scale: a custom reward (any scale) trains all its steps.
        stop_at = config.stop_at_reward if request.reward_source is None else None
        if stop_at is not None and result.reward_mean >= stop_at:
            state.stopped = "target"
            raise _Stop("target")

    final_params = None
    try:
        if cancel.cancelled:
            raise _Stop("cancel")
        _, final_params, _ = ppo.train(
            environment=env,
            num_timesteps=planned,
            # Brax calls back num_evals - 1 times after the initial call; TabRL's evaluations ride on those.
            num_evals=n_iter + 1,
            run_evals=False,
            eval_env=_NoEvalEnv(observation_size, env.action_size),
            num_eval_envs=1,
            wrap_env_fn=_no_eval_wrap,
            episode_length=config.episode_length,
            action_repeat=config.action_repeat,
            num_envs=config.num_envs,
            batch_size=config.batch_size,
            unroll_length=config.unroll_length,
            num_minibatches=config.num_minibatches,
            num_updates_per_batch=config.num_updates_per_batch,
            learning_rate=config.learning_rate,
            entropy_cost=config.entropy_cost,
            discounting=config.discounting,
            gae_lambda=config.gae_lambda,
            clipping_epsilon=config.clipping_epsilon,
            reward_scaling=config.reward_scaling,
            max_grad_norm=config.max_grad_norm,
            normalize_observations=config.normalize_observations,
            normalize_observations_std_eps=config.normalize_observations_std_eps,
            network_factory=factory,
            seed=config.seed,
            restore_params=restore_params,
            restore_value_fn=restore_value,
            policy_params_fn=on_params,
        )
    except _Stop as stop:
        state.stopped = stop.reason
    except TabRLError:
        tb.close()
        raise
    except Exception as exc:
        emit(base_event("failed", state.last_step, message=f"{type(exc).__name__}: {exc}"))
        tb.close()
        raise

    # --- final policy ---
    params, policy_reward, policy_step = state.last_params, state.last_eval, state.last_step
    if not state.stopped and final_params is not None:
        params = final_params
    if config.keep_best and state.best is not None:
        policy_reward, policy_step, params = state.best
    if params is None:
        # Cancelled before the first evaluation: keep what there is (the base or resumed params).
        params = restore_params
    policy_dir = out_dir / POLICY
    wall = time.perf_counter() - start
    if params is not None:
        save_ctx.save(
            policy_dir, params, state.last_step, state.history, kind="final",
            selected=(policy_step, policy_reward),
        )  # fmt: skip
    kind = "cancelled" if state.stopped == "cancel" else "finished"
    message = {
        "cancel": "cancelled; the last checkpoint's policy is kept",
        "target": f"reached the target reward {config.stop_at_reward}",
        None: "finished",
    }[state.stopped]
    emit(
        base_event(
            kind, state.last_step, eta_s=0.0, eval_reward_mean=policy_reward,
            checkpoint=str(state.last_checkpoint) if state.last_checkpoint else None,
            message=message,
            extra={"policy_dir": str(policy_dir) if params is not None else None, "wall_s": wall,
                   "policy_step": policy_step, "last_eval_reward": state.last_eval,
                   "train_s": state.train_s, "eval_s": state.eval_s},
        )
    )  # fmt: skip
    tb.close()
    if params is None:
        raise TabRLError("training was cancelled before anything was learned; nothing was saved")
    return TrainResult(
        status=kind,  # type: ignore[arg-type]
        run_id=run_id,
        policy_dir=policy_dir,
        eval_reward=policy_reward,
        steps=state.last_step,
        wall_s=wall,
        metrics=state.history,
        stopped_early=state.stopped == "target",
    )


def plan_iterations(steps: int, config: TrainConfig) -> tuple[int, int]:
    """(evaluation intervals, planned env steps) for `steps` more steps of `config`."""
    per_update = config.steps_per_update
    updates = math.ceil(steps / per_update)
    n_iter = min(config.num_evals, updates)
    per_iter = math.ceil(updates / n_iter)
    n_iter = math.ceil(updates / per_iter)
    return n_iter, n_iter * per_iter * per_update


def _eta(state: _RunState, step: int, total_steps: int, n_iter: int) -> float | None:
    """Seconds left: remaining steps at the measured rate plus the remaining evaluations."""
    if not state.sps:
        return None
    left = max(0, total_steps - step)
    evals_done = max(1, len(state.history))
    evals_left = max(0, n_iter - evals_done)
    return left / state.sps + evals_left * (state.eval_s / evals_done)


def _check_compatible(manifest: Any, obs_sizes: dict[str, int], action_size: int, scene_id: str) -> None:
    if manifest.observation_sizes != obs_sizes or manifest.action_size != action_size:
        raise TabRLError(
            f"policy {manifest.id} ({manifest.scene_id}: obs {manifest.observation_sizes}, action "
            f"{manifest.action_size}) does not fit {scene_id} (obs {obs_sizes}, action {action_size}); "
            "fine-tune from a policy trained on the same robot"
        )


@dataclass
class _SaveContext:
    """What every checkpoint and the final policy share."""

    request: TrainRequest
    config: TrainConfig
    tenv: Any
    obs_sizes: dict[str, int]
    action_size: int
    base_info: dict[str, str] | None
    run_id: str
    observation_is_dict: bool = False

    def save(
        self,
        directory: Path,
        params: Any,
        step: int,
        history: list[dict[str, Any]],
        kind: str,
        selected: tuple[int, float | None] | None = None,
    ) -> None:
        from tabrl import __version__
        from tabrl.policies.store import NetworkSpec, PolicyManifest, RewardInfo, save_policy

        cfg = self.config
        terms = (
            self.tenv.reward_terms or tuple(history[-1]["reward_terms"])
            if history
            else self.tenv.reward_terms
        )
        manifest = PolicyManifest(
            id=self.run_id,
            scene_id=self.tenv.scene_id,
            observation_size=self.obs_sizes.get(cfg.policy_obs_key, next(iter(self.obs_sizes.values()))),
            observation_sizes=self.obs_sizes,
            action_size=self.action_size,
            network=NetworkSpec(
                policy_hidden_layer_sizes=tuple(cfg.policy_hidden_layer_sizes),
                value_hidden_layer_sizes=tuple(cfg.value_hidden_layer_sizes),
                activation=cfg.activation,
                normalize_observations=cfg.normalize_observations,
                policy_obs_key=cfg.policy_obs_key,
                value_obs_key=cfg.value_obs_key,
            ),
            reward=RewardInfo.from_source(self.tenv.reward_source, self.tenv.reward_name, tuple(terms)),
            config=cfg.to_dict(),
            metrics=[_json_safe(h) for h in history],
            steps=step,
            eval_reward=selected[1] if selected else (history[-1]["eval_reward_mean"] if history else None),
            selected_step=selected[0] if selected else step,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            tabrl_version=__version__,
            base_policy=self.base_info,
            kind=kind,
            observation_is_dict=self.observation_is_dict,
        )
        save_policy(directory, manifest, params)


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record, default=float), parse_constant=lambda _c: None) if record else record


__all__ = [
    "TrainRequest",
    "TrainResult",
    "configure_xla_for_cpu",
    "latest_checkpoint",
    "network_factory",
    "plan_iterations",
    "run_training",
]
