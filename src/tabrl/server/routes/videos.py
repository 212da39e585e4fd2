"""`/api/videos/{id}`: rendered MP4s, with HTTP range requests and a download name."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import FileResponse

from tabrl.errors import NotFoundError
from tabrl.render.store import video_path
from tabrl.server.schemas import ErrorBody

router = APIRouter(prefix="/videos", tags=["videos"])
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")


@router.get(
    "/{video_id}",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}}},
        206: {"content": {"video/mp4": {}}},
        404: {"model": ErrorBody},
    },
    summary="An MP4 video (supports Range)",
)
def get_video(video_id: str) -> FileResponse:
    """H.264 / yuv420p MP4; seekable in browsers (range requests); downloads as <id>.mp4."""
    path = video_path(video_id) if _ID.match(video_id) else None
    if path is None or not path.is_file():
        raise NotFoundError(f"no video {video_id!r}; render one with POST /api/training/render")
    return FileResponse(
        path, media_type="video/mp4", filename=f"{video_id}.mp4", content_disposition_type="inline"
    )
