"""End-to-end training: CartpoleBalance learns, the policy loads and exports, fine-tuning changes
behaviour, the CLI prints its JSON result, and Go1 runs end to end on CPU (heavy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tabrl.policies import export_onnx, load_policy, read_manifest
from tabrl.training import TrainRequest, TrainResult, preset_for, run_training
from tabrl.training.config import fine_tune_preset
from tabrl.training.envs import rewards_available

SCENE = "CartpoleBalance"


@pytest.fixture(scope="module")
def cartpole(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """The default CPU preset (what `tabrl train --scene CartpoleBalance` runs), stopped once it reaches 900.

    The issue asks for >= 700; the fixture goes on to 900 because it is also the fine-tuning base: with an
    evaluation after every update, the first policy past 700 can be one that balances while the cart
    drifts (measured: mean x 0.87 m, still moving right), which leaves no room to show a change.
    """
    cfg = preset_for(SCENE, "cpu").replace(stop_at_reward=900.0)
    return run_training(TrainRequest(SCENE, tmp_path_factory.mktemp("cp") / "run", config=cfg))


@pytest.mark.heavy
def test_cartpole_default_preset_learns(cartpole: TrainResult) -> None:
    assert cartpole.eval_reward is not None and cartpole.eval_reward >= 700, cartpole.metrics
    manifest = read_manifest(cartpole.policy_dir)
    assert manifest.scene_id == SCENE and manifest.kind == "final"
    assert manifest.observation_size == 5 and manifest.action_size == 1
    assert manifest.eval_reward == pytest.approx(cartpole.eval_reward)
    assert manifest.config["num_envs"] == preset_for(SCENE, "cpu").num_envs
    assert manifest.reward.source is None and len(manifest.reward.sha256) == 64
    assert manifest.metrics and manifest.metrics[-1]["step"] == cartpole.steps
    assert manifest.created_at and manifest.tabrl_version


def _rollout(policy_dir: Path, steps: int = 400, seed: int = 0) -> dict[str, float]:
    """Deterministic rollout of a stored policy in the Playground task env: cart and pole statistics."""
    import jax

    from tabrl.scenes import load_scene

    env = load_scene(SCENE).env
    policy = load_policy(policy_dir)
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    state = reset(jax.random.PRNGKey(seed))
    xs, vs, ups, reward = [], [], [], 0.0
    for _ in range(steps):
        state = step(state, policy(state.obs))
        xs.append(float(state.data.qpos[0]))
        vs.append(float(state.data.qvel[0]))
        ups.append(float(state.data.xmat[2, 2, 2]))
        reward += float(state.reward)
    return {"mean_x": float(np.mean(xs)), "mean_vel": float(np.mean(vs)), "upright": float(np.mean(ups)),
            "reward": reward}  # fmt: skip


@pytest.mark.heavy
def test_trained_policy_balances_and_onnx_matches(cartpole: TrainResult, tmp_path: Path) -> None:
    stats = _rollout(cartpole.policy_dir, steps=300)
    assert stats["upright"] > 0.9, stats

    import onnxruntime as ort

    path = export_onnx(cartpole.policy_dir, tmp_path / "cp.onnx")
    obs = np.random.default_rng(1).standard_normal((1000, 5)).astype(np.float32) * 2
    onnx_out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"observation": obs}
    )[0]
    np.testing.assert_allclose(onnx_out, load_policy(cartpole.policy_dir).numpy(obs), atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def hold_right(cartpole: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """The CartpoleBalance policy fine-tuned to `cartpole_hold_right` with TabRL's fine-tuning settings."""
    from tabrl.rewards.reference import get_reference

    ref = get_reference("cartpole_hold_right")
    cfg = fine_tune_preset(preset_for(SCENE, "cpu")).replace(num_timesteps=1_500_000)
    return run_training(
        TrainRequest(SCENE, tmp_path_factory.mktemp("ft") / "run", config=cfg, reward_source=ref.code,
                     reward_name=ref.name, base_policy=cartpole.policy_dir)
    )  # fmt: skip


@pytest.mark.heavy
@pytest.mark.skipif(not rewards_available(), reason="needs tabrl.rewards (issue 3)")
def test_finetune_records_its_base_reward_and_baseline(
    cartpole: TrainResult, hold_right: TrainResult
) -> None:
    from tabrl.rewards.reference import get_reference

    manifest = read_manifest(hold_right.policy_dir)
    assert manifest.base_policy and manifest.base_policy["id"] == read_manifest(cartpole.policy_dir).id
    assert manifest.reward.source == get_reference("cartpole_hold_right").code
    assert "position" in manifest.reward.terms
    # The first evaluation scores the base policy under the new reward (the fine-tune baseline).
    assert manifest.metrics[0]["step"] == 0
    # The pole stays up over the episode the policy was trained on (no collapse shipped).
    steps = int(manifest.config["episode_length"])
    assert _rollout(hold_right.policy_dir, steps=steps)["upright"] > 0.9


@pytest.mark.heavy
@pytest.mark.skipif(not rewards_available(), reason="needs tabrl.rewards (issue 3)")
def test_finetune_with_hold_right_reward_moves_the_cart_right(
    cartpole: TrainResult, hold_right: TrainResult
) -> None:
    steps = int(read_manifest(hold_right.policy_dir).config["episode_length"])
    before, after = _rollout(cartpole.policy_dir, steps=steps), _rollout(hold_right.policy_dir, steps=steps)
    # The reward asks for the cart 1 m right of centre with the pole up. Measured on three bases (seeds
    # 0-2) over the trained episode: mean x 0.17 -> 0.82, -0.28 -> 0.44, -0.05 -> 0.87 m, upright 0.999.
    # Without the value warm-up the evaluation under the new reward fell (1303 -> 472) and the shipped
    # policy moved the cart +0.05..+0.87 m depending on the base.
    assert after["mean_x"] > before["mean_x"] + 0.3, (before, after)
    assert after["upright"] > 0.9, after


def _cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tabrl.cli import main; sys.argv = ['tabrl', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def test_cli_train_json_then_export_onnx(tmp_path: Path) -> None:
    out = tmp_path / "cp"
    proc = _cli("train", "--scene", SCENE, "--out", str(out), "--json", "--steps", "20480", "--set", "num_evals=1",
                "--set", "num_eval_envs=8")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [line["event"] for line in lines[:-1]][:2] == ["started", "compiling"]
    result = lines[-1]
    assert set(result) >= {"policy_dir", "eval_reward", "steps", "wall_s"}
    # Brax trains whole PPO updates: the steps asked for, rounded up to one update of the preset.
    assert result["steps"] == max(20480, preset_for(SCENE, "cpu").steps_per_update)
    assert Path(result["policy_dir"]).is_dir()

    onnx_path = tmp_path / "cp.onnx"
    proc = _cli("export-onnx", result["policy_dir"], "--out", str(onnx_path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["action_size"] == 1 and onnx_path.stat().st_size > 0


def test_cli_bad_override_is_one_line_error(tmp_path: Path) -> None:
    proc = _cli("train", "--scene", SCENE, "--out", str(tmp_path / "x"), "--set", "num_envz=3", timeout=120)
    assert proc.returncode == 1
    assert "Did you mean: num_envs" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.heavy
def test_go1_joystick_runs_end_to_end_on_cpu(tmp_path: Path) -> None:
    """Go1 on CPU: tiny budget, real pipeline (compile, PPO update, evaluation, policy, ONNX)."""
    out = tmp_path / "go1"
    proc = _cli("train", "--scene", "Go1JoystickFlatTerrain", "--out", str(out), "--json", "--steps", "2560",
                "--set", "num_envs=32", "--set", "batch_size=32", "--set", "num_minibatches=4",
                "--set", "unroll_length=20", "--set", "num_evals=1", "--set", "num_eval_envs=2",
                "--set", "eval_episode_length=100")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    started = lines[0]
    assert started["event"] == "started" and started["eta_s"] > 0 and "steps/s" in started["message"]
    result = lines[-1]
    assert result["steps"] >= 2560
    manifest = read_manifest(result["policy_dir"])
    assert manifest.observation_is_dict and manifest.network.value_obs_key == "privileged_state"
    policy = load_policy(result["policy_dir"])
    assert policy(np.zeros(manifest.observation_size)).shape == (12,)
    export_onnx(result["policy_dir"], tmp_path / "go1.onnx")


SWING_UP_CHECK = """
def measure(s):
    return {"upright": s.body_upright("pole_1") > 0.9}


GOALS = {"upright": ">= 0.6"}
SETTLE_S = 3.0
"""


@pytest.mark.heavy
def test_a_swing_up_learns_under_the_classic_cpu_preset(tmp_path: Path) -> None:
    # The preset the CLI and the web UI use on a CPU (standard steps), stopped once it evaluates at 800.
    # Measured (bench/README.md): upright 100 % after the swing-up; Playground's settings shrunk to two
    # cores left it at 23 %. The check rolls out at the policy's own control rate (actions held twice).
    from tabrl.training.behaviour import evaluate_check

    cfg = preset_for("CartpoleSwingup", "cpu").replace(stop_at_reward=800.0)
    assert cfg.action_repeat == 2
    result = run_training(TrainRequest("CartpoleSwingup", tmp_path / "run", config=cfg))
    manifest = read_manifest(result.policy_dir)
    assert manifest.action_repeat == 2
    verdict = evaluate_check(result.policy_dir, SWING_UP_CHECK)
    assert verdict.passed, (verdict.figure, result.metrics)
