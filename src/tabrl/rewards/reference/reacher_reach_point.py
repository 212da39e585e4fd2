# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Reacher: bring the fingertip to the fixed point (x=0.12, y=-0.08) and hold it there."""

POINT = [0.12, -0.08]


def compute_reward(s, action):
    tip = s.geom_pos("finger")[:2]
    distance = jnp.linalg.norm(tip - jnp.array(POINT))
    return {
        "reach": tolerance(distance, bounds=(0.0, 0.015), margin=0.2),
        "settle": 0.1 * exponential(jnp.linalg.norm(s.joint_vels()), 1.0),
        "effort": -0.01 * jnp.sum(jnp.square(action)),
    }
