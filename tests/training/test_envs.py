"""SharedTraceEnv: programs that vmap the env under Brax's pmap axis share one Python trace of it; same results."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mujoco_playground import wrapper

from tabrl.scenes import load_scene
from tabrl.training.envs import SharedTraceEnv
from tabrl.training.evaluation import PMAP_AXIS_NAME


class _Counting:
    """Counts how often Python runs the env's reset and step (each run is one trace)."""

    def __init__(self, env) -> None:
        self.env = env
        self.calls = {"reset": 0, "step": 0}

    def reset(self, rng):
        self.calls["reset"] += 1
        return self.env.reset(rng)

    def step(self, state, action):
        self.calls["step"] += 1
        return self.env.step(state, action)

    def __getattr__(self, name):
        return getattr(self.env, name)


def _unroll_program(env, n: int, steps: int, pmap: bool = False):
    """One program: reset `n` envs and step them; under Brax's `pmap` axis (one device) or `jit`."""
    wrapped = wrapper.wrap_for_brax_training(env, episode_length=1000)

    def unroll(key):
        state = wrapped.reset(jax.random.split(key, n))

        def body(s, _):
            return wrapped.step(s, jnp.full((n, env.action_size), 0.3)), None

        return jax.lax.scan(body, state, None, length=steps)[0]

    return _Program(jax.pmap(unroll, axis_name=PMAP_AXIS_NAME) if pmap else jax.jit(unroll), pmap)


class _Program:
    """A jitted or pmapped (one device) unroll, called and lowered with one key."""

    def __init__(self, fn, pmapped: bool) -> None:
        self.fn, self.pmapped = fn, pmapped

    def __call__(self, key):
        if self.pmapped:
            return jax.tree.map(lambda x: x[0], self.fn(key[None]))
        return self.fn(key)

    def lower(self, key) -> None:
        self.fn.lower(key[None] if self.pmapped else key)


def _lower(program: _Program, key) -> None:
    """Trace (and lower) a program, without compiling it."""
    program.lower(key)


@pytest.fixture(scope="module")
def cartpole_env():
    return load_scene("CartpoleBalance").env


def test_pmap_axis_name_is_braxs() -> None:
    from brax.training.agents.ppo import train as ppo

    # The trace sharing below rests on TabRL's programs running under Brax's pmap axis name.
    assert PMAP_AXIS_NAME == ppo._PMAP_AXIS_NAME


def test_observation_size_brax_reset_and_evaluation_share_one_trace(cartpole_env) -> None:
    counting = _Counting(cartpole_env)
    env = SharedTraceEnv(counting)
    assert env.observation_size == 5 and env.action_size == 1
    assert counting.calls == {"reset": 1, "step": 0}
    # Brax's initial reset (pmap over its wrapped, vmapped env) and two evaluation-like programs
    # with different batches: one trace of each function in all of them.
    wrapped = wrapper.wrap_for_brax_training(env, episode_length=500)
    jax.pmap(wrapped.reset, axis_name=PMAP_AXIS_NAME).lower(jax.random.split(jax.random.PRNGKey(0), 8)[None])
    _lower(_unroll_program(env, 8, 3, pmap=True), jax.random.PRNGKey(0))
    _lower(_unroll_program(env, 4, 5, pmap=True), jax.random.PRNGKey(1))
    assert counting.calls == {"reset": 1, "step": 1}

    # Without the wrapper every program traces again.
    bare = _Counting(cartpole_env)
    _lower(_unroll_program(bare, 8, 3, pmap=True), jax.random.PRNGKey(0))
    _lower(_unroll_program(bare, 4, 5, pmap=True), jax.random.PRNGKey(1))
    assert bare.calls == {"reset": 2, "step": 2}


def test_the_trace_context_is_part_of_the_key(cartpole_env) -> None:
    # Why observation_size traces under pmap: a plain jit program cannot reuse a pmap trace.
    counting = _Counting(cartpole_env)
    env = SharedTraceEnv(counting)
    _ = env.observation_size
    _lower(_unroll_program(env, 8, 3), jax.random.PRNGKey(0))
    assert counting.calls == {"reset": 2, "step": 1}


def test_results_match_the_bare_env(cartpole_env) -> None:
    key = jax.random.PRNGKey(3)
    shared = _unroll_program(SharedTraceEnv(cartpole_env), 4, 20, pmap=True)(key)
    bare = _unroll_program(cartpole_env, 4, 20)(key)
    np.testing.assert_allclose(np.asarray(shared.obs), np.asarray(bare.obs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(shared.reward), np.asarray(bare.reward), rtol=1e-5, atol=1e-6)
    for name in bare.metrics:
        np.testing.assert_allclose(
            np.asarray(shared.metrics[name]), np.asarray(bare.metrics[name]), rtol=1e-5
        )


def test_attributes_pass_through(cartpole_env) -> None:
    env = SharedTraceEnv(cartpole_env)
    assert env.mj_model is cartpole_env.mj_model
    assert env.dt == cartpole_env.dt
    assert env.unwrapped is cartpole_env
    with pytest.raises(AttributeError):
        _ = env.no_such_attribute


def test_repeated_actions_hold_each_action_for_that_many_steps(cartpole_env) -> None:
    from tabrl.training.envs import RepeatedActions

    env = RepeatedActions(cartpole_env, 2)
    assert env.dt == pytest.approx(2 * cartpole_env.dt) and env.action_size == cartpole_env.action_size
    key = jax.random.PRNGKey(1)
    action = jnp.full((cartpole_env.action_size,), 0.7)
    s0 = cartpole_env.reset(key)
    one = cartpole_env.step(s0, action)
    two = cartpole_env.step(one, action)
    held = jax.jit(env.step)(env.reset(key), action)
    np.testing.assert_allclose(np.asarray(held.data.qpos), np.asarray(two.data.qpos), rtol=1e-5, atol=1e-6)
    assert float(held.reward) == pytest.approx(float(one.reward + two.reward), rel=1e-5)


def test_a_policy_trained_with_held_actions_acts_at_its_own_rate(cartpole_env) -> None:
    # Checks, videos and the live view step `mjx_policy_env`: the control rate the policy learned.
    from types import SimpleNamespace

    from tabrl.training.envs import RepeatedActions, mjx_policy_env

    reward = SimpleNamespace(source=None, name="task")
    plain = mjx_policy_env(SimpleNamespace(scene_id="CartpoleBalance", reward=reward, action_repeat=1))
    held = mjx_policy_env(SimpleNamespace(scene_id="CartpoleBalance", reward=reward, action_repeat=3))
    assert not isinstance(plain.env, RepeatedActions)
    assert isinstance(held.env, RepeatedActions) and held.env.dt == pytest.approx(3 * plain.env.dt)
