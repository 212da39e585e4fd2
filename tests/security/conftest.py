"""A real `tabrl serve` process for the adversarial probes (issue 14).

The server runs as a subprocess on 127.0.0.1 only, on a free port, with its own TABRL_HOME
(one CartpoleBalance policy in its model library, made without training), fake provider
keys in its environment, and short body timeouts. Probes talk to it over real sockets.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Keys the server holds; probes check that they never reach a caller-chosen address.
SERVER_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-SERVERKEY-0123456789",
    "OPENAI_API_KEY": "sk-oai-SERVERKEY-0123456789",
}
BODY_TIMEOUT_S = 2.0
POLICY_ID = "CartpoleBalance-probe-policy"
REWARD = (
    "def compute_reward(s, action):\n"
    '    return {"upright": s.body_upright("pole_1"), "effort": -0.1 * jnp.sum(action ** 2)}\n'
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `tabrl serve`."""

    port: int
    home: Path
    log: Path
    proc: subprocess.Popen
    token: str | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        """ws://127.0.0.1:PORT"""
        return f"ws://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict | list | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 120.0,
    ) -> tuple[int, dict | None, bytes]:
        """(status, JSON body or None, raw body) of one HTTP request."""
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        data = data.encode() if isinstance(data, str) else data
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=dict(headers or {}))
        if data is not None and "content-type" not in {k.lower() for k in req.headers}:
            req.add_header("Content-Type", "application/json")
        if self.token and not any(k.lower() == "authorization" for k in req.headers):
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return status, parsed, raw

    def log_text(self) -> str:
        """What the server printed so far."""
        return self.log.read_text(errors="replace")


def make_library_policy(home: Path, model_id: str = POLICY_ID) -> str:
    """A CartpoleBalance policy in `home`'s model library (Brax's initialiser, no training)."""
    import jax
    import jax.numpy as jnp
    from brax.training.acme import running_statistics, specs
    from brax.training.agents.ppo import networks as ppo_networks

    from tabrl.policies import NetworkSpec, PolicyManifest, RewardInfo, save_policy
    from tabrl.policies.inference import activation as _activation

    net = ppo_networks.make_ppo_networks(
        5,
        1,
        preprocess_observations_fn=running_statistics.normalize,
        policy_hidden_layer_sizes=(16, 16),
        value_hidden_layer_sizes=(8,),
        activation=_activation("swish"),
    )
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    normalizer = running_statistics.init_state(specs.Array((5,), jnp.float32))
    params = (normalizer, net.policy_network.init(k1), net.value_network.init(k2))
    manifest = PolicyManifest(
        id=model_id,
        scene_id="CartpoleBalance",
        observation_size=5,
        observation_sizes={"state": 5},
        action_size=1,
        network=NetworkSpec(
            policy_hidden_layer_sizes=(16, 16), value_hidden_layer_sizes=(8,), activation="swish"
        ),
        reward=RewardInfo.from_source(REWARD, "probe", ("upright", "effort")),
        config={"seed": 0},
        created_at="2026-01-01T00:00:00",
    )
    save_policy(home / "policies" / model_id, manifest, params)
    return model_id


def start_server(home: Path, *, token: str | None = None, extra_env: dict[str, str] | None = None) -> Server:
    """`tabrl serve` on 127.0.0.1 and a free port; returns once /api/health answers."""
    port = free_port()
    log = home / "server.log"
    env = {
        **os.environ,
        "TABRL_HOME": str(home),
        "TABRL_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "TABRL_MAX_CONCURRENT_JOBS": "1",
        "PYTHONUNBUFFERED": "1",
        **SERVER_KEYS,
        **(extra_env or {}),
    }
    env.pop("TABRL_TOKEN", None)
    if token:
        env["TABRL_TOKEN"] = token
    cmd = [sys.executable, "-m", "tabrl.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--no-build-web"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    server = Server(port=port, home=home, log=log, proc=proc, token=token)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"tabrl serve exited with {proc.returncode}:\n{server.log_text()[-3000:]}")
        try:
            if server.request("GET", "/api/health", timeout=5)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"tabrl serve did not answer in 120 s:\n{server.log_text()[-3000:]}")


def stop_server(server: Server) -> None:
    """Stop the server (and its job workers, which it interrupts on the way out)."""
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A fresh `tabrl serve` with one policy in its library (shared by the probes)."""
    home = tmp_path_factory.mktemp("security-home")
    make_library_policy(home)
    srv = start_server(home)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="package")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A `tabrl serve` with an access token set (TABRL_TOKEN), still on loopback."""
    home = tmp_path_factory.mktemp("security-token-home")
    srv = start_server(home, token="probe-token-0123456789")
    yield srv
    stop_server(srv)
