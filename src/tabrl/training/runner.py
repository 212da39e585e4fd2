"""Run one PPO training: scene + reward -> policy folder, with progress events, checkpoints and cancel.

    result = run_training(TrainRequest("CartpoleBalance", Path("runs/cp")), on_event=print, cancel=CancelToken())

`run_training` resolves what to train (config, resume, base policy, backend), builds the shared
`TrainingSession` (run folder, events, checkpoints, keep-best, cancel, manifest) and hands it to
a backend (`tabrl.training.backends`): `mjx` (Brax PPO on MJX) or `mujoco` (MuJoCo C on
threads). The function is synchronous and does all its I/O on the calling thread, so the server
can call it in a worker process.

Run folder (`request.out_dir`):
    config.yaml          resolved TrainConfig
    events.jsonl         every ProgressEvent, one JSON object per line
    checkpoints/step_N/  policy folders (same layout as the final one), the last `keep_checkpoints`
    policy/              the final policy (also written on cancel: the last checkpoint's params)
    tensorboard/         when requested
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tabrl.errors import TabRLError
from tabrl.training.backends.mjx import configure_xla_for_cpu
from tabrl.training.config import (
    TrainConfig,
    load_yaml,
    resolve_backend,
    resolve_config,
    save_yaml,
    with_base_conventions,
)
from tabrl.training.estimates import estimate, format_duration
from tabrl.training.events import CancelToken, ProgressEvent
from tabrl.training.session import (
    CONFIG_FILE,
    EVENTS_FILE,
    POLICY,
    StopTraining,
    TrainingSession,
    latest_checkpoint,
)

if TYPE_CHECKING:
    from tabrl.rewards.checks import SuccessCheck

EventCallback = Callable[[ProgressEvent], None]

log = logging.getLogger(__name__)


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
    #: Command program the env follows (joystick policies, mujoco backend); None: random draws, except
    #: that a fine-tune of a joystick policy stands still unless `random_commands`.
    commands: str | None = None
    random_commands: bool = False
    #: Success check source (`tabrl.rewards.checks`): compiled before training, judged on rollouts of
    #: the final policy; the verdict goes into its manifest, the `finished` event and the result.
    success_check: str | None = None


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
    backend: str = "mjx"
    #: The success check's verdict (`Verdict.to_dict()`), when the request had a check.
    check: dict[str, Any] | None = None

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
            "backend": self.backend,
            "check": self.check,
        }


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
    # A check that cannot compile would fail after the training: refuse it now, with its lines.
    check = None
    if request.success_check:
        from tabrl.rewards.checks import compile_success

        check = compile_success(request.success_check, request.scene_id)
    session, reward_source = _open_session(request, device_kind(), cancel or CancelToken(), on_event)
    backend = _make_backend(session, reward_source, request.reward_name)
    session.env = backend.spec
    if session.base_manifest is not None:
        _check_compatible(
            session.base_manifest, backend.spec.obs_sizes, backend.spec.action_size, request.scene_id
        )
    _announce(session, request, backend)
    final_params = None
    try:
        if session.cancel.cancelled:
            raise StopTraining("cancel")
        final_params = backend.train()
    except StopTraining as stop:
        session.stopped = stop.reason
    except TabRLError as exc:
        session.emit(session.event("failed", session.last_step, message=str(exc)))
        session.close()
        raise
    except Exception as exc:
        session.emit(session.event("failed", session.last_step, message=f"{type(exc).__name__}: {exc}"))
        session.close()
        raise
    return _finish(session, final_params, check)


def _open_session(
    request: TrainRequest, device: str, cancel: CancelToken, on_event: EventCallback | None
) -> tuple[TrainingSession, str | None]:
    """Resolve config, resume and base policy into a session; the reward source the run trains on."""
    from tabrl.policies.store import RewardInfo, new_policy_id, read_manifest, read_params

    out_dir = Path(request.out_dir)
    resume_from = latest_checkpoint(out_dir) if request.resume else None
    if request.resume and resume_from is None:
        raise TabRLError(f"nothing to resume in {out_dir}: it has no checkpoints; start a new run instead")
    reward_source = request.reward_source
    manifest = read_manifest(resume_from) if resume_from is not None else None
    if manifest is not None and manifest.scene_id != request.scene_id:
        raise TabRLError(f"{out_dir} holds a run of {manifest.scene_id}, not {request.scene_id}")
    if manifest is not None and reward_source is None:
        reward_source = manifest.reward.source
    config = request.config
    if config is None:
        config = (
            load_yaml(out_dir / CONFIG_FILE, TrainConfig())
            if request.resume and (out_dir / CONFIG_FILE).is_file()
            else resolve_config(
                request.scene_id, device=device, reward_source=reward_source, base_dir=request.base_policy
            )
        )
    config = resolve_backend(config, request.scene_id, device, reward_source)
    restore_params, restore_value, base_info, history, step_offset = None, True, None, [], 0
    base_manifest = None
    if manifest is not None:
        restore_params = read_params(resume_from / "params.msgpack")
        history, step_offset, base_info = list(manifest.metrics), manifest.steps, manifest.base_policy
        base_manifest = manifest
    elif request.base_policy is not None:
        base_dir = Path(request.base_policy)
        base_manifest = read_manifest(base_dir)
        restore_params = read_params(base_dir / "params.msgpack")
        if base_manifest.backend != config.backend:
            raise TabRLError(
                f"policy {base_manifest.id} was trained on the {base_manifest.backend} backend, whose "
                f"observations differ from {config.backend}'s; fine-tune it with backend={base_manifest.backend}"
            )
        # The saved parameters fix the network shapes, and what the base was trained to observe and
        # how its actions act (its conventions); the rest of the config is the person's.
        net = base_manifest.network
        config = with_base_conventions(config, base_manifest.config)
        config = dataclasses.replace(
            config,
            policy_hidden_layer_sizes=net.policy_hidden_layer_sizes,
            value_hidden_layer_sizes=net.value_hidden_layer_sizes,
            activation=net.activation,  # type: ignore[arg-type]
            normalize_observations=net.normalize_observations,
            policy_obs_key=net.policy_obs_key,
            value_obs_key=net.value_obs_key,
        )
        base_info = {
            "id": base_manifest.id,
            "dir": str(base_dir.resolve()),
            "scene_id": base_manifest.scene_id,
        }
        same_reward = base_manifest.reward.sha256 == RewardInfo.from_source(reward_source).sha256
        restore_value = config.restore_value_fn if config.restore_value_fn is not None else same_reward
    remaining = config.num_timesteps - step_offset
    if remaining <= 0:
        raise TabRLError(
            f"the run in {out_dir} already did {step_offset:,} of {config.num_timesteps:,} steps; "
            "raise num_timesteps (--steps) to train longer"
        )
    # PPO runs whole updates split evenly between evaluations; plan the real total so progress
    # and ETA are honest (it can exceed the request by less than one eval interval).
    n_iter, planned = plan_iterations(remaining, config)
    run_id = request.run_id or (manifest.id if manifest is not None else new_policy_id(request.scene_id))
    out_dir.mkdir(parents=True, exist_ok=True)
    save_yaml(config, out_dir / CONFIG_FILE)
    session = TrainingSession(
        run_id=run_id, scene_id=request.scene_id, out_dir=out_dir, config=config, backend=config.backend,
        device=device, step_offset=step_offset, total_steps=step_offset + planned, n_iter=n_iter,
        planned=planned, start=time.perf_counter(), cancel=cancel,
        on_event=on_event or (lambda _event: None), tensorboard=request.tensorboard,
        custom_reward=request.reward_source is not None, restore_params=restore_params,
        restore_value=restore_value, resumed=resume_from is not None, base_info=base_info,
        history=history, resume_from=resume_from, base_manifest=base_manifest,
        commands=_commands(request, manifest, base_manifest),
    )  # fmt: skip
    return session, reward_source


def _commands(request: TrainRequest, manifest: Any, base_manifest: Any) -> str | None:
    """The command program the run follows: the request's, a resumed run's own, or -- fine-tuning a
    joystick policy with none -- standing still (random commands would be noise the reward ignores)."""
    from tabrl.rewards.commands import STAND_STILL

    if request.commands is not None:
        return request.commands
    if manifest is not None:
        return manifest.commands
    if request.random_commands:
        return None
    if base_manifest is not None and base_manifest.config.get("command_range"):
        return STAND_STILL
    return None


def _make_backend(session: TrainingSession, reward_source: str | None, reward_name: str | None) -> Any:
    if session.backend == "mujoco":
        from tabrl.training.backends.mujoco import MujocoBackend

        return MujocoBackend(session, reward_source, reward_name)
    from tabrl.training.backends.mjx import MjxBackend

    return MjxBackend(session, reward_source, reward_name)


def _announce(session: TrainingSession, request: TrainRequest, backend: Any) -> None:
    """The `started` event (with the time estimate) and the `compiling` event."""
    spec, config = backend.spec, session.config
    est = estimate(
        spec.scene_id, session.device, session.planned, mj_model=spec.mj_model, n_substeps=spec.n_substeps,
        physics=session.backend,
    )  # fmt: skip
    what = "resuming" if session.resumed else ("fine-tuning" if request.base_policy else "training")
    session.emit(
        session.event(
            "started", session.step_offset, eta_s=est.total_s,
            message=f"{what} {spec.scene_id} for {session.planned:,} steps on {session.device} "
            f"({session.backend} backend): {est.describe()}",
            extra={"estimate": est.to_dict(), "config": config.to_dict(), "backend": session.backend,
                   "device": session.device, "reward": spec.reward_name,
                   "resumed_from": str(session.resume_from) if session.resume_from else None},
        )
    )  # fmt: skip
    session.emit(
        session.event(
            "compiling", session.step_offset, eta_s=est.total_s,
            message=backend.compile_message(format_duration(est.compile_s)),
        )
    )  # fmt: skip


def judge_policy(policy_dir: Path, check: SuccessCheck | str) -> tuple[dict[str, Any] | None, str]:
    """Judge a saved policy on a success check (compiled, or its source) and record the verdict in its
    manifest; (verdict, a line for a closing message). A failure to judge is reported, not raised:
    the policy is kept either way."""
    from tabrl.policies.store import update_manifest
    from tabrl.training.behaviour import evaluate_check

    try:
        verdict = evaluate_check(policy_dir, check)
    except Exception as exc:  # the policy is saved; say why it could not be judged
        log.warning("success check of %s failed to run: %s", policy_dir, exc)
        return None, f"; the success check could not run ({type(exc).__name__}: {exc})"
    code = check if isinstance(check, str) else check.code
    update_manifest(policy_dir, check={"code": code, "verdict": verdict.to_dict()})
    return verdict.to_dict(), f"; success check {'passed' if verdict.passed else 'failed'}: {verdict.figure}"


def _finish(session: TrainingSession, final_params: Any, check: SuccessCheck | None = None) -> TrainResult:
    """Write the final policy, judge it on its success check, and send the closing event."""
    config = session.config
    params, policy_reward, policy_step = session.last_params, session.last_eval, session.last_step
    if not session.stopped and final_params is not None:
        params = final_params
    if config.keep_best and session.best is not None:
        policy_reward, policy_step, params = session.best
    if params is None:
        # Cancelled before the first evaluation: keep what there is (the base or resumed params).
        params = session.restore_params
    policy_dir = session.out_dir / POLICY
    wall = time.perf_counter() - session.start
    if params is not None:
        session.save(
            policy_dir, params, session.last_step, kind="final", selected=(policy_step, policy_reward)
        )
    kind = "cancelled" if session.stopped == "cancel" else "finished"
    message = {
        "cancel": "cancelled; the last checkpoint's policy is kept",
        "target": f"reached the target reward {config.stop_at_reward}",
        None: "finished",
    }[session.stopped]
    verdict = None
    if check is not None and params is not None and session.stopped != "cancel":
        verdict, line = judge_policy(policy_dir, check)
        message += line
    session.emit(
        session.event(
            kind, session.last_step, eta_s=0.0, eval_reward_mean=policy_reward,
            checkpoint=str(session.last_checkpoint) if session.last_checkpoint else None,
            message=message,
            extra={"policy_dir": str(policy_dir) if params is not None else None, "wall_s": wall,
                   "policy_step": policy_step, "last_eval_reward": session.last_eval,
                   "train_s": session.train_s, "eval_s": session.eval_s, "backend": session.backend,
                   "check": verdict},
        )
    )  # fmt: skip
    session.close()
    if params is None:
        raise TabRLError("training was cancelled before anything was learned; nothing was saved")
    return TrainResult(
        status=kind,  # type: ignore[arg-type]
        run_id=session.run_id,
        policy_dir=policy_dir,
        eval_reward=policy_reward,
        steps=session.last_step,
        wall_s=wall,
        metrics=session.history,
        stopped_early=session.stopped == "target",
        backend=session.backend,
        check=verdict,
    )


def plan_iterations(steps: int, config: TrainConfig) -> tuple[int, int]:
    """(evaluation intervals, planned env steps) for `steps` more steps of `config`."""
    per_update = config.steps_per_update
    updates = math.ceil(steps / per_update)
    n_iter = min(config.num_evals, updates)
    per_iter = math.ceil(updates / n_iter)
    n_iter = math.ceil(updates / per_iter)
    return n_iter, n_iter * per_iter * per_update


def _check_compatible(manifest: Any, obs_sizes: dict[str, int], action_size: int, scene_id: str) -> None:
    if manifest.observation_sizes != obs_sizes or manifest.action_size != action_size:
        raise TabRLError(
            f"policy {manifest.id} ({manifest.scene_id}: obs {manifest.observation_sizes}, action "
            f"{manifest.action_size}) does not fit {scene_id} (obs {obs_sizes}, action {action_size}); "
            "fine-tune from a policy trained on the same robot"
        )


__all__ = [
    "CONFIG_FILE",
    "EVENTS_FILE",
    "TrainRequest",
    "TrainResult",
    "configure_xla_for_cpu",
    "latest_checkpoint",
    "plan_iterations",
    "run_training",
]
