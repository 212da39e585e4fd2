"""What a job was asked to do: a typed request per job kind, stored as JSON in the job's row.

The API and the batch code build a `TrainJobRequest` or `RenderJobRequest`; `JobStore.create` stores
its JSON (`request_row`) in the `job.request` column (the same JSON column as before: no schema
change); the task validates it again when it reads it (`TrainJobRequest.load`, `load_request`), so a
worker never runs on a request it does not understand.

Rows written before requests were typed hold the same keys, with the overrides as the API sent them
(`"64,64"`, `"3e-4"`): they load, each override parsed by its field. A row that does not validate (a
key no version wrote, a value out of range) is refused with `JobRequestError`, which names the job
and the setting, and the job fails with that message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tabrl.errors import TabRLError
from tabrl.training.config import TrainOverrides


class JobRequestError(TabRLError):
    """A job request (new, or read back from the job store) that is not valid."""

    status_code = 422


class JobRequest(BaseModel):
    """What every kind of job may carry: its seed, resuming, placement, and the batch it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    #: Requeued after an interruption: continue from the run's last checkpoint.
    resume: bool = False
    #: GPUs the job asks of a cluster executor (None: the executor's rule).
    num_gpus: float | None = Field(default=None, ge=0)
    #: Judged on the policy's rollouts once it exists.
    success_check: str | None = None
    #: Level 1: a command program (played on `base_id`), or followed while training.
    commands: str | None = None
    base_id: str | None = None
    #: A batch's approach: its level, round, the batch it refines and the person's prompt.
    level: str | None = None
    round: int | None = Field(default=None, ge=1)
    parent_batch_id: str | None = None
    prompt: str | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any], job_id: str = "") -> Self:
        """The request of job `job_id` from its stored JSON (any version's); JobRequestError naming
        the job and the setting when it does not validate."""
        try:
            return cls.model_validate(dict(data))
        except (ValidationError, TabRLError) as exc:
            raise JobRequestError(
                f"job {job_id or '?'}: its stored request is not a valid {cls.__name__} ({_why(exc)}); "
                "submit the job again"
            ) from None


class TrainJobRequest(JobRequest):
    """Train a policy (`tasks.train_task`)."""

    scene_id: str = Field(min_length=1)
    #: Environment steps, resolved at submission (a preset's, or the request's).
    steps: int = Field(ge=1)
    #: Training settings over the scene's preset, typed (`TrainOverrides`): no `key=value` text.
    overrides: TrainOverrides = Field(default_factory=TrainOverrides)  # type: ignore[valid-type]
    reward_code: str | None = None
    name: str | None = None
    #: Fine-tune a model of the library, or the scene's base policy (`from_scratch` False).
    base_model_id: str | None = None
    from_scratch: bool = True
    #: Render the trained policy's video when training ends (scripted sweeps may skip it).
    video: bool = True

    def settings(self) -> dict[str, Any]:
        """The training settings the worker applies over the preset: the overrides, then the request's
        steps and seed."""
        return {**self.overrides.model_dump(), "num_timesteps": self.steps, "seed": self.seed}


class RenderJobRequest(JobRequest):
    """Render a video of a library model (`tasks.render_task`)."""

    model_id: str = Field(min_length=1)
    #: Video length (None: the default length).
    seconds: float | None = Field(default=None, gt=0)


#: The request model of each job kind.
REQUESTS: dict[str, type[JobRequest]] = {"train": TrainJobRequest, "render": RenderJobRequest}


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "request"
        return f"{where}: {error['msg']}, got {error['input']!r}"[:300]
    return str(exc)


def request_row(kind: str, request: JobRequest | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON stored for a new job's request: `request`'s, a mapping validated by its kind's model
    first (JobRequestError when it does not validate). Kinds without a model keep their mapping."""
    model = REQUESTS.get(kind)
    if isinstance(request, JobRequest):
        if model is not None and not isinstance(request, model):
            raise JobRequestError(f"a {kind} job needs a {model.__name__}, not a {type(request).__name__}")
        return request.model_dump(mode="json")
    if model is None:
        return dict(request)
    try:
        return model.model_validate(dict(request)).model_dump(mode="json")
    except (ValidationError, TabRLError) as exc:
        raise JobRequestError(f"not a valid {kind} request: {_why(exc)}") from None


def load_request(kind: str, data: Mapping[str, Any], job_id: str = "") -> JobRequest:
    """The request of job `job_id` of `kind` from its stored JSON (`JobRequest.load`)."""
    if kind not in REQUESTS:
        raise JobRequestError(f"unknown job kind {kind!r}")
    return REQUESTS[kind].load(data, job_id)


__all__ = [
    "REQUESTS",
    "JobRequest",
    "JobRequestError",
    "RenderJobRequest",
    "TrainJobRequest",
    "load_request",
    "request_row",
]
