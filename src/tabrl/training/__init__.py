"""Training engine: config, Brax PPO runner, progress events, time estimates.

    >>> from tabrl.training import TrainRequest, run_training, CancelToken
    >>> result = run_training(TrainRequest("CartpoleBalance", Path("runs/cp")), on_event=print)  # doctest: +SKIP

Heavy modules (JAX, Brax) load on first use.
"""

from tabrl.training.config import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    preset_for,
    resolve_config,
    steps_for,
)
from tabrl.training.events import CancelToken, ProgressEvent
from tabrl.training.runner import TrainRequest, TrainResult, latest_checkpoint, run_training

__all__ = [
    "CancelToken",
    "ConfigError",
    "ProgressEvent",
    "TrainConfig",
    "TrainRequest",
    "TrainResult",
    "apply_overrides",
    "latest_checkpoint",
    "preset_for",
    "resolve_config",
    "run_training",
    "steps_for",
]
