"""One place decides where work runs: a local Ray on this machine, or an existing cluster.

Local Ray binds its dashboard and every port to 127.0.0.1 and keeps Ray's token
authentication (on by default since Ray 2.60); logs are quiet.  ``address`` (or the
RAY_ADDRESS environment variable) joins an existing cluster instead.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

# Must be set before ``import ray`` to take effect (ANCHORS: Ray facts).
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# A local (single-machine) Ray uses the loopback address for its node IP, so that no
# port listens on an outside interface.  Joining a cluster (RAY_ADDRESS) keeps Ray's default.
if not os.environ.get("RAY_ADDRESS"):
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

LOCALHOST = "127.0.0.1"


def match_torch_threads() -> int:
    """Inside a Ray worker: set torch's intra-op threads to the CPUs this task or actor was
    given (K actors on K cores then scale instead of oversubscribing).  Returns the count."""
    import ray
    import torch
    cpus = 1
    if ray.is_initialized():
        try:
            cpus = int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1)) or 1
        except Exception:  # driver process: no assignment
            cpus = os.cpu_count() or 1
    torch.set_num_threads(max(1, cpus))
    return torch.get_num_threads()


def connect(address: str | None = None, num_cpus: int | None = None, *, quiet: bool = True,
            runtime_env: dict | None = None, namespace: str = "nnsynth"):
    """Start or join Ray; idempotent (a second call returns the running context).

    ``address=None`` and no RAY_ADDRESS: a local Ray with ``num_cpus`` (default: all),
    bound to 127.0.0.1.  ``address="auto"`` or ``"ray://host:10001"``: join that cluster.
    """
    import ray
    if ray.is_initialized():
        return ray.get_runtime_context()
    address = address or os.environ.get("RAY_ADDRESS") or None
    # Ray sets OMP_NUM_THREADS to each task's CPUs; actors and trials also call
    # match_torch_threads() so torch follows the CPUs they were given.
    kwargs = dict(log_to_driver=not quiet, namespace=namespace, runtime_env=runtime_env,
                  configure_logging=True, logging_level="ERROR" if quiet else "INFO")
    if address:
        log.info("joining the Ray cluster at %s", address)
        ray.init(address=address, **kwargs)
    else:
        from ray._private import ray_constants  # in case ray was imported before this module
        ray_constants.ENABLE_RAY_CLUSTER = False
        log.info("starting a local Ray on %s (%s CPUs)", LOCALHOST, num_cpus or "all")
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, dashboard_host=LOCALHOST,
                 _node_ip_address=LOCALHOST, **kwargs)
    return ray.get_runtime_context()


def shutdown() -> None:
    import ray
    if ray.is_initialized():
        ray.shutdown()
