"""Every listed scene loads and steps with finite state.

Two tiers of smoke test:

* `test_scene_steps_on_mujoco` (every listed scene with a Menagerie robot, default tier, well under a second each): the
  scene's `MjModel` takes a few hundred `mj_step`s under random controls and its thumbnail renders.
* `test_scene_resets_and_steps` (MJX: reset and one zero-action step, jitted as one program): the DeepMind Control
  tasks and the Go1 / G1 / Menagerie Go1 scenes (contact-rich ones in the heavy tier), plus one
  task for five of the robots the asset wheels added (heavy tier: 17-67 s of MJX compile each on a
  CPU; all twelve with TABRL_SMOKE_ALL_ROBOTS=1).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tabrl.runtime import configure_jax
from tabrl.scenes import list_specs, load_scene

configure_jax()

#: Contact-rich robots: MJX compile alone takes 20-60 s on a CPU.
HEAVY_PREFIXES = ("Go1", "G1", "Humanoid", "unitree_")


#: Robots whose MJX path is tested on every one of their scenes (they were here before the wheels).
MJX_ALL_ROBOTS = frozenset({"unitree_go1", "unitree_g1"})

#: MJX path of the robots only the asset wheels ship, one task per robot, heavy tier. Seconds of
#: jit reset + step measured on 2 shared CPU cores (TABRL_HEAVY=1, 12 tasks in 436 s in all). CI runs
#: the five cheapest distinct kinds (quadruped, humanoid, arm, bimanual, hand: ~2 min); the rest
#: run with TABRL_SMOKE_ALL_ROBOTS=1.
MJX_WHEEL_TASKS_CI = (
    "BarkourJoystick",  # 32 s
    "H1JoystickGaitTracking",  # 22 s
    "PandaPickCube",  # 20 s
    "AlohaHandOver",  # 17 s
    "LeapCubeReorient",  # 28 s
)
MJX_WHEEL_TASKS_MORE = (
    "SpotGetup",  # 43 s
    "T1JoystickFlatTerrain",  # 52 s
    "Op3Joystick",  # 40 s
    "ApolloJoystickFlatTerrain",  # 67 s
    "BerkeleyHumanoidJoystickFlatTerrain",  # 38 s
    "PandaRobotiqPushCube",  # 49 s
    "AeroCubeRotateZAxis",  # 27 s
)
MJX_ONE_PER_WHEEL_ROBOT = MJX_WHEEL_TASKS_CI + (
    MJX_WHEEL_TASKS_MORE if os.environ.get("TABRL_SMOKE_ALL_ROBOTS") == "1" else ()
)


def _mjx_tested(spec) -> bool:
    if spec.id in MJX_ONE_PER_WHEEL_ROBOT:
        return True
    if spec.source == "menagerie":
        return spec.target == "unitree_go1"
    return set(spec.requires) <= MJX_ALL_ROBOTS


def _params() -> list:
    out = []
    for spec in list_specs():
        if not _mjx_tested(spec):
            continue
        heavy = spec.id.startswith(HEAVY_PREFIXES) or spec.id in MJX_ONE_PER_WHEEL_ROBOT
        marks = [pytest.mark.heavy] if heavy else []
        out.append(pytest.param(spec.id, marks=marks, id=spec.id))
    return out


def _mujoco_params() -> list:
    # Every scene that needs a Menagerie robot (the DeepMind Control tasks have their MJX test).
    return [pytest.param(spec.id, id=spec.id) for spec in list_specs() if spec.requires]


def _finite(tree) -> bool:
    leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(tree) if hasattr(x, "dtype")]
    return all(np.isfinite(x).all() for x in leaves if np.issubdtype(x.dtype, np.floating))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scene_id", _params())
def test_scene_resets_and_steps(scene_id: str) -> None:
    scene = load_scene(scene_id)
    if scene.env is not None:
        env = scene.env
    else:
        # Menagerie / MJCF scenes train through TabRL's own environment (which makes the model
        # MJX-ready, e.g. pyramidal friction cones): smoke-test that.
        from tabrl.rewards import make_env

        env = make_env(scene)
    # Reset and one zero-action step in one compiled program: compiling them apart cost ~40 % more
    # (CheetahRun 17 -> 12 s, Go1 17 -> 12 s on 2 cores), over ~40 scenes of CI.
    nxt = jax.jit(lambda key: env.step(env.reset(key), jnp.zeros(env.action_size)))(jax.random.PRNGKey(0))
    assert _finite(nxt.data.qpos) and _finite(nxt.data.qvel) and _finite(nxt.obs)
    assert np.isfinite(float(nxt.reward)) and nxt.data.qpos.shape == (scene.mj_model.nq,)
    if scene.env is None:
        assert nxt.obs.shape == (env.observation_size,)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scene_id", _mujoco_params())
def test_scene_steps_on_mujoco(scene_id: str) -> None:
    """The cheap path: compile, 300 physics steps under random controls, a thumbnail."""
    import mujoco

    from tabrl.render.frames import posed, render_frame, renderer, tracking_camera
    from tabrl.scenes.cards import reference_qpos

    model = load_scene(scene_id).mj_model
    data = mujoco.MjData(model)
    data.qpos[:] = reference_qpos(model)
    rng = np.random.default_rng(0)
    limited = model.actuator_ctrllimited.astype(bool)
    low = np.where(limited, model.actuator_ctrlrange[:, 0], -1.0)
    high = np.where(limited, model.actuator_ctrlrange[:, 1], 1.0)
    for _ in range(300):
        data.ctrl[:] = rng.uniform(low, high)
        mujoco.mj_step(model, data)
    assert np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()
    # What `thumbnails.render_thumbnail` does, on the model already loaded.
    pose = posed(model, reference_qpos(model))
    with renderer(model, 64, 48) as r:
        pixels = render_frame(r, pose, tracking_camera(model, pose))
    assert pixels.shape == (48, 64, 3) and pixels.std() > 0
