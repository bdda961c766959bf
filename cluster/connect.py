"""One place decides where work runs: a local Ray on this machine, or an existing cluster.

Local Ray binds its dashboard and every port to 127.0.0.1 and keeps Ray's token
authentication (on by default since Ray 2.60); its files lie in a folder of this user's
alone (``cluster.ray_dir``); logs are quiet.  ``address`` (or the RAY_ADDRESS environment
variable) joins an existing cluster instead.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import threading
from pathlib import Path

from cluster.addresses import GCS_CHECK_SECONDS, host_port

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


# Ray 2.60 logs, at every local start with RAY_AUTH_MODE unset (and when "auto" finds a
# token), "Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled
# to opt out. ..." -- advice nnsynth refuses (_require_token_auth).  That one sentence is
# taken out of the line; the rest of it (a WARNING that says only that the setting nnsynth
# requires, and checks after the start, is on) shows with nnsynth -v, as Ray's INFO lines
# do (``shows_ray_info``); every other record passes.
RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
AUTH_OPT_OUT = re.compile(r"\s*Set RAY_AUTH_MODE=disabled to opt out\.")
AUTH_ENABLED = "Token authentication is enabled for this Ray cluster."


def shows_ray_info() -> bool:
    """Whether Ray's own info messages are shown: where nnsynth's are (``nnsynth -v``
    sets the level of nnsynth's loggers, ``cluster`` among them, to INFO)."""
    return logging.getLogger("cluster").isEnabledFor(logging.INFO)


class _NoAuthOptOut(logging.Filter):
    """Removes Ray's advice to set RAY_AUTH_MODE=disabled from its records; a record that
    still gives the advice in other words is dropped, and so is the note that token
    authentication is enabled unless Ray's info is shown (``shows_ray_info``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (message.startswith(AUTH_ENABLED) and record.levelno < logging.ERROR
                and not shows_ray_info()):
            return False
        if "RAY_AUTH_MODE=disabled" not in message:
            return True
        message = AUTH_OPT_OUT.sub("", message)
        if "RAY_AUTH_MODE=disabled" in message:
            return False
        record.msg, record.args = message, ()
        return True


def hide_auth_opt_out() -> None:
    """Install the filter on Ray's authentication logger (once; before ``ray.init``)."""
    logger = logging.getLogger(RAY_AUTH_LOGGER)
    if not any(isinstance(f, _NoAuthOptOut) for f in logger.filters):
        logger.addFilter(_NoAuthOptOut())


# Ray Train's own progress, logged where it runs (its workers, its controller actor and its
# detached placement-group cleaner, whose lines reach the command's stderr) between
# nnsynth's lines ("[4/5] refine ..."): each checkpoint a worker reports, "Checkpoint
# successfully created at: Checkpoint(filesystem=local, path=...)" (INFO; a scratch folder
# nnsynth deletes after reading it); the controller's "Requesting resources: {'CPU': 2.0} *
# 1", "Attempting to start training worker group of size 1 ..." and "Started training
# worker group of size 1: ..." (INFO); and at the end of a fit, once its controller actor is
# gone, "Failed to query Ray Train Controller actor state. State API may be temporarily
# unavailable. Continuing to monitor." (WARNING: the cleaner polls the state API until it
# sees the controller dead; nothing failed); and, on a busy machine, the controller's
# "Failed to send resource request for train-<run id>. If this only happens transiently
# ... it's safe to ignore this error." with a GetTimeoutError traceback (WARNING, with
# exc_info: its ray.get of the detached AutoscalingCoordinator actor took over Ray's 5 s,
# as the actor's first start does on a loaded CPU) and "Failed to cancel resource request
# for ..." as the fit ends (WARNING likewise).  Those requests only tell an autoscaler what
# the training will ask for: the training's placement group is requested on its own, a
# local Ray has no autoscaler, the request is sent again every 20 s while the fit runs
# and expires after 180 s, so neither failure changes the training.  Those
# messages are dropped; every other record of those loggers passes (a training that fails
# raises TrainingFailedError in the driver, which says its error).
_TRAIN = "ray.train.v2._internal.execution"
RAY_TRAIN_CHATTER = {
    f"{_TRAIN}.storage": ("Checkpoint successfully created at:",),
    "ray.train._internal.storage": ("Checkpoint successfully created at:",),
    f"{_TRAIN}.scaling_policy.scaling_policy": ("Requesting resources:",),
    f"{_TRAIN}.worker_group.worker_group": ("Attempting to start training worker group",
                                             "Started training worker group"),
    f"{_TRAIN}.controller.placement_group_cleaner":
        ("Failed to query Ray Train Controller actor state.",),
    f"{_TRAIN}.scaling_policy.autoscaling_coordinator_client":
        ("Failed to send resource request for ", "Failed to cancel resource request for "),
    # in each training worker: prepare_model's "Moving model to device: cpu" (INFO, rank 0)
    "ray.train.v2.torch.train_loop_utils": ("Moving model to device:",),
    "ray.train.torch.train_loop_utils": ("Moving model to device:",),
}
# Loggers Ray Train names by their module's file (``logging.getLogger(__file__)``): outside
# ``ray.train``, so its workers' root logger (INFO, to the console) shows them.  Each
# ``ray.train.report`` of a worker logs "Reporting training result 1: TrainingReport(
# checkpoint=Checkpoint(filesystem=local, path=...), metrics={'rank': 0}, ...) from rank 0"
# (INFO).  Keyed by module; the logger's name is that module's file, found where it is used.
RAY_TRAIN_FILE_CHATTER = {
    f"{_TRAIN}.context": ("Reporting training result ",),
}


class _NoRayTrainChatter(logging.Filter):
    """Drops a record below ERROR of its logger whose message begins with one of
    ``prefixes``."""

    def __init__(self, prefixes: tuple):
        super().__init__()
        self.prefixes = tuple(prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.levelno >= logging.ERROR
                or not record.getMessage().startswith(self.prefixes))


def hide_ray_train_chatter() -> None:
    """Install ``RAY_TRAIN_CHATTER``'s and ``RAY_TRAIN_FILE_CHATTER``'s filters (once per
    process): in the driver by
    ``connect``, and in each worker of a local Ray it starts through their
    ``worker_process_setup_hook`` (``setup_local_worker``), where Ray Train logs them (a
    joined cluster's workers log as that cluster is set up to)."""
    chatter = dict(RAY_TRAIN_CHATTER)
    for module, prefixes in RAY_TRAIN_FILE_CHATTER.items():
        path = _module_file(module)
        if path:
            chatter[path] = prefixes
    for name, prefixes in chatter.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoRayTrainChatter) for f in logger.filters):
            logger.addFilter(_NoRayTrainChatter(prefixes))


def _module_file(module: str) -> str | None:
    """The file of ``module`` as its ``__file__`` will name it (the top package's folder
    joined with the rest of the dotted name, as the import system joins them), or None
    where there is no such file; nothing below the top package is imported (``ray.train``
    takes a second)."""
    import importlib.util
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations or not rest:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], *rest) + ".py"
    return path if os.path.isfile(path) else None


def ray_log_level(quiet: bool) -> str:
    """The level of Ray's own driver logger (``ray.init``'s ``logging_level``): ERROR with
    ``quiet`` (``nnsynth -q``); INFO where nnsynth's own info messages show (``nnsynth
    -v``); else WARNING.  At INFO without -v a local start printed "Started a local Ray
    instance.", and Ray Train's local mode (scaling.num_workers 0) "Running in local mode.
    The training function will run in the same process. ..." and "Reported metrics:
    {'rank': 0}" between nnsynth's progress lines."""
    if quiet:
        return "ERROR"
    return "INFO" if shows_ray_info() else "WARNING"


def name_own_cluster(gcs_address: str | None, environ=os.environ) -> None:
    """RAY_ADDRESS set to ``gcs_address`` where it is unset (``environ``: a worker's
    environment).  Ray's state API called without an address (Ray Train's detached
    PlacementGroupCleaner asks it whether the training's controller lives, after every fit)
    looks for "the" Ray of the machine: the GCS of ``ray start``'s ray_current_cluster, else
    the one gcs_server process running.  With a second Ray on the machine (a developer's
    ``ray start --head``, another nnsynth command) the cleaner's thread died in a traceback
    ("ConnectionError: Found multiple active Ray instances: {...}. Please specify the one to
    connect to by setting the `--address` flag or `RAY_ADDRESS` environment variable.") or
    asked the other Ray, which knows no such controller."""
    if gcs_address and not environ.get("RAY_ADDRESS"):
        environ["RAY_ADDRESS"] = gcs_address


def setup_local_worker() -> None:
    """Every worker of a local Ray runs this first (its ``worker_process_setup_hook``,
    ``RAY_WORKER_SETUP``): Ray Train's chatter filtered (``hide_ray_train_chatter``) and the
    worker's own cluster named for Ray's state API (``name_own_cluster``)."""
    import ray
    hide_ray_train_chatter()
    name_own_cluster(ray.get_runtime_context().gcs_address)


RAY_WORKER_SETUP = f"{__name__}.setup_local_worker"

# Ray Train 2.60 starts, for every fit, a PreemptionWatcher actor (max_restarts=-1) that polls
# the GCS for nodes being drained (a cloud's spot preemption) and only logs and marks them.
# Its start printed, from the training's controller, a C++ error line between nnsynth's
# ("(TrainController pid=...) ... core_worker.cc:2465: Actor with class name:
# 'PreemptionWatcher' and ID: '...' has constructor arguments in the object store and
# max_restarts > 0. If the arguments ... are lost, the actor restart will fail. See
# https://github.com/ray-project/ray/issues/53727 ...").  A local Ray is this one machine: no
# node of it is drained while it runs, so the watcher is not started there (Ray Train's own
# switch, read by the controller; a value the user set is kept).  A joined cluster keeps it.
PREEMPTION_WATCHER = "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER"


def local_runtime_env(runtime_env: dict | None, environ=os.environ) -> dict:
    """The runtime environment of a local Ray's workers: ``runtime_env`` with nnsynth's
    ``worker_process_setup_hook`` (``setup_local_worker``: their logs too) where it names
    none, and ``PREEMPTION_WATCHER`` off where neither ``environ`` (which the workers
    inherit) nor its ``env_vars`` sets it."""
    env = dict(runtime_env or {})
    if not env.get("worker_process_setup_hook"):
        env["worker_process_setup_hook"] = RAY_WORKER_SETUP
    env_vars = dict(env.get("env_vars") or {})
    if PREEMPTION_WATCHER not in env_vars and PREEMPTION_WATCHER not in environ:
        env["env_vars"] = {**env_vars, PREEMPTION_WATCHER: "0"}
    return env


@contextlib.contextmanager
def deferred_sigint():
    """Ctrl-C (SIGINT) during the block is held and delivered when it ends (to the handler
    there was: Python's raises KeyboardInterrupt).  ``ray.init`` starts Ray's processes by
    fork: a Ctrl-C that came during one was raised in logging's at-fork handler, where Python
    ignores exceptions ("Exception ignored in: <function _releaseLock ...> ...
    KeyboardInterrupt", a traceback on stderr), and `nnsynth invert` ran on to its end.  Off
    the main thread nothing changes; where SIGINT is not a Python handler's (ignored: a
    command started in the background by a script) it is left alone, and SIGTERM's handler
    is still put back (below)."""
    import signal
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    # ray.init replaces a SIGTERM handler with its own (sys.exit(15)): the CLI's, which ends
    # a command as Ctrl-C does (deploy.cli.main.Terminated), is put back after it -- also
    # where SIGINT is ignored: a search started with '&' then ended with kill had Ray's
    # handler left, and its core worker's crash handler printed 'SIGTERM received' with a
    # stack and aborted (exit 134; no 'interrupted:' line)
    term = signal.getsignal(signal.SIGTERM)
    held: list = []
    if callable(previous):
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        if callable(previous):
            signal.signal(signal.SIGINT, previous)
        if callable(term) and signal.getsignal(signal.SIGTERM) is not term:
            signal.signal(signal.SIGTERM, term)
    if held:
        previous(signal.SIGINT, None)


@contextlib.contextmanager
def ray_in_own_group():
    """The processes ``ray.init`` starts during the block (GCS, raylet, dashboard, monitors;
    the raylet's workers are its children) in a process group of their own, where the kernel
    ends them with this process (Ray's fate sharing: Linux's parent-death signal), as Ray
    itself does on Windows.  In this process's group they took the SIGTERM meant for the
    command (``kill -- -PGID``; ``timeout``, which signals its whole group; a job's end): the
    raylet went, Ray's core worker here ended the process with status 1 ('The connection to
    the plasma store is failed. Terminate the process'), or waited 60 s for the dead GCS and
    printed 'Failed to connect to GCS within 60 seconds' beneath the 'interrupted:' line.
    Now the command alone takes it, ends as SIGTERM ends it (143, its 'interrupted:' line)
    and stops its Ray as it exits.  Ray already keeps SIGINT (Ctrl-C at the terminal) from
    them.  Without kernel fate sharing (Ray then kills its processes by group, from a reaper
    process), or with no ``process_group`` in this Python (3.10), nothing changes."""
    import sys
    try:      # Ray 2.60's Popen of its processes: private, so a Ray without it changes nothing
        from ray._private import services, utils
        original = getattr(services, "ConsolePopen", None)
        shared = original is not None and bool(utils.detect_fate_sharing_support())
    except (ImportError, AttributeError):
        original, shared = None, False
    if sys.platform == "win32" or sys.version_info < (3, 11) or not shared:
        yield
        return

    class OwnGroupPopen(original):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("process_group", 0)   # setpgid(0, 0) in the child
            super().__init__(*args, **kwargs)

    services.ConsolePopen = OwnGroupPopen
    try:
        yield
    finally:
        services.ConsolePopen = original


LOCAL_ADDRESSES = (None, "", "local")
STARTUP_ATTEMPTS = 3      # local Ray starts tried when the raylet misses its start-up window


def connect(address: str | None = None, num_cpus: int | None = None, *, quiet: bool = True,
            runtime_env: dict | None = None, namespace: str = "nnsynth",
            dashboard: bool = False):
    """Start or join Ray; idempotent (a second call returns the running context).

    ``address`` None, "" or "local" (and no RAY_ADDRESS): a fresh local Ray with
    ``num_cpus`` (default: all), every process bound to 127.0.0.1 (node IP, GCS, raylet,
    workers, metrics; the dashboard only with ``dashboard=True``, on 127.0.0.1 too) and
    Ray's token authentication on.  Any other address (``"auto"``, ``"ray://host:10001"``,
    ``"host:6379"``) joins that cluster, whose own settings apply.  This is the one code
    path that starts a local Ray: callers pass the user's address through unchanged.
    """
    import ray
    if ray.is_initialized():
        _check_same_cluster(address)
        return ray.get_runtime_context()
    check_command_line()
    hide_auth_opt_out()
    hide_ray_train_chatter()
    if address in LOCAL_ADDRESSES:
        address = os.environ.get("RAY_ADDRESS") or None
    # Ray sets OMP_NUM_THREADS to each task's CPUs; actors and trials also call
    # match_torch_threads() so torch follows the CPUs they were given.
    kwargs = dict(log_to_driver=not quiet, namespace=namespace, runtime_env=runtime_env,
                  configure_logging=True, logging_level=ray_log_level(quiet))
    if address and address not in LOCAL_ADDRESSES:
        log.info("joining the Ray cluster at %s", address)
        with deferred_sigint():
            _join(address, kwargs)
        from cluster.join_auth import warn_if_open    # a cluster without token auth: said
        client = address.strip().startswith("ray://")
        warn_if_open(address.strip() if client else ray.get_runtime_context().gcs_address)
        return ray.get_runtime_context()
    _require_token_auth()
    check_local_cpus(num_cpus)
    private_token()
    kwargs["runtime_env"] = local_runtime_env(runtime_env)
    # Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER when it is imported: when it was imported
    # before this module, its node-IP lookup still asks the network for an outside address,
    # so the constant is switched here too (no public API sets it after import).
    from ray._private import ray_constants
    ray_constants.ENABLE_RAY_CLUSTER = False
    from cluster.ray_dir import ray_temp_dir
    temp_dir = ray_temp_dir()      # Ray's folders are 0777: they go in one of this user's
    if temp_dir:
        kwargs["_temp_dir"] = temp_dir
    log.info("starting a local Ray on %s (%s CPUs)", LOCALHOST, num_cpus or "all")
    # "local" always starts a new Ray: plain ray.init() would join whatever cluster
    # /tmp/ray/ray_current_cluster names (another process's, possibly dead: it then hangs).
    for attempt in range(1, STARTUP_ATTEMPTS + 1):
        try:
            with deferred_sigint(), ray_in_own_group():
                ray.init(address="local", num_cpus=num_cpus, include_dashboard=dashboard,
                         dashboard_host=LOCALHOST, _node_ip_address=LOCALHOST, **kwargs)
            break
        except Exception as e:
            # Ray gives a new raylet a fixed 30 s to register with the GCS; on a loaded
            # machine it can take longer.  The half-started Ray is stopped and started again.
            if "timed out during startup" not in str(e):
                raise
            if attempt == STARTUP_ATTEMPTS:   # Ray's own 40-line traceback said no more
                ray.shutdown()                 # the half-started Ray's processes stopped
                from synth.errors import UserError
                raise UserError(
                    f"the local Ray did not start: its raylet timed out during startup "
                    f"{STARTUP_ATTEMPTS} times (Ray gives it 30 s; the machine is overloaded?)"
                    f"; rerun when the load is lower, or join a running Ray with --address"
                ) from None
            log.warning("the local Ray did not start within Ray's 30 s (attempt %d of %d); "
                        "starting it again", attempt, STARTUP_ATTEMPTS)
            ray.shutdown()
    _check_token_auth_started()
    if temp_dir:              # its session is nnsynth's; ended ones beyond the last few go
        from cluster.ray_dir import own_session
        own_session(temp_dir)
    return ray.get_runtime_context()


def check_start(address: str | None, num_cpus=None) -> None:
    """What ``connect(address, num_cpus)`` would refuse before Ray starts, for a caller that
    makes files first (a run, search or sweep directory): before a local Ray, token
    authentication turned off or a CPU count out of range; before joining a cluster, an
    address nothing answers at (``check_address``).  A refused ``nnsynth sweep --address
    127.0.0.1:1`` had made its sweep directory first (and ``nnsynth run`` had deleted the
    outputs of stages it was about to run again).  Nothing when Ray runs in this process
    already (``connect`` returns it)."""
    import sys
    ray = sys.modules.get("ray")
    if ray is not None and getattr(ray, "is_initialized", lambda: False)():
        return
    check_command_line()
    if address in LOCAL_ADDRESSES:
        address = os.environ.get("RAY_ADDRESS") or None
    if address and address not in LOCAL_ADDRESSES:
        check_address(address)
        return
    _require_token_auth()
    check_local_cpus(num_cpus)


def check_command_line(argv: list[str] | None = None) -> None:
    """One line where this process's command line holds an argument that is not UTF-8 text
    (a file or folder named in Latin-1: Python holds its bytes as surrogates U+DC80..U+DCFF).
    ``ray.init`` (local or joining) records the command line as the job's entrypoint in
    UTF-8, and such an argument was a UnicodeEncodeError traceback from Ray's core worker
    (``nnsynth invert --out $'d\\xff/inv'``, search, run, sweep, distill --num-workers).
    Called by ``connect`` and ``check_start``, so before Ray starts and before a command makes
    its output folder.  ``argv``: the arguments to check (default: ``sys.argv``, whose
    arguments are the ones a user typed; the interpreter's own path is checked too, as Ray
    records it)."""
    import sys
    from synth.errors import UserError
    args = list(sys.argv if argv is None else argv)
    if argv is None:
        args = [sys.executable or ""] + args
    for i, arg in enumerate(args):
        try:
            str(arg).encode("utf-8")
        except UnicodeEncodeError:
            after = (f" (after {_escaped(args[i - 1])})" if i > 0 and
                     str(args[i - 1]).startswith("-") else "")
            raise UserError(
                f"the command line's argument {_escaped(arg)}{after} is not UTF-8 text (a "
                f"name written in another encoding); Ray records the command line as UTF-8: "
                f"rename the file or folder, or give a UTF-8 name") from None


def _escaped(text) -> str:
    """``text`` quoted for a one-line message: bytes that are not UTF-8 (surrogates) as
    \\xNN, the way a shell's $'...' writes them; other characters that do not print escaped."""
    text = str(text)
    if len(text) > 200:
        text = text[:200] + "..."
    return "'" + "".join(f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else c
                         if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                         for c in text) + "'"


def check_local_cpus(num_cpus) -> None:
    """``num_cpus`` for a local Ray: None (all of this machine's) or an integer in
    [1, ``cluster.limits.MAX_LOCAL_CPUS``].  ``nnsynth sweep --num-cpus 1000000000000`` (and
    invert's) reached ``ray.init``, whose raylet never came up: three 30 s start-up windows,
    then Ray's 'timed out during startup' traceback.  The error carries the field, so the CLI
    names ``--num-cpus``."""
    if num_cpus is None:
        return
    from cluster.limits import MAX_LOCAL_CPUS
    from synth.config import check_range
    check_range("num_cpus", num_cpus, 1, MAX_LOCAL_CPUS, integer=True)


def _join(address: str, kwargs: dict) -> None:
    """``ray.init(address=...)``; an address Ray cannot parse or reach is one line naming it
    (``nnsynth run --address 'garbage address'`` was Ray's ValueError traceback, an http://
    dashboard URL a ValueError that blamed RAY_ADDRESS, an unreachable ray:// server a
    ConnectionError traceback)."""
    import ray
    from ray.exceptions import AuthenticationError
    from synth.errors import UserError
    check_address(address)
    where = _join_failure(address)
    try:
        ray.init(address=address, **kwargs)
    except AuthenticationError:   # a token mode and no token: check_address says it first
        raise UserError(f"{where[0]}: {NO_TOKEN_HERE}") from None
    except (ValueError, ConnectionError) as e:
        if ray.is_initialized():
            ray.shutdown()
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise UserError(f"{where[0]}: {why.rstrip('.')}; {where[1]}") from None


def _join_failure(address: str) -> tuple[str, str]:
    """(what failed, what a cluster address is): the two halves of a join's refusal."""
    from synth.config import short_repr
    return (f"cannot join the Ray cluster at {short_repr(address)}", "a cluster address is "
            "its GCS HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:10001 or auto")


def check_address(address: str) -> None:
    """One line, before ``ray.init``, where nothing can answer at the cluster ``address``: a
    dashboard URL, a GCS ``HOST:PORT`` nothing accepts connections at or no GCS answers at
    (``gcs_unreachable``, ``gcs_silent``), a ``ray://HOST:PORT`` no Ray Client server
    accepts connections at (``client_unreachable``; ``ray.init`` waited 50 s for it, then
    Ray's timeout and a UserWarning).  Other forms (``auto``, ...) are left to Ray."""
    from synth.errors import UserError
    where = _join_failure(address)
    if address.startswith(("http://", "https://")):
        raise UserError(f"{where[0]}: that is a dashboard URL (nnsynth submit takes one); "
                        f"{where[1]}")
    if token_mode() and not token_found():   # ray.init: Ray's AuthenticationError traceback
        raise UserError(f"{where[0]}: {NO_TOKEN_HERE}")
    unreachable = gcs_unreachable(address)
    probe = None if unreachable else probe_gcs(address)
    if probe and probe[0] == "token":
        raise UserError(f"{where[0]}: {probe[1]}")
    unreachable = unreachable or (probe and probe[1])
    if unreachable:
        raise UserError(f"{where[0]}: {unreachable}; expected a Ray head's GCS listening "
                        f"there (`ray start --head` prints its address); {where[1]}")
    unreachable = client_unreachable(address)
    if unreachable:
        raise UserError(f"{where[0]}: {unreachable}; expected a Ray Client server listening "
                        f"there (a head started by `ray start --head` serves one on port "
                        f"10001); {where[1]}")


def gcs_unreachable(address: str, timeout: float = GCS_CHECK_SECONDS) -> str | None:
    """Why nothing accepts a TCP connection at a ``HOST:PORT`` address (its host name not
    found, connection refused, no answer within ``timeout`` seconds), or None when something
    does -- or when ``address`` is no HOST:PORT (``auto``, ``ray://``, a malformed one: Ray
    says what it makes of those).  ``ray.init`` retries such an address without end
    (``--address 127.0.0.1:1`` was still retrying after 6 minutes)."""
    where = host_port(address)
    return None if where is None else _tcp_unreachable(*where, timeout)


def client_unreachable(address: str, timeout: float = GCS_CHECK_SECONDS) -> str | None:
    """``gcs_unreachable`` of a Ray Client address ``ray://HOST:PORT``: why nothing accepts
    a TCP connection there, or None when something does or ``address`` is no such address
    (no port, a path or query after it: Ray says what it makes of those)."""
    if not address.strip().startswith("ray://"):
        return None
    where = host_port(address.strip()[len("ray://"):])
    return None if where is None else _tcp_unreachable(*where, timeout)


def _tcp_unreachable(host: str, port: int, timeout: float) -> str | None:
    """Why no TCP connection to ``host``:``port`` opens within ``timeout`` seconds, or None."""
    import socket
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"host {host!r} is not found"
    except TimeoutError:
        return f"nothing answered at port {port} of {host} within {timeout:g} s"
    except OSError as e:
        return f"nothing accepts a connection at port {port} of {host} ({e.strerror or e})"


# A GCS with token authentication refuses a client that sends no token or another one
# (Ray 2.60: "Unauthenticated ... Authentication token is missing or incorrect"), and Ray sends
# its token to an address named explicitly only with RAY_AUTH_MODE=token.
TOKEN_PLACES = ("put the cluster's token in ~/.ray/auth_token, or set RAY_AUTH_TOKEN (or "
                "RAY_AUTH_TOKEN_PATH to a file holding it)")
NO_TOKEN_HERE = f"RAY_AUTH_MODE is token here and no authentication token was found: {TOKEN_PLACES}"
TOKEN_NOT_SENT = ("its GCS requires token authentication and this process sends no token "
                  "(RAY_AUTH_MODE is {mode} here; Ray sends one to a named address only with "
                  "RAY_AUTH_MODE=token): run with RAY_AUTH_MODE=token and the cluster's token in "
                  "~/.ray/auth_token, RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH")
TOKEN_REFUSED = ("its GCS requires token authentication and refused this process's token (read "
                 "from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token): use the "
                 "cluster's token")


def token_mode() -> bool:
    """Whether this process's Ray clients send a token: Ray's own reading of RAY_AUTH_MODE
    (once, when ray was imported, or since Ray's switch re-read it)."""
    try:
        from ray._raylet import AuthenticationMode, get_authentication_mode
    except ImportError:   # a Ray without token authentication
        return False
    return get_authentication_mode() == AuthenticationMode.TOKEN


def token_found() -> bool:
    """Whether a token is where Ray reads one (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH,
    ~/.ray/auth_token), as it is now."""
    try:
        from ray._raylet import AuthenticationTokenLoader
    except ImportError:
        return False
    loader = AuthenticationTokenLoader.instance()
    loader.reset_cache()
    return loader.has_token(ignore_auth_mode=True)


def gcs_silent(address: str, timeout: float | None = None) -> str | None:
    """Why no Ray GCS answers at a ``HOST:PORT`` address where something accepts TCP
    connections, or None when one may (``probe_gcs``)."""
    found = probe_gcs(address, timeout)
    return found[1] if found and found[0] == "silent" else None


def probe_gcs(address: str, timeout: float | None = None) -> tuple[str, str] | None:
    """("silent", why) where no Ray GCS answers at a ``HOST:PORT`` address where something
    accepts TCP connections; ("token", why) where a GCS answers that this process lacks its
    token (``ray.init`` retried for ~20 s, a warning a second, then said only that it failed
    to connect); None when a GCS may answer (or when ``address`` is no HOST:PORT, or the probe
    itself cannot run: Ray is then left to say).  ``ray.init`` waits on a service that is no
    GCS without end (a server that accepts and stays silent, an HTTP server: still waiting
    after minutes) and retries one that speaks gRPC but is no GCS (~20 s of warnings).

    The probe is Ray's own GCS channel (``ray._private.gcs_utils.create_gcs_channel``:
    RAY_USE_TLS and token auth as ``ray.init`` uses them), which must become ready -- the
    HTTP/2 handshake every gRPC server completes at once -- within ``timeout`` seconds
    (default GCS_CHECK_SECONDS; a failed handshake, an HTTP server's answer, ends the wait);
    then one GetClusterId call (what Ray's GCS client asks first) must not be answered
    "unimplemented"; "unauthenticated" is a GCS that wants a token.  Any other answer is a
    GCS's."""
    where = host_port(address)
    if where is None:
        return None
    timeout = GCS_CHECK_SECONDS if timeout is None else timeout
    try:
        import grpc
        from ray._private.gcs_utils import create_gcs_channel
        from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc
        channel = create_gcs_channel(address.strip())
        use_tls = os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true")   # as Ray reads it
    except Exception as e:     # another Ray's internals: the probe is skipped, Ray decides
        log.debug("no GCS probe of %s: %s", address, e)
        return None
    host, port = where
    settled, seen = threading.Event(), []

    def watch(state):
        seen.append(state)
        if state in (grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.TRANSIENT_FAILURE):
            settled.set()
    channel.subscribe(watch, try_to_connect=True)
    try:
        settled.wait(timeout)
        if grpc.ChannelConnectivity.READY not in seen:
            how = ("failed the gRPC handshake (no gRPC server, or TLS on one side only: "
                   f"RAY_USE_TLS is {'set' if use_tls else 'unset'} here)"
                   if grpc.ChannelConnectivity.TRANSIENT_FAILURE in seen else
                   f"completed no gRPC handshake within {timeout:g} s")
            return "silent", (f"no Ray GCS answered at port {port} of {host}: the service "
                              f"there accepts connections but {how}")
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        try:
            stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                return "silent", (f"no Ray GCS answered at port {port} of {host}: the gRPC "
                                  f"service there does not know the GCS's GetClusterId call")
            if e.code() == grpc.StatusCode.UNAUTHENTICATED:
                if token_mode():
                    return "token", TOKEN_REFUSED
                from synth.config import short_repr
                mode = os.environ.get("RAY_AUTH_MODE")
                return "token", TOKEN_NOT_SENT.format(
                    mode="unset" if mode is None else short_repr(mode))
        except Exception as e:   # another failure of the call: ray.init says what it is
            log.debug("GCS probe of %s: %s", address, e)
        return None
    finally:
        channel.unsubscribe(watch)
        channel.close()


def check_cluster_device(device: str, name: str = "device") -> None:
    """The cluster's half of ``synth.device.check_device``: a config meant for a cluster is
    checked without this machine's devices (its workers may have the GPUs), so once Ray is
    up a CUDA device with no GPU anywhere in the cluster is an error here, not training on
    CPUs that looks as if the device had been honoured."""
    import ray
    if str(device).startswith("cuda") and not ray.cluster_resources().get("GPU", 0):
        from synth.errors import UserError
        raise UserError(f"{name} {device}: the Ray cluster this run uses has no GPU; "
                        f"set {name}: auto (CUDA where present) or cpu")


def node_cpus(node_id: str | None = None) -> float:
    """The CPUs of the alive Ray node ``node_id`` (0 when it is not there), or with None the
    most any alive node has: the largest request one task or actor can ever be granted."""
    import ray
    cpus = [n.get("Resources", {}).get("CPU", 0) for n in ray.nodes()
            if n.get("Alive") and (node_id is None or n.get("NodeID") == node_id)]
    return max(cpus, default=0)


def check_node_cpus(num_cpus: float, node_id: str, name: str = "threads") -> None:
    """A task pinned to node ``node_id`` that asks for ``num_cpus`` CPUs is schedulable only
    when that node has as many: Ray would otherwise refuse it with a TaskUnschedulableError
    traceback (a hard affinity) or wait for it forever.  One line instead, naming the
    setting and the node's count."""
    have = node_cpus(node_id)
    if num_cpus > have:
        from synth.errors import UserError
        raise UserError(f"{name} {num_cpus:g}: the task runs on one Ray node, which has "
                        f"{have:g} CPUs; give at most {int(have)}")


def _check_same_cluster(address: str | None) -> None:
    """A process is in one Ray cluster at a time: asking for another ``host:port`` while
    connected is an error, not a silent return of the cluster already joined.  ("auto",
    "ray://" and the local forms name no particular GCS, so they keep the running one.)"""
    import ray
    if not address or address in LOCAL_ADDRESSES or address == "auto" or "://" in address:
        return
    current = ray.get_runtime_context().gcs_address
    if address != current:
        from synth.errors import UserError
        raise UserError(f"Ray is already connected to {current} in this process; cannot join "
                        f"{address[:80]} as well (call cluster.connect.shutdown() first)")


def _require_token_auth() -> None:
    """A local Ray runs user code sent to its ports: it starts only with Ray's token
    authentication (Ray 2.60's default for a new local cluster, RAY_AUTH_MODE unset or
    "token").  RAY_AUTH_MODE=disabled is refused rather than silently obeyed.  The value is
    compared as Ray compares it (case aside, nothing stripped): "token " was accepted here and
    Ray, which reads it as not "token", started a cluster any local process could join."""
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None and mode.lower() != "token":
        from synth.errors import UserError
        shown = mode[:20] if mode.strip() == mode and mode.isprintable() else repr(mode[:20])
        raise UserError(f"RAY_AUTH_MODE={shown} would start a local Ray without token "
                        f"authentication; unset it (or set it to token)")


TOKEN_BYTES = 32          # 256 bits, as Ray's own generate_new_authentication_token
_WARNED_TOKENS: set = set()


def private_token() -> None:
    """Before a local start: the token file Ray will read is this user's alone.  Ray 2.60
    writes a new token (``ray.init`` where none exists, ``ray get-auth-token --generate``)
    with ``open(path, "w")``: 0644 under the usual umask, so any user who could reach the
    home folder could read it, join the local Ray on 127.0.0.1 and run code as this user.
    Where ~/.ray/auth_token is missing (and RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH unset) a new
    token is made here, 0600 in a folder made 0700; a token file group or others can read
    is named in a warning (once per process) with the chmod that fixes it.  A token in the
    environment, or a named file that is missing, is Ray's to handle."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return
    named = os.environ.get("RAY_AUTH_TOKEN_PATH")
    path = Path(named).expanduser() if named else Path.home() / ".ray" / "auth_token"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        if not named:
            _new_token(path)
        return
    except OSError:           # unreadable: Ray says what it makes of it
        return
    if mode & 0o077 and path not in _WARNED_TOKENS:
        _WARNED_TOKENS.add(path)
        log.warning("%s, the token of Ray's authentication, is readable by other users "
                    "(mode %o): whoever reads it can join this user's local Ray and run code "
                    "as this user; chmod 600 %s", path, mode, path)


def _new_token(path: Path) -> None:
    """A new token at ``path`` (absent), 0600 from the start: written to a new private file
    beside it, then linked to ``path`` (a token another process made meanwhile is kept)."""
    import secrets
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(TOKEN_BYTES))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as e:      # a read-only home: Ray makes (or fails to make) its own
        log.debug("no private token made at %s: %s", path, e)
        return
    try:   # a loader that looked before this process had a token must look again
        from ray._raylet import AuthenticationTokenLoader
        AuthenticationTokenLoader.instance().reset_cache()
    except ImportError:
        pass


def _check_token_auth_started() -> None:
    """After a local start: Ray itself says token mode (the driver's config, which the
    processes it started share).  Any way Ray came up without it stops that Ray again."""
    import ray
    try:
        from ray._raylet import AuthenticationMode, get_authentication_mode
    except ImportError:   # a Ray without the switch: _require_token_auth is the check
        return
    if get_authentication_mode() != AuthenticationMode.TOKEN:
        ray.shutdown()
        from synth.errors import UserError
        raise UserError("the local Ray started without token authentication (RAY_AUTH_MODE="
                        f"{os.environ.get('RAY_AUTH_MODE', 'unset')[:20]!r}); it was stopped: "
                        "unset RAY_AUTH_MODE (or set it to token)")


def shutdown() -> None:
    import ray
    if ray.is_initialized():
        ray.shutdown()


LOST_RAY_PROCESSES = ("gcs_server", "raylet")   # Ray 2.60's names in Node.all_processes


def abandon_lost_ray() -> bool:
    """Where this process started a local Ray (``connect``) whose GCS or raylet is gone --
    ended with the command (a job's end signals every process; before ``ray_in_own_group``,
    SIGTERM to the process group did) --, stop what is left of it without asking the GCS,
    and take Ray's and Tune's exit hooks off: each asks the dead GCS (Tune's trainable
    registry first) and waits for it; after 60 s Ray printed 'Failed to connect to GCS
    within 60 seconds' beneath an interrupted search's 'interrupted:' line and ended the
    process with status 1 (not SIGTERM's 143).  True where so; False, and nothing done,
    without Ray imported or initialized, with a joined cluster's Ray (not this process's to
    stop) and where its GCS and raylet are there (its own exit hooks stop it, as always)."""
    import atexit
    import sys
    if "ray" not in sys.modules:
        return False
    import ray
    try:      # Ray 2.60's node handle and exit hook: no public API (another Ray: nothing done)
        from ray._private import worker
    except ImportError:
        return False
    node = getattr(worker, "_global_node", None)
    if not ray.is_initialized() or node is None or not getattr(node, "is_head", lambda: False)():
        return False
    address = getattr(node, "_gcs_address", None)
    processes = [p.process for name in LOST_RAY_PROCESSES
                 for p in (getattr(node, "all_processes", None) or {}).get(name, [])]
    if not (any(p.poll() is not None for p in processes) or
            (isinstance(address, str) and gcs_unreachable(address, 1.0) is not None)):
        return False
    try:      # what is left of it (dashboard, monitor...): signals only, no GCS call
        node.kill_all_processes(check_alive=False, allow_graceful=False)
    except Exception as e:   # stopping what is gone must not hide the command's own line
        log.debug("local Ray's processes not stopped: %s", e)
    if hasattr(worker, "shutdown"):
        atexit.unregister(worker.shutdown)
    registry = sys.modules.get("ray.tune.registry")
    if registry is not None and hasattr(registry, "_unregister_all"):
        atexit.unregister(registry._unregister_all)
    return True
