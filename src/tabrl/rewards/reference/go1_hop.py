# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1: hop in place -- all four feet leave the ground together, trunk stays level."""

WEIGHTS = {"airborne": 2.0, "lift": 1.0, "upright": 0.5, "stay": 0.5, "smooth": 0.01}


def compute_reward(s, action):
    feet = s.feet_contact()
    vz = s.body_linvel(s.base)[2]
    return {
        "airborne": jnp.prod(1.0 - feet),
        "lift": jnp.clip(vz, 0.0, 1.5),
        "upright": s.body_upright(s.base),
        "stay": exponential(jnp.linalg.norm(s.body_linvel(s.base)[:2]), 0.3),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
    }
