"""A scene as plain files for other MuJoCo runtimes (MuJoCo WebAssembly in the browser).

The bundle is one flat folder: `scene.xml` with every include inlined and every asset
referenced by its bare file name, plus those asset files. The XML is MuJoCo's own
`mj_saveLastXML` of the *loaded* model, so values that Playground tasks set in code after
parsing (timestep, gains, ...) are written back. Each bundle is verified by compiling it
again and comparing the model.
"""

from __future__ import annotations

import tempfile
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from tabrl.errors import TabRLError
from tabrl.scenes.catalog import SceneSpec, get_spec
from tabrl.scenes.loader import LoadedScene, load_scene

MAIN = "scene.xml"
# mj_saveLastXML writes "the last XML parsed by this process": parse and save under one lock.
_PARSE_LOCK = threading.Lock()
_FILE_TAGS = ("mesh", "texture", "hfield", "skin")
_CHECK_FIELDS = ("nq", "nv", "nu", "nbody", "ngeom", "nmesh", "nsite")


@dataclass(frozen=True)
class SceneBundle:
    """`files[MAIN]` is the model; the other entries are the assets it references."""

    scene_id: str
    files: dict[str, bytes]

    @property
    def main(self) -> str:
        """Name of the model file."""
        return MAIN


def _saved_xml(loaded: LoadedScene) -> tuple[str, dict[str, bytes], Path | None]:
    """(flattened XML, in-memory assets, folder that relative asset paths start from)."""
    with _PARSE_LOCK, tempfile.TemporaryDirectory() as tmp:
        if loaded.env is not None:
            xml_path = Path(loaded.env.xml_path)
            assets = dict(loaded.env.model_assets)
            mujoco.MjModel.from_xml_string(xml_path.read_text(), assets)
        else:
            xml_path = loaded.xml_path
            assets = {}
            mujoco.MjModel.from_xml_path(str(xml_path))
        out = Path(tmp) / MAIN
        mujoco.mj_saveLastXML(str(out), loaded.mj_model)
        return out.read_text(), assets, xml_path.parent if xml_path else None


def _asset_bytes(name: str, dirs: list[Path], assets: dict[str, bytes]) -> bytes:
    base = Path(name).name
    if base in assets:
        return assets[base]
    for d in dirs:
        for candidate in (d / name, d / base):
            if candidate.is_file():
                return candidate.read_bytes()
    raise TabRLError(f"asset {name!r} of the scene was not found (looked in {', '.join(map(str, dirs))})")


def scene_bundle(scene: str | SceneSpec) -> SceneBundle:
    """The scene as a flat set of files that compiles to the same model."""
    spec = get_spec(scene) if isinstance(scene, str) else scene
    loaded = load_scene(spec)
    text, assets, base = _saved_xml(loaded)
    root = ET.fromstring(text)
    compiler = root.find("compiler")
    dirs: list[Path] = []
    if base is not None:
        for attr in ("meshdir", "texturedir", "assetdir"):
            sub = compiler.get(attr) if compiler is not None else None
            dirs.append((base / sub).resolve() if sub else base)
    if compiler is not None:
        for attr in ("meshdir", "texturedir", "assetdir"):
            compiler.attrib.pop(attr, None)
    files: dict[str, bytes] = {}
    for tag in _FILE_TAGS:
        for el in root.iter(tag):
            name = el.get("file")
            if not name:
                continue
            flat = Path(name).name
            files[flat] = _asset_bytes(name, dirs, assets)
            el.set("file", flat)
    files[MAIN] = ET.tostring(root, encoding="unicode").encode()
    _verify(loaded.mj_model, files)
    return SceneBundle(scene_id=spec.id, files=files)


def _verify(model: mujoco.MjModel, files: dict[str, bytes]) -> None:
    again = mujoco.MjModel.from_xml_string(
        files[MAIN].decode(), {k: v for k, v in files.items() if k != MAIN}
    )
    for field in _CHECK_FIELDS:
        if getattr(again, field) != getattr(model, field):
            raise TabRLError(
                f"exported scene differs from the loaded one ({field}); please report this scene"
            )
    if not np.allclose(again.geom_size, model.geom_size, atol=1e-6):
        raise TabRLError("exported scene differs from the loaded one (geom sizes); please report this scene")
