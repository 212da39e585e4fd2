"""Prompts for LLM reward authoring: system prompt, task prompt, repair prompt.

The system prompt holds what does not change between tasks on a scene: the reward
contract and semantic API reference (`tabrl.rewards.API_REFERENCE`), the robot card in
compact form, and worked examples (reference rewards, preferring the same scene, then
the same kind of robot). The user prompt holds the person's words and the number of
approaches; the repair prompt quotes the compiler's errors.
"""

from __future__ import annotations

import json
from typing import Any

from tabrl.authoring.approach import answer_format, approach_fields
from tabrl.scenes import RobotCard

#: The fields of an approach, as a repair prompt lists them (from `tabrl.authoring.approach.Approach`).
APPROACH_FIELDS = approach_fields()

_INTRO = """\
You write reward functions for reinforcement learning in MuJoCo MJX (JAX). A person
describes a behaviour in plain language; you answer with several genuinely different
reward *approaches* for the robot below, each a complete reward module.

Rules for reward_code (it is compiled by a strict sandbox; anything else is rejected):
- Define `compute_reward(s, action)` returning a dict of named scalar terms, optionally a
  `WEIGHTS` dict (term -> scale, default 1.0) and `is_terminated(s)`.
- No imports. `jnp`, `tolerance`, `gaussian`, `exponential` and `pi` are already defined.
- Only use names that exist on this robot (bodies, joints, actuators, sensors, feet below).
- Keep every term finite and roughly in [-1, 1] before weighting; rewards, not costs,
  should dominate.
- Use `s.phase(freq_hz)` for rhythmic behaviours (dances, gaits), `s.default_pose` for
  poses relative to the robot's reference posture.
- Make the weighted total per step lie within about [0, 1] (weights summing to ~1): the
  training settings were tuned on that scale.
- A constraint ("while balancing", "without falling", "upright") gates what is asked for:
  multiply the asked-for terms by the constraint's own value, e.g. `up = tolerance(...)`, then
  `"cart_right": up * tolerance(cart_x, ...)`. A plain sum lets the policy collect the other
  terms with the constraint given up (measured: "pole up" + "cart right" summed trained a cart
  parked on the right with the pole up 41 % of the time; gated, 100 %).
- Give each tolerance() a margin wide enough to point the way from where the robot starts.

Every approach also carries a success_check: a second small module, in the same language, that
an independent judge runs on rollouts of the trained policy to say whether it did what the person
asked (not whether it collected reward). It defines `measure(s)` returning a dict of named per-step
values (numbers, or conditions such as `s.body_upright("torso") > 0.9`, counted as the fraction of
the time), `GOALS`, the goal of each value's episode mean as a string ("> x", ">= x", "< x",
"<= x" or "between a and b"), and optionally `SETTLE_S`, seconds at the start not judged:
    def measure(s):
        return {"forward_speed": s.body_linvel(s.base, local=True)[0], "upright": s.body_upright(s.base) > 0.8}
    GOALS = {"forward_speed": "< -0.5", "upright": ">= 0.9"}
Measure what the person asked for (its direction, target, size), with goals a policy that does it
meets; the approaches of one task may share the same check.

"""
_CHOOSING = """
Choosing:
- level: "fine_tune" to adapt the scene's existing base policy (only when one exists and the
  behaviour is close to walking), otherwise "from_scratch".
- Approaches must differ in idea (what is rewarded), not only in weights.
"""
#: The rules, then the answer format (generated from the approach model), then how to choose.
_RULES = _INTRO + answer_format() + _CHOOSING


def card_summary(card: RobotCard) -> dict[str, Any]:
    """The parts of a robot card a reward author needs, compact enough for a prompt."""
    act_joints = {a.target for a in card.actuators if a.target_type in ("joint", "joint_in_parent")}
    return {
        "scene": card.id,
        "name": card.name,
        "category": card.category,
        "description": card.description,
        "floating_base": card.floating_base,
        "base (s.base)": card.root_body,
        "total_mass_kg": round(card.total_mass, 2),
        "ctrl_dt_s": card.ctrl_dt,
        "action_size": card.action_size,
        "has_base_policy": card.has_base_policy,
        "bodies": [b.name for b in card.bodies[1:]],
        "joints": [
            {
                "name": j.name,
                "type": j.type,
                "range": list(j.range) if j.range else None,
                "actuated": j.name in act_joints,
            }
            for j in card.joints
        ],
        "actuators (order of action, s.joint_angles(), s.default_pose)": [
            {
                "name": a.name,
                "type": a.type,
                "target": a.target,
                "ctrl_range": list(a.ctrl_range) if a.ctrl_range else None,
            }
            for a in card.actuators
        ],
        "feet (s.feet_contact() order)": list(card.feet),
        "sensors": [{"name": s.name, "type": s.type, "dim": s.dim} for s in card.sensors],
        "sites": [s.name for s in card.sites],
    }


def _examples(card: RobotCard, limit: int = 3) -> list[Any]:
    """Reference rewards: same scene first, then same category, then any (stable order)."""
    try:
        from tabrl.rewards.reference import list_reference
    except ImportError:
        return []
    refs = list_reference()
    same_robot = card.id.split("Joystick")[0].split("Getup")[0]

    def rank(r: Any) -> tuple[int, str]:
        if r.scene_id == card.id:
            return (0, r.name)
        if r.scene_id.startswith(same_robot[:3]):
            return (1, r.name)
        return (2, r.name)

    return sorted(refs, key=rank)[:limit]


def api_reference() -> str:
    """The reward API reference page (contract + semantic state), from the rewards package."""
    try:
        from tabrl.rewards import API_REFERENCE
    except ImportError:  # pragma: no cover - the rewards package ships with TabRL
        return ""
    return API_REFERENCE


def system_prompt(card: RobotCard, command_limits: tuple[float, float, float] | None = None) -> str:
    """Everything constant for a scene: rules, API reference, robot card, worked examples (and how
    to write command programs when the scene has a joystick base policy with `command_limits`)."""
    parts = [
        _RULES,
        *([commands_section(command_limits)] if command_limits else []),
        "## Reward API reference\n",
        api_reference().strip(),
        "\n## The robot\n",
        "```json\n" + json.dumps(card_summary(card), indent=1) + "\n```",
    ]
    examples = _examples(card)
    if examples:
        parts.append("\n## Worked examples (each compiles on its own scene)\n")
        for ex in examples:
            parts.append(
                f"### {ex.name} (scene {ex.scene_id}): {ex.description}\n```python\n{ex.code.strip()}\n```"
            )
    return "\n".join(parts).strip() + "\n"


_COMMANDS = """\
## Level "command": command programs (no training)

This robot has a joystick base policy that follows velocity commands (forward m/s, sideways m/s,
left positive, yaw rate rad/s, counter-clockwise positive; limits: {limits}). An approach of level
"command" is not a reward: it is a *command program*, put in "commands" instead of "reward_code"
that the base policy plays at once:

    def command(t):
        # t: seconds since the start; return (forward, sideways, yaw_rate)
        return schedule(t, [(2.5, (0.6, 0.0, 0.0)), (pi / 2, (0.0, 0.0, 1.0))] * 4)   # a square

The same sandbox rules apply (no imports; jnp, pi and schedule are defined; no Python `if` on t:
use jnp.where). `schedule(t, [(duration_s, (fwd, side, yaw)), ...], loop=False)` holds each value
for its duration, then 0 (or starts again with loop=True). Stay within the limits.
"""


def commands_section(limits: tuple[float, float, float]) -> str:
    """The part of the system prompt that explains command programs (scenes with a joystick base)."""
    text = "forward +-{:g} m/s, sideways +-{:g} m/s, yaw +-{:g} rad/s".format(*limits)
    return _COMMANDS.format(limits=text)


def user_prompt(
    task: str, n: int, levels: list[tuple[str, str]] | None = None, feedback: str | None = None
) -> str:
    """The person's task, asking for `n` distinct approaches; `levels`: (level, why) per approach.

    `feedback` (`tabrl.authoring.reflection.feedback_text`): what the previous round's approaches
    got; the answer is then the next round's improved approaches, in the same JSON form.
    """
    plan = ""
    if levels:
        lines = "\n".join(f"- approach {i + 1}: level {lv!r} ({why})" for i, (lv, why) in enumerate(levels))
        plan = f"\n\nLevels to use, in this order:\n{lines}"
    ask = f"Write {n} distinct approaches for this robot"
    if feedback:
        plan = f"{plan}\n\n{feedback.strip()}"
        ask = (
            f"Using the results below, write {n} improved approaches for this robot (fix each failed "
            "goal: a term that measures it, scaled so it matters; keep what worked)"
        )
    return (
        f"Task from the person: {json.dumps(task.strip())}\n\n"
        f"{ask}, as the JSON object described above "
        f'(exactly {n} items in "approaches").{plan}'
    )


def repair_prompt(failures: list[tuple[int, str, list[str]]]) -> str:
    """Ask to fix the approaches the compiler rejected: (index, name, error lines) each."""
    blocks = []
    for index, name, errors in failures:
        lines = "\n".join(f"  - {e}" for e in errors[:12])
        blocks.append(f"Approach {index} ({name!r}) was rejected:\n{lines}")
    return (
        "The reward compiler rejected some approaches. Fix them and answer with ONE JSON object "
        '{"approaches": [...]} holding ONLY the fixed approaches, each with an extra integer field '
        '"index" (the approach number below) and ' + APPROACH_FIELDS + ".\n\n" + "\n\n".join(blocks)
    )


def format_repair_prompt() -> str:
    """Ask again when the previous answer was not usable JSON."""
    return (
        "Your answer could not be read as the JSON object asked for. Answer again with ONE JSON object "
        '{"approaches": [...]} and nothing else; put each reward module in "reward_code" as a JSON string '
        "(newlines written as \\n)."
    )
