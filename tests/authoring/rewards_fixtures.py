"""Reward modules for CartpoleBalance used as scripted LLM answers."""

from __future__ import annotations

import json

GOOD_BALANCE = """WEIGHTS = {"upright": 1.0, "centered": 0.5}


def compute_reward(s, action):
    return {
        "upright": 0.5 * (1.0 + s.body_upright("pole_1")),
        "centered": gaussian(s.body_pos("cart")[0], 0.5),
        "effort": -0.01 * jnp.sum(action ** 2),
    }
"""

GOOD_SPIN = """def compute_reward(s, action):
    return {"spin": jnp.tanh(jnp.abs(s.joint_vel("hinge_1")) / 5.0)}
"""

GOOD_DRIFT = """WEIGHTS = {"drift": 2.0}


def compute_reward(s, action):
    return {"drift": tolerance(s.body_linvel("cart")[0], bounds=(0.3, 0.6), margin=0.3)}
"""

# A misspelt body name: the compiler rejects it and names the closest valid ones.
BROKEN_BALANCE = GOOD_BALANCE.replace('s.body_upright("pole_1")', 's.body_upright("pole_one")')


def approaches_json(*codes: str, names: tuple[str, ...] = ("Balance", "Spin", "Drift")) -> str:
    """A well-formed answer with one approach per code."""
    return json.dumps(
        {
            "approaches": [
                {
                    "name": names[i],
                    "description": f"approach {i}",
                    "level": "from_scratch",
                    "steps": 5_000_000,
                    "reward_code": code,
                }
                for i, code in enumerate(codes)
            ]
        }
    )
