# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1: rear up and stand on the hind legs, head high, front feet off the ground."""

WEIGHTS = {"head_up": 2.0, "front_off": 1.0, "rear_on": 0.5, "still": 0.3, "smooth": 0.02}


def compute_reward(s, action):
    head_height = s.body_height(s.base) + 0.3 * pitch_up(s.body_quat(s.base))
    front = s.foot_contact("FR") + s.foot_contact("FL")
    rear = s.foot_contact("RR") + s.foot_contact("RL")
    return {
        "head_up": tolerance(head_height, bounds=(0.55, 1.0), margin=0.35),
        "front_off": 1.0 - 0.5 * front,
        "rear_on": 0.5 * rear,
        "still": exponential(jnp.linalg.norm(s.body_linvel(s.base)[:2]), 0.3),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
    }


def pitch_up(q):
    """z-component of the trunk's forward (x) axis: 1 when the nose points straight up."""
    return 2.0 * (q[1] * q[3] - q[0] * q[2])


def is_terminated(s):
    # Rearing up tilts the trunk past 90 degrees, which the default fall check would end;
    # only a collapsed trunk ends the episode here.
    return s.body_height(s.base) < 0.1
