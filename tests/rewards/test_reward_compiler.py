"""Reference rewards compile; results, weights, timings and the API reference page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tabrl.rewards import API_REFERENCE, RewardCompileError, check_reward, compile_reward
from tabrl.rewards.reference import get_reference, list_reference

REPO = Path(__file__).resolve().parents[2]
HEAVY_SCENES = {"Go1JoystickFlatTerrain", "unitree_go1"}
LIGHT = [r for r in list_reference() if r.scene_id not in HEAVY_SCENES]
GO1 = [r for r in list_reference() if r.scene_id in HEAVY_SCENES]


def test_there_are_enough_reference_rewards() -> None:
    refs = list_reference()
    assert len(refs) >= 10
    assert len({r.name for r in refs}) == len(refs)
    assert {
        "Go1JoystickFlatTerrain",
        "unitree_go1",
        "CartpoleBalance",
        "PendulumSwingup",
        "CheetahRun",
        "ReacherEasy",
    } <= {r.scene_id for r in refs}
    assert "s.phase(" in get_reference("go1_hula").code
    for r in refs:
        assert r.description and r.path.is_file() and "def compute_reward(s, action):" in r.code


@pytest.mark.parametrize("ref", LIGHT, ids=[r.name for r in LIGHT])
def test_light_reference_rewards_compile(ref) -> None:
    from tabrl.rewards.compiler import scene_context

    scene_context(ref.scene_id)  # scene loading is paid once per process, not per check
    result = check_reward(ref.code, ref.scene_id)
    assert result.valid, result.errors
    assert len(result.terms) >= 2
    assert result.duration_s < 5.0, f"{ref.name}: {result.duration_s:.1f}s"
    # The reward also plugs into the environment's physics step (traced, not compiled).
    with_env = check_reward(ref.code, ref.scene_id, env_check=True)
    assert with_env.valid, with_env.errors


@pytest.mark.parametrize("ref", GO1, ids=[r.name for r in GO1])
def test_go1_reference_rewards_compile(ref) -> None:
    # The reward on Go1's real MJX data; the environment step is traced in the heavy test.
    result = check_reward(ref.code, ref.scene_id)
    assert result.valid, result.errors


@pytest.mark.heavy
@pytest.mark.parametrize("ref", GO1, ids=[r.name for r in GO1])
def test_go1_reference_rewards_compile_with_the_env(ref) -> None:
    result = check_reward(ref.code, ref.scene_id, env_check=True)
    assert result.valid, result.errors


def test_compile_reward_raises_with_every_error() -> None:
    code = 'import os\n\ndef compute_reward(s, action):\n    return {"x": s._data}\n'
    with pytest.raises(RewardCompileError) as info:
        compile_reward(code, "CartpoleBalance")
    assert [e.line for e in info.value.errors] == [1, 4]
    assert "line 1" in str(info.value)


def test_weights_and_retuning() -> None:
    compiled = compile_reward(get_reference("cartpole_drift_right").code, "CartpoleBalance")
    assert compiled.terms == ("drift", "small_control", "upright")
    assert compiled.weights == {"drift": 0.5, "small_control": 0.1, "upright": 1.0}
    retuned = compiled.with_weights({"drift": 3.0})
    assert retuned.weights["drift"] == 3.0 and compiled.weights["drift"] == 0.5
    with pytest.raises(RewardCompileError, match="unknown terms"):
        compiled.with_weights({"speed": 1.0})


def test_check_result_json_shape() -> None:
    result = check_reward(get_reference("pendulum_swingup").code, "PendulumSwingup", env_check=False)
    doc = result.to_dict()
    assert (
        doc["valid"] is True and doc["errors"] == [] and doc["terms"] == ["calm_at_top", "effort", "upright"]
    )
    bad = check_reward(
        "def compute_reward(s, action):\n    return {'x': s.body_pos('pole')}\n",
        "PendulumSwingup",
        env_check=False,
    )
    assert bad.to_dict()["errors"][0]["line"] == 2
    assert "jnp.sum" in bad.feedback()


def test_repeated_checks_are_fast() -> None:
    from tabrl.rewards.compiler import scene_context

    scene_context("CartpoleBalance")
    code = get_reference("cartpole_drift_right").code
    start = time.perf_counter()
    for i in range(3):
        assert check_reward(code + f"\n# variant {i}\n", "CartpoleBalance", env_check=False).valid
    assert (time.perf_counter() - start) / 3 < 5.0


def test_api_reference_is_the_package_page() -> None:
    page = REPO / "src" / "tabrl" / "rewards" / "reward_api.md"
    assert page.read_text(encoding="utf-8") == API_REFERENCE
    assert "src/tabrl/rewards/reward_api.md" in (REPO / "docs" / "reward-api.md").read_text(encoding="utf-8")
    for name in (
        "compute_reward",
        "is_terminated",
        "WEIGHTS",
        "s.phase(freq_hz)",
        "tolerance(",
        "s.foot_contact",
    ):
        assert name in API_REFERENCE
    from tabrl.rewards.state import STATE_API

    for name in STATE_API:
        assert f"s.{name}" in API_REFERENCE, name


# --- magnitudes and the trace / compile budget (issue 14, points 2 and 8) ----------------------------

OVERFLOW_AFTER_1S = """
def compute_reward(s, action):
    late = s.time > 1.0
    return {"a": jnp.where(late, 3e38, 0.0), "b": jnp.where(late, 3e38, 0.0)}
"""

HUGE_TERM = """
def compute_reward(s, action):
    return {"big": 1e30 * (1.0 + s.joint_angle("slider") ** 2)}
"""


@pytest.mark.parametrize("code", [OVERFLOW_AFTER_1S, HUGE_TERM], ids=["sum_overflows_after_1s", "huge_term"])
def test_absurd_magnitudes_are_refused_with_a_fix(code: str) -> None:
    res = check_reward(code, "CartpoleBalance")
    assert not res.valid
    message = " ".join(e.message for e in res.errors)
    assert "over the limit" in message and "jnp.clip" in message, message
    assert all(e.line is not None for e in res.errors)


def test_long_operation_chain_is_refused_quickly() -> None:
    code = """
def compute_reward(s, action):
    x = s.time
    for _ in range(100):
        for _ in range(160):
            x = jnp.sin(x)
    return {"x": x}
"""
    start = time.perf_counter()
    res = check_reward(code, "CartpoleBalance")
    assert not res.valid and "operations" in res.errors[0].message
    assert time.perf_counter() - start < 20


def test_chained_large_matmuls_are_refused_without_compiling() -> None:
    code = """
def compute_reward(s, action):
    m = jnp.ones((1000, 1000)) * s.time
    for _ in range(100):
        m = m @ m
    return {"x": jnp.sum(m)}
"""
    start = time.perf_counter()
    res = check_reward(code, "CartpoleBalance")
    assert not res.valid and "arithmetic operations" in res.errors[0].message, res.errors
    assert time.perf_counter() - start < 10
