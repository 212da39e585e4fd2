"""Command programs (level 1): `command(t)` checked by the reward sandbox, and the `schedule` kernel."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tabrl.rewards.commands import (
    CHECK_SECONDS,
    STAND_STILL,
    CommandProgram,
    check_commands,
    compile_commands,
)
from tabrl.rewards.kernels import schedule
from tabrl.rewards.result import RewardCompileError

GO1_RANGE = (1.0, 0.5, 1.0)

SQUARE = """def command(t):
    # 2 s forward, then turn for pi/2 s, twice; then stand still
    return schedule(t, [(2.0, (0.6, 0.0, 0.0)), (pi / 2, (0.0, 0.0, 1.0))] * 2)
"""

SMOOTH = """def command(t):
    side = jnp.where(t < 3.0, 0.25, -0.25)
    return (0.5 + 0.1 * jnp.sin(t), side, 0.0)
"""


def _first_error(code: str, command_range=None):
    result = check_commands(code, command_range)
    assert not result.valid and result.errors, result
    return result.errors[0]


# --- valid programs ------------------------------------------------------------------------------


def test_valid_program_values_follow_the_code() -> None:
    program = compile_commands(SMOOTH)
    assert isinstance(program, CommandProgram) and program.code == SMOOTH
    t = np.array([0.0, 1.0, 2.5, 3.0, 10.0], np.float32)
    values = program(t)
    assert values.shape == (5, 3) and values.dtype == np.float32
    np.testing.assert_allclose(values[:, 0], 0.5 + 0.1 * np.sin(t), atol=1e-6)
    np.testing.assert_array_equal(values[:, 1], [0.25, 0.25, 0.25, -0.25, -0.25])
    np.testing.assert_array_equal(values[:, 2], 0.0)
    # Any shape of times: the commands get a trailing axis of 3; a scalar gives (3,).
    assert program(np.zeros((2, 4))).shape == (2, 4, 3)
    np.testing.assert_allclose(program(1.0), values[1], atol=1e-6)


def test_schedule_program_and_sample() -> None:
    program = compile_commands(SQUARE)
    dt = 0.5
    rows = program.sample(10.0, dt)
    assert rows.shape == (20, 3)
    times = np.arange(20) * dt
    expected = np.zeros((20, 3), np.float32)
    turn1 = 2.0 + np.pi / 2
    for i, t in enumerate(times):
        if t < 2.0 or turn1 <= t < turn1 + 2.0:
            expected[i] = (0.6, 0.0, 0.0)
        elif t < turn1 or turn1 + 2.0 <= t < 2 * turn1:
            expected[i] = (0.0, 0.0, 1.0)
    np.testing.assert_allclose(rows, expected, atol=1e-6)
    # After the schedule ends the robot stands still.
    np.testing.assert_array_equal(program(np.array([2 * turn1 + 0.01, 59.0])), 0.0)
    # At least one step, however short the preview.
    assert program.sample(0.01, 0.1).shape == (1, 3)


def test_stand_still_is_zero_everywhere() -> None:
    result = check_commands(STAND_STILL, GO1_RANGE)
    assert result.valid and result.errors == [] and result.warnings == []
    rows = compile_commands(STAND_STILL, GO1_RANGE).sample(CHECK_SECONDS, 0.02)
    assert rows.shape == (3000, 3)
    np.testing.assert_array_equal(rows, 0.0)


def test_check_result_to_dict_is_json() -> None:
    good = check_commands(SQUARE, GO1_RANGE).to_dict()
    assert good == {"valid": True, "errors": [], "warnings": []}
    bad = check_commands(
        "def command(t):\n    if t < 1:\n        return (1.0, 0.0, 0.0)\n    return (0, 0, 0)\n"
    )
    data = json.loads(json.dumps(bad.to_dict()))
    assert data["valid"] is False and data["errors"][0]["line"] == 2 and data["errors"][0]["message"]


# --- errors, with their lines --------------------------------------------------------------------


def test_python_if_on_t_points_at_the_line_and_says_jnp_where() -> None:
    code = (
        "def command(t):\n"
        "    x = 0.5\n"
        "    if t < 3.0:\n"
        "        return (x, 0.0, 0.0)\n"
        "    return (0.0, 0.0, 1.0)\n"
    )
    err = _first_error(code)
    assert err.line == 3
    assert "jnp.where" in err.message
    with pytest.raises(RewardCompileError) as info:
        compile_commands(code)
    assert info.value.errors[0].line == 3 and "jnp.where" in str(info.value)


def test_non_finite_commands_are_refused_with_the_time() -> None:
    # log(5 - t): finite before 5 s, -inf at 5 s, NaN after.
    code = "# drifts\ndef command(t):\n    return (jnp.log(5.0 - t), 0.0, 0.0)\n"
    err = _first_error(code)
    assert "not finite" in err.message and "5.00" in err.message
    assert err.line == 2  # the line of `def command`
    # Infinite from the start.
    err = _first_error("def command(t):\n    return (1.0 / (t - t), 0.0, 0.0)\n")
    assert "not finite" in err.message and "t = 0.00" in err.message
    with pytest.raises(RewardCompileError, match="not finite"):
        compile_commands(code)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("return (1.0, 0.0)", "3 numbers"),
        ("return (1.0, 0.0, 0.0, 0.0)", "3 numbers"),
        ("return jnp.zeros(4)", "shape (4,)"),
        ("return jnp.zeros((3, 2))", "shape (3, 2)"),
        ("return 1.0", "shape ()"),
    ],
)
def test_wrong_return_arity_or_shape_is_an_error(body: str, needle: str) -> None:
    err = _first_error(f"def command(t):\n    {body}\n")
    assert needle in err.message and "command(t)" in err.message
    with pytest.raises(RewardCompileError):
        compile_commands(f"def command(t):\n    {body}\n")


def test_import_is_refused_at_its_line() -> None:
    err = _first_error("def command(t):\n    return (0.0, 0.0, 0.0)\nimport os\n")
    assert err.line == 3 and "import" in err.message.lower()


def test_missing_command_function_is_explained() -> None:
    err = _first_error("def cmd(t):\n    return (0.0, 0.0, 0.0)\n")
    assert "def command(t)" in err.message and "cmd" in err.message
    err = _first_error("X = 1.0\n")
    assert "def command(t)" in err.message


def test_command_takes_exactly_the_time() -> None:
    err = _first_error("def command(t, speed):\n    return (speed, 0.0, 0.0)\n")
    assert err.line == 1 and "exactly one argument" in err.message


def test_reward_state_is_not_available_in_a_program() -> None:
    err = _first_error("def command(t):\n    return (s.time, 0.0, 0.0)\n")
    assert err.line == 2 and "unknown name `s`" in err.message


def test_syntax_error_has_a_line() -> None:
    err = _first_error("def command(t):\n    return (1.0, 0.0, 0.0\n")
    assert err.line is not None and err.line >= 2


def test_schedule_misuse_is_reported_while_running() -> None:
    err = _first_error("def command(t):\n    x = 1\n    return schedule(t, [(0.0, (1.0, 0.0, 0.0))])\n")
    assert err.line == 3 and "durations must be > 0" in err.message


# --- clipping to a base policy's range -----------------------------------------------------------


def test_clipping_warns_per_axis_and_clips_values() -> None:
    code = "def command(t):\n    return (2.0, -1.0 * jnp.sin(t), 0.5 * jnp.sin(t))\n"
    result = check_commands(code, GO1_RANGE)
    assert result.valid and result.errors == []
    assert len(result.warnings) == 2, result.warnings
    forward, sideways = result.warnings
    assert "forward" in forward and "2.00" in forward and "clipped" in forward
    assert "sideways" in sideways and "1.00" in sideways and "0.5" in sideways
    program = compile_commands(code, GO1_RANGE)
    t = np.linspace(0.0, 10.0, 101, dtype=np.float32)
    values = program(t)
    np.testing.assert_array_equal(values[:, 0], 1.0)
    assert values[:, 1].min() == pytest.approx(-0.5) and values[:, 1].max() == pytest.approx(0.5)
    np.testing.assert_allclose(values[:, 1], np.clip(-np.sin(t), -0.5, 0.5), atol=1e-6)
    np.testing.assert_allclose(values[:, 2], 0.5 * np.sin(t), atol=1e-6)  # within range: untouched
    # Without a range: no warning, no clipping.
    free = check_commands(code)
    assert free.valid and free.warnings == []
    np.testing.assert_array_equal(compile_commands(code)(t)[:, 0], 2.0)


def test_program_within_range_has_no_warning() -> None:
    code = "def command(t):\n    return (1.0, -0.5, jnp.cos(t))\n"
    assert check_commands(code, GO1_RANGE).warnings == []


# --- the schedule kernel -------------------------------------------------------------------------

SEGMENTS = [(1.0, (1.0, 0.0, 0.0)), (2.0, (0.0, 0.0, 1.0))]


def test_schedule_values_by_time_and_zero_after_the_end() -> None:
    t = jnp.array([0.0, 0.5, 0.999, 1.0, 2.9, 3.0, 3.5, 100.0])
    out = np.asarray(schedule(t, SEGMENTS))
    expected = [(1, 0, 0)] * 3 + [(0, 0, 1)] * 2 + [(0, 0, 0)] * 3
    np.testing.assert_array_equal(out, np.asarray(expected, np.float32))
    # A scalar time gives one value.
    np.testing.assert_array_equal(np.asarray(schedule(1.5, SEGMENTS)), [0.0, 0.0, 1.0])


def test_schedule_loops() -> None:
    t = jnp.array([3.5, 4.2, 6.5, 7.0, 300.5])
    out = np.asarray(schedule(t, SEGMENTS, loop=True))
    # 3.5 -> 0.5 (first), 4.2 -> 1.2 (second), 6.5 -> 0.5 (first), 7.0 -> 1.0 (second), 300.5 -> 0.5
    expected = [(1, 0, 0), (0, 0, 1), (1, 0, 0), (0, 0, 1), (1, 0, 0)]
    np.testing.assert_allclose(out, np.asarray(expected, np.float32))


def test_schedule_scalar_values_and_jit() -> None:
    segs = [(0.5, 2.0), (0.5, -3.0)]
    f = jax.jit(jax.vmap(lambda t: schedule(t, segs, loop=True)))
    out = np.asarray(f(jnp.array([0.1, 0.6, 1.1, 1.7])))
    np.testing.assert_array_equal(out, [2.0, -3.0, 2.0, -3.0])


@pytest.mark.parametrize(
    ("segments", "needle"),
    [
        ([], "non-empty list"),
        ("fast", "non-empty list"),
        ([(1.0, (1.0, 0.0, 0.0), "x")], "pair"),
        ([1.0], "pair"),
        ([(0.0, (1.0, 0.0, 0.0))], "> 0"),
        ([(-1.0, (1.0, 0.0, 0.0))], "> 0"),
        ([(1.0, (1.0, 0.0, 0.0)), (1.0, (1.0, 0.0))], "same shape"),
        ([("soon", (1.0, 0.0, 0.0))], "plain number"),
    ],
)
def test_schedule_bad_input(segments, needle: str) -> None:
    with pytest.raises(ValueError, match="schedule") as info:
        schedule(0.5, segments)
    assert needle in str(info.value)


def test_schedule_duration_must_not_be_traced() -> None:
    # Durations shape the table: a value computed from the traced time is refused, not silently used.
    with pytest.raises(ValueError, match="plain number"):
        jax.jit(lambda t: schedule(t, [(t, 1.0)]))(jnp.float32(1.0))
