"""Training on Ray Train: ``synth.train.fit`` (or any training task) data-parallel over
``num_workers`` ``TorchTrainer`` workers, on GPUs when the cluster has them.

    train_model(task, inputs, scaling=Scaling(num_workers=2)) -> (model, metrics)

``task(inputs, parallel)`` runs in every worker and returns ``(model, metrics)``; ``parallel``
is a ``synth.train.Parallel`` holding the worker's rank, the world size, the device Ray Train
gave it and ``ray.train.torch.prepare_model`` (DistributedDataParallel when the world is
larger than one), so synth's loop stays Ray-free.  ``inputs`` (model, data, teacher logits)
go to the object store once (``ray.put``), not once per worker, pickled by ``for_workers``
(a masked model, which torch's parametrizations refuse to pickle, travels as ``ShippedModel``:
its spec, weights and masks, rebuilt on the worker).  Rank 0 writes the trained
model as an nnsynth checkpoint and reports it with ``ray.train.report(..., checkpoint=)``;
the driver reads it back from the run's storage (``storage_path``: the run directory, a
shared path or a URI such as ``s3://bucket/runs``; a multi-node cluster needs shared storage).

Workers ask for CPUs (and a GPU each with ``use_gpu``), so on a cluster whose head has no
CPU or GPU to spare the training lands on the worker nodes; Ray Train's controller asks for
nothing.  ``num_workers=0`` is Ray Train's local mode: the same loop in the calling
process, without actors or a Ray start (quick tests, a debugger).  ``fit_on_workers`` is
the common case: one ``fit`` call.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import pickle
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from synth.config import Config, check_choice, check_range, short_repr, value_error
from synth.errors import ConfigError, UserError
from synth.files import absolute_path, check_folder_writable

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
MIN_CPU_FRACTION = 0.0001   # Ray's resource unit: a smaller nonzero request is its ValueError


@dataclasses.dataclass(frozen=True)
class Scaling(Config):
    """Ray Train's ``ScalingConfig`` as nnsynth configures it (the ``scaling:`` run key)."""
    num_workers: int = 1          # data-parallel training workers (1 on a laptop); 0 = in
                                  # this process (Ray Train's local mode: no actors, no Ray)
    use_gpu: str = "auto"         # auto: a GPU per worker when the cluster has GPUs | true | false
    cpus_per_worker: float = 0    # 0: a node's CPUs shared among the workers (at least 1)
    storage_path: str = ""        # where checkpoints go ("" = the run directory); path or URI
    max_failures: int = 2         # restarts of a worker group that failed (a node lost, a
                                  # health check missed); the training starts over, seeded

    def validate(self) -> None:
        check_range("scaling.num_workers", self.num_workers, 0, 4096, integer=True)
        check_choice("scaling.use_gpu", str(self.use_gpu).lower(), ("auto", "true", "false"))
        check_range("scaling.cpus_per_worker", self.cpus_per_worker, 0, 1024)
        if 0 < self.cpus_per_worker < MIN_CPU_FRACTION:
            # Ray refused it only when the training began (a ControllerError traceback)
            raise value_error("scaling.cpus_per_worker", self.cpus_per_worker,
                              f"must be 0 (share a node's CPUs) or at least "
                              f"{MIN_CPU_FRACTION:g} (Ray's finest CPU fraction)")
        check_range("scaling.max_failures", self.max_failures, -1, 1000, integer=True)
        check_storage_path("scaling.storage_path", self.storage_path)

    def gpu(self, device: str = "auto") -> bool:
        """Whether workers ask for a GPU: ``auto`` follows the cluster (and device != cpu)."""
        import ray
        choice = str(self.use_gpu).lower()
        if choice != "auto":
            return choice == "true"
        if self.num_workers == 0:          # local mode: this process's device
            import torch
            return device != "cpu" and torch.cuda.is_available()
        return device != "cpu" and ray.cluster_resources().get("GPU", 0) > 0

    def cpus(self) -> float:
        """CPUs per worker: the setting, or the largest alive node's CPUs / num_workers, but
        never more than the cluster has free now (actors that hold CPUs, e.g. the hwsim pool,
        would otherwise leave a worker that asks for a whole node unschedulable: it waits
        forever); below one free CPU per worker, the free fraction."""
        if self.cpus_per_worker or self.num_workers == 0:
            return float(self.cpus_per_worker or 1)
        import ray
        from cluster.connect import node_cpus
        most = node_cpus() or 1
        free = ray.available_resources().get("CPU", 0)
        per = min(most, free) / self.num_workers
        if per >= 1:
            return float(int(per))
        return round(per, 2) if per >= 0.01 else 1.0


# The URI schemes pyarrow.fs.FileSystem.from_uri opens (Ray Train and Tune store through it);
# any other scheme (ftp://, http://, FILE://) failed only when the training began.
STORAGE_SCHEMES = ("file", "s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss")


def check_storage_path(name: str, value: Any) -> None:
    """``value`` is a storage path Ray can use: "" or None (the default place), a local path
    (made absolute by the caller), or a URI with one of ``STORAGE_SCHEMES`` and a location.
    Checked without touching the storage (an s3:// bucket is reached only by the run)."""
    if value is None or isinstance(value, Path):
        return
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a path or a URI such as s3://bucket/runs, got "
                        f"{short_repr(value)} ({type(value).__name__})")
    if value and not value.strip():
        raise ConfigError(f"{name} is blank ({value!r}): give a path or a URI, or leave it "
                        f"empty for the default")
    if "://" in value:
        scheme, rest = value.split("://", 1)
        if scheme not in STORAGE_SCHEMES:
            raise ConfigError(f"{name}: Ray cannot store to {short_repr(value)}: the URI scheme "
                            f"must be one of {', '.join(STORAGE_SCHEMES)}, got {scheme!r}")
        if not rest.strip("/ "):
            raise ConfigError(f"{name}: {short_repr(value)} names no bucket or path")


def train_model(task: Callable, inputs: dict[str, Any], *, scaling: Scaling | None = None,
                device: str = "auto", storage_path: str | Path | None = None,
                name: str = "train") -> tuple[Any, dict]:
    """Run ``task(inputs, parallel)`` on Ray Train workers; returns rank 0's trained model
    (loaded from its checkpoint) and metrics, with ``nodes`` (every worker's node id).

    Joins the running Ray (``cluster.connect``), else starts a local one.
    ``storage_path=None``: a temporary local directory, removed afterwards (one machine)."""
    import ray
    from ray.train import (BackendConfig, FailureConfig, RunConfig, ScalingConfig,
                           TrainingFailedError)
    from ray.train.torch import TorchTrainer
    from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer
    from cluster.connect import connect
    from synth.checkpoint import load_model
    scaling = scaling or Scaling()
    local = scaling.num_workers == 0
    storage = scaling.storage_path or storage_path
    if storage and "://" not in str(storage):   # before Ray starts: a loop was a traceback
        storage = str(check_folder_writable(storage, "scaling.storage_path"))
    if not local:
        connect()                    # a local Ray unless one is running (idempotent)
    scratch = None if storage else tempfile.mkdtemp(prefix="nnsynth-train-")
    storage = str(storage or scratch)
    # this training's own folder there, made here, removed once its model is read back
    run = run_name(name)
    made = [p for p in (Path(storage), *Path(storage).parents) if not p.exists()] \
        if "://" not in storage and scratch is None else []
    use_gpu = scaling.gpu(device)
    cpus = scaling.cpus()
    if not local:
        check_workers_fit(scaling.num_workers, cpus, use_gpu)
    # local mode runs the loop here and keeps the checkpoint where it was written (staged in
    # a directory removed below); workers stage in a temporary directory that Ray uploads
    staging = tempfile.mkdtemp(prefix="nnsynth-local-") if local else None
    # Several workers are data-parallel (DDP) over a torch process group.  Ray Train's own
    # (TorchTrainer) rendezvous through torch's TCPStore, which listens on every interface:
    # right for a real cluster, wrong for a local Ray bound to 127.0.0.1.  There the workers
    # meet through a file store instead and gloo/NCCL talk over the loopback interface
    # (``_join_process_group``).  One worker needs no process group at all.
    rendezvous = (tempfile.mkdtemp(prefix="nnsynth-pg-")
                  if scaling.num_workers > 1 and _loopback_only() else None)
    config = {"task": task, "inputs": inputs if local else ray.put(for_workers(inputs)),
              "staging": staging,
              "rendezvous": rendezvous and str(Path(rendezvous) / "store"),
              "log_levels": caller_log_levels()}
    trainer_cls = TorchTrainer if scaling.num_workers > 1 and not rendezvous else \
        functools.partial(DataParallelTrainer, backend_config=BackendConfig())
    trainer = trainer_cls(
        _worker_loop, train_loop_config=config,
        scaling_config=ScalingConfig(num_workers=scaling.num_workers, use_gpu=use_gpu,
                                     resources_per_worker={"CPU": cpus,
                                                           **({"GPU": 1} if use_gpu else {})}),
        run_config=RunConfig(name=run, storage_path=storage,
                             failure_config=FailureConfig(max_failures=scaling.max_failures)))
    log.info("training %s on %d Ray Train worker(s)%s", name, scaling.num_workers,
             " with GPUs" if use_gpu else "")
    # Ray Train's fit installs its own SIGINT handler (abort the run) and leaves it installed
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    try:
        try:
            with quiet_logger(RAY_TRAINER_LOGGER):
                result = trainer.fit()
        except TrainingFailedError as e:
            raise worker_user_error(e) or e
        except SystemExit:
            # Ctrl-C: Ray Train's handler aborts the run and fit ends in SystemExit (1; 0 at
            # the third Ctrl-C), which left `nnsynth run` with exit 1, no message and a
            # ledger error "1".  It is the user's interrupt: every command's Ctrl-C path.
            raise KeyboardInterrupt() from None
        with result.checkpoint.as_directory() as path:
            model = load_model(Path(path) / MODEL_FILE)
        metrics = dict(model.checkpoint_info["metrics"])
    finally:
        if previous is not None and signal.getsignal(signal.SIGINT) is not previous:
            signal.signal(signal.SIGINT, previous)
        for folder in (scratch, staging, rendezvous):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
        if scratch is None:
            remove_run(storage, run, made)
    return model, metrics


def run_name(name: str) -> str:
    """The Ray Train run name of one training called ``name`` (``teacher``, ``refine``):
    ``name`` with the time and a random suffix, its own folder in the storage.  Every
    training of a name was the run ``<storage>/<name>``: a teacher retrained in a run
    directory loaded the earlier training's run snapshot, which Ray Train said in three lines
    ("A run snapshot was found ... will be loaded ... delete the existing folder") though
    nothing reads it (``_worker_loop`` starts from its inputs, never ``get_checkpoint``);
    each training's checkpoint stayed beside the others'; and two runs sharing a
    ``scaling.storage_path`` shared one Ray Train run."""
    import datetime
    import secrets
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return f"{name}_{stamp}_{secrets.token_hex(3)}"


def remove_run(storage: str, run: str, made: list[Path] = ()) -> None:
    """Remove the training ``run``'s folder from ``storage`` (a path or a URI), its model
    read back (or its training failed): nothing reads it again.  ``made``: the folders of
    ``storage`` that this training made (deepest first), removed where left empty.  Never
    raises (a storage that cannot be reached leaves the folder, said at debug level)."""
    try:
        if "://" in storage:
            import pyarrow.fs
            fs, path = pyarrow.fs.FileSystem.from_uri(storage)
            fs.delete_dir(f"{path.rstrip('/')}/{run}")
            return
        shutil.rmtree(Path(storage) / run, ignore_errors=True)
        for folder in made:
            folder.rmdir()
    except Exception as e:   # an unreachable bucket, a folder holding something else
        log.debug("kept the Ray Train run %s in %s (%s)", run, storage, e)


# Ray Train's fit: at Ctrl-C its handler logs (INFO, on stderr) "Received SIGINT. Gracefully
# aborting the training run -- this may take a few seconds. To forcefully abort immediately,
# you can send a different signal, such as SIGKILL." above the command's own one line
# (`interrupted: ...`), which says what was kept and what a rerun does
RAY_TRAINER_LOGGER = "ray.train.v2.api.data_parallel_trainer"


@contextlib.contextmanager
def quiet_logger(name: str, level: int = logging.WARNING):
    """The logger ``name`` shows nothing below ``level`` inside the block."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(max(level, before))
    try:
        yield
    finally:
        logger.setLevel(before)


# --------------------------------------------------------------------------- models to workers
@dataclasses.dataclass
class ShippedModel:
    """A masked model as it travels to a worker.  torch refuses to pickle a parametrized
    module ("Serialization of parametrized modules is only supported through state_dict()"),
    and a deep copy with its parametrizations removed strips ``weight`` from the original
    (the copy shares its parametrized classes), so the model is rebuilt from its spec on the
    worker (``received``): its whole state dict (the masks and the weights behind them, also
    where pruned), each submodule's train/eval flag, frozen parameters, forward hooks
    (a fixed-point model's rounding) and the model's own attributes (``checkpoint_info``)."""
    spec: Any
    input_shape: tuple
    num_classes: int
    dtype: Any
    state: dict
    masks: dict
    modes: dict
    frozen: list
    hooks: dict
    attributes: dict


def shippable(model) -> Any:
    """``model`` as it can be pickled for a worker: a ``ShippedModel`` for a masked model
    built by ``synth.models.build`` (it has a spec), else ``model`` itself."""
    from torch import nn
    from synth.masked import masked_layers, masks_of, module_hooks
    if not isinstance(model, nn.Module) or getattr(model, "spec", None) is None \
            or not masked_layers(model):
        return model
    hooks = module_hooks(model)
    return ShippedModel(
        spec=model.spec, input_shape=tuple(model.input_shape),
        num_classes=int(model.num_classes), dtype=next(model.parameters()).dtype,
        state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        masks=masks_of(model), modes={n: m.training for n, m in model.named_modules()},
        frozen=[n for n, p in model.named_parameters() if not p.requires_grad], hooks=hooks,
        attributes={k: v for k, v in vars(model).items()
                    if not k.startswith("_") and k not in ("training", "spec", "input_shape",
                                                           "num_classes")})


def received(shipped: ShippedModel):
    """The model a ``ShippedModel`` was made from, rebuilt (on a worker): same spec, masks,
    weights, modes, frozen parameters, hooks and attributes."""
    from synth.masked import add_hooks, attach_masks
    from synth.models import build
    model = build(shipped.spec, shipped.input_shape, shipped.num_classes).to(shipped.dtype)
    attach_masks(model, shipped.masks)
    model.load_state_dict(shipped.state)
    modules = dict(model.named_modules())
    for name, training in shipped.modes.items():
        modules[name].training = training
    for name, parameter in model.named_parameters():
        if name in shipped.frozen:
            parameter.requires_grad_(False)
    add_hooks(model, shipped.hooks)
    for key, value in shipped.attributes.items():
        setattr(model, key, value)
    return model


def for_workers(value: Any) -> bytes:
    """``value`` pickled (cloudpickle, as Ray pickles) with every masked model in it -- an
    input, or one a loss function closes over (a KD teacher) -- as a ``ShippedModel``: the one
    way ``cluster`` sends models to a worker; ``from_driver`` unpickles it there.  A masked
    model given to ``ray.put`` itself was torch's RuntimeError (refine's final KD of a
    grown-and-pruned student, grow-and-prune of a masked searched model)."""
    import io
    from ray import cloudpickle
    from torch import nn

    class _Pickler(cloudpickle.CloudPickler):
        def reducer_override(self, obj):
            if isinstance(obj, nn.Module):
                shipped = shippable(obj)
                if shipped is not obj:
                    return received, (shipped,)
            return super().reducer_override(obj)

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def from_driver(blob: bytes) -> Any:
    """What ``for_workers`` pickled, masked models rebuilt (``received``)."""
    return pickle.loads(blob)


def worker_user_error(error: Exception) -> UserError | None:
    """The user's mistake behind a failed Ray Train run (a training that diverged on a
    worker, a bad value found there): the UserError the worker raised, itself (its class and
    a range error's fields, which the CLI names by its option); None for any other failure.
    Ray Train wraps it in a TrainingFailedError whose message holds the worker's whole
    traceback; a Ray error that carries it (``.cause``) is followed to it."""
    for failure in getattr(error, "worker_failures", {}).values():
        cause, seen = failure, set()
        while _from_ray(cause) and id(cause) not in seen and \
                isinstance(getattr(cause, "cause", None), BaseException):
            seen.add(id(cause))
            cause = cause.cause
        if isinstance(cause, UserError):
            if not _from_ray(cause):
                return cause
            # Ray's error as an instance of the user's class, its text the traceback
            return UserError(str(cause).strip().splitlines()[0])
    return None


def _from_ray(error: BaseException) -> bool:
    return type(error).__module__.partition(".")[0] == "ray"


def check_workers_fit(num_workers: int, cpus: float, use_gpu: bool) -> None:
    """``num_workers`` Ray Train workers of ``cpus`` CPUs (and a GPU each with ``use_gpu``)
    fit the nodes of the local Ray (``_loopback_only``): Ray Train waits for the resources
    without end and without a word (3 workers of 1 CPU on a 2-CPU local Ray: still waiting
    after minutes).  A joined cluster may grow (an autoscaler), so there it is only logged."""
    import math
    import ray
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    fit = 0
    for resources in nodes:            # workers are placed whole on a node (Ray's packing)
        here = math.floor(resources.get("CPU", 0) / cpus + 1e-9) if cpus else num_workers
        if use_gpu:
            here = min(here, math.floor(resources.get("GPU", 0) + 1e-9))
        fit += here
    if fit >= num_workers:
        return
    cpu_total = sum(r.get("CPU", 0) for r in nodes)
    gpu_total = sum(r.get("GPU", 0) for r in nodes)
    want = f"{num_workers} Ray Train worker(s) of {cpus:g} CPU(s)" + (
        " and 1 GPU" if use_gpu else "") + " each"
    have = f"{len(nodes)} node(s), {cpu_total:g} CPU(s)" + (f", {gpu_total:g} GPU(s)"
                                                             if use_gpu else "")
    if not _loopback_only():
        log.warning("%s do not fit the Ray cluster now (%s); waiting for it to grow", want, have)
        return
    raise UserError(f"scaling: {want} do not fit the local Ray ({have}; at most {fit} fit): "
                    f"lower scaling.num_workers or scaling.cpus_per_worker (0: the node's "
                    f"CPUs shared among the workers)" + (
                        ", or set scaling.use_gpu: false" if use_gpu else ""))


def _loopback_only() -> bool:
    """True when every alive node of the connected Ray is on the loopback address (the local
    Ray ``cluster.connect`` starts): all its workers share this machine and its files."""
    import ray
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return bool(nodes) and all(n.get("NodeManagerAddress", "").startswith("127.")
                               for n in nodes)


def _loopback_interface() -> str:
    """The name of this machine's loopback network interface ("lo" on Linux, "lo0" on BSD)."""
    import socket
    names = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    return names[0] if names else "lo"


@contextlib.contextmanager
def _join_process_group(store: str, rank: int, world: int, device):
    """A torch process group of ``world`` workers on one machine that opens no socket on any
    interface but loopback: rendezvous through a file store (``file://``, no TCPStore), the
    collective transport (gloo on CPU, NCCL on GPUs) pinned to the loopback interface."""
    import os
    from datetime import timedelta
    import torch.distributed as dist
    interface = _loopback_interface()
    os.environ["GLOO_SOCKET_IFNAME"] = os.environ["NCCL_SOCKET_IFNAME"] = interface
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE=str(world))
    backend = "nccl" if getattr(device, "type", "cpu") == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=f"file://{store}", rank=rank,
                            world_size=world, timeout=timedelta(minutes=30))
    try:
        yield
    finally:
        dist.destroy_process_group()


def caller_log_levels() -> dict[str, int]:
    """The effective level of each of the library's loggers (``synth.logs.LOGGERS``, which
    the CLI's -v/-q set) in this process, for a worker process to log at (``_worker_loop``)."""
    from synth.logs import LOGGERS
    return {name: logging.getLogger(name).getEffectiveLevel() for name in LOGGERS}


def _worker_loop(config: dict) -> None:
    """One Ray Train worker: run the task with this worker's ``Parallel``; rank 0 reports
    the model as a checkpoint (every worker reports once, as Ray Train requires)."""
    import ray
    import ray.train
    import ray.train.torch
    from cluster.connect import match_torch_threads
    from synth.checkpoint import save_checkpoint
    from synth.masked import masks_of
    from synth.train import Parallel
    if config["staging"] is None:      # a worker actor (not local mode, in the caller)
        match_torch_threads()
        # the caller's -v/-q: a worker's loggers were at Ray's INFO, so fit's INFO line (the
        # epochs a step floor raised) was forwarded beside the caller's own (h315)
        for name, level in config.get("log_levels", {}).items():
            logging.getLogger(name).setLevel(level)
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    with contextlib.ExitStack() as group:
        if config.get("rendezvous") and world > 1:
            group.enter_context(_join_process_group(config["rendezvous"], rank, world, device))
        parallel = Parallel(rank=rank, world_size=world, wrap=ray.train.torch.prepare_model,
                            device=device)
        inputs = config["inputs"]
        model, metrics = config["task"](
            inputs if isinstance(inputs, dict) else from_driver(ray.get(inputs)), parallel)
        metrics = {**metrics, "nodes": _gather_node_ids(world), "workers": world}
    if rank != 0:
        ray.train.report({"rank": rank})
        return
    with contextlib.ExitStack() as stack:
        staging = config["staging"] or stack.enter_context(tempfile.TemporaryDirectory())
        save_checkpoint(Path(staging) / MODEL_FILE, model.cpu(), metrics=metrics,
                        masks=masks_of(model) or None,
                        dataset=getattr(model, "checkpoint_info", {}).get("dataset"))
        ray.train.report({"rank": rank},
                         checkpoint=ray.train.Checkpoint.from_directory(staging))


def _gather_node_ids(world: int) -> list[str]:
    """Every worker's node id (all_gather over the process group Ray Train set up)."""
    import ray
    if not ray.is_initialized():       # local mode without Ray: this process
        return ["local"]
    node = ray.get_runtime_context().get_node_id()
    if world == 1:
        return [node]
    import torch.distributed as dist
    nodes: list = [None] * world
    dist.all_gather_object(nodes, node)
    return nodes


def fit_on_workers(model, data, config, *, scaling: Scaling | None = None,
                   storage_path: str | Path | None = None, name: str = "train",
                   loss_fn: Callable | None = None, after_step: Callable | None = None,
                   train_xy=None, desc: str = "train", state_path: str | Path | None = None,
                   state_key: str = "") -> tuple[Any, dict]:
    """``synth.train.fit(model, data, config, ...)`` on Ray Train workers; returns the trained
    model (a new module, masks kept) and fit's metrics.  ``state_path``: fit's resumable
    state (rank 0 writes it, every worker starts from it), as an absolute path -- a worker's
    working directory is not the caller's -- on storage the workers share with the caller
    (one machine, or a cluster's shared file system); it records the run the caller claimed
    it for (``synth.resume.claimed_run``), as a state saved in the caller's process does."""
    from synth.resume import claimed_run
    if state_path is not None:
        state_path = str(absolute_path(state_path))
    inputs = {"model": model.cpu(), "data": data, "config": config, "loss_fn": loss_fn,
              "after_step": after_step, "train_xy": train_xy, "desc": desc,
              "state_path": state_path, "state_key": state_key,
              # the run this command claimed the state for: the worker's process knows none,
              # and its states recorded none, so a rerun kept its own finished run's leftover
              # (synth.resume.RUN; h289)
              "state_run": claimed_run(state_path) if state_path is not None else None}
    return train_model(_fit_task, inputs, scaling=scaling, device=config.device,
                       storage_path=storage_path, name=name)


def _fit_task(inputs: dict, parallel) -> tuple[Any, dict]:
    from synth.resume import claim_states
    from synth.train import fit
    model = inputs["model"]
    if inputs.get("state_run") is not None:   # fit's saves there record the caller's run
        claim_states(inputs["state_path"], {"key": inputs["state_run"]}, {"": None})
    metrics = fit(model, inputs["data"], inputs["config"], loss_fn=inputs["loss_fn"],
                  after_step=inputs["after_step"], train_xy=inputs["train_xy"],
                  desc=inputs["desc"], parallel=parallel, state_path=inputs["state_path"],
                  state_key=inputs["state_key"])
    return model, metrics


def ray_fit(scaling: Scaling | None = None, storage_path: str | Path | None = None,
            name: str = "train") -> Callable:
    """A drop-in for ``synth.train.fit`` (for library functions that take ``fit_fn``): trains
    on Ray Train workers, then copies the trained weights back into the caller's model."""
    def fit_fn(model, data, config, *, loss_fn=None, after_step=None, train_xy=None,
               desc="train", state_path=None, state_key="", **unsupported):
        if unsupported:
            raise TypeError(f"fit on Ray Train workers does not take {sorted(unsupported)}")
        trained, metrics = fit_on_workers(model, data, config, scaling=scaling,
                                          storage_path=storage_path, name=name,
                                          loss_fn=loss_fn, after_step=after_step,
                                          train_xy=train_xy, desc=desc,
                                          state_path=state_path, state_key=state_key)
        model.load_state_dict(trained.state_dict())
        return metrics
    return fit_fn


def grow_prune_on_worker(model, data, schedule, *, loss_fn=None, train_xy=None,
                         progress: bool = False, scaling: Scaling | None = None,
                         storage_path: str | Path | None = None,
                         name: str = "grow-prune") -> tuple[Any, dict]:
    """``synth.grow_prune.grow_and_prune`` on one Ray Train worker (its mask decisions --
    growth gradients, pruning scores -- are made on the whole set, so it does not split the
    data); returns the refined model (masks kept) and ``{"history": ..., "nodes": ...}``."""
    scaling = dataclasses.replace(scaling or Scaling(), num_workers=1)
    inputs = {"model": model.cpu(), "data": data, "schedule": schedule, "loss_fn": loss_fn,
              "train_xy": train_xy, "progress": progress}  # seeded by schedule.seed there
    return train_model(_grow_prune_task, inputs, scaling=scaling, device=schedule.device,
                       storage_path=storage_path, name=name)


def _grow_prune_task(inputs: dict, parallel) -> tuple[Any, dict]:
    import torch
    from synth.grow_prune import grow_and_prune
    schedule = inputs["schedule"]
    torch.manual_seed(schedule.seed)
    if parallel.device is not None:
        schedule = schedule.replace(device=str(parallel.device))
    model, history = grow_and_prune(inputs["model"], inputs["data"], schedule,
                                    progress=inputs["progress"], loss_fn=inputs["loss_fn"],
                                    train_xy=inputs["train_xy"])
    return model, {"history": history}
