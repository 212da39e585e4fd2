"""Runner mechanics on short CartpoleBalance runs: cancel, checkpoints, resume, seeds, events.

All runs here share one small config (one PPO update per evaluation), so after the first
compile the persistent XLA cache makes each further run cheap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tabrl.errors import TabRLError
from tabrl.policies import load_policy, read_manifest
from tabrl.policies.store import read_params
from tabrl.training import (
    CancelToken,
    ProgressEvent,
    TrainRequest,
    latest_checkpoint,
    preset_for,
    run_training,
)
from tabrl.training.runner import plan_iterations

SCENE = "CartpoleBalance"


def _small(updates: int, **changes):
    cfg = preset_for(SCENE, "cpu")
    return cfg.replace(
        num_timesteps=updates * cfg.steps_per_update, num_evals=updates, num_eval_envs=8, **changes
    )


def test_plan_iterations_never_undershoots() -> None:
    cfg = _small(4)
    for steps in (1, cfg.steps_per_update, 3 * cfg.steps_per_update + 5, 10**6):
        n_iter, planned = plan_iterations(steps, cfg)
        assert planned >= steps and 1 <= n_iter <= cfg.num_evals
        assert planned - steps < n_iter * cfg.steps_per_update


def test_cancel_before_start_saves_nothing(tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(TabRLError, match="cancelled before anything was learned"):
        run_training(TrainRequest(SCENE, tmp_path / "run", config=_small(2)), cancel=token)


def test_cancel_keeps_checkpoint_then_resume_continues(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # The final policy must be the last one (not the best evaluation) to follow the normaliser.
    cfg = _small(3, keep_best=False)
    token = CancelToken()
    events: list[ProgressEvent] = []

    def cancel_after_first_eval(event: ProgressEvent) -> None:
        events.append(event)
        if event.kind == "eval":
            token.cancel()

    result = run_training(
        TrainRequest(SCENE, out, config=cfg), on_event=cancel_after_first_eval, cancel=token
    )
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["started", "compiling"] and kinds[-1] == "cancelled" and kinds.count("eval") == 1
    first_eval = next(e for e in events if e.kind == "eval")
    assert first_eval.step == cfg.steps_per_update
    assert first_eval.eval_reward_mean is not None and first_eval.episode_length == 1000
    assert {"upright", "centered", "small_control"} <= set(first_eval.reward_terms)
    assert first_eval.env_steps_per_s and first_eval.env_steps_per_s > 0
    assert result.status == "cancelled" and result.steps == cfg.steps_per_update
    ckpt = latest_checkpoint(out)
    assert ckpt is not None and read_manifest(ckpt).kind == "checkpoint"
    assert read_manifest(result.policy_dir).steps == cfg.steps_per_update
    assert (out / "config.yaml").is_file() and (out / "events.jsonl").read_text().count("\n") == len(events)
    ckpt_count = int(read_params(ckpt / "params.msgpack")[0].count.to_numpy())

    resumed_events: list[ProgressEvent] = []
    resumed = run_training(TrainRequest(SCENE, out, resume=True), on_event=resumed_events.append)
    evals = [e for e in resumed_events if e.kind == "eval"]
    assert resumed.status == "finished"
    # Continues from the checkpoint's step, not from 0, and keeps the earlier history.
    assert [e.step for e in evals] == [2 * cfg.steps_per_update, 3 * cfg.steps_per_update]
    assert resumed.steps == 3 * cfg.steps_per_update
    manifest = read_manifest(resumed.policy_dir)
    assert [m["step"] for m in manifest.metrics] == [cfg.steps_per_update * k for k in (1, 2, 3)]
    assert manifest.id == read_manifest(ckpt).id
    # The observation normaliser carried on from the checkpoint's statistics.
    final_count = int(read_params(resumed.policy_dir / "params.msgpack")[0].count.to_numpy())
    assert final_count > ckpt_count
    assert final_count == pytest.approx(3 * ckpt_count, rel=0.01)

    with pytest.raises(TabRLError, match="already did"):
        run_training(TrainRequest(SCENE, out, resume=True))


def test_resume_without_checkpoint_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TabRLError, match="nothing to resume"):
        run_training(TrainRequest(SCENE, tmp_path / "empty", resume=True))


def test_same_seed_same_policy_other_seed_differs(tmp_path: Path) -> None:
    cfg = _small(1)
    a = run_training(TrainRequest(SCENE, tmp_path / "a", config=cfg))
    b = run_training(TrainRequest(SCENE, tmp_path / "b", config=cfg))
    c = run_training(TrainRequest(SCENE, tmp_path / "c", config=cfg.replace(seed=1)))
    obs = np.random.default_rng(0).standard_normal((64, 5)).astype(np.float32)
    act_a, act_b, act_c = (load_policy(r.policy_dir).numpy(obs) for r in (a, b, c))
    np.testing.assert_array_equal(act_a, act_b)
    assert a.eval_reward == b.eval_reward
    assert np.abs(act_a - act_c).max() > 1e-3
