"""Token authentication where nnsynth tells the user to start a Ray cluster.

Ray 2.60 turns token authentication on by default for a local ``ray.init()`` only (Ray's
docs: 2.59 for local clusters, 2.61 for all).  ``ray start --head`` enables it only with
RAY_AUTH_MODE=token or when a token file already exists
(``maybe_enable_token_auth_if_token_available``): the README's cluster commands, the
cluster-launcher template and the KubeRay template started heads without it -- GCS, raylet
and the job API open on every interface to anyone who can reach them -- while the README
said "Ray 2.60 heads require a token by default".  (Shown by ``ray start --head
--dashboard-host 127.0.0.1`` with an empty HOME: Ray logs "Token authentication is
disabled for this Ray cluster" and the gcs_server listens on ``*``.)

And the library path: a local Ray started in-process by ``cluster.connect`` (the suite's
``ray_local``) listens on the loopback address only, workers included, in token mode.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from tests.cluster.test_loopback import LOOPBACK, _listeners_of, _listening
from tests.deploy.raytools import descendants

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "deploy" / "templates"


def _shell_lines(markdown: str) -> list[str]:
    """The commands of the README's ```bash blocks (continuation lines joined)."""
    lines = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", markdown, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        lines += [line.split("#", 1)[0].strip() for line in joined.splitlines()]
    return [line for line in lines if line]


def test_readme_cluster_commands_turn_token_auth_on():
    text = (ROOT / "README.md").read_text()
    commands = [c for c in _shell_lines(text) if re.search(r"\bray (start|job submit)\b", c)]
    assert any("ray start --head" in c for c in commands), commands
    for command in commands:
        assert "RAY_AUTH_MODE=token" in command.split("ray ", 1)[0], command
    assert "heads require a token by default" not in text


def test_cluster_launcher_starts_every_node_with_token_auth():
    config = yaml.safe_load((TEMPLATES / "cluster.yaml").read_text())
    starts = [c for key in ("head_start_ray_commands", "worker_start_ray_commands")
              for c in config[key] if "ray start" in c]
    assert len(starts) == 2, starts
    for command in starts:
        assert command.startswith("RAY_AUTH_MODE=token ray start"), command
    # the same token on every node: the user's, copied where Ray reads it
    assert config["file_mounts"].get("/home/ubuntu/.ray/auth_token") == "~/.ray/auth_token"


def test_rayjob_gives_every_pod_token_auth():
    spec = yaml.safe_load((TEMPLATES / "rayjob.yaml").read_text())["spec"]
    cluster = spec["rayClusterSpec"]
    pods = {"head": cluster["headGroupSpec"]["template"],
            "submitter": spec.get("submitterPodTemplate")}
    pods.update({group["groupName"]: group["template"] for group in cluster["workerGroupSpecs"]})
    for name, pod in pods.items():
        assert pod, f"{name}: no pod template"
        for container in pod["spec"]["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            assert env.get("RAY_AUTH_MODE", {}).get("value") == "token", (name, env)
            assert "secretKeyRef" in env.get("RAY_AUTH_TOKEN", {}).get("valueFrom", {}), \
                (name, env)


def test_in_process_local_ray_listens_on_loopback_only(ray_local):
    """Every listening socket of this process's Ray (GCS, raylet, agents, dashboard's API
    head, the driver, an actor's worker) is on 127.0.0.1; token mode is on."""
    ray = ray_local

    @ray.remote(num_cpus=0)
    class Probe:
        def pid(self):
            return os.getpid()

    probe = Probe.remote()
    assert ray.get(probe.pid.remote()) > 0
    table, seen = _listening(), {}
    for pid in [os.getpid(), *descendants(os.getpid())]:
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for address in _listeners_of(pid, fds, table):
            seen[(name,) + address] = True
    ray.kill(probe)
    names = {name for name, _, _ in seen}
    assert {"gcs_server", "raylet"} <= names, seen
    assert not [k for k in seen if k[1] not in LOOPBACK], sorted(seen)
    from ray._raylet import AuthenticationMode, get_authentication_mode
    assert get_authentication_mode() == AuthenticationMode.TOKEN
