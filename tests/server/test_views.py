"""API views: the jobs layer names videos by id; the server turns them into URLs."""

from __future__ import annotations

from tabrl.jobs.models import JobEvent
from tabrl.server.views import event_out, video_url


def test_a_video_event_reaches_the_live_streams_with_its_url() -> None:
    event = JobEvent(job_id="job_1", type="video", payload={"video_id": "m1-s0"})
    assert event_out(event) == {"type": "video", "video_id": "m1-s0", "video_url": "/api/videos/m1-s0"}
    progress = JobEvent(job_id="job_1", type="progress", payload={"step": 5})
    assert event_out(progress) == {"type": "progress", "step": 5}
    assert video_url(None) is None
