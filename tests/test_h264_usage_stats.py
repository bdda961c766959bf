"""Ray's usage stats are off wherever nnsynth tells the user to start Ray (h264).

``ray start`` (Ray 2.60) collects usage stats by default and reports them to Ray's servers
from the head: the README's cluster commands and the two templates left it on, while
nnsynth's own local Ray (``cluster.connect`` sets RAY_USAGE_STATS_ENABLED=0) and the test
head (``tests.deploy.raytools.LocalHead``: ``--disable-usage-stats``) turn it off.
``ray start --help``: "--disable-usage-stats  If True, the usage stats collection will be
disabled"; a KubeRay pod, whose ``ray start`` KubeRay writes, takes the environment
variable RAY_USAGE_STATS_ENABLED=0.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.test_h211_cluster_auth import _shell_lines

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "deploy" / "templates"
OPT_OUT = "--disable-usage-stats"


def test_readme_ray_start_commands_disable_usage_stats():
    commands = [c for c in _shell_lines((ROOT / "README.md").read_text())
                if re.search(r"\bray start\b", c)]
    assert len(commands) >= 2, commands          # the head and a worker
    for command in commands:
        assert OPT_OUT in command.split(), command


def test_cluster_launcher_starts_ray_without_usage_stats():
    config = yaml.safe_load((TEMPLATES / "cluster.yaml").read_text())
    starts = [c for key in ("head_start_ray_commands", "worker_start_ray_commands")
              for c in config[key] if "ray start" in c]
    assert len(starts) == 2, starts
    for command in starts:
        assert OPT_OUT in command.split(), command


def test_rayjob_pods_disable_usage_stats():
    spec = yaml.safe_load((TEMPLATES / "rayjob.yaml").read_text())["spec"]
    cluster = spec["rayClusterSpec"]
    pods = {"head": cluster["headGroupSpec"]["template"],
            "submitter": spec["submitterPodTemplate"]}
    pods.update({group["groupName"]: group["template"] for group in cluster["workerGroupSpecs"]})
    for name, pod in pods.items():
        for container in pod["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env.get("RAY_USAGE_STATS_ENABLED") == "0", (name, env)


def test_the_flag_is_the_installed_rays():
    """The flag the README gives is one the installed ``ray start`` accepts."""
    from ray.scripts.scripts import start
    assert OPT_OUT in {opt for p in start.params for opt in p.opts}
