"""Rendered stills of scenes, cached on disk as PNG."""

from __future__ import annotations

from pathlib import Path

from tabrl.atomic import atomic_write_bytes
from tabrl.paths import cache_dir, sub_dir
from tabrl.scenes.cards import _cache_key, _safe
from tabrl.scenes.catalog import SceneSpec, get_spec
from tabrl.scenes.loader import load_scene

THUMB_SIZE = (320, 240)


def thumbnail_path(spec: SceneSpec) -> Path:
    """Where the cached thumbnail of `spec` lives (it may not exist yet)."""
    return sub_dir(cache_dir(), "thumbnails") / f"{_safe(spec.id)}-{_cache_key(spec)}.png"


def render_thumbnail(scene: str | SceneSpec, size: tuple[int, int] = THUMB_SIZE) -> bytes:
    """PNG bytes of the scene at its reference pose (no caching)."""
    import io

    from PIL import Image

    from tabrl.render.frames import posed, render_frame, renderer, tracking_camera
    from tabrl.scenes.cards import reference_qpos

    loaded = load_scene(scene)
    model = loaded.mj_model
    data = posed(model, reference_qpos(model))
    width, height = size
    with renderer(model, width, height) as r:
        pixels = render_frame(r, data, tracking_camera(model, data))
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def thumbnail(scene: str | SceneSpec) -> Path:
    """Path of the scene's thumbnail PNG, rendering it on first use."""
    spec = get_spec(scene) if isinstance(scene, str) else scene
    path = thumbnail_path(spec)
    if not path.is_file():
        atomic_write_bytes(path, render_thumbnail(spec))
    return path
