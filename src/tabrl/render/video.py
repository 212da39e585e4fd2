"""MP4 videos (H.264, yuv420p: plays in every browser) of MuJoCo trajectories."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import mujoco
import numpy as np

from tabrl.atomic import atomic_path
from tabrl.render.frames import render_frame, renderer, tracking_camera

DEFAULT_SIZE = (480, 360)


def encode_mp4(frames: Iterable[np.ndarray], path: Path, fps: int) -> Path:
    """Write RGB frames (H, W, 3) uint8 to an H.264 MP4 with faststart (streamable)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_path(path) as tmp,
        av.open(str(tmp), mode="w", options={"movflags": "+faststart"}) as container,
    ):
        stream = None
        for frame in frames:
            if stream is None:
                height, width = frame.shape[:2]
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = width - width % 2, height - height % 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "23", "preset": "veryfast"}
            img = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame[: stream.height, : stream.width]), format="rgb24"
            )
            container.mux(stream.encode(img))
        if stream is None:
            raise ValueError("no frames to encode")
        container.mux(stream.encode(None))
    return path


def render_trajectory(
    model: mujoco.MjModel,
    qpos: Sequence[np.ndarray] | np.ndarray,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    follow: bool = True,
) -> Iterable[np.ndarray]:
    """Frames of the model posed at each row of `qpos` (MuJoCo C forward kinematics).

    The camera follows the robot's root body when `follow`, so a walking robot stays in
    view; its angle and distance stay fixed, so videos of one batch compare side by side.
    """
    data = mujoco.MjData(model)
    width, height = size
    with renderer(model, width, height) as r:
        data.qpos[:] = qpos[0]
        mujoco.mj_forward(model, data)
        cam = tracking_camera(model, data)
        offset = cam.lookat.copy() - data.subtree_com[1] if model.nbody > 1 else None
        for q in qpos:
            data.qpos[:] = q
            mujoco.mj_forward(model, data)
            if follow and offset is not None:
                cam.lookat[:] = data.subtree_com[1] + offset
            yield render_frame(r, data, cam)
