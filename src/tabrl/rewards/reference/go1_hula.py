# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1: hula sway -- the trunk circles (roll and pitch in quadrature) once per second, feet planted."""

WEIGHTS = {"sway": 2.0, "feet": 0.5, "stay": 0.5, "height": 0.3, "smooth": 0.02}
AMPLITUDE = 0.2
FREQ_HZ = 1.0


def compute_reward(s, action):
    q = s.body_quat(s.base)
    side_tilt = 2.0 * (q[2] * q[3] + q[0] * q[1])
    nose_tilt = 2.0 * (q[1] * q[3] - q[0] * q[2])
    angle = 2.0 * pi * s.phase(FREQ_HZ)
    error = jnp.square(side_tilt - AMPLITUDE * jnp.sin(angle)) + jnp.square(
        nose_tilt - AMPLITUDE * jnp.cos(angle)
    )
    return {
        "sway": exponential(error, 0.02),
        "feet": jnp.mean(s.feet_contact()),
        "stay": exponential(jnp.linalg.norm(s.body_linvel(s.base)[:2]), 0.2),
        "height": tolerance(s.body_height(s.base), bounds=(0.2, 0.34), margin=0.1),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
    }
