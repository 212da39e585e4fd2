"""Where rendered videos live: `<TABRL_HOME>/videos/<id>.mp4`."""

from __future__ import annotations

from pathlib import Path

from tabrl.paths import home_dir, sub_dir

#: Length of a policy's video (seconds): the one default for jobs, the API and the CLI.
VIDEO_SECONDS = 10.0


def video_id(model_id: str, seed: int = 0, seconds: float | None = None) -> str:
    """The id of model `model_id`'s video from `seed`, `seconds` long (None: `VIDEO_SECONDS`).

    Another length is another video (its own id and file): a 20 s render never replaces the 10 s one.
    """
    if seconds is None or seconds == VIDEO_SECONDS:
        return f"{model_id}-s{seed}"
    return f"{model_id}-s{seed}-{seconds:g}s"


def video_path(video_id: str) -> Path:
    """The MP4 file of video `video_id` (may not exist)."""
    return sub_dir(home_dir(), "videos") / f"{video_id}.mp4"
