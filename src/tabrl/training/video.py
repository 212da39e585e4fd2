"""Videos of a trained policy: a deterministic rollout from a fixed seed, rendered on the host.

The rollout runs on the backend the policy was trained on: a jitted MJX scan, or MuJoCo C.

All policies of a batch share the scene and the seed, so their videos start from the same
state and can be played side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tabrl.render.store import VIDEO_SECONDS
from tabrl.render.video import DEFAULT_SIZE, encode_mp4, render_trajectory

MAX_FPS = 30


def rollout_qpos(policy_dir: Path | str, seconds: float, seed: int = 0) -> tuple[object, np.ndarray, float]:
    """(mj_model, qpos per control step, control dt) of the policy acting deterministically."""
    import jax

    from tabrl.policies import load_policy, read_manifest
    from tabrl.runtime import configure_jax
    from tabrl.training.envs import mjx_policy_env

    configure_jax()
    manifest = read_manifest(policy_dir)
    if manifest.backend == "mujoco":
        return _rollout_qpos_mujoco(manifest, load_policy(policy_dir), seconds, seed)
    tenv = mjx_policy_env(manifest)
    env, policy = tenv.env, load_policy(policy_dir)
    key = manifest.network.policy_obs_key
    steps = max(1, round(seconds / float(env.dt)))

    def act(obs: object) -> jax.Array:
        return policy(obs[key] if isinstance(obs, dict) else obs)

    @jax.jit
    def run(rng: jax.Array) -> jax.Array:
        state = env.reset(rng)

        def body(s, _):
            s = env.step(s, act(s.obs))
            return s, s.data.qpos

        _, qpos = jax.lax.scan(body, state, None, length=steps)
        return jax.numpy.concatenate([state.data.qpos[None], qpos])

    qpos = np.asarray(run(jax.random.PRNGKey(seed)))
    return tenv.mj_model, qpos, float(env.dt)


def _rollout_qpos_mujoco(
    manifest: object, policy: object, seconds: float, seed: int
) -> tuple[object, np.ndarray, float]:
    """The same rollout on MuJoCo C, for policies trained on the mujoco backend (no compile to wait for)."""
    from tabrl.training.backends.mujoco import policy_env

    env = policy_env(manifest, num_envs=1, seed=seed, for_video=True)
    steps = max(1, round(seconds / env.dt))
    obs = env.reset()
    frames = [env.qpos()[0]]
    for _ in range(steps):
        obs = env.step(policy.numpy(obs)).obs  # type: ignore[attr-defined]
        frames.append(env.qpos()[0])
    return env.mj_model, np.stack(frames), env.dt


def render_policy_video(
    policy_dir: Path | str,
    out: Path,
    *,
    seconds: float = VIDEO_SECONDS,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> Path:
    """Roll the policy out for `seconds` and write an H.264 MP4 to `out`."""
    model, qpos, dt = rollout_qpos(policy_dir, seconds, seed)
    stride = max(1, round((1.0 / dt) / MAX_FPS))
    fps = max(1, round(1.0 / (dt * stride)))
    return encode_mp4(render_trajectory(model, qpos[::stride], size=size), out, fps=fps)
