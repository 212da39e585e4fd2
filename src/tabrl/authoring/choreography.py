"""Command programs for joystick base policies (level 1), chosen by what the prompt asks.

The programs are data (`data/choreography.yaml`, validated by `Routine`); the composer ranks them
by sentence similarity to the prompt, like its reward motifs, among those that go the way the
parsed prompt asks (`tabrl.authoring.intent`): sentence similarity does not tell left from right.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from tabrl.authoring.intent import Intent

_DATA = Path(__file__).resolve().parent / "data" / "choreography.yaml"


class Routine(BaseModel):
    """One command program the composer can offer."""

    model_config = {"extra": "forbid", "frozen": True}

    key: str = Field(pattern=r"^[a-z_]+$")
    title: str = Field(min_length=1, max_length=60)
    blurb: str = Field(min_length=1, max_length=300)
    phrases: tuple[str, ...] = Field(min_length=1)
    program: str = Field(min_length=10)
    #: The routine needs the robot to turn (yaw-rate commands): left out for a base that does not.
    turns: bool = False


@lru_cache(maxsize=1)
def routines() -> tuple[Routine, ...]:
    """Every routine of the data file, validated."""
    data = yaml.safe_load(_DATA.read_text(encoding="utf-8"))
    return tuple(Routine.model_validate(item) for item in data)


#: The command axis of each intent quantity a joystick base policy follows.
_AXES = {"speed": 0, "lateral": 1, "turn": 2}


@lru_cache(maxsize=64)
def mean_command(key: str) -> tuple[float, float, float]:
    """Routine `key`'s command averaged over its first 10 s (forward m/s, left m/s, yaw rad/s)."""
    from tabrl.rewards.commands import compile_commands

    routine = next(r for r in routines() if r.key == key)
    program = compile_commands(routine.program)
    mean = np.asarray(program(np.arange(0.0, 10.0, 0.05))).reshape(-1, 3).mean(axis=0)
    return float(mean[0]), float(mean[1]), float(mean[2])


def goes_the_asked_way(routine: Routine, intent: Intent) -> bool:
    """False when the routine, on average, goes against a direction the prompt asks for (turn left
    and a clockwise spin; walk backwards and a forward walk). Measured: "turn on the spot to the
    left" matched "turn clockwise on the spot" best by sentence similarity, a command approach that
    turned the Go1 right. `intent`: the prompt parsed (`tabrl.authoring.intent.parse_intent`)."""
    mean = mean_command(routine.key)
    for quantity, axis in _AXES.items():
        sign = intent.sign_for(quantity) if quantity in intent.quantities else 0
        if sign and sign * mean[axis] < -1e-3:
            return False
    return True


def rank_routines(prompt: str) -> list[tuple[Routine, float]]:
    """Routines that go the asked way (`goes_the_asked_way`), by similarity to `prompt` (best phrase + a
    quarter of the runner-up), best first."""
    from tabrl.authoring.embedding import cached_embeddings, embed
    from tabrl.authoring.intent import parse_intent

    intent = parse_intent(prompt)  # once, not per routine
    table = routines()
    phrases = [ph for r in table for ph in r.phrases]
    sims = cached_embeddings(phrases, "routines") @ embed(prompt.strip() or "walk")
    scores, k = [], 0
    for r in table:
        block = np.sort(sims[k : k + len(r.phrases)])[::-1]
        scores.append(float(block[0] + 0.25 * (block[1] if len(block) > 1 else 0.0)))
        k += len(r.phrases)
    order = sorted(range(len(table)), key=lambda i: (-round(scores[i], 5), i))
    return [(table[i], scores[i]) for i in order if goes_the_asked_way(table[i], intent)]


__all__ = ["Routine", "goes_the_asked_way", "mean_command", "rank_routines", "routines"]
