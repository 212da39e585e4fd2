"""Command programs for joystick base policies (level 1), chosen by what the prompt asks.

The programs are data (`data/choreography.yaml`, validated by `Routine`); the composer ranks them
by sentence similarity to the prompt, like its reward motifs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, Field

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


def rank_routines(prompt: str) -> list[tuple[Routine, float]]:
    """Routines by similarity to `prompt` (best phrase + a quarter of the runner-up), best first."""
    from tabrl.authoring.embedding import cached_embeddings, embed

    table = routines()
    phrases = [ph for r in table for ph in r.phrases]
    sims = cached_embeddings(phrases, "routines") @ embed(prompt.strip() or "walk")
    scores, k = [], 0
    for r in table:
        block = np.sort(sims[k : k + len(r.phrases)])[::-1]
        scores.append(float(block[0] + 0.25 * (block[1] if len(block) > 1 else 0.0)))
        k += len(r.phrases)
    order = sorted(range(len(table)), key=lambda i: (-round(scores[i], 5), i))
    return [(table[i], scores[i]) for i in order]


__all__ = ["Routine", "rank_routines", "routines"]
