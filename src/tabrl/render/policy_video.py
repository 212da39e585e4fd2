"""Videos of a trained policy: a deterministic MJX rollout from a fixed seed, rendered on the host.

All policies of a batch share the scene and the seed, so their videos start from the same
state and can be played side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tabrl.render.video import DEFAULT_SIZE, encode_mp4, render_trajectory

MAX_FPS = 30


def rollout_qpos(policy_dir: Path | str, seconds: float, seed: int = 0) -> tuple[object, np.ndarray, float]:
    """(mj_model, qpos per control step, control dt) of the policy acting deterministically."""
    import jax

    from tabrl.policies import load_policy, read_manifest
    from tabrl.runtime import configure_jax
    from tabrl.training.envs import make_training_env

    configure_jax()
    manifest = read_manifest(policy_dir)
    tenv = make_training_env(manifest.scene_id, manifest.reward.source, manifest.reward.name)
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


def render_policy_video(
    policy_dir: Path | str,
    out: Path,
    *,
    seconds: float = 10.0,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> Path:
    """Roll the policy out for `seconds` and write an H.264 MP4 to `out`."""
    model, qpos, dt = rollout_qpos(policy_dir, seconds, seed)
    stride = max(1, round((1.0 / dt) / MAX_FPS))
    fps = max(1, round(1.0 / (dt * stride)))
    return encode_mp4(render_trajectory(model, qpos[::stride], size=size), out, fps=fps)
