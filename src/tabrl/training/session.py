"""What every training backend shares: the run folder, events, checkpoints, keep-best, cancel, manifest.

A backend (`tabrl.training.backends`) owns its physics and its PPO loop; at every evaluation it
hands the session the step, the parameters and the `EvalResult`, and the session does the rest:
history, a checkpoint, pruning, the ETA, the `eval` event, the cancel and target checks (raised
as `StopTraining`), and at the end the final policy folder and the closing event.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tabrl.errors import TabRLError
from tabrl.training.config import TrainConfig
from tabrl.training.evaluation import EvalResult
from tabrl.training.events import CancelToken, ProgressEvent

CONFIG_FILE = "config.yaml"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS = "checkpoints"
POLICY = "policy"

EventCallback = Callable[[ProgressEvent], None]


class StopTraining(Exception):
    """Raised by `TrainingSession.record_eval` to end training early (target reached or cancelled)."""

    def __init__(self, reason: Literal["target", "cancel"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EnvSpec:
    """What a run records about the environment it trains on (whatever the backend)."""

    scene_id: str
    #: Reward source text (None: the scene's own task reward).
    reward_source: str | None
    reward_name: str
    #: Reward term names (`reward/<name>`), when known before the first step.
    reward_terms: tuple[str, ...]
    obs_sizes: dict[str, int]
    action_size: int
    observation_is_dict: bool
    #: The scene's own episode length (evaluation uses it unless the config says otherwise).
    episode_length: int
    mj_model: Any
    n_substeps: int
    #: The command program the env follows (None: random commands, or no commands).
    commands: str | None = None


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


@dataclass
class TrainingSession:
    """One run's shared bookkeeping (host side only). Built by `run_training`; used by a backend."""

    run_id: str
    scene_id: str
    out_dir: Path
    config: TrainConfig
    #: The physics backend ("mjx" or "mujoco") and the device JAX computes on.
    backend: str
    device: str
    step_offset: int
    total_steps: int
    n_iter: int
    planned: int
    start: float
    cancel: CancelToken
    on_event: EventCallback
    tensorboard: bool = False
    #: Run only the scene's own task reward stops at `stop_at_reward` (custom rewards have any scale).
    custom_reward: bool = False
    restore_params: Any = None
    restore_value: bool = True
    resumed: bool = False
    base_info: dict[str, str] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    #: The checkpoint a resumed run continues from, and the manifest of it or of the base policy.
    resume_from: Path | None = None
    base_manifest: Any = None
    #: Command program source the run's env follows (joystick policies; None: random draws).
    commands: str | None = None
    env: EnvSpec | None = None
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
    _resumed_at: float = 0.0
    _tb: _TensorBoard | None = None

    def __post_init__(self) -> None:
        self.last_step = self.step_offset
        self._resumed_at = time.perf_counter()

    # --- events ---------------------------------------------------------------------------------

    def emit(self, event: ProgressEvent) -> None:
        """Append `event` to events.jsonl, TensorBoard, and the caller's callback."""
        if self._tb is None:
            self._tb = _TensorBoard(self.out_dir / "tensorboard" if self.tensorboard else None)
        with (self.out_dir / EVENTS_FILE).open("a", encoding="utf-8") as fh:
            fh.write(event.to_json() + "\n")
        self._tb.log(event)
        self.on_event(event)

    def event(self, kind: str, step: int, **kw: Any) -> ProgressEvent:
        """A `ProgressEvent` of this run."""
        return ProgressEvent(
            kind=kind,  # type: ignore[arg-type]
            run_id=self.run_id,
            scene_id=self.env.scene_id if self.env else self.scene_id,
            step=step,
            total_steps=self.total_steps,
            elapsed_s=time.perf_counter() - self.start,
            **kw,
        )

    def close(self) -> None:
        """Release the TensorBoard writer."""
        if self._tb is not None:
            self._tb.close()

    # --- the backend's hooks --------------------------------------------------------------------

    def training_resumed(self) -> None:
        """Training (not evaluation) starts now: the next interval counts towards env-steps/s."""
        self._resumed_at = time.perf_counter()

    def training_paused(self, step: int) -> None:
        """Training reached `step` (env steps of the whole run); its time since the last resume counts."""
        interval = time.perf_counter() - self._resumed_at
        if step > self.last_step:
            self.train_s += interval
            if interval > 0:
                self.sps = (step - self.last_step) / interval

    def record_eval(self, step: int, params: Any, result: EvalResult, baseline: bool = False) -> None:
        """Record an evaluation at `step` of `params`: checkpoint, event, best; raise `StopTraining`.

        `baseline`: the fine-tuning base policy's score under the new reward (reported, never kept
        as best: the run's result must be a policy trained under this run's reward).
        """
        _check_finite(params, step)
        self.eval_s += result.wall_s
        self.last_params, self.last_eval = params, result.reward_mean
        if not baseline and (self.best is None or result.reward_mean > self.best[0]):
            self.best = (result.reward_mean, step, params)
        self.last_step = step
        record = {
            "step": step,
            "eval_reward_mean": result.reward_mean,
            "eval_reward_std": result.reward_std,
            "episode_length": result.episode_length,
            "reward_terms": result.reward_terms,
            "env_steps_per_s": self.sps,
            "elapsed_s": time.perf_counter() - self.start,
        }
        if self.history and self.history[-1]["step"] == step:
            self.history[-1] = record  # a resumed run re-evaluates its checkpoint's step
        else:
            self.history.append(record)
        ckpt = self.out_dir / CHECKPOINTS / f"step_{step:012d}"
        self.save(ckpt, params, step, kind="checkpoint")
        _prune_checkpoints(self.out_dir, self.config.keep_checkpoints)
        self.last_checkpoint = ckpt
        self.emit(
            self.event(
                "eval", step, eta_s=self.eta(step), eval_reward_mean=result.reward_mean,
                eval_reward_std=result.reward_std, reward_terms=result.reward_terms,
                episode_length=result.episode_length, env_steps_per_s=self.sps, checkpoint=str(ckpt),
                extra={"eval_s": result.wall_s, **{f"metric/{k}": v for k, v in result.other_metrics.items()}},
            )
        )  # fmt: skip
        self.training_resumed()
        if self.cancel.cancelled:
            self.stopped = "cancel"
            raise StopTraining("cancel")
        stop_at = None if self.custom_reward else self.config.stop_at_reward
        if stop_at is not None and result.reward_mean >= stop_at:
            self.stopped = "target"
            raise StopTraining("target")

    def eta(self, step: int) -> float | None:
        """Seconds left: remaining steps at the measured rate plus the remaining evaluations."""
        if not self.sps:
            return None
        left = max(0, self.total_steps - step)
        evals_done = max(1, len(self.history))
        evals_left = max(0, self.n_iter - evals_done)
        return left / self.sps + evals_left * (self.eval_s / evals_done)

    # --- policy folders -------------------------------------------------------------------------

    def save(
        self,
        directory: Path,
        params: Any,
        step: int,
        kind: str,
        selected: tuple[int, float | None] | None = None,
    ) -> None:
        """Write a policy folder (params + manifest) of this run."""
        from tabrl import __version__
        from tabrl.policies.store import NetworkSpec, PolicyManifest, RewardInfo, save_policy

        cfg, env, history = self.config, self.env, self.history
        assert env is not None, "the backend sets the env spec before the first save"
        terms = env.reward_terms or (tuple(history[-1]["reward_terms"]) if history else ())
        manifest = PolicyManifest(
            id=self.run_id,
            scene_id=env.scene_id,
            observation_size=env.obs_sizes.get(cfg.policy_obs_key, next(iter(env.obs_sizes.values()))),
            observation_sizes=env.obs_sizes,
            action_size=env.action_size,
            network=NetworkSpec(
                policy_hidden_layer_sizes=tuple(cfg.policy_hidden_layer_sizes),
                value_hidden_layer_sizes=tuple(cfg.value_hidden_layer_sizes),
                activation=cfg.activation,
                normalize_observations=cfg.normalize_observations,
                policy_obs_key=cfg.policy_obs_key,
                value_obs_key=cfg.value_obs_key,
            ),
            reward=RewardInfo.from_source(env.reward_source, env.reward_name, tuple(terms)),
            config=cfg.to_dict(),
            metrics=[_json_safe(h) for h in history],
            steps=step,
            eval_reward=selected[1] if selected else (history[-1]["eval_reward_mean"] if history else None),
            selected_step=selected[0] if selected else step,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            tabrl_version=__version__,
            base_policy=self.base_info,
            kind=kind,
            observation_is_dict=env.observation_is_dict,
            backend=self.backend,
            commands=env.commands,
            level="fine_tune" if self.base_info else "from_scratch",
        )
        save_policy(directory, manifest, params)


def _check_finite(params: Any, step: int) -> None:
    """Stop a run whose parameters went NaN/inf: every later update would be wasted."""
    import jax
    import numpy as np

    bad = [
        jax.tree_util.keystr(path)
        for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]
        if np.issubdtype(np.asarray(leaf).dtype, np.floating) and not np.isfinite(np.asarray(leaf)).all()
    ]
    if bad:
        raise TabRLError(
            f"training diverged by step {step:,}: the policy's parameters became NaN or infinite "
            f"({', '.join(bad[:3])}). The usual cause is a reward of huge magnitude (check each term "
            "stays within about +-100 per step) or a learning rate too high for this scene; lower "
            "learning_rate or rescale the reward terms and train again"
        )


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record, default=float), parse_constant=lambda _c: None) if record else record


__all__ = [
    "CHECKPOINTS",
    "CONFIG_FILE",
    "EVENTS_FILE",
    "POLICY",
    "EnvSpec",
    "StopTraining",
    "TrainingSession",
    "latest_checkpoint",
]
