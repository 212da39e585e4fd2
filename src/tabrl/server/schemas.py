"""Pydantic models at the API edge (the core's dataclasses convert here, once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from tabrl.authoring.approach import Approach, CodeError, Level
from tabrl.authoring.levels import Budget
from tabrl.jobs.batches import BatchApproach
from tabrl.jobs.models import JobStatus
from tabrl.training.backends import BackendChoice
from tabrl.training.config import StepsPreset

#: Scene ids over the API: registered ids only (`CartpoleBalance`, `unitree_go1`, `mjcf:my_robot`),
#: never file paths; a person's own MJCF comes in with `tabrl scenes add`.
SCENE_ID = r"^(mjcf:)?[A-Za-z0-9][A-Za-z0-9_\-]{0,99}$"
#: Model ids are folder names in the model library: no separators, no leading dot, bounded length.
MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,149}$"
#: Job and batch ids (`job_3f9c1a2b7d4e`).
JOB_ID = r"^[a-z]+_[0-9a-f]{1,32}$"
#: Messages for ids that do not match their pattern (keyed by field name).
PATTERN_HINTS = {
    "scene_id": "not a registered scene id (file paths are not accepted over the API); list scenes with "
    "GET /api/playground/scenes, add your own MJCF with `tabrl scenes add NAME FILE.xml`",
    "model_id": "not a model id (letters, digits, '_', '-', '.'; at most 150); list models with GET /api/models",
    "base_model_id": "not a model id of the library (letters, digits, '_', '-', '.'; at most 150, no paths); "
    "list models with GET /api/models",
    "job_id": "not a job id (like job_3f9c1a2b7d4e); list jobs with GET /api/training",
    "batch_id": "not a batch id (like batch_3f9c1a2b7d4e)",
    "base_url": "must be http(s)://localhost, 127.0.0.1 or [::1] with a port from 1 to 65535",
}


class ErrorDetail(BaseModel):
    """One invalid field of a request that failed validation (422, `invalid_request`)."""

    loc: list[str | int] = Field(
        description='Where: "body", "path", "query" or "header", then the field path, e.g. ["body", "scene_id"] '
        '(for a body that is not JSON, ["body", character position]).'
    )
    msg: str = Field(description="What is wrong with it and, for ids, what one looks like.")
    type: str = Field(
        description="Machine-readable kind, e.g. missing, string_pattern_mismatch, json_invalid."
    )


class ErrorBody(BaseModel):
    """Every 4xx/5xx body, from TabRL or from the framework (unknown route, wrong method, malformed or
    invalid request, an unexpected failure): what failed and how to fix it."""

    error: str = Field(description="Machine-readable kind, e.g. not_found, invalid_request.")
    message: str = Field(description="One line a person can act on.")
    details: list[ErrorDetail] = Field(
        default_factory=list,
        description="Only when the request failed validation (422, `invalid_request`): one entry per invalid "
        "field.",
    )


class Health(BaseModel):
    """Liveness and what this server computes on."""

    status: str
    version: str
    device: str
    executor: str = Field(description="Where jobs run: local (worker processes), ray or modal.")


class RobotLicenceOut(BaseModel):
    """Licence and attribution of one Menagerie robot a scene uses."""

    robot: str
    license: str = Field(description="e.g. 'BSD-3-Clause', 'Apache-2.0'.")
    attribution: str = Field(description="The copyright line(s) of the robot's LICENSE.")
    source: str = Field(description="Where its files came from: MENAGERIE_ROOT, an asset wheel, the cache.")


class SceneSummary(BaseModel):
    """A scene in the gallery. Sizes and the estimate are None until the scene's card is built
    (the listing never loads a scene; opening one builds its card)."""

    id: str
    name: str
    category: str
    source: str
    nq: int | None
    nv: int | None
    nu: int | None
    dof: int | None
    obs_size: int | None
    action_size: int | None
    has_base_policy: bool
    thumbnail_url: str
    licences: list[RobotLicenceOut] = Field(default_factory=list)
    estimate_s: float | None = Field(
        default=None, description="Training time of the standard step budget on this server's device."
    )
    estimate_label: str | None = Field(default=None, description="e.g. 'about 18 min to train (measured)'.")


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
    licences: list[RobotLicenceOut] = Field(default_factory=list)


class SceneBundleOut(BaseModel):
    """Everything MuJoCo WebAssembly needs to load a scene into its virtual file system."""

    scene_id: str
    main: str = Field(description="File name of the model XML.")
    files: dict[str, str] = Field(description="File name -> text (XML) or base64 (binary assets).")
    binary: list[str] = Field(description="Names of the base64-encoded files.")


# --- Training jobs ---------------------------------------------------------------------

# One definition each, in the core: a steps preset, how long the person is ready to wait, and the physics
# backend of a run ("auto" picks MuJoCo C for contact-rich scenes on a CPU, else MJX).
Preset = StepsPreset


class TrainStartRequest(BaseModel):
    """Train one policy for a scene, with a reward (or the task's own)."""

    model_config = {"extra": "forbid"}

    scene_id: str = Field(min_length=1, max_length=105, pattern=SCENE_ID)
    reward_code: str | None = Field(default=None, max_length=50_000, description="Reward module source.")
    name: str = Field(default="", max_length=120)
    steps: int | None = Field(default=None, ge=1_000, le=2_000_000_000, description="Environment steps.")
    preset: Preset | None = Field(default=None, description="Step budget preset when `steps` is not given.")
    base_model_id: str | None = Field(
        default=None,
        max_length=150,
        pattern=MODEL_ID,
        description="Fine-tune from this model of the library.",
    )
    from_scratch: bool = Field(default=True, description="False: fine-tune the scene's base policy.")
    base_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$",
        description="Fine-tune from this base policy (GET /api/bases).",
    )
    success_check: str | None = Field(
        default=None, min_length=1, max_length=20_000,
        description="Success check source: judged on rollouts of the trained policy.",
    )  # fmt: skip
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    backend: BackendChoice = Field(
        default="auto", description="Physics backend: mjx, mujoco (MuJoCo C on CPU threads) or auto."
    )
    overrides: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Training config overrides (key -> value), as `--set` on the CLI."
    )
    video: bool = Field(default=True, description="Render the policy's video when training ends.")


class TrainBatchRequest(BaseModel):
    """Train N approaches for one scene in parallel (one job each)."""

    model_config = {"extra": "forbid"}

    scene_id: str = Field(min_length=1, max_length=105, pattern=SCENE_ID)
    approaches: list[BatchApproach] = Field(min_length=1, max_length=8)
    steps: int | None = Field(default=None, ge=1_000, le=2_000_000_000)
    preset: Preset | None = None
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    backend: BackendChoice = Field(
        default="auto", description="Physics backend: mjx, mujoco (MuJoCo C on CPU threads) or auto."
    )
    overrides: dict[str, str | int | float | bool] = Field(default_factory=dict)
    prompt: str | None = Field(
        default=None, max_length=2_000, description="The person's words, kept for refining the batch."
    )


#: Progress stored before the API kept the training event's `eval_reward_mean` called it `eval_reward`.
_EVAL_REWARD_MEAN = AliasChoices("eval_reward_mean", "eval_reward")


class Progress(BaseModel):
    """The latest progress of a running job (the training engine's event, `tabrl.training.events`)."""

    model_config = {"extra": "allow"}

    step: int = 0
    total_steps: int | None = None
    eval_reward_mean: float | None = Field(default=None, validation_alias=_EVAL_REWARD_MEAN)
    eval_reward_std: float | None = None
    reward_terms: dict[str, float] = Field(default_factory=dict)
    episode_length: float | None = None
    env_steps_per_s: float | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None


class HistoryPoint(BaseModel):
    """One evaluation of a job's policy."""

    step: int
    eval_reward_mean: float | None = Field(default=None, validation_alias=_EVAL_REWARD_MEAN)
    eval_reward_std: float | None = None
    elapsed_s: float | None = None


class CheckOut(BaseModel):
    """A trained policy judged on its success check (seeded deterministic rollouts)."""

    passed: bool
    score: float = Field(description="Mean progress towards the goals, 1 when all are met (ranks misses).")
    figure: str = Field(description="One line: each goal with its value, then falls.")
    values: dict[str, float]
    goals: dict[str, str]
    met: dict[str, bool]
    fell: float = Field(description="Fraction of the rollouts that ended early (a fall).")
    pass_rate: float = Field(description="Fraction of the rollouts that meet every goal on their own.")
    rollouts: int
    seconds: float


class JobOut(BaseModel):
    """A job as the API shows it."""

    id: str
    kind: str
    batch_id: str | None
    name: str
    scene_id: str
    status: JobStatus
    terminal: bool = Field(
        description="succeeded, failed or cancelled: nothing more happens to it (an interrupted job may resume)."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_position: int | None
    estimated_start_s: float | None
    total_steps: int | None
    progress: Progress | None
    history: list[HistoryPoint]
    model_id: str | None
    video_id: str | None
    video_url: str | None
    error: str | None
    reward_code: str | None
    cancel_requested: bool
    check: CheckOut | None = Field(default=None, description="Success check verdict, once trained.")
    rank: int | None = Field(default=None, description="1 = best of its batch by the success check.")


class BatchOut(BaseModel):
    """The jobs of a batch."""

    batch_id: str
    jobs: list[JobOut]
    round: int = Field(default=1, ge=1, description="1, or the refinement round this batch is.")
    parent_batch_id: str | None = Field(default=None, description="The batch this round refined.")


# --- Authoring -------------------------------------------------------------------------

#: Per-request base URLs may only point at this machine (a local model server): anything else
#: would let an API caller make the server fetch arbitrary URLs. Remote servers are configured
#: in settings (TABRL_OPENAI_COMPATIBLE_BASE_URL).
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
LOCAL_URL = rf"^https?://(localhost|127\.0\.0\.1|\[::1\])(:{_PORT})?(/[A-Za-z0-9._~/-]*)?$"
ProviderName = Literal["offline", "anthropic", "openai", "gemini", "deepseek", "openai-compatible"]


class GenerateRequest(BaseModel):
    """Ask for N reward approaches for a task in plain language."""

    model_config = {"extra": "forbid"}

    scene_id: str = Field(min_length=1, max_length=105, pattern=SCENE_ID)
    prompt: str = Field(min_length=1, max_length=2_000)
    provider: ProviderName | None = None
    model: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=300, pattern=LOCAL_URL)
    n: int = Field(default=3, ge=1, le=5)
    budget: Budget = Field(
        default="minutes",
        description="Time the person gives: instant (command programs on a joystick base policy), "
        "minutes (fine-tuning a base policy, or a short run) or unlimited (training from scratch).",
    )


class RefineRequest(BaseModel):
    """Write and train the next round of a finished batch from its results."""

    model_config = {"extra": "forbid"}

    prompt: str | None = Field(
        default=None,
        max_length=2_000,
        description="The person's words (default: the batch's, if it kept them).",
    )
    provider: ProviderName | None = Field(
        default=None, description="Who writes the round: an LLM gets the results as feedback; offline, rules."
    )
    model: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=300, pattern=LOCAL_URL)
    n: int | None = Field(default=None, ge=1, le=6, description="Approaches (default: as many as the batch).")


class GenerateResponse(BaseModel):
    """The approaches (the core's own model, `tabrl.authoring.approach.Approach`), and who wrote them how fast."""

    model_config = {"extra": "allow"}

    provider: str
    model: str
    latency_s: float
    approaches: list[Approach]


class ProviderOut(BaseModel):
    """An LLM provider (never its key)."""

    name: str
    label: str
    configured: bool
    default_model: str
    models: list[str]
    selected: bool


class SelectProviderRequest(BaseModel):
    """Make a provider the default for requests that name none."""

    model_config = {"extra": "forbid"}

    provider: ProviderName
    model: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=300, pattern=LOCAL_URL)


class RewardCheckRequest(BaseModel):
    """Check reward code against a scene."""

    model_config = {"extra": "forbid"}

    scene_id: str = Field(min_length=1, max_length=105, pattern=SCENE_ID)
    code: str = Field(min_length=1, max_length=50_000)


class RewardCheckResponse(BaseModel):
    """The compiler's verdict."""

    valid: bool
    terms: list[str]
    errors: list[CodeError]
    duration_s: float


# --- Models ----------------------------------------------------------------------------


class ModelOut(BaseModel):
    """A trained policy in the model library."""

    model_config = {"extra": "allow"}

    id: str
    name: str
    scene_id: str
    created_at: str
    steps: int
    eval_reward: float | None
    obs_size: int
    action_size: int
    reward_sha256: str
    video_url: str | None
    onnx_url: str
    inference_url: str
    job_id: str | None
    level: Level = Field(default="from_scratch", description="How it was made (see Level).")
    commands: str | None = Field(default=None, description="Command program it plays (level 1), if any.")
    check: CheckOut | None = Field(default=None, description="Its success check's verdict, if judged.")


class RenderRequest(BaseModel):
    """Render a video of a model."""

    model_config = {"extra": "forbid"}

    model_id: str = Field(min_length=1, max_length=150, pattern=MODEL_ID)
    seconds: float | None = Field(default=None, gt=0, le=60, description="Video length (default: 10 s).")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class PresetOut(BaseModel):
    """A step budget with its honest time estimate on this server's device."""

    name: Preset
    steps: int
    estimate_s: float
    label: str
    basis: str = Field(description="'measured' on a similar machine, or 'estimate'.")


class PresetsOut(BaseModel):
    """Step budgets for a scene on this server's device."""

    scene_id: str
    device: str
    #: The backend these estimates are for (an approach's reward module on this device).
    backend: str = "mjx"
    #: Backends the scene supports.
    backends: list[str] = Field(default_factory=lambda: ["mjx"])
    presets: list[PresetOut]
    fine_tune_available: bool


# --- Base policies and command programs (level 1) ------------------------------------------

BASE_ID = r"^[a-z0-9][a-z0-9\-]{0,63}$"


class BaseOut(BaseModel):
    """A base policy: what level 1 plays command programs on and level 2 fine-tunes."""

    id: str
    scene_id: str
    title: str
    kind: str = Field(description='"joystick" (follows velocity commands) or "task".')
    description: str
    source: str = Field(description='"shipped" (in the package) or "installed" (`tabrl base train`).')
    reproduce: str = Field(description="The command that reproduces it.")
    backend: str
    steps: int
    eval_reward: float | None
    train_wall_s: float | None
    trained_on: str
    command_range: list[float] | None = Field(
        description="Largest |forward m/s|, |sideways m/s|, |yaw rad/s| it follows (joystick policies)."
    )
    turns: bool = Field(default=True, description="Whether a joystick policy follows yaw-rate commands.")


class CommandCheckRequest(BaseModel):
    """Check a command program against a joystick base policy."""

    model_config = {"extra": "forbid"}

    base_id: str = Field(min_length=1, max_length=64, pattern=BASE_ID)
    code: str = Field(min_length=1, max_length=20_000)
    seconds: float = Field(default=10.0, gt=0, le=60, description="Length of the preview (the span checked).")


class CommandCheckResponse(BaseModel):
    """The checker's verdict, and the commands over time (a preview: [t, forward, sideways, yaw])."""

    valid: bool
    errors: list[CodeError]
    warnings: list[str]
    preview: list[list[float]]


class PlayRequest(BaseModel):
    """Level 1: a joystick base policy plays a command program -- a model at once, then its video."""

    model_config = {"extra": "forbid"}

    base_id: str = Field(min_length=1, max_length=64, pattern=BASE_ID)
    commands: str = Field(min_length=1, max_length=20_000, description="Command program: def command(t).")
    name: str = Field(default="", max_length=120)
    batch_id: str | None = Field(default=None, max_length=40, pattern=JOB_ID)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class PlayOut(BaseModel):
    """The new model (live view and downloads work now) and the job rendering its video."""

    model: ModelOut
    job: JobOut
