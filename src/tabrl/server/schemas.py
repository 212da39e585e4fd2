"""Pydantic models at the API edge (the core's dataclasses convert here, once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

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


class SceneBundleOut(BaseModel):
    """Everything MuJoCo WebAssembly needs to load a scene into its virtual file system."""

    scene_id: str
    main: str = Field(description="File name of the model XML.")
    files: dict[str, str] = Field(description="File name -> text (XML) or base64 (binary assets).")
    binary: list[str] = Field(description="Names of the base64-encoded files.")


# --- Training jobs ---------------------------------------------------------------------

Preset = Literal["quick", "standard", "quality"]
#: Physics backend of a run: "auto" picks MuJoCo C for contact-rich scenes on a CPU, else MJX.
BackendChoice = Literal["auto", "mjx", "mujoco"]


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
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    backend: BackendChoice = Field(
        default="auto", description="Physics backend: mjx, mujoco (MuJoCo C on CPU threads) or auto."
    )
    overrides: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Training config overrides (key -> value), as `--set` on the CLI."
    )


class BatchApproach(BaseModel):
    """One approach of a batch."""

    model_config = {"extra": "forbid"}

    name: str = Field(default="", max_length=120)
    reward_code: str = Field(min_length=1, max_length=50_000)
    steps: int | None = Field(default=None, ge=1_000, le=2_000_000_000)
    level: Literal["fine_tune", "from_scratch"] = "from_scratch"


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


class Progress(BaseModel):
    """The latest progress of a running job (the training engine's event)."""

    model_config = {"extra": "allow"}

    step: int = 0
    total_steps: int | None = None
    eval_reward: float | None = None
    eval_reward_std: float | None = None
    reward_terms: dict[str, float] = Field(default_factory=dict)
    episode_length: float | None = None
    env_steps_per_s: float | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None


class HistoryPoint(BaseModel):
    """One evaluation of a job's policy."""

    step: int
    eval_reward: float | None = None
    eval_reward_std: float | None = None
    elapsed_s: float | None = None


class JobOut(BaseModel):
    """A job as the API shows it."""

    id: str
    kind: str
    batch_id: str | None
    name: str
    scene_id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
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


class BatchOut(BaseModel):
    """The jobs of a batch."""

    batch_id: str
    jobs: list[JobOut]


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


class RewardErrorOut(BaseModel):
    """One problem of a reward program."""

    line: int | None
    message: str


class ApproachOut(BaseModel):
    """One candidate reward."""

    name: str
    description: str
    reward_code: str
    valid: bool
    errors: list[RewardErrorOut]
    level: Literal["fine_tune", "from_scratch"]
    steps: int


class GenerateResponse(BaseModel):
    """The approaches, and who wrote them how fast."""

    model_config = {"extra": "allow"}

    provider: str
    model: str
    latency_s: float
    approaches: list[ApproachOut]


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
    errors: list[RewardErrorOut]
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


class RenderRequest(BaseModel):
    """Render a video of a model."""

    model_config = {"extra": "forbid"}

    model_id: str = Field(min_length=1, max_length=150, pattern=MODEL_ID)
    seconds: float = Field(default=10.0, gt=0, le=60)
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
