"""Scene endpoints through the real app (HTTP via TestClient)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tabrl.server import create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as c:
        yield c


def test_health(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["device"] == "cpu"


def test_scene_list_and_alias(client: TestClient) -> None:
    scenes = client.get("/api/playground/scenes").json()
    ids = {s["id"] for s in scenes}
    assert {"CartpoleBalance", "Go1JoystickFlatTerrain", "unitree_go1"} <= ids
    assert all(s["thumbnail_url"].endswith("/thumbnail") for s in scenes)
    assert client.get("/api/playground/models").json() == scenes
    # Robots from the asset wheels are listed offline with licence and attribution.
    spot = next(s for s in scenes if s["id"] == "SpotGetup")
    assert (
        spot["licences"][0]["license"] == "BSD-3-Clause" and "Clearpath" in spot["licences"][0]["attribution"]
    )


def test_listing_never_builds_cards_and_estimates_from_built_ones(client: TestClient) -> None:
    client.get("/api/playground/CartpoleBalance")  # builds (or reads) its card
    scenes = {s["id"]: s for s in client.get("/api/playground/scenes").json()}
    cartpole = scenes["CartpoleBalance"]
    assert cartpole["nu"] == 1 and cartpole["estimate_s"] > 0 and "to train" in cartpole["estimate_label"]


def test_card_and_thumbnail(client: TestClient) -> None:
    card = client.get("/api/playground/CartpoleBalance").json()
    assert card["nu"] == 1 and card["actuators"][0]["type"] == "motor"
    resp = client.get(card["thumbnail_url"])
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(resp.content)).size == (320, 240)


def test_unknown_scene_is_404_json(client: TestClient) -> None:
    resp = client.get("/api/playground/CartpoleBalanc")
    assert resp.status_code == 404
    body = resp.json()
    assert body["error"] == "not_found" and "CartpoleBalance" in body["message"]
    resp = client.get("/api/playground/anybotics_anymal_c/thumbnail")
    assert resp.status_code == 409 and "MENAGERIE_ROOT" in resp.json()["message"]


def test_mjcf_bundle(client: TestClient) -> None:
    import base64

    body = client.get("/api/playground/Go1JoystickFlatTerrain/mjcf").json()
    assert body["main"] == "scene.xml" and body["files"]["scene.xml"].startswith("<mujoco")
    assert "trunk.stl" in body["binary"]
    assert base64.b64decode(body["files"]["trunk.stl"])[:5] != b""


def test_presets_name_the_backend_and_the_request_can_choose(client: TestClient) -> None:
    go1 = client.get("/api/training/presets", params={"scene_id": "Go1JoystickFlatTerrain"}).json()
    assert go1["backend"] == "mujoco" and set(go1["backends"]) == {"mjx", "mujoco"}
    assert all("MuJoCo C" in p["label"] for p in go1["presets"])
    forced = client.get(
        "/api/training/presets", params={"scene_id": "Go1JoystickFlatTerrain", "backend": "mjx"}
    ).json()
    assert forced["backend"] == "mjx" and forced["presets"][0]["estimate_s"] > go1["presets"][0]["estimate_s"]
    cart = client.get("/api/training/presets", params={"scene_id": "CartpoleBalance"}).json()
    assert cart["backend"] == "mjx"
    # The task's own reward exists only in Playground's MJX env: refused at submission, with why.
    resp = client.post(
        "/api/training/start", json={"scene_id": "CartpoleBalance", "backend": "mujoco", "steps": 5000}
    )
    assert resp.status_code == 422 and "task reward" in resp.json()["message"]
    bad = client.post("/api/training/start", json={"scene_id": "CartpoleBalance", "backend": "physx"})
    assert bad.status_code == 422
