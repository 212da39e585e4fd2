"""The MuJoCo C backend: GAE, a short real run, and everything downstream of a C-trained policy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tabrl.errors import TabRLError
from tabrl.policies import export_onnx, load_policy, read_manifest
from tabrl.training import CancelToken, TrainRequest, TrainResult, run_training
from tabrl.training.backends import BackendError, choose_backend
from tabrl.training.config import preset_for, resolve_config

SCENE = "CheetahRun"
RUN_FORWARD = """
WEIGHTS = {"forward": 1.0, "upright": 0.1}

def compute_reward(s, action):
    return {"forward": s.body_linvel(s.base)[0], "upright": s.body_upright(s.base)}
"""


# An independent judge of the run: a 4096-step policy does not run 1 m/s, so the speed goal fails
# while the upright one holds (measured over 8 seeded 10 s rollouts of the C env).
RUN_CHECK = """
def measure(s):
    return {"speed": s.body_linvel(s.base)[0], "upright": s.body_upright(s.base) > 0.0}

GOALS = {"speed": "> 1.0", "upright": ">= 0.5"}
"""


def _gae_reference(rewards, values, bootstrap, termination, truncation, gamma, lam):
    """GAE written as a plain loop over time, per environment (the textbook recursion).

    A terminated step has no future; a truncated step (time limit) contributes no TD error and cuts
    the recursion, as Brax's `compute_gae` treats it.
    """
    t_len, n = rewards.shape
    adv = np.zeros((t_len, n))
    for b in range(n):
        acc = 0.0
        for t in reversed(range(t_len)):
            next_v = bootstrap[b] if t == t_len - 1 else values[t + 1, b]
            alive = 1.0 - termination[t, b]
            delta = rewards[t, b] + gamma * alive * next_v - values[t, b]
            if truncation[t, b]:
                delta, acc = 0.0, 0.0
            acc = delta + gamma * lam * alive * acc
            adv[t, b] = acc
    vs = adv + values
    # Brax returns advantages recomputed from vs: r + gamma * (1 - term) * vs_{t+1} - v_t, masked.
    vs_next = np.concatenate([vs[1:], bootstrap[None]], axis=0)
    advantages = (rewards + gamma * (1 - termination) * vs_next - values) * (1 - truncation)
    return vs, advantages


def test_gae_matches_a_plain_python_loop() -> None:
    from brax.training.agents.ppo.losses import compute_gae

    rng = np.random.default_rng(0)
    t_len, n = 12, 5
    rewards, values = rng.normal(size=(t_len, n)), rng.normal(size=(t_len, n))
    bootstrap = rng.normal(size=n)
    termination = (rng.random((t_len, n)) < 0.15).astype(np.float64)
    truncation = ((rng.random((t_len, n)) < 0.1) & (termination == 0)).astype(np.float64)
    vs, adv = compute_gae(truncation, termination, rewards, values, bootstrap, lambda_=0.9, discount=0.97)
    ref_vs, ref_adv = _gae_reference(rewards, values, bootstrap, termination, truncation, 0.97, 0.9)
    np.testing.assert_allclose(np.asarray(vs), ref_vs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(adv), ref_adv, rtol=1e-5, atol=1e-5)


def test_backend_rule() -> None:
    # A GPU always trains on MJX; a Playground task on its own reward stays on MJX.
    assert choose_backend("Go1JoystickFlatTerrain", "gpu", RUN_FORWARD, playground=True) == "mjx"
    assert choose_backend("Go1JoystickFlatTerrain", "cpu", None, playground=True) == "mjx"
    # On a CPU, contact-rich scenes with a reward module train on MuJoCo C; CartpoleBalance stays on MJX.
    assert choose_backend("Go1JoystickFlatTerrain", "cpu", RUN_FORWARD, playground=True) == "mujoco"
    assert choose_backend(SCENE, "cpu", RUN_FORWARD, playground=True) == "mujoco"
    assert choose_backend("CartpoleBalance", "cpu", RUN_FORWARD, playground=True) == "mjx"
    assert choose_backend("CartpoleBalance", "cpu", RUN_FORWARD, "mujoco", playground=True) == "mujoco"
    with pytest.raises(BackendError, match="task reward exists only"):
        choose_backend("Go1JoystickFlatTerrain", "cpu", None, "mujoco", playground=True)
    with pytest.raises(BackendError, match="backend must be one of"):
        choose_backend(SCENE, "cpu", RUN_FORWARD, "physx", playground=True)


def test_resolved_config_names_its_backend() -> None:
    cfg = resolve_config("Go1JoystickFlatTerrain", device="cpu", reward_source=RUN_FORWARD)
    assert (
        cfg.backend == "mujoco"
        and cfg.num_envs == preset_for("Go1JoystickFlatTerrain", "cpu", "mujoco").num_envs == 1024
    )
    cfg = resolve_config(
        "Go1JoystickFlatTerrain", device="cpu", reward_source=RUN_FORWARD, overrides=["backend=mjx"]
    )
    assert cfg.backend == "mjx" and cfg.num_envs != 1024


def _small(**changes: object):
    small = dict(
        num_timesteps=4096, num_envs=32, batch_size=16, num_minibatches=4, unroll_length=16,
        num_updates_per_batch=2, num_evals=2, num_eval_envs=4, eval_episode_length=40, episode_length=200,
    )  # fmt: skip
    return preset_for(SCENE, "cpu", "mujoco").replace(**{**small, **changes})


@pytest.fixture(scope="module")
def c_run(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    out = tmp_path_factory.mktemp("cheetah") / "run"
    return run_training(
        TrainRequest(
            SCENE, out, config=_small(), reward_source=RUN_FORWARD, reward_name="run", success_check=RUN_CHECK
        )
    )


def test_the_final_policy_is_judged_on_its_success_check(c_run: TrainResult) -> None:
    """The verdict (MuJoCo C rollouts of the saved policy) is in the result, the manifest and the
    closing event; it reflects what the robot did, not the reward."""
    verdict = c_run.check
    assert (
        verdict is not None
        and verdict["rollouts"] == 8
        and verdict["seconds"] == pytest.approx(10.0, abs=0.1)
    )
    assert not verdict["passed"] and verdict["met"]["speed"] is False, verdict
    assert verdict["values"]["speed"] < 1.0 and 0.0 < verdict["score"] < 1.0
    manifest = read_manifest(c_run.policy_dir)
    assert manifest.check is not None and manifest.check["verdict"] == verdict
    assert manifest.check["code"] == RUN_CHECK
    events = [
        json.loads(line) for line in (c_run.policy_dir.parent / "events.jsonl").read_text().splitlines()
    ]
    assert events[-1]["extra"]["check"] == verdict and "success check failed: speed" in events[-1]["message"]


def test_a_broken_success_check_is_refused_before_training(tmp_path: Path) -> None:
    from tabrl.rewards.result import RewardCompileError

    broken = RUN_CHECK.replace('"speed": "> 1.0"', '"sped": "> 1.0"')
    with pytest.raises(RewardCompileError, match="success check") as info:
        run_training(
            TrainRequest(
                SCENE, tmp_path / "x", config=_small(), reward_source=RUN_FORWARD, success_check=broken
            )
        )
    assert "GOALS names 'sped'" in str(info.value.errors[0].message)
    assert not (tmp_path / "x").exists()


def test_short_run_writes_a_policy_in_the_common_format(c_run: TrainResult, tmp_path: Path) -> None:
    manifest = read_manifest(c_run.policy_dir)
    assert c_run.backend == "mujoco" and manifest.backend == "mujoco"
    assert c_run.steps == 4096 and len(manifest.metrics) == 2
    assert set(manifest.metrics[-1]["reward_terms"]) == {"forward", "upright"}
    events = [
        json.loads(line) for line in (c_run.policy_dir.parent / "events.jsonl").read_text().splitlines()
    ]
    assert [e["event"] for e in events] == ["started", "compiling", "eval", "eval", "finished"]
    assert "mujoco backend" in events[0]["message"]
    policy = load_policy(c_run.policy_dir)
    obs = np.random.default_rng(0).standard_normal((7, manifest.observation_size)).astype(np.float32)
    actions = policy.numpy(obs)
    assert actions.shape == (7, 6) and np.all(np.abs(actions) <= 1)

    import onnxruntime as ort

    path = export_onnx(c_run.policy_dir, tmp_path / "c.onnx")
    onnx_out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"observation": obs}
    )[0]
    np.testing.assert_allclose(onnx_out, actions, atol=1e-5)


def test_video_rollout_and_live_observer_use_the_c_env(c_run: TrainResult) -> None:
    from tabrl.training.observe import HostStateObserver, observer_for
    from tabrl.training.video import rollout_qpos

    model, qpos, dt = rollout_qpos(c_run.policy_dir, seconds=0.5, seed=3)
    assert qpos.shape == (round(0.5 / dt) + 1, model.nq) and np.isfinite(qpos).all()
    assert not np.allclose(qpos[0], qpos[-1])  # it moved
    _, again, _ = rollout_qpos(c_run.policy_dir, seconds=0.5, seed=3)
    np.testing.assert_array_equal(qpos, again)  # same seed, same video

    manifest = read_manifest(c_run.policy_dir)
    observer = observer_for(manifest)
    assert isinstance(observer, HostStateObserver)
    obs = observer(qpos[5], np.zeros(model.nv), np.zeros(6), 0.1)
    assert obs.shape == (manifest.observation_size,)
    with pytest.raises(TabRLError, match="qpos of length"):
        observer(qpos[5][:3], np.zeros(model.nv))


def test_cancel_resume_and_fine_tune(c_run: TrainResult, tmp_path: Path) -> None:
    token = CancelToken()
    seen: list[str] = []

    def on_event(event) -> None:
        seen.append(event.kind)
        if event.kind == "eval":
            token.cancel()

    out = tmp_path / "run"
    cancelled = run_training(
        TrainRequest(SCENE, out, config=_small(num_evals=4), reward_source=RUN_FORWARD), on_event, token
    )
    assert cancelled.status == "cancelled" and seen[-1] == "cancelled" and cancelled.steps < 4096
    resumed = run_training(TrainRequest(SCENE, out, reward_source=RUN_FORWARD, resume=True))
    assert resumed.status == "finished" and resumed.steps >= 4096
    steps = [m["step"] for m in read_manifest(resumed.policy_dir).metrics]
    assert steps == sorted(set(steps)), steps  # no step recorded twice

    tuned = run_training(
        TrainRequest(SCENE, tmp_path / "ft", config=_small(value_warmup=True),
                     reward_source=RUN_FORWARD.replace("1.0", "2.0", 1), base_policy=c_run.policy_dir)
    )  # fmt: skip
    manifest = read_manifest(tuned.policy_dir)
    assert manifest.base_policy and manifest.base_policy["id"] == read_manifest(c_run.policy_dir).id
    assert manifest.metrics[0]["step"] == 0  # the base policy's score under the new reward
    with pytest.raises(TabRLError, match="trained on the mujoco backend"):
        run_training(
            TrainRequest(SCENE, tmp_path / "x", config=_small(backend="mjx"), reward_source=RUN_FORWARD,
                         base_policy=c_run.policy_dir)
        )  # fmt: skip


def test_huge_rewards_are_refused_before_training_and_nan_params_stop_a_run(tmp_path: Path) -> None:
    huge = """
def compute_reward(s, action):
    return {"a": 1e30 * (1.0 + s.body_linvel(s.base)[0] ** 2), "b": 1e30 * jnp.sum(action ** 2)}
"""
    # Refused when the reward is compiled, before any step, with the line and a fix.
    with pytest.raises(TabRLError, match=r"line 3: .*over the limit"):
        run_training(TrainRequest(SCENE, tmp_path / "huge", config=_small(), reward_source=huge))
    # A run whose parameters go non-finite anyway stops at that evaluation, naming the cause.
    import time

    import jax.numpy as jnp

    from tabrl.training.evaluation import EvalResult
    from tabrl.training.session import TrainingSession

    session = TrainingSession(
        run_id="r", scene_id=SCENE, out_dir=tmp_path, config=_small(), backend="mujoco", device="cpu",
        step_offset=0, total_steps=1, n_iter=1, planned=1, start=time.perf_counter(), cancel=CancelToken(),
        on_event=lambda _e: None,
    )  # fmt: skip
    params = ({"w": jnp.ones(3)}, {"w": jnp.array([1.0, jnp.nan])}, {})
    with pytest.raises(TabRLError, match="diverged by step 10"):
        session.record_eval(10, params, EvalResult(0.0, 0.0, {}, 1.0))


def test_a_policy_with_an_older_observation_layout_is_refused_with_a_way_out(
    c_run: TrainResult, tmp_path: Path
) -> None:
    import shutil

    from tabrl.training.backends.mujoco import policy_env

    old = tmp_path / "old"
    shutil.copytree(c_run.policy_dir, old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["observation_size"] += 1  # e.g. a floating base's world quaternion (4) instead of gravity (3)
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TabRLError, match=r"older TabRL.*train it again"):
        policy_env(read_manifest(old))
