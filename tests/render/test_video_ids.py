"""Video ids: one per model, seed and length; the default length keeps the plain id."""

from __future__ import annotations

from tabrl.render.store import VIDEO_SECONDS, video_id, video_path


def test_another_length_is_another_video() -> None:
    assert video_id("m1") == video_id("m1", 0, VIDEO_SECONDS) == "m1-s0"
    assert video_id("m1", 3, 20.0) == "m1-s3-20s" and video_id("m1", 0, 2.5) == "m1-s0-2.5s"
    assert video_path(video_id("m1", 0, 20.0)) != video_path(video_id("m1"))
