"""Job requests: typed models stored as JSON, validated again when a task reads them; rows written
before they were typed still load, and rows that do not validate fail their job saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tabrl.jobs.context import JobContext
from tabrl.jobs.db import make_engine
from tabrl.jobs.models import Job
from tabrl.jobs.requests import JobRequestError, RenderJobRequest, TrainJobRequest, load_request
from tabrl.jobs.store import JobStore, new_id
from tabrl.jobs.worker import execute
from tabrl.training.config import resolve_config

#: A training row as the server wrote it before requests were typed (a batch approach, requeued):
#: the overrides as the API received them, and `--set` text made of them by the worker.
OLD_TRAIN_ROW: dict[str, Any] = {
    "scene_id": "CartpoleBalance", "seed": 3, "reward_code": None, "steps": 30_000, "from_scratch": True,
    "name": "approach 1", "base_id": None, "commands": None, "success_check": None, "level": "from_scratch",
    "round": 2, "parent_batch_id": "batch_0123456789ab", "prompt": "balance", "resume": True,
    "overrides": {
        "policy_hidden_layer_sizes": "16,16", "learning_rate": "3e-4", "normalize_observations": "false",
        "max_grad_norm": "none", "num_envs": 128, "batch_size": 128, "backend": "mjx",
    },
}  # fmt: skip
OLD_RENDER_ROW: dict[str, Any] = {"model_id": "CartpoleBalance-abc", "seconds": None, "seed": 0}


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(make_engine(f"sqlite:///{tmp_path / 'jobs.db'}"))


def _raw_row(store: JobStore, kind: str, request: dict[str, Any]) -> Job:
    """A row as an earlier version left it in the database (not through `create`)."""
    job = Job(id=new_id("job"), kind=kind, scene_id="CartpoleBalance", request=request)
    with store.session() as s:
        s.add(job)
        s.commit()
    return store.get(job.id)


def test_a_request_is_stored_as_its_models_json_and_read_back_typed(store: JobStore) -> None:
    request = TrainJobRequest(
        scene_id="CartpoleBalance",
        steps=30_000,
        overrides={"policy_hidden_layer_sizes": "16,16", "learning_rate": "3e-4", "backend": "mjx"},
    )
    job = store.create(kind="train", scene_id="CartpoleBalance", request=request)
    row = store.get(job.id).request
    # Typed values in the row, only the overrides given.
    assert row["overrides"] == {
        "learning_rate": 0.0003,
        "policy_hidden_layer_sizes": [16, 16],
        "backend": "mjx",
    }
    loaded = TrainJobRequest.load(row, job.id)
    assert loaded == request and loaded.overrides.policy_hidden_layer_sizes == (16, 16)
    assert loaded.settings() == {
        "learning_rate": 0.0003, "policy_hidden_layer_sizes": (16, 16), "backend": "mjx",
        "num_timesteps": 30_000, "seed": 0,
    }  # fmt: skip
    render = store.create(kind="render", scene_id="CartpoleBalance", request=RenderJobRequest(model_id="m"))
    assert load_request("render", store.get(render.id).request) == RenderJobRequest(model_id="m")


def test_an_old_row_loads_and_the_worker_builds_the_same_config(store: JobStore) -> None:
    job = _raw_row(store, "train", OLD_TRAIN_ROW)
    req = TrainJobRequest.load(job.request, job.id)
    assert (req.resume, req.round, req.overrides.max_grad_norm, req.overrides.normalize_observations) == (
        True, 2, None, False,
    )  # fmt: skip
    # What the worker built before (every value through `key=value` text) and builds now.
    text = [f"{k}={v}" for k, v in OLD_TRAIN_ROW["overrides"].items()] + ["num_timesteps=30000", "seed=3"]
    before = resolve_config("CartpoleBalance", overrides=text, device="cpu")
    assert resolve_config("CartpoleBalance", overrides=req.settings(), device="cpu") == before
    assert before.policy_hidden_layer_sizes == (16, 16) and before.seed == 3
    assert (
        RenderJobRequest.load(_raw_row(store, "render", OLD_RENDER_ROW).request).model_id
        == OLD_RENDER_ROW["model_id"]
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"overrides": {"num_envs": "many"}}, "num_envs must be an integer, got 'many'"),
        ({"overrides": {"num_env": 64}}, "unknown training setting 'num_env'"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"steps": None}, "steps: Input should be a valid integer"),
    ],
)
def test_a_row_that_does_not_validate_fails_its_job_saying_why(
    store: JobStore, change: dict[str, Any], fragment: str
) -> None:
    job = _raw_row(store, "train", {**OLD_TRAIN_ROW, **change})
    with pytest.raises(JobRequestError, match=job.id) as err:
        TrainJobRequest.load(job.request, job.id)
    assert fragment in str(err.value) and "submit the job again" in str(err.value)
    # The worker fails the job with that message (before any training starts).
    status, result, error = execute(
        JobContext(store=store, job_id=job.id, request=dict(job.request)), "train"
    )
    assert (status, result) == ("failed", None) and error == str(err.value)


def test_create_refuses_a_request_its_kind_cannot_run(store: JobStore) -> None:
    with pytest.raises(JobRequestError, match="steps: Field required"):
        store.create(kind="train", scene_id="CartpoleBalance", request={"scene_id": "CartpoleBalance"})
    with pytest.raises(JobRequestError, match="num_envs must be >= 1"):
        store.create(
            kind="train", scene_id="CartpoleBalance",
            request={"scene_id": "CartpoleBalance", "steps": 1000, "overrides": {"num_envs": 0}},
        )  # fmt: skip
    with pytest.raises(JobRequestError, match="needs a RenderJobRequest"):
        store.create(
            kind="render",
            scene_id="CartpoleBalance",
            request=TrainJobRequest(scene_id="CartpoleBalance", steps=1),
        )
    assert store.list() == []
