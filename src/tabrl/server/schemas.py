"""Pydantic models at the API edge (the core's dataclasses convert here, once)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: what failed and how to fix it."""

    error: str = Field(description="Machine-readable kind, e.g. not_found.")
    message: str = Field(description="One line a person can act on.")


class Health(BaseModel):
    """Liveness and what this server computes on."""

    status: str
    version: str
    device: str


class SceneSummary(BaseModel):
    """A scene in the gallery."""

    id: str
    name: str
    category: str
    source: str
    nq: int
    nv: int
    nu: int
    dof: int
    obs_size: int
    action_size: int
    has_base_policy: bool
    thumbnail_url: str


class SceneCard(BaseModel):
    """A robot card (see `tabrl.scenes.RobotCard`) plus its thumbnail URL."""

    model_config = {"extra": "allow"}

    id: str
    name: str
    category: str
    source: str
    nq: int
    nv: int
    nu: int
    obs_size: int
    action_size: int
    has_base_policy: bool
    thumbnail_url: str
    actuators: list[dict[str, Any]]
    joints: list[dict[str, Any]]
    bodies: list[dict[str, Any]]
