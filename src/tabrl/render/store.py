"""Where rendered videos live: `<TABRL_HOME>/videos/<id>.mp4`."""

from __future__ import annotations

from pathlib import Path

from tabrl.paths import home_dir, sub_dir


def video_path(video_id: str) -> Path:
    """The MP4 file of video `video_id` (may not exist)."""
    return sub_dir(home_dir(), "videos") / f"{video_id}.mp4"
