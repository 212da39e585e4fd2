"""Teach a joystick policy its own mirror image for clockwise yaw commands (a base-recipe stage).

Kept apart from `tabrl.training.symmetry` (the mirror maps), which the mujoco backend imports:
this needs the backend's `policy_env`, so living there would make the two import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tabrl.errors import TabRLError
from tabrl.training.symmetry import mirror_maps


def mirror_distill(
    teacher_dir: Path,
    out_dir: Path,
    *,
    steps: int,
    num_envs: int = 256,
    horizon: int = 50,
    epochs: int = 4,
    minibatch: int = 1024,
    learning_rate: float = 3e-4,
    seed: int = 0,
    on_progress: Callable[[int, float], None] | None = None,
) -> Path:
    """Teach a joystick policy the mirror image of what it does for one turning direction.

    The teacher is the policy for yaw commands >= 0 and its own mirror image for yaw commands < 0
    (a clockwise turn is a counter-clockwise turn seen in the mirror). The student starts as the
    teacher and learns the teacher's mean action (DAgger: on the states the student itself visits,
    random commands as in training), so nothing it can do is forgotten. Measured on the Go1: a PPO
    mirror loss (Yu et al. 2018) on the same policy unlearned walking backwards and sideways within
    0.7 M steps (symmetry_cost 0.2) before it could relearn them; this keeps them. `steps`: simulated
    control steps to learn from. Writes a policy folder (same format, same manifest) at `out_dir`.
    """
    import dataclasses

    import jax
    import jax.numpy as jnp
    import optax
    from brax.training.acme import running_statistics

    from tabrl.policies.store import load_params, save_policy
    from tabrl.training.backends.mujoco import policy_env
    from tabrl.training.config import TrainConfig
    from tabrl.training.networks import network_factory

    manifest, (normalizer, teacher, value) = load_params(teacher_dir)
    config = TrainConfig.from_dict(
        {k: v for k, v in manifest.config.items() if k in TrainConfig.__dataclass_fields__}
    )
    env = policy_env(manifest, num_envs=num_envs, seed=seed, episode_length=config.episode_length)
    if not env.conventions.commands:
        raise TabRLError(f"policy {manifest.id} does not follow velocity commands: nothing to mirror")
    maps = mirror_maps(env.conventions)
    yaw = _yaw_index(env.conventions.layout)
    net = network_factory(config)(
        env.observation_size, env.action_size, preprocess_observations_fn=running_statistics.normalize
    )
    size = env.action_size

    def loc(policy: Any, obs: Any) -> Any:
        return net.policy_network.apply(normalizer, policy, obs)[..., :size]

    @jax.jit
    def targets(obs: Any) -> Any:
        mirrored = maps.mirror_action(loc(teacher, maps.mirror_obs(obs)))
        return jnp.where(obs[..., yaw : yaw + 1] < 0.0, mirrored, loc(teacher, obs))

    optimizer = optax.adam(learning_rate)

    @jax.jit
    def update(policy: Any, opt_state: Any, obs: Any, target: Any) -> Any:
        def loss_fn(p: Any) -> Any:
            return jnp.mean(jnp.sum(jnp.square(loc(p, obs) - target), axis=-1))

        loss, grads = jax.value_and_grad(loss_fn)(policy)
        updates, opt_state = optimizer.update(grads, opt_state, policy)
        return optax.apply_updates(policy, updates), opt_state, loss

    act = jax.jit(lambda p, obs: jnp.tanh(loc(p, obs)))
    student, opt_state = teacher, optimizer.init(teacher)
    rng = np.random.default_rng(seed)
    obs, done_steps = env.reset(), 0
    while done_steps < steps:
        batch = []
        for _ in range(horizon):
            batch.append(obs)
            obs = env.step(np.asarray(act(student, obs))).obs
        done_steps += horizon * num_envs
        data = np.concatenate(batch)
        labels = np.asarray(targets(data))
        losses = []
        for _ in range(epochs):
            order = rng.permutation(len(data))
            for start in range(0, len(data) - minibatch + 1, minibatch):
                rows = order[start : start + minibatch]
                student, opt_state, loss = update(student, opt_state, data[rows], labels[rows])
                losses.append(float(loss))
        if on_progress is not None:
            on_progress(done_steps, float(np.mean(losses)))
    # The stage's own steps and no curve: the recipe joins stages' curves (there is no reward here).
    out = dataclasses.replace(manifest, steps=done_steps, metrics=[], kind="final")
    return save_policy(out_dir, out, (normalizer, student, value))


def _yaw_index(layout: Any) -> int:
    """Position of the command's yaw rate in the observation."""
    start = 0
    for seg in layout:
        if seg.name == "command":
            return start + 2
        start += seg.size
    raise TabRLError("the observation has no velocity command")


__all__ = ["mirror_distill"]
