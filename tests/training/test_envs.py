"""SharedTraceEnv: programs that vmap the env share one Python trace of it; same results as the bare env."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mujoco_playground import wrapper

from tabrl.scenes import load_scene
from tabrl.training.envs import SharedTraceEnv


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


def _unroll_program(env, n: int, steps: int):
    wrapped = wrapper.wrap_for_brax_training(env, episode_length=1000)

    def unroll(key):
        state = wrapped.reset(jax.random.split(key, n))

        def body(s, _):
            return wrapped.step(s, jnp.full((n, env.action_size), 0.3)), None

        return jax.lax.scan(body, state, None, length=steps)[0]

    return jax.jit(unroll)


@pytest.fixture(scope="module")
def cartpole_env():
    return load_scene("CartpoleBalance").env


def test_training_and_evaluation_programs_share_one_trace(cartpole_env) -> None:
    counting = _Counting(cartpole_env)
    env = SharedTraceEnv(counting)
    assert env.observation_size == 5 and env.action_size == 1
    # Brax's training batch and the evaluator's batch: two programs, one trace of each function.
    _unroll_program(env, 8, 3).lower(jax.random.PRNGKey(0))
    _unroll_program(env, 4, 5).lower(jax.random.PRNGKey(1))
    assert counting.calls == {"reset": 1, "step": 1}

    # Without the wrapper each program traces again.
    bare = _Counting(cartpole_env)
    _unroll_program(bare, 8, 3).lower(jax.random.PRNGKey(0))
    _unroll_program(bare, 4, 5).lower(jax.random.PRNGKey(1))
    assert bare.calls["step"] == 2 and bare.calls["reset"] == 2


def test_results_match_the_bare_env(cartpole_env) -> None:
    key = jax.random.PRNGKey(3)
    shared = _unroll_program(SharedTraceEnv(cartpole_env), 4, 20)(key)
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
