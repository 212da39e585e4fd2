"""encode_mp4 writes the video whole (tabrl.atomic): no temporary file is left, even when encoding fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tabrl.render.video import encode_mp4


def test_encode_mp4_replaces_the_video_whole(tmp_path: Path) -> None:
    path = tmp_path / "videos" / "clip.mp4"
    frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(4)]
    assert encode_mp4(frames, path, fps=10) == path
    first = path.read_bytes()
    assert first[4:8] == b"ftyp"
    with pytest.raises(ValueError, match="no frames"):
        encode_mp4([], path, fps=10)
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["clip.mp4"]
