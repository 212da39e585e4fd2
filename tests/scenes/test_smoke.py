"""Every listed scene loads, jit-resets and takes one zero-action step with finite state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tabrl.runtime import configure_jax
from tabrl.scenes import list_specs, load_scene

configure_jax()

#: Contact-rich robots: MJX compile alone takes 20-60 s on a CPU.
HEAVY_PREFIXES = ("Go1", "G1", "Humanoid", "unitree_")


def _params() -> list:
    out = []
    for spec in list_specs():
        marks = [pytest.mark.heavy] if spec.id.startswith(HEAVY_PREFIXES) else []
        out.append(pytest.param(spec.id, marks=marks, id=spec.id))
    return out


def _finite(tree) -> bool:
    leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(tree) if hasattr(x, "dtype")]
    return all(np.isfinite(x).all() for x in leaves if np.issubdtype(x.dtype, np.floating))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scene_id", _params())
def test_scene_resets_and_steps(scene_id: str) -> None:
    scene = load_scene(scene_id)
    if scene.env is not None:
        env = scene.env
        state = jax.jit(env.reset)(jax.random.PRNGKey(0))
        nxt = jax.jit(env.step)(state, jnp.zeros(env.action_size))
        assert _finite(nxt.data.qpos) and _finite(nxt.obs) and np.isfinite(float(nxt.reward))
        assert nxt.data.qpos.shape == (scene.mj_model.nq,)
    else:
        # Menagerie / MJCF scenes train through TabRL's own environment (which makes the model
        # MJX-ready, e.g. pyramidal friction cones): smoke-test that.
        from tabrl.rewards import make_env

        env = make_env(scene)
        state = jax.jit(env.reset)(jax.random.PRNGKey(0))
        nxt = jax.jit(env.step)(state, jnp.zeros(env.action_size))
        assert _finite(nxt.data.qpos) and _finite(nxt.data.qvel) and _finite(nxt.obs)
        assert nxt.obs.shape == (env.observation_size,)
