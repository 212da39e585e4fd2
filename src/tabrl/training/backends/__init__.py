"""Training backends: which physics engine steps the environments, and the PPO loop around it.

- `mjx`: Brax's PPO (`ppo.train`) over an MJX environment, everything jitted. Fast on a GPU; on a
  CPU fast for small models (CartpoleBalance ~110 k env-steps/s) and slow for contact-rich robots
  (Go1: a few hundred env-steps/s after minutes of compiling).
- `mujoco`: MuJoCo's C engine, N simulations on a C++ thread pool (`mjbatch`), with Brax's
  networks, observation normaliser and PPO loss in a host-driven loop. On a CPU one to two orders
  of magnitude faster than MJX for contact-rich robots, and nothing to compile but the networks.

The rule (`choose_backend`), when a run does not name one:
1. A GPU or TPU: `mjx`.
2. A Playground task trained on its own reward (or a reward that reads `s.task_reward`): `mjx`,
   since that reward exists only inside Playground's MJX environment.
3. On a CPU, a contact-rich scene (a robot that touches the floor: locomotion robots, the
   DeepMind Control walkers, Menagerie robots and MJCF with a floor plane): `mujoco`.
4. Everything else on a CPU (CartpoleBalance, Reacher, ...): `mjx`, whose fused XLA step beats
   per-step host work for tiny models.

Both backends read rewards through the same semantic state `s` and write the same policy format;
the policy's manifest records the backend so videos, the live view and fine-tuning rebuild the
same environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from tabrl.errors import TabRLError

Backend = Literal["mjx", "mujoco"]
BACKENDS: tuple[str, ...] = ("mjx", "mujoco")
#: What a config or request may say: a backend, or "auto" for the rule above.
BackendChoice = Literal["auto", "mjx", "mujoco"]
BACKEND_CHOICES: tuple[str, ...] = get_args(BackendChoice)


class BackendError(TabRLError):
    """A backend cannot train this scene / reward combination."""

    status_code = 422


@dataclass(frozen=True)
class BackendSupport:
    """Which backends a scene supports, and the automatic choice on a CPU."""

    backends: tuple[str, ...]
    #: Whether the robot touches a floor (the CPU rule's "contact-rich").
    contact_rich: bool
    #: Why `mujoco` is not supported (None when it is).
    mujoco_unsupported: str | None = None


def scene_support(scene_id: str) -> BackendSupport:
    """Backends of a scene, from its robot card or the shipped index (the card is built if neither has it)."""
    from tabrl.scenes.index import scene_facts

    facts = scene_facts(scene_id, build=True)
    assert facts is not None  # build=True always answers
    why = facts.get("mujoco_unsupported")
    contact_rich = bool(facts.get("floor_contacts", 0))
    return BackendSupport(
        backends=BACKENDS if why is None else ("mjx",), contact_rich=contact_rich, mujoco_unsupported=why
    )


def uses_task_reward(reward_source: str | None) -> bool:
    """Whether a reward needs Playground's own task reward (None: the task's reward itself)."""
    return reward_source is None or "task_reward" in reward_source


def choose_backend(
    scene_id: str, device: str, reward_source: str | None, requested: str = "auto", *, playground: bool
) -> Backend:
    """The backend a run uses (see the module docstring); a `BackendError` says why not when refused."""
    if requested not in BACKEND_CHOICES:
        raise BackendError(f"backend must be one of {', '.join(BACKEND_CHOICES)}, got {requested!r}")
    support = scene_support(scene_id)
    needs_task = playground and uses_task_reward(reward_source)
    if requested == "mujoco":
        if support.mujoco_unsupported:
            raise BackendError(f"{scene_id} cannot train on the mujoco backend: {support.mujoco_unsupported}")
        if needs_task:
            raise BackendError(
                f"{scene_id}'s own task reward exists only in Playground's MJX environment; give a reward "
                "module (one that does not read s.task_reward) to train on the mujoco backend, or use mjx"
            )
        return "mujoco"
    if requested == "mjx":
        return "mjx"
    if device != "cpu" or needs_task or support.mujoco_unsupported:
        return "mjx"
    return "mujoco" if support.contact_rich else "mjx"


__all__ = [
    "BACKENDS",
    "BACKEND_CHOICES",
    "Backend",
    "BackendChoice",
    "BackendError",
    "BackendSupport",
    "choose_backend",
    "scene_support",
    "uses_task_reward",
]
