"""Submit ``nnsynth run`` to a Ray cluster through the Jobs API and stream its logs.

``submit_run(config, address)`` uploads the project directory as the job's
``runtime_env.working_dir`` (without ``.venv``, ``runs``, ``.git`` and other outputs),
starts ``nnsynth run <config>`` on the cluster, prints the job's log lines as they come
and returns the job's exit status (0 on SUCCEEDED).  This is what
``ray job submit --working-dir . -- nnsynth run CONFIG`` does, from Python.

Token authentication (on by default since Ray 2.60): the client needs
``RAY_AUTH_MODE=token`` and reads the token from ``~/.ray/auth_token`` or
``RAY_AUTH_TOKEN`` (ANCHORS, Ray facts); ``submit_run`` sets the mode when it is unset and
sends the token itself (``auth_headers``), also where ray was imported before.
"""
from __future__ import annotations

import asyncio
import os
import shlex
import time
from pathlib import Path
from typing import Callable

from cluster.connect import TOKEN_PLACES
from synth.config import short_repr
from synth.errors import UserError

# Never uploaded: environments, run outputs, VCS data, caches (gitignore-style patterns).
EXCLUDES = [".venv", "venv", "runs", ".git", "**/__pycache__", "*.pt", "*.onnx",
            "*.egg-info", ".pytest_cache", "benchmarks/results/*.parquet"]
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# A new head's job agent serves within seconds; one that never does could not bind its HTTP
# port (the agent logs it and serves no jobs), and Ray's answer says "try again later".
AGENT_WAIT_SECONDS = 60
NO_AGENT = ("No available agent to submit job: the head's job agent is not serving; another "
            "Ray on the head's machine (a running nnsynth command's local Ray among them) may "
            "hold the agent's port 52365: start the head with --dashboard-agent-listen-port "
            "<free port>")


def project_root() -> Path:
    """The directory holding pyproject.toml (this checkout)."""
    return Path(__file__).resolve().parent.parent


def job_command(config: str, run_dir: str | None = None, extra: list[str] | None = None) -> str:
    """The job's entrypoint, a shell command line: every word quoted, and the options (the
    run directory as ``--run-dir=DIR``, ``extra``) before ``--`` and the config, so that no
    name is read as an option.  A config file named ``-t.yaml`` in the project failed on the
    cluster ('No such option: -t'), and one named ``--stop-after=teacher`` would have been
    taken as that option."""
    parts = ["nnsynth", "run"]
    if run_dir:
        parts.append(f"--run-dir={run_dir}")
    parts += [*(extra or []), "--", config]
    return " ".join(shlex.quote(p) for p in parts)


def runtime_env(working_dir: str | Path | None = None, env_vars: dict | None = None) -> dict:
    """The job's runtime_env: the project as working_dir, with outputs excluded.

    The cluster's nodes need nnsynth's dependencies installed (the image in the KubeRay
    template, or ``setup_commands`` in the cluster launcher's YAML); the working_dir puts
    this checkout's code first on the import path."""
    env = {"working_dir": str(working_dir or project_root()), "excludes": list(EXCLUDES),
           "env_vars": {"PYTHONPATH": ".", "RAY_DEDUP_LOGS": "1", **(env_vars or {})}}
    return env


def upload_exclusion(root: Path, relative: Path) -> str | None:
    """Why the file ``root/relative`` is left out of the job's working_dir, or None: as Ray
    packs it, a path is skipped when it or a folder above it matches ``EXCLUDES`` (with Ray's
    default excludes), or a ``.gitignore`` (unless RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1) or
    ``.rayignore`` pattern of a folder above it (gitignore-style, relative to that folder).
    A config in ``runs/`` was submitted, and the job failed on the cluster: file not found."""
    from ray._private.ray_constants import get_runtime_env_default_excludes
    from ray._private.thirdparty.pathspec import PathSpec
    gitignore = os.environ.get("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "0") != "1"
    rules = [(Path("."), "excluded by nnsynth submit's or Ray's excludes",
              EXCLUDES + get_runtime_env_default_excludes())]
    parts = relative.parts
    for depth in range(len(parts)):
        here = Path(*parts[:depth]) if depth else Path(".")
        for name in (".gitignore", ".rayignore") if gitignore else (".rayignore",):
            file = root / here / name
            if file.is_file():
                try:
                    lines = file.read_text(errors="replace").splitlines()
                except OSError:
                    continue
                rules.append((here, f"matched by {(here / name).as_posix()}", lines))
        path = Path(*parts[:depth + 1])
        for base, why, patterns in rules:
            if PathSpec.from_lines("gitwildmatch", patterns).match_file(
                    path.relative_to(base).as_posix()):
                return f"{path.as_posix()} is {why}"
    return None


NO_TOKEN = ("the Ray cluster at {address} needs an authentication token and none was found: "
            + TOKEN_PLACES)


def auth_headers(address: str) -> dict | None:
    """The ``Authorization`` header that carries the cluster's token, or None when the user
    set RAY_AUTH_MODE to something other than token (Ray's own opt-out).  The token is read
    where Ray reads it (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``)
    and given to the client explicitly: setting RAY_AUTH_MODE=token alone did nothing in a
    process that had imported ray before (Ray reads the mode once, at import), so
    ``submit_run`` from a script or notebook sent no token and the cluster refused it."""
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None and mode.lower() != "token":
        return None
    os.environ.setdefault("RAY_AUTH_MODE", "token")   # for ray clients started after this
    from ray._raylet import AuthenticationTokenLoader
    loader = AuthenticationTokenLoader.instance()
    loader.reset_cache()   # the token as it is now, not as an earlier call found it
    if not loader.has_token(ignore_auth_mode=True):
        raise UserError(NO_TOKEN.format(address=address))
    return {"Authorization": f"Bearer {loader.get_raw_token(ignore_auth_mode=True)}"}


def _client(address: str):
    headers = auth_headers(address)
    from ray.exceptions import AuthenticationError
    from ray.job_submission import JobSubmissionClient
    try:
        return JobSubmissionClient(address, headers=headers)
    except AuthenticationError:   # raised before any connection when no token is found
        raise UserError(NO_TOKEN.format(address=address)) from None
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise UserError(f"cannot reach the Ray dashboard at {address}: "
                        f"{str(e).splitlines()[0]}") from None


def submit_run(config: str, address: str, *, run_dir: str | None = None,
               working_dir: str | Path | None = None, follow: bool = True,
               echo: Callable[[str], None] = print, timeout_s: float | None = None,
               submission_id: str | None = None) -> dict:
    """Submit ``nnsynth run CONFIG`` and (with ``follow``) stream its logs until it ends.

    Returns ``{"job_id", "status", "exit_code"}``; exit_code is 0 for SUCCEEDED, 1 for
    FAILED/STOPPED, None when not followed."""
    if not address.startswith(("http://", "https://")):
        raise UserError(f"--address must be the dashboard URL (http://HOST:8265), got {short_repr(address)}")
    from deploy.run_config import BUNDLED, load_run_config
    # the config's keys, types and values are checked here, before the upload: a bad one
    # failed on the cluster.  Its data and space paths are not: they are read there
    load_run_config(config)
    if config not in BUNDLED and Path(config).is_file():
        # Uploaded with the working_dir: refer to it by its path inside the project.
        root = Path(working_dir or project_root()).resolve()
        try:
            relative = Path(config).resolve().relative_to(root)
        except ValueError:
            raise UserError(f"config {config} must lie inside the uploaded project {root} "
                            f"(or be a bundled name: {', '.join(BUNDLED)})") from None
        rule = upload_exclusion(root, relative)
        if rule:   # the job failed on the cluster: its config was never uploaded
            raise UserError(f"config {config} is not uploaded with the project ({rule}); "
                            f"move it elsewhere in {root}")
        config = str(relative)
    client = _client(address)
    deadline = time.monotonic() + AGENT_WAIT_SECONDS
    while True:  # a just-started head answers before its job agent is ready
        try:
            job_id = client.submit_job(entrypoint=job_command(config, run_dir),
                                       runtime_env=runtime_env(working_dir),
                                       submission_id=submission_id,
                                       metadata={"tool": "nnsynth", "config": str(config)})
            break
        except RuntimeError as e:
            no_agent = "No available agent" in str(e)
            if no_agent and time.monotonic() <= deadline:
                time.sleep(1.0)
                continue
            why = NO_AGENT if no_agent else str(e).splitlines()[0]
            raise UserError(f"job submission to {address} failed: {why}") from None
    echo(f"submitted job {job_id} to {address}")
    if not follow:
        return {"job_id": job_id, "status": str(client.get_job_status(job_id)), "exit_code": None}
    status = _follow(client, job_id, echo, timeout_s)
    return {"job_id": job_id, "status": status, "exit_code": 0 if status == "SUCCEEDED" else 1}


def _follow(client, job_id: str, echo: Callable[[str], None], timeout_s: float | None) -> str:
    """Stream the job's logs (``tail_job_logs``) and return its terminal status."""
    async def tail():
        async for chunk in client.tail_job_logs(job_id):
            for line in chunk.splitlines():
                echo(line)

    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        asyncio.run(asyncio.wait_for(tail(), timeout_s))
    except asyncio.TimeoutError:
        client.stop_job(job_id)
        raise UserError(f"job {job_id} did not finish within {timeout_s:.0f} s; stopped it")
    while True:  # the log stream ends when the job ends; the status may lag a moment
        status = str(client.get_job_status(job_id)).split(".")[-1]
        if status in TERMINAL:
            return status
        if deadline is not None and time.monotonic() > deadline:
            client.stop_job(job_id)
            raise UserError(f"job {job_id} did not finish within {timeout_s:.0f} s; stopped it")
        time.sleep(0.5)
