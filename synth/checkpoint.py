"""Checkpoints: one file with spec, weights, masks, data set, normalization and metrics.

Stored as plain tensors, dicts, lists, strings and numbers only, so it loads with
``torch.load(weights_only=True)``: nothing in a checkpoint can execute code.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth.errors import UserError
from synth.files import atomic_path, check_replaceable, printable
from synth.logs import quiet_sets, set_logger

if TYPE_CHECKING:   # annotations only: torch is imported where it is used
    import torch

FORMAT_VERSION = 1
ZIP_MAGIC = b"PK\x03\x04"   # torch.save's format (a zip archive)
MAX_PICKLE_BYTES = 64 << 20   # a checkpoint's data.pkl holds names and structure, not weights
# ... and so few values (pickle opcodes, counted by synth.files.pickle_problem before
# torch.load, ~2 us each, reads them).  Measured (h248) on files nnsynth's own save functions
# wrote, each with a dataset record of 100,000 class names and 16,384 features' names, means,
# deviations and value ranges (names only a table records: ~33,000 too many for the
# sequence models): a checkpoint (save_checkpoint, masks attached) of hlstm with
# MAX_LAYERS layers (24,579 tensors) has 1,332,201 opcodes, of resnet 1,024 blocks 831,687,
# of convnet 698,329, of mlp 578,487, of lstm 558,006.  About twice the largest:
MAX_PICKLE_OPS = 2_700_000
# A training state (synth.train's, read by load_tensor_file like every other torch.save file
# nnsynth writes) holds the model twice (its weights and the best epoch's), Adam's two
# moments and step a parameter, and a history row an epoch: the hlstm above at epoch 99,999
# of MAX_EPOCHS has 4,007,382 opcodes (resnet 2,476,119, convnet 2,113,907, mlp 1,852,775,
# lstm 1,752,414), one the former single limit of 4,000,000 refused.  About twice the largest:
MAX_STATE_PICKLE_OPS = 8_000_000
# MAX_PICKLE_BYTES is no tighter bound: an opcode takes at least a byte, but names take many
# (the hlstm checkpoint's pickle is 8.7 MB); the opcode count is the bound on the unpickler.
# torch.save writes an entry a tensor (storage) and five more; measured (h248), the hlstm
# checkpoint above has 32,778 entries, its training state (optimizer, best state) 73,745
MAX_ZIP_ENTRIES = 200_000
log = set_logger(__name__)   # quiet while a set is read to compare (synth.logs)


def _plain(obj: Any) -> Any:
    """Round-trip through JSON so that only plain types reach the file."""
    return json.loads(json.dumps(obj))


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, *, dataset: dict | None = None,
                    metrics: dict | None = None, masks: dict[str, torch.Tensor] | None = None,
                    extra: dict | None = None) -> Path:
    """Write atomically (``synth.files.atomic_path``).  ``dataset`` is ``Dataset.metadata()``."""
    import torch   # torch is imported where it is used: the CLI checks --out while it parses
    from synth.models import not_built
    reason = not_built(model, "a checkpoint")   # a module with a spec of its own was written,
    if reason:                                   # and the file could not be loaded (h324)
        raise UserError(reason)
    spec = model.spec
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if masks is None:   # a masked model's state holds its masks' keys: without the masks
        from synth.masked import masks_of   # the file could not be loaded again
        masks = masks_of(model)
    payload = {
        "format_version": FORMAT_VERSION,
        "spec": _plain(spec),
        "input_shape": list(model.input_shape),
        "num_classes": int(model.num_classes),
        "state_dict": state,
        "masks": {k: v.detach().cpu().bool() for k, v in (masks or {}).items()},
        "dataset": _plain(located(dataset or {})),
        "metrics": _plain(metrics or {}),
        "extra": _plain(extra or {}),
    }
    path = check_checkpoint_out(path, "checkpoint")
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:   # open: an OSError, not torch's
            torch.save(payload, f)                              # RuntimeError, names a bad path
    except OSError as e:
        raise UserError(f"cannot write checkpoint {path}: {e.strerror}") from None
    return path


def located(meta: dict) -> dict:
    """A data-set record (``meta``) to save, with ``"resolved"``: its name with the path made
    absolute (``synth.data_registry.resolved_name``) where the name is a relative path that
    names a file or folder from here: ``nnsynth eval --model m.pt`` of a model trained on
    csv:t.csv did not find its set from another folder.  Beside the name, which stays as
    given: the name and digest key resumes and run stamps (``trained_record``)."""
    from synth.data_registry import resolved_name
    where = resolved_name(meta.get("name")) if isinstance(meta.get("name"), str) else None
    return {**meta, "resolved": where} if where is not None else meta


def recorded_location(meta: dict) -> str:
    """The name to load a checkpoint's own set by (its data-set record ``meta``): its name
    as recorded, or where it was when it was saved (``"resolved"``, ``located``) where the
    name's path is not found from here and that one is: a set given by a relative path is
    found from any folder while its file has not moved.  Older checkpoints (without
    ``"resolved"``): the name."""
    from synth.data_registry import check_dataset_input, split_class_list
    name, where = str(meta.get("name") or ""), meta.get("resolved")
    if not (isinstance(where, str) and where.partition(":")[0] == name.partition(":")[0]
            and split_class_list(where)[1] == split_class_list(name)[1]):
        return name
    try:
        check_dataset_input(name)
        return name   # found from here (or not a path): as before
    except UserError:
        pass
    try:
        check_dataset_input(where)
    except UserError:
        return name   # moved since: the name's own error
    return where


def checkpoint_pickle(path) -> bytes | None:
    """The pickle bytes of the torch.save zip at ``path`` (its one ``data.pkl``, at most
    ``MAX_PICKLE_BYTES``), read from the archive, never unpickled; None for anything else or
    unreadable (the loader names it).  Only a regular file is read: a FIFO or a device is
    opened without blocking and left alone (opening a FIFO to read waits for a writer)."""
    import stat
    import zipfile
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return None
    try:
        handle = os.fdopen(fd, "rb")
    except OSError:
        os.close(fd)
        return None
    try:
        with handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            with zipfile.ZipFile(handle) as z:
                pickles = [i for i in z.infolist() if i.filename.endswith("/data.pkl")]
                if len(pickles) != 1 or pickles[0].file_size > MAX_PICKLE_BYTES:
                    return None
                return z.read(pickles[0])
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return None


def _is_checkpoint_file(path: Path) -> bool:
    """True when ``path`` looks like a file ``save_checkpoint`` wrote: a torch.save zip whose
    pickle names a spec and a state dict (``checkpoint_pickle``)."""
    raw = checkpoint_pickle(path)
    return raw is not None and b"state_dict" in raw and b"spec" in raw


def check_checkpoint_out(path: str | os.PathLike, option: str = "--out") -> Path:
    """``path`` can take a checkpoint: nothing is there yet, or an nnsynth checkpoint (which
    is replaced); see ``synth.files.check_replaceable``.  Checked before any work by the
    CLI, and again by ``save_checkpoint``."""
    return check_replaceable(path, option, _is_checkpoint_file, "an nnsynth checkpoint")


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The raw payload, loaded safely (``weights_only=True``) and checked."""
    return read_checkpoint_and_checksum(path)[0]


def checksum_bytes(raw: bytes) -> str:
    """SHA-256 (first 16 hex digits) of a checkpoint file's bytes."""
    return hashlib.sha256(raw).hexdigest()[:16]


def read_checkpoint_and_checksum(path: str | os.PathLike) -> tuple[dict, str]:
    """(payload, checksum) from one read of the file: the payload loaded safely and checked
    once, the checksum (``checksum_bytes``) of the same bytes."""
    path = Path(path)
    payload, raw = _load_tensor_zip(path, "checkpoint", "an nnsynth checkpoint",
                                    max_file_bytes())
    if not isinstance(payload, dict) or "spec" not in payload or "state_dict" not in payload:
        raise UserError(_not_a_checkpoint(path, payload))
    check_payload(payload, str(path))
    return payload, checksum_bytes(raw)


# what each loop's state (synth.resume's) is, for the line refusing it in another loop's
# place (a ``<out>.resume`` of ``nnsynth prune`` met by ``nnsynth distill --out`` the same
# file) and in a checkpoint's (nnsynth eval and export named it "not an nnsynth checkpoint")
STATE_FORMATS = {"nnsynth-train-state-1": "training (nnsynth train, distill --synth or "
                                          "grow-prune's dense training)",
                 "nnsynth-grow-prune-state-1": "nnsynth grow-prune",
                 "nnsynth-synthesized-inputs-1": "nnsynth prune or continual (its synthesized "
                                                 "inputs)",
                 "nnsynth-diabdeep-state-1": "nnsynth diabdeep"}


def _not_a_checkpoint(path: Path, payload: Any) -> str:
    """The line refusing ``payload`` (loaded safely from ``path``) as a checkpoint: a file
    nnsynth itself wrote of another kind is named, with the command that reads it (a
    candidate under symbiotic's cache/candidates/, an interrupted run's state were "not an
    nnsynth checkpoint", as a stranger's file is)."""
    found = payload.get("format") if isinstance(payload, dict) else None
    if isinstance(found, str) and found.startswith("nnsynth-lm-candidate") and \
            isinstance(payload.get("result"), dict):
        return (f"{path} is a language model candidate that nnsynth symbiotic trained and keeps "
                f"(its --out's cache/candidates/), not a checkpoint: a rerun of nnsynth "
                f"symbiotic with that --out reads it, and its report.json has its perplexities")
    if isinstance(found, str) and found in STATE_FORMATS:
        return (f"{path} holds the state of an interrupted {STATE_FORMATS[found]}, not a "
                f"checkpoint: rerun that command to finish it and write its checkpoint")
    return f"{path} is not an nnsynth checkpoint (no spec/state_dict)"


def load_tensor_file(path: str | os.PathLike, what: str) -> Any:
    """Any file nnsynth wrote with ``torch.save`` (a checkpoint, an inversion run's
    generator.pt), read the way checkpoints are: zip magic first, unpacked size bounded by
    the file's, ``weights_only=True``; anything else is a one-line UserError naming ``what``."""
    return _load_tensor_zip(Path(path), what, f"{what} written by nnsynth",
                            max_ops=MAX_STATE_PICKLE_OPS)[0]


def _load_tensor_zip(path: Path, what: str, expected: str, max_bytes: int | None = None,
                     max_ops: int | None = None) -> tuple[Any, bytes]:
    """(payload, the file's bytes) of a torch.save zip of at most ``max_bytes`` (None: any
    size) whose pickle has at most ``max_ops`` opcodes (None: MAX_PICKLE_OPS), loaded
    safely; one-line errors."""
    import torch
    if not path.is_file():   # a device, a FIFO (never opened: a read would block), a folder,
        from synth.files import missing_input   # a dangling link: said as such, not "not found"
        raise missing_input(path, what, expected)
    from synth.files import reports_no_bytes
    try:
        if reports_no_bytes(path):   # empty, or /proc/kmsg, whose read waits forever
            raise UserError(f"corrupt or unsafe {what} {path}: expected {expected} (a "
                            f"torch.save zip file; it reports 0 bytes)")
        with open(path, "rb") as f:   # the magic first: a huge file of anything else is
            zipped = f.read(4) == ZIP_MAGIC   # refused without reading it into memory
            if zipped:   # then the zip's index and size, from the file: an 8 GB file that
                # begins with PK was read whole (8 GB, a minute) before it was found no zip
                _check_unpacked_size(f, path, what, expected, max_bytes)
                f.seek(0)
                raw = f.read()
    except OSError as e:
        raise UserError(f"cannot read {what} {path}: {e.strerror}") from None
    except MemoryError:
        raise UserError(f"{what} {path} is too large to load "
                        f"({path.stat().st_size:,} bytes)") from None
    if not zipped:
        raise UserError(f"corrupt or unsafe {what} {path}: expected {expected} "
                        f"(a torch.save zip file)")
    _check_crc(raw, path, what)
    _check_values(raw, path, what, MAX_PICKLE_OPS if max_ops is None else max_ops)
    try:
        with warnings.catch_warnings():   # torch's notes on odd pickles: the error says it
            warnings.simplefilter("ignore")
            payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"corrupt or unsafe {what} {path}: expected {expected} "
                        f"({type(e).__name__})") from None
    _check_expansion(payload, raw, path, what)
    return payload, raw


def _check_crc(raw: bytes, path: Path, what: str) -> None:
    """Every entry of the zip ``raw`` matches the CRC-32 torch.save recorded for it: torch.load
    does not check them, so a checkpoint with one bit flipped in a weight (a damaged copy or
    download) loaded, and eval scored the damaged model without a word."""
    import zipfile
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise UserError(f"corrupt or unsafe {what} {path}: not a readable zip file "
                        f"({type(e).__name__})") from None
    if bad is not None:
        raise UserError(f"corrupt {what} {path}: its entry {printable(bad)[:80]} does not match "
                        f"the checksum it was saved with (damaged in a copy or download?)")


def _check_values(raw: bytes, path: Path, what: str, max_ops: int) -> None:
    """The pickle of the zip ``raw`` has at most ``max_ops`` opcodes (``synth.files.
    pickle_problem``, which builds and runs nothing, about a microsecond each) before
    torch.load's pure-Python unpickler reads it at about two microseconds and up to 80 bytes
    of memory an opcode: a 20 MB checkpoint whose metrics held a list of 10 million zeros
    took 34-51 s and 800 MB to load (a 64 MB pickle, the largest read: minutes and several
    GB)."""
    import zipfile
    from synth.files import pickle_problem
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        pickles = [z.read(i) for i in z.infolist() if i.filename.endswith("data.pkl")]
    for blob in pickles:
        problem = pickle_problem(blob, max_ops)
        if problem:
            raise UserError(f"corrupt or unsafe {what} {path}: its pickle has {problem}; "
                            f"nnsynth writes names and metadata there, far fewer")


def _check_expansion(payload: Any, raw: bytes, path: Path, what: str) -> None:
    """The payload's values, as a tree, are no more than its pickle's bytes: each value of a
    file nnsynth wrote (plain JSON types and tensors) takes at least one byte of the pickle,
    but a pickle may refer to one list many times, and a 0.4 MB checkpoint whose dataset
    'layout' was a list of 300 references to one list of 100,000 numbers took 1.2 GB and
    10 s to export (its JSON-encoded metadata), 100 times as many references 120 GB.
    ``synth.files.count_nodes`` stops at the limit: bounded work whatever the sharing."""
    import zipfile
    from synth.files import count_nodes
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        limit = sum(i.file_size for i in z.infolist() if i.filename.endswith(".pkl"))
    if count_nodes(payload, limit) > limit:
        raise UserError(f"corrupt or unsafe {what} {path}: its values expand to more than "
                        f"its pickle's {limit:,} bytes (one list referred to many times); "
                        f"nnsynth writes each value once")


def max_file_bytes() -> int:
    """The largest file nnsynth reads as a checkpoint: every parameter a model may have
    (``synth.models.max_parameters``) as float64 plus a bool mask each, and the pickle."""
    from synth.models import max_parameters
    return max_parameters() * 9 + MAX_PICKLE_BYTES


def _zip_entries(f: io.BufferedIOBase, size: int) -> tuple[int, int] | None:
    """(entries, bytes of the index) the zip's end record declares, read from the file's
    last 64 kB before its index is parsed (Python's zipfile takes ~7 us and ~500 bytes of
    memory an entry: an 18 MB checkpoint of 200,000 empty entries took 10 s and 130 MB to
    refuse); None where there is no end record to read (zipfile then says what is wrong)."""
    tail = min(size, 22 + 0xFFFF)
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(data):
        return None
    count = int.from_bytes(data[at + 10:at + 12], "little")
    index = int.from_bytes(data[at + 12:at + 16], "little")
    if count == 0xFFFF or index == 0xFFFFFFFF:   # zip64: in the zip64 end record before it
        at64 = data.rfind(b"PK\x06\x06", 0, at)
        if at64 < 0 or at64 + 48 > len(data):
            return None
        count = int.from_bytes(data[at64 + 32:at64 + 40], "little")
        index = int.from_bytes(data[at64 + 40:at64 + 48], "little")
    return count, index


def _check_unpacked_size(f: io.BufferedIOBase, path: Path, what: str = "checkpoint",
                         expected: str = "an nnsynth checkpoint",
                         max_bytes: int | None = None) -> None:
    """From the open file ``f``, before any of it is read whole: it is a zip (its index is
    read, not its entries), of at most ``max_bytes`` (a checkpoint: ``max_file_bytes``),
    and its entries unpack to no more than the file: torch.save stores
    them uncompressed, and a compressed entry could hold 1,000 times its size (a 1 MB file
    made torch.load allocate 1 GiB before it failed)."""
    import zipfile
    size = os.fstat(f.fileno()).st_size
    declared, index_bytes = _zip_entries(f, size) or (0, 0)
    if declared > MAX_ZIP_ENTRIES or index_bytes > MAX_ZIP_ENTRIES * 160:
        raise UserError(f"corrupt or unsafe {what} {path}: its zip index lists {declared:,} "
                        f"entries in {index_bytes:,} bytes; torch.save writes an entry a "
                        f"tensor (at most {MAX_ZIP_ENTRIES:,})")
    try:
        with zipfile.ZipFile(f) as z:
            entries = z.infolist()
            end = z.start_dir
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise UserError(f"corrupt or unsafe {what} {path}: expected {expected} "
                        f"(not a readable zip file)") from None
    if len(entries) > MAX_ZIP_ENTRIES:   # its end record said fewer
        raise UserError(f"corrupt or unsafe {what} {path}: its zip index lists "
                        f"{len(entries):,} entries; torch.save writes an entry a tensor (at "
                        f"most {MAX_ZIP_ENTRIES:,})")
    unpacked = sum(i.file_size for i in entries)
    # one name given twice, or entries whose bytes overlap: torch.load reads the first of two
    # names and Python's zipfile (the checksum and kind checks) the last, so a file could
    # show each reader other weights; torch.save writes each name once, one after another
    ordered = sorted(entries, key=lambda e: e.header_offset)
    starts = [e.header_offset for e in ordered[1:]] + [end]
    names: set[str] = set()
    for info, after in zip(ordered, starts):
        if info.filename in names:
            raise UserError(f"corrupt or unsafe {what} {path}: it holds the entry "
                            f"{printable(info.filename)[:80]} twice")
        names.add(info.filename)
        name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437",
                                         "replace")
        if info.header_offset + 30 + len(name) + info.compress_size > after:   # 30: the
            # local header's fixed part; its extra field (torch.save's padding) comes on top
            raise UserError(f"corrupt or unsafe {what} {path}: its entry "
                            f"{printable(info.filename)[:80]} overlaps the next one")
    if unpacked > size:
        raise UserError(f"corrupt or unsafe {what} {path}: its entries unpack to "
                        f"{unpacked:,} bytes from a {size:,}-byte file (torch.save stores "
                        f"them uncompressed)")
    if max_bytes is not None and size > max_bytes:
        raise UserError(f"{what} {path} is {size:,} bytes, larger than {expected} of a model "
                        f"within the parameter limit can be ({max_bytes:,} bytes; set "
                        f"NNSYNTH_MAX_PARAMETERS to raise it)")


def _tensor_dict(value: Any) -> bool:
    import torch
    return isinstance(value, dict) and all(isinstance(k, str) and torch.is_tensor(v)
                                           for k, v in value.items())


def check_payload(payload: dict, where: str) -> None:
    """The payload's parts have the types an nnsynth checkpoint writes, and its shape and
    class count are in bounds (``synth.models.check_shape``); one-line UserError otherwise."""
    from synth.models import check_shape
    from synth.models.registry import class_limit
    version = payload.get("format_version", FORMAT_VERSION)   # a newer writer's layout
    if not (isinstance(version, int) and not isinstance(version, bool)
            and 1 <= version <= FORMAT_VERSION):   # was read as if it were this one's
        from synth.config import short_repr
        raise UserError(f"checkpoint {where}: format_version must be an integer in [1, "
                        f"{FORMAT_VERSION}] (this nnsynth's), got {short_repr(version)}")
    if not _tensor_dict(payload.get("state_dict")):
        raise UserError(f"checkpoint {where}: state_dict must map names to tensors")
    masks = payload.get("masks")
    if masks and not _tensor_dict(masks):
        raise UserError(f"checkpoint {where}: masks must map layer names to tensors")
    import torch
    for name, m in (masks or {}).items():   # save_checkpoint writes dense bool masks: a
        # sparse one was a traceback, a float one (0.5) scaled its weights without a word
        if m.layout != torch.strided or m.device.type != "cpu" or m.dtype != torch.bool:
            raise UserError(f"checkpoint {where}: mask {name[:80]} must be a dense bool "
                            f"tensor, got a {str(m.layout).replace('torch.', '')} "
                            f"{str(m.dtype).replace('torch.', '')} tensor on the "
                            f"{m.device.type} device")
    from synth.files import plain_problem
    for key in ("dataset", "metrics", "extra"):
        if not isinstance(payload.get(key, {}), dict):
            raise UserError(f"checkpoint {where}: {key} must be a mapping")
        problem = plain_problem(payload.get(key, {}))   # save_checkpoint writes JSON's values
        if problem:
            raise UserError(f"checkpoint {where}: {key} must hold plain values as nnsynth "
                            f"writes them (JSON), found {problem}")
    from synth.quant import CHECKPOINT_KEY, QuantConfig
    quant = (payload.get("extra") or {}).get(CHECKPOINT_KEY)
    if quant:   # the fixed point eval and export run it in: a bad one said only "int_bits
        try:    # must be in [1, 32], got 99", not that the file holds it
            QuantConfig.from_dict(quant)
        except UserError as e:
            raise UserError(f"checkpoint {where}: extra.{CHECKPOINT_KEY}: {e}") from None
    shape, _ = check_shape(payload.get("input_shape"), payload.get("num_classes"),
                           f"checkpoint {where}",   # a language model's: its vocabulary
                           max_classes=class_limit(payload.get("spec")))
    meta = payload.get("dataset") or {}
    if meta:   # its normalization and range shape every inverted input (synth.data.input_range)
        from synth.data import check_metadata
        check_metadata(meta, f"checkpoint {where}: dataset", partial=True)
        if "input_shape" in meta and tuple(meta["input_shape"]) != tuple(shape):
            raise UserError(f"checkpoint {where}: dataset input_shape {tuple(meta['input_shape'])} "
                            f"is not the model's {tuple(shape)}")


def state_mismatch(state: dict, expected: dict) -> tuple[str, str] | None:
    """The first way ``state`` (names to values, as a file held them) is not a state dict of
    the module whose own is ``expected`` (names to tensors, on any device, the meta one too),
    as (kind, name): "missing" or "unexpected" for the names, "shape" for a tensor of another
    shape, "kind" for a value that is no dense CPU tensor of the expected dtype, "nonfinite"
    for NaN or infinite values; None when it is one.  A checkpoint's weights against its spec
    (``check_weights``) and a job's saved generator and students (``cluster.pairs``)."""
    import torch
    missing = sorted(set(expected) - set(state), key=str)
    if missing:
        return "missing", missing[0]
    extra = sorted(set(state) - set(expected), key=str)
    if extra:
        return "unexpected", str(extra[0])
    names = list(expected)   # in the module's order
    for name in names:
        got = state[name]
        if torch.is_tensor(got) and tuple(got.shape) != tuple(expected[name].shape):
            return "shape", name
    for name in names:
        got = state[name]
        if not (torch.is_tensor(got) and got.layout == torch.strided
                and got.device.type == "cpu" and got.dtype == expected[name].dtype):
            return "kind", name
    floats = [name for name in names if state[name].is_floating_point()]
    if floats and not bool(torch.stack([torch.isfinite(state[n]).all() for n in floats]).all()):
        return "nonfinite", next(n for n in floats if not bool(torch.isfinite(state[n]).all()))
    return None


def check_weights(payload: dict, where: str = "checkpoint") -> None:
    """Validate a payload once: its parts' types and bounds (``check_payload``), then its
    spec built on the meta device (no memory) and the state dict's names and shapes compared
    with it, so a small file whose spec asks for a huge model, or whose weights do not fit the
    spec, is refused before any weight is allocated."""
    from synth.models import build
    check_payload(payload, where)
    masks = payload.get("masks") or {}
    state = payload["state_dict"]
    try:
        shell = build(payload["spec"], payload["input_shape"], payload["num_classes"],
                      meta=True)
    except UserError as e:   # "unknown model family 5": which file's spec says so
        if str(e).startswith(where):
            raise
        from synth.models.registry import WorkLimitError
        kind = WorkLimitError if isinstance(e, WorkLimitError) else UserError
        raise kind(f"{where}: spec: {e}") from None
    if masks:
        from synth.masked import attach_masks  # grow-and-prune's masked layers
        try:
            attach_masks(shell, masks)
        except UserError as e:   # "mask for layer 'x' has shape ...": which file holds it
            raise UserError(f"{where}: {e}") from None
    import torch
    expected = shell.state_dict()
    mismatch = state_mismatch(state, expected)
    if mismatch is not None:
        kind, name = mismatch
        if kind in ("missing", "unexpected", "shape"):
            detail = (f"missing {name}" if kind == "missing" else
                      f"unexpected {name[:80]}" if kind == "unexpected" else
                      f"{name} has shape {tuple(state[name].shape)}, the spec needs "
                      f"{tuple(expected[name].shape)}")
            raise UserError(f"{where}: weights do not match its spec ({detail})")
        if kind == "kind":
            # weights_only=True also loads sparse, meta, quantized and complex tensors, and
            # any dtype: a sparse or meta weight was a traceback in the finiteness check, a
            # complex one lost its imaginary part and a float64 1e300 became inf in float32
            t, want = state[name], expected[name].dtype
            got = (f"a {str(t.layout).replace('torch.', '')} tensor" if t.layout != torch.strided
                   else f"a tensor on the {t.device.type} device" if t.device.type != "cpu"
                   else str(t.dtype).replace("torch.", ""))
            raise UserError(f"{where}: weight {name[:80]} must be a dense "
                            f"{str(want).replace('torch.', '')} tensor, got {got}")
        # a NaN or infinite weight makes every output NaN, whose argmax is class 0: eval
        # printed an accuracy for it (fit refuses to return such a model; a file can hold one)
        raise UserError(f"{where}: weight {name} holds NaN or infinite values (a diverged "
                        f"training?); nnsynth cannot evaluate, price or export it")
    # a negative running variance (training never writes one) makes that BatchNorm output
    # NaN: eval printed accuracy 0.1 as "predicts class '0' for every test sample (train longer)"
    for module_name, module in shell.named_modules():
        var = state.get(f"{module_name}.running_var" if module_name else "running_var")
        if isinstance(module, torch.nn.modules.batchnorm._NormBase) and var is not None \
                and bool((var < 0).any()):
            raise UserError(f"{where}: BatchNorm {module_name[:80]}.running_var must be >= 0 "
                            f"(a variance), got {float(var.min()):g}")


def model_from_payload(payload: dict, device: str | torch.device = "cpu", *,
                       where: str = "checkpoint", checked: bool = False) -> torch.nn.Module:
    """The model of a ``read_checkpoint`` payload, with masks re-attached, weights loaded and
    ``model.checkpoint_info`` (data set, metrics, extra), in eval mode on ``device``: the one
    place a model is made from a payload, so a file read once can serve several uses.

    The spec is built on the meta device first and its state dict's names and shapes are
    compared with the checkpoint's, so a small file whose spec asks for a huge model (or
    whose weights do not fit the spec) is refused before any weight is allocated.
    ``checked=True``: the payload was validated already (``model_from_payload`` on it once,
    e.g. in the driver before it is sent to actors): those checks are not repeated."""
    from synth.models import build
    from synth.models.registry import WorkLimitError
    masks = payload.get("masks") or {}
    state = payload["state_dict"]
    if not checked:
        check_weights(payload, where)
    try:   # the fit check's work follows the recorded input_shape: name the file
        model = build(payload["spec"], payload["input_shape"], payload["num_classes"])
    except WorkLimitError as e:
        raise WorkLimitError(f"{where}: {e}") from None
    if masks:
        from synth.masked import attach_masks
        attach_masks(model, masks)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(f"{where}: weights do not match its spec "
                        f"({str(e).splitlines()[0][:200]})") from None
    model.checkpoint_info = {"dataset": payload.get("dataset", {}),
                             "metrics": payload.get("metrics", {}),
                             "extra": payload.get("extra", {})}
    return model.to(device).eval()


def names_checkpoint(model_spec: Any) -> bool:
    """Whether a model reference that may be a variant name, a JSON spec or a checkpoint
    (grow-prune's and hwsim's ``--model``, invert's ``--student``) names a checkpoint: a
    regular file, or anything else at a path that looks like one (a separator or a
    checkpoint's suffix: a FIFO, a folder, a device, a link loop or one that leads nowhere),
    which ``load_model`` then names as what it is.  Only a regular file counted: ``--model
    fifo.pt`` was "a file, where a variant name or JSON spec is expected", though these take
    checkpoints.  A folder named like a variant (``mlp_small``) stays the variant."""
    if not isinstance(model_spec, (str, os.PathLike)):
        return False
    text = str(model_spec)
    if os.path.isfile(text):
        return True
    from synth.models.registry import looks_like_path
    return looks_like_path(text) and os.path.lexists(text)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The model in eval mode, with masks re-attached when the checkpoint has them.

    The checkpoint's extra dict carries ``"checkpoint"`` metadata on the returned model as
    ``model.checkpoint_info`` (data set, metrics), with the ``checksum`` of the file's bytes
    (``checksum_bytes``, from the same read: what a resumed run's key names the model by)."""
    payload, checksum = read_checkpoint_and_checksum(path)
    model = model_from_payload(payload, device, where=f"checkpoint {path}")
    model.checkpoint_info["checksum"] = checksum
    return model


def recorded_split_seed(meta: dict, dataset: str | None = None, *, source: str = "checkpoint",
                        default: int = 0) -> int:
    """The split seed to reload ``dataset`` with for a checkpoint whose data-set metadata is
    ``meta`` (DESIGN "Checkpoint metadata"): the recorded ``split_seed`` when ``dataset`` is
    the checkpoint's own set (or its class subset ``name[...]``) or None; ``default`` for
    another set.  A checkpoint from before the seed was recorded gets 0 with a warning: its
    "test" split is right only if it was trained with seed 0."""
    from synth.data_registry import same_dataset
    own = str(meta.get("name") or "")
    # a class subset (mnist5k[0,1]) is its set's; a path set is its file, however spelt
    if dataset is not None and not same_dataset(dataset, own):
        return int(default)
    if meta.get("split_seed") is None:
        log.warning("%s records no data split seed (written before nnsynth stored it): using "
                    "the seed-0 split of %s, which is its test split only if it was trained "
                    "with --seed 0", source, dataset or own or "its data set")
        return 0
    from synth.config import check_seed
    check_seed(f"{source}: dataset.split_seed", meta["split_seed"])   # a crafted file's
    return int(meta["split_seed"])


def trained_record(data, digest: str | None = None) -> dict:
    """``data.metadata()`` with its ``Dataset.digest`` (``digest``: already computed, of
    ``data`` as ``load_dataset`` gave it) as ``"digest"``: a checkpoint's data-set record
    for a model trained on ``data``, so that a reader can tell the file was rewritten
    (``warn_if_changed``)."""
    return {**data.metadata(), "digest": digest if digest is not None else data.digest()}


def warn_if_changed(meta: dict, data, source: str = "checkpoint") -> bool:
    """Warn in one line, and say True, when ``data`` (as ``load_dataset`` gave it) is the set
    of the checkpoint whose data-set record is ``meta``, split with its recorded seed, but
    not the data it was trained on (its ``"digest"``, ``trained_record``): a CSV rewritten
    since was re-split with the recorded seed, and its "test" split could hold training
    samples, scored without a word.  A record without a digest (older checkpoints), another
    set, another class list or another seed: nothing to compare, False."""
    from synth.data import split_class_list
    from synth.data_registry import same_dataset
    recorded, own = meta.get("digest"), str(meta.get("name") or "")
    if (not isinstance(recorded, str) or not own or meta.get("split_seed") != data.seed
            or split_class_list(str(data.name))[1] != split_class_list(own)[1]
            or not same_dataset(str(data.name), own)):
        return False
    named = data.as_recorded(meta)   # however spelt: name and file (a .ts set's source)
    if named.digest() == recorded:
        return False
    log.warning("%s changed since %s was trained on it: its test split may hold training "
                "samples", printable(str(data.name)), source)
    return True


def check_model_classes(model: torch.nn.Module, data, what: str = "model") -> None:
    """A model of ``data``'s own set (or a class subset of it) must predict ``data``'s
    classes in their order (the names recorded with the checkpoint): a wine[0,1] model
    updated with wine[0,2] read class 2's samples as its class 1.  ``checkpoint_dataset``
    makes the same check on a set's name, before it is loaded.  Names are matched as
    ``synth.data.spelled_as`` matches them (case ignored where unambiguous: the model's own
    file re-spelled 'cat' for 'Cat' was refused as other classes by the search's teacher
    check and by incremental learning).  A model of a user's table takes ``data``'s feature
    columns only in its own order (``in_model_columns`` names them), as ``data`` is used
    as it is: a search's teacher got a test file's columns b,a as its a,b."""
    from synth.data import spelled_as, split_class_list
    meta = (getattr(model, "checkpoint_info", None) or {}).get("dataset") or {}
    own, names = str(meta.get("name") or ""), meta.get("class_names")
    if own and names is not None and split_class_list(own)[0] == split_class_list(
            data.name)[0] and spelled_as(names, data.class_names) != list(data.class_names):
        from synth.config import short_repr
        raise UserError(f"the {what} predicts {own}'s classes {short_repr(list(names))}; the "
                        f"data {data.name} has {short_repr(list(data.class_names))}: give "
                        f"the data set it was trained on")
    features, have = meta.get("feature_names"), _feature_names(data)
    spelled, relation = ((None, "same") if features is None or have is None
                         else columns_relation(features, have))
    if relation == "other" and names_by_position(own, data.name):
        relation = "same"   # scikit-learn's names against a user's: by position, as before
    if relation != "same":
        # the data is used as it is (a search's real set): columns in another order reached
        # the model swapped; other columns are named as in_model_columns names them
        if relation == "other":
            raise _columns_differ(data, spelled, f"the {what}")
        from synth.config import short_repr
        from synth.files import printable
        raise UserError(f"the {what} takes the feature columns "
                        f"{short_repr([printable(n) for n in features])} in that order; data "
                        f"set {printable(data.name)} has them as "
                        f"{short_repr([printable(n) for n in have])}: give a table with its "
                        f"columns in the {what}'s order")


def checkpoint_dataset(model: torch.nn.Module, dataset: str | None = None, *,
                       source: str = "checkpoint", default_seed: int = 0, whole: bool = False,
                       quiet: bool = False):
    """The data set a loaded checkpoint (``load_model``) was trained on -- or ``dataset`` --
    split as recorded, so its test split holds no training sample.  A set whose input shape
    is not the model's, or with a class the model does not predict, is a one-line error:
    more classes than outputs made cross_entropy raise IndexError.  A set of some of the
    model's classes is scored against their outputs, matched by name (``in_model_subset``).  ``default_seed`` splits a set other than the checkpoint's own; ``whole``: the
    set is scored whole, so one too small to split loads (``synth.data.whole_set``).  Its own
    set rewritten since it was trained is a warning (``warn_if_changed``).  ``quiet``: the
    set is read only to compare with, and says nothing below an error (its loaders' warnings
    and this function's: ``synth.logs.quiet_sets``).  A language model (family ``lm``,
    ``nnsynth symbiotic``'s) has no classification set: one line naming the family."""
    if (getattr(model, "spec", None) or {}).get("family") == "lm":
        # its text set loaded as a classification set: 'data set ... is a text set ...;
        # use it with a language model', of a language model, after a split-seed warning
        raise UserError(f"{source} is a language model (family 'lm'), not a classifier: "
                        f"nnsynth eval --model scores its perplexity and nnsynth hwsim eval "
                        f"--model prices it; this command takes classifiers")
    with quiet_sets(quiet):
        data = _checkpoint_dataset(model, dataset, source, default_seed, whole)
    if not quiet:   # scored, not only compared with: its first samples through the model
        check_outputs_on(model, data, source)
    return data


# samples of each split a checkpoint's outputs are checked on (``check_outputs_on``): one
# forward pass of at most 3 x 64 inputs, beside a command that scores or trains on the set
FIRST_BATCH = 64


def shape_mismatch(name: str, data, expects: tuple, whom: str, meta: dict) -> UserError:
    """The one line for data set ``name`` (``data``, as loaded) whose input shape is not the
    ``expects`` of ``whom`` (a model or a checkpoint), with why where a record tells it
    (``unfitted_reason``): eval's and grow-prune/incremental's checks say it alike."""
    return UserError(f"data set {name} has input shape {tuple(data.input_shape)} but {whom} "
                     f"expects {tuple(expects)}{unfitted_reason(data, expects, meta)}")


def check_outputs_on(model: torch.nn.Module, data, source: str = "checkpoint") -> None:
    """Refuse (one line naming ``source``, ``synth.overflow.refuse_overflow``) a loaded
    checkpoint whose outputs are NaN or infinite on the first ``FIRST_BATCH`` samples of a
    split of ``data`` (the set as fitted to it): finite weights that overflow only on real
    inputs passed every check (an ADI student's is of random inputs), and eval printed
    'loss: none' and an accuracy of the rows that did not overflow, without a word."""
    import torch
    from synth.overflow import refuse_overflow
    shape, expects = tuple(data.input_shape), tuple(model.input_shape)
    if shape != expects:   # a pruned wine MLP given basicmotions by grow-prune or incremental
        # was a 'mat1 and mat2 shapes cannot be multiplied' traceback here: eval's line
        meta = getattr(model, "checkpoint_info", {}).get("dataset") or {}
        raise shape_mismatch(printable(data.name), data, expects, source, meta)
    x = torch.cat([getattr(data, f"x_{s}")[:FIRST_BATCH] for s in ("train", "val", "test")])
    if len(x):
        refuse_overflow(model, x, source,
                        f"the first {len(x):,} samples of data set {printable(data.name)}",
                        "retrain it or give another checkpoint")


def _checkpoint_dataset(model, dataset, source, default_seed, whole):
    """``checkpoint_dataset``'s work."""
    from synth.data import load_dataset, split_class_list
    meta = getattr(model, "checkpoint_info", {}).get("dataset", {})
    name = dataset or meta.get("name")
    own, classes = split_class_list(str(meta.get("name") or ""))
    if classes is not None and dataset == own:   # its outputs are those classes in that order:
        name = meta["name"]                      # digits, for a digits[0,1,2,3,4,9,8,7,6,5]
                                                 # model, scored output 5 as class 5
    asked_base, asked = split_class_list(str(name or ""))
    if own and asked_base == own and (asked or classes) and asked != (
            classes or list(range(int(model.num_classes)))):
        # outputs of other classes: a digits[0,1,2,3,4] model scored on digits[5,6,7,8,9]
        # (or a wine model on wine[0,2,1]) printed the accuracy of meaningless labels
        from synth.config import short_repr
        raise UserError(f"data set {short_repr(name)} labels {own}'s classes "
                        f"{asked or 'all'} but the model's outputs are its classes "
                        f"{classes or list(range(int(model.num_classes)))} in that order "
                        f"({short_repr(meta['name'])}); give {short_repr(meta['name'])}")
    if not name:
        raise UserError(f"{source} names no data set; pass --dataset")
    old = (getattr(model, "checkpoint_info", {}).get("extra") or {}).get(
        "incremental_old_dataset")
    if (dataset and isinstance(old, dict) and old.get("name")
            and split_class_list(str(old["name"]))[0] == asked_base != own):
        # `nnsynth incremental --old A --new B` trained on A's train split too, split by its
        # seed (recorded beside): A split by seed 0 put its training rows in the test split
        default_seed = recorded_split_seed(old, name, default=default_seed,
                                           source=f"{source} (incremental_old_dataset)")
    seed = recorded_split_seed(meta, name, source=source, default=default_seed)
    if dataset:
        data = load_dataset(name, seed=seed, whole=whole)
    else:   # the recorded set: a csv: path relative to the folder it was trained in, a file
        try:   # moved since: "CSV file not found: animals.csv" did not say whose set it was
            # recorded: a name the user did not give, so its errors quote none of its file
            # (a crafted checkpoint's csv:/etc/passwd printed one of its lines)
            where = recorded_location(meta) if name == meta.get("name") else name
            data = load_dataset(where, seed=seed, recorded=True, whole=whole)
            if where != name:   # found where it was trained: the set as the record names it
                data = data.as_recorded(meta)   # (name and file: its digest, resume keys)
        except UserError as e:
            from synth.files import printable
            raise UserError(f"{source} records the data set {printable(name)}, which does not "
                            f"load here ({e}); give the set to score it on with --dataset"
                            ) from None
    if not whole:   # scored whole, a set holds its training samples anyway
        warn_if_changed(meta, data, source)
    # by name: a column too many or too few is named; a shorter series left-padded
    scaled = in_model_scale(data, meta, tuple(model.input_shape))
    if tuple(scaled.input_shape) != tuple(model.input_shape):
        raise shape_mismatch(name, scaled, tuple(model.input_shape), "the model", meta)
    if int(scaled.num_classes) != int(model.num_classes):
        # a held-out file of some of the model's classes is scored against their outputs
        scaled = in_model_subset(scaled, meta.get("class_names"), int(model.num_classes), name)
    scaled = in_model_order(scaled, meta.get("class_names"))
    warn_untrained(scaled, meta, data)
    return scaled


def warn_untrained(data, meta: dict, loaded) -> None:
    """Log ``synth.data_splits.untrained_values`` for a feature-vector or sequence set
    ``data`` in the model's normalization (``meta``: its checkpoint's record, with
    ``value_range``): every row scored (each split) that holds another value in a column (a
    channel) the model's training split held one value in.  ``loaded``: the set before
    rescaling; where its own normalization is the model's (its training split), its loader
    said it of its val and test rows already."""
    from synth.data_splits import untrained_values
    import torch
    value_range = meta.get("value_range")
    if (len(data.input_shape) not in (1, 2) or not isinstance(value_range, (list, tuple))
            or len(value_range) != 2 or (list(loaded.mean), list(loaded.std))
            == (list(meta.get("mean") or []), list(meta.get("std") or []))):
        return
    line = untrained_values(torch.cat([data.x_train, data.x_val, data.x_test]).numpy(),
                            value_range[0], value_range[1], data.mean, data.std,
                            f"data set {data.name} (the model trained on "
                            f"{meta.get('name') or 'another set'})", _feature_names(data),
                            "series scored" if len(data.input_shape) == 2 else "rows scored")
    if line:
        log.warning("%s", line)


def in_model_length(data, model_shape: tuple, meta: dict):
    """``data``, a set of series shorter than a model's (``model_shape``: (channels, steps)),
    left-padded with zeros to the model's steps where the model's training set was
    left-padded (``meta``, its checkpoint's data-set record: "padding" begins with "left"),
    as that set's own shorter series were: a japanesevowels model (29 steps) was refused
    aeon's JapaneseVowels_TRAIN.ts, whose longest series has 26 ("has input shape (12, 26)
    but the model expects (12, 29)").  Zero is the padding value after normalization (the
    channel's mean), and ``in_model_scale`` keeps a leading run of zeros at the model's.
    ``data.extra["left_padded_from"]`` records the set's own steps (``padded_note``).  A
    model of equal-length series (no padding in training), another channel count or a
    longer set: unchanged, and the shape check refuses it."""
    import dataclasses
    import torch.nn.functional as F
    shape = tuple(int(v) for v in data.input_shape)
    extra = dict(data.extra or {})
    if (len(shape) != 2 or len(model_shape) != 2 or shape[0] != int(model_shape[0])
            or shape[1] >= int(model_shape[1]) or extra.get("kind") != "sequence"
            or not str(meta.get("padding", "")).startswith("left")):
        return data
    steps = int(model_shape[1])

    def pad(x):
        return F.pad(x, (steps - shape[1], 0)) if len(x) else x.new_zeros((0, shape[0], steps))
    extra.update(left_padded_from=shape[1], padding=(
        f"left, zeros after normalization (the channel's train mean), to {steps} steps (the "
        f"model's; the set's longest series has {shape[1]})"))
    return dataclasses.replace(data, x_train=pad(data.x_train), x_val=pad(data.x_val),
                               x_test=pad(data.x_test), input_shape=(shape[0], steps),
                               extra=extra)


def unfitted_reason(data, model_shape, meta: dict, owner: str = "model") -> str:
    """Why ``in_model_scale`` left ``data`` of series in another shape than a model's
    (``model_shape``; ``meta``, its checkpoint's data-set record), as the end of the refusal
    (' (...)'), or '' where the shapes say it (another channel count, not series): the model's
    own series were of one length (no padding in training), the set's are longer, or the set
    does not say it holds series."""
    shape, model_shape = tuple(data.input_shape), tuple(int(v) for v in model_shape)
    if len(shape) != 2 or len(model_shape) != 2 or shape[0] != model_shape[0]:
        return ""
    if shape[1] > model_shape[1]:
        return f" (series longer than the {owner}'s {model_shape[1]} steps are not cut)"
    if not str(meta.get("padding", "")).startswith("left"):
        return (f" (the {owner}'s training series were all of {model_shape[1]} steps: shorter "
                f"ones are left-padded only for a model trained on left-padded series)")
    if (data.extra or {}).get("kind") != "sequence":
        return (" (its metadata does not say it holds series, kind 'sequence': shorter "
                "inputs are left-padded only where they are series)")
    return ""


def padded_note(data, name: str) -> str | None:
    """The note (a result's "note") saying that ``data`` (called ``name``) was left-padded to
    its model's steps (``in_model_length``), or None: the score is of padded inputs."""
    steps = (data.extra or {}).get("left_padded_from")
    if steps is None:
        return None
    return (f"the series of {name} (at most {steps} steps) were left-padded with the "
            f"padding value to the model's {int(data.input_shape[1])} steps, as the shorter "
            f"series of its training set were")


def in_model_subset(data, names, num_classes: int, name):
    """``data`` of fewer classes than a model's ``num_classes`` outputs (``names``: the
    class names its checkpoint records), its labels re-indexed to the model's outputs by
    class name (as ``synth.data.spelled_as`` matches them: case ignored where unambiguous)
    and its class names the model's: a user's held-out file missing a class (2 of a 3-class
    model's) was refused as "has 2 classes but the model predicts 3", so it could not be
    scored.  A class the model does not predict is a one-line error naming it; so is a set
    of more classes, or a model that records no class names (nothing to match by)."""
    import dataclasses
    import torch
    from synth.config import short_repr
    from synth.data import spelled_as
    from synth.files import printable
    have = [str(c) for c in data.class_names]
    spelled = (spelled_as(names, have) if names is not None and len(names) == num_classes
               else None)
    unknown = [c for c in have if c not in (spelled or [])]
    if spelled is not None and unknown:
        raise UserError(f"data set {printable(name)} has the class"
                        f"{'es' * (len(unknown) > 1)} "
                        f"{short_repr([printable(c) for c in unknown])}, which the model does "
                        f"not predict: its outputs are the classes "
                        f"{short_repr([printable(c) for c in names])}")
    if spelled is None or len(have) > num_classes:
        raise UserError(f"data set {printable(name)} has {data.num_classes} classes but the "
                        f"model predicts {num_classes}; give the data set it was trained on")
    lut = torch.tensor([spelled.index(c) for c in have], dtype=torch.long)
    return dataclasses.replace(data, y_train=lut[data.y_train], y_val=lut[data.y_val],
                               y_test=lut[data.y_test], num_classes=num_classes,
                               class_names=spelled)


def in_model_scale(data, meta: dict, model_shape: tuple | None = None,
                   notes: list | None = None):
    """``data`` fitted to a model's input: its series left-padded to the model's steps
    (``in_model_length``; ``model_shape``, default the record's ``input_shape``) and
    normalized as the model's training set was (``meta``: a checkpoint's data-set
    record) when it was normalized otherwise: every caller that meets a set in a model's
    normalization pads it as eval does (a search's --dataset of shorter series than its
    --teacher's was refused, where eval scored it).  Every set is standardized with its own
    training split's mean and std per channel or feature, so a model trained on
    ``ts:Blink_TRAIN.ts`` and scored on ``ts:Blink_TEST.ts`` (or a CSV of new readings) saw
    the new file rescaled by that file's own statistics, not the ones it was trained with:
    a shift or gain between the two files vanished from the inputs and the score was of other
    numbers.  Raw values are recovered (x * std + mean) and normalized with the model's.  A
    sequence's left padding (zeros at every channel: its train mean) stays zero.  A user's
    table is first put in the order of the model's feature columns (``in_model_columns``).
    A set on another scale than the model's is a warning (``scale_warning``), also appended
    to ``notes`` where given (``synthesized_for``'s, a result's 'warning')."""
    import dataclasses
    import torch
    data = in_model_columns(data, meta)
    shape = model_shape if model_shape is not None else meta.get("input_shape")
    if shape is not None:
        data = in_model_length(data, tuple(shape), meta)
    mean, std = meta.get("mean"), meta.get("std")
    if (not mean or not std or len(mean) != len(data.mean) or len(std) != len(data.std)
            or (list(mean), list(std)) == (list(data.mean), list(data.std))):
        return data
    shape = (-1,) + (1,) * (len(data.input_shape) - 1)    # per channel (C,1,1) / (C,1); (F,)
    own = [torch.tensor(v, dtype=torch.float64).view(shape) for v in (data.mean, data.std)]
    new = [torch.tensor(v, dtype=torch.float64).view(shape) for v in (mean, std)]
    # x_model = (x * std_own + mean_own - mean_model) / std_model, as one gain and shift
    # computed in float64: raw values recovered in float32 lost a large offset's digits (a
    # column of readings near 1e9 is 64 apart in float32), and a file of the model's own
    # rows reached it as multiples of 64 of its units (38.7% for 84.0% of a 3-class CSV)
    gain = (own[1] / new[1]).float()
    shift = ((own[0] - new[0]) / new[1]).float()

    # (C, T) left-padded to the longest series: the padded steps (zeros at every channel,
    # the leading run of each series) stay padding.  Only those: a real step at the set's
    # mean on every channel is zero too, and was kept at the model's mean (a held-out file
    # of whole numbers centred on 0 read its 0s as 2.96 for a model of mean 2.96), and a
    # set that says it is not padded (equal-length series: "none ...") has none at all.
    padded = (len(data.input_shape) == 2
              and not str((data.extra or {}).get("padding", "")).startswith("none"))

    def scale(x):
        if not len(x):
            return x
        out = x * gain + shift
        if padded:
            lead = (x == 0).all(dim=1).int().cumprod(dim=1).bool()    # (N, T) leading run
            out = torch.where(lead[:, None, :], torch.zeros_like(out), out)
        if not bool(torch.isfinite(out).all()):   # was inf: the model's outputs NaN
            sample = int(torch.nonzero(~torch.isfinite(out))[0][0])
            raise UserError(f"data set {data.name}: a value of sample {sample} of its split "
                            f"goes beyond float32's range (3.4e38) in the model's "
                            f"normalization (mean/std of {meta.get('name') or 'its training set'}"
                            f"); drop or rescale it")
        return out

    line = scale_warning(data, mean, std, meta.get("name"))
    if line:   # said by default (stderr; --json's warning): the model sees other numbers
        log.warning("%s", line)
        if notes is not None:
            notes.append(line)
    else:
        log.info("data set %s scaled with the model's training normalization (mean/std of "
                 "%s), not its own", data.name, meta.get("name") or "its data set")
    return dataclasses.replace(data, x_train=scale(data.x_train), x_val=scale(data.x_val),
                               x_test=scale(data.x_test), mean=[float(v) for v in mean],
                               std=[float(v) for v in std])


# how far a set's own per-channel std (either way) or mean (in the model's stds) may lie from
# the model's training set's before its rescaling is said by default: a held-out file of the
# same units lies well within it (sampling, drift); a unit or pixel-scale mix-up (raw digits
# 0..16 for a model of 0..1, 8-bit 0..255, kelvin for Celsius) far beyond
SCALE_FACTOR = 3.0
# rows of a set's training split below which one channel's std or mean is too noisy to judge
# alone: of random draws of breast_cancer rows (heavy-tailed features such as 'area error'),
# some feature lay 3x off the whole set's in 63% of draws of 6 rows, 3% of 20, 0.7% of 30,
# 0.1% of 50 and none of 2,000 of 60 or more.  Below it the set is judged by its median
# channel too, which a unit or pixel-scale mix-up moves as it moves every channel: 3x off in
# 0.5% of draws of 6 rows (breast_cancer, iris; wine none), none of 12 or more
SCALE_MIN_ROWS = 60


def scale_warning(data, mean, std, model_set: str | None) -> str | None:
    """The warning for ``data`` whose own normalization (its training split's per-channel
    ``data.mean``/``data.std``, in raw units) is far from the model's (``mean``/``std``, of
    ``model_set``): a std ``SCALE_FACTOR`` times larger or smaller, or a mean that many of
    the model's stds away, on some channel (feature); on the median channel too where the
    set's training split has fewer than ``SCALE_MIN_ROWS`` rows.  ``in_model_scale`` feeds
    the set's raw values in the model's normalization, so such a set reaches the model far from
    anything it trained on (a Parquet of digits' raw 0..16 pixels for a digits model of
    0..1 was scored at 16x its pixels), and said only at INFO, where a padded series is
    noted in every result (``padded_note``).  None where every channel is within it."""
    import math
    import statistics
    fars = []   # (how far, channel)
    for i, (own_m, own_s, m, s) in enumerate(zip(data.mean, data.std, mean, std)):
        own_m, own_s, m, s = (float(v) for v in (own_m, own_s, m, s))
        if not all(math.isfinite(v) for v in (own_m, own_s, m, s)) or own_s <= 0 or s <= 0:
            continue
        fars.append((max(own_s / s, s / own_s, abs(own_m - m) / s), i))
    if not fars:
        return None
    # a few rows: the median channel must be off (every channel of a mix-up is), not one
    typical = (SCALE_FACTOR if len(data.x_train) >= SCALE_MIN_ROWS
               else statistics.median(f for f, _ in fars))
    far, i = max(fars)
    if far < SCALE_FACTOR or typical < SCALE_FACTOR:
        return None
    names = _feature_names(data)
    what = (f"feature {i} (column {names[i]!r})" if names is not None and i < len(names)
            else f"{'feature' if len(data.input_shape) == 1 else 'channel'} {i}")
    return (f"data set {data.name} is on another scale than the model's training set "
            f"({model_set or 'its data set'}): {what} has mean {float(data.mean[i]):.4g} and "
            f"std {float(data.std[i]):.4g} there, {float(mean[i]):.4g} and {float(std[i]):.4g} "
            f"in training; it is fed in the model's training normalization, so the model "
            f"sees values unlike those it learned (check the set's units or pixel scale)")


def _feature_names(data) -> list[str] | None:
    """The feature columns of a table (csv:, parquet:, a bundled scikit-learn one) in
    order, or None (another kind of set, or a table loaded before their names were
    recorded)."""
    names = (getattr(data, "extra", None) or {}).get("feature_names")
    return [str(n) for n in names] if names is not None and len(data.input_shape) == 1 else None


def _columns_differ(data, names: list[str], where: str) -> UserError:
    """The one-line error for a table whose feature columns are not the model's ``names``."""
    from synth.config import short_repr
    from synth.files import printable
    detail = columns_differ_detail(names, _feature_names(data))
    return UserError(f"data set {printable(data.name)} has other feature columns than "
                     f"{where} was trained on ({detail}); give a table with its columns "
                     f"{short_repr([printable(n) for n in names])} (in any order)")


def columns_differ_detail(names: list[str], have: list[str]) -> str:
    """'missing 'a', 'b'; unexpected 'c'' (five of each named): how feature columns
    ``have`` differ from a model's ``names``."""
    from synth.files import quoted
    missing = [n for n in names if n not in have]
    unexpected = [n for n in have if n not in names]
    return "; ".join(part for part in (
        f"missing {', '.join(quoted(n) for n in missing[:5])}"
        f"{f' and {len(missing) - 5:,} more' if len(missing) > 5 else ''}" if missing else "",
        f"unexpected {', '.join(quoted(n) for n in unexpected[:5])}"
        f"{f' and {len(unexpected) - 5:,} more' if len(unexpected) > 5 else ''}"
        if unexpected else "") if part)


def names_by_position(*set_names) -> bool:
    """Whether feature columns of other names are still taken by position because one side's
    names are a bundled scikit-learn table's (``synth.data_builtin.SKLEARN_TABLES``: iris,
    wine, breast_cancer; ``set_names`` are the model's and the data's set names).  Those
    sets record scikit-learn's column names since h225 (checkpoints and ONNX exports name
    the model's inputs), names the user never chose: an iris model met a CSV of iris headed
    a,b,c,d by position before, and still does; the same names in another order are still
    put in the model's order."""
    from synth.data_builtin import SKLEARN_TABLES
    from synth.data_registry import split_class_list
    return any(isinstance(n, str) and split_class_list(n)[0] in SKLEARN_TABLES
               for n in set_names)


def columns_relation(names, have: list[str]) -> tuple[list[str], str]:
    """(``names`` spelled as ``have`` spells them, how ``have`` stands to them): "same",
    "reordered" (the same columns in another order) or "other".  Names are matched as class
    names are (``synth.data.spelled_as``: case and spaces around them ignored where
    unambiguous).  One decision for a table met by a model (``in_model_columns``,
    ``check_model_classes``) and a student checkpoint met by its teacher
    (``cluster.pairs.check_student_columns``)."""
    from synth.data import spelled_as
    names = spelled_as(names, have)
    if names == have:
        return names, "same"
    return names, "reordered" if sorted(names) == sorted(have) else "other"


def in_model_columns(data, meta: dict, where: str = "the model"):
    """``data`` (a user's table) with its feature columns in the order of the model's
    (``meta``: a checkpoint's data-set record, whose ``feature_names`` name them) when it
    holds the same columns in another order: a test file of columns b,a for a model of a,b
    was scored with its features swapped, silently (49% for a model right on 97%).  Names
    are matched as class names are (``synth.data.spelled_as``: case and spaces around them
    ignored where unambiguous); other columns are a one-line error naming the missing and
    the unexpected ones.  A checkpoint or set without names (written before they were
    recorded), or other names where one side is a bundled set such as iris
    (``names_by_position``), keeps the columns by position."""
    import dataclasses
    names, have = meta.get("feature_names"), _feature_names(data)
    if names is None or have is None:
        return data
    names, relation = columns_relation(names, have)
    if relation == "same" or (relation == "other"
                              and names_by_position(meta.get("name"), data.name)):
        return data
    if relation == "other":
        raise _columns_differ(data, names, where)
    order = [have.index(n) for n in names]
    log.info("data set %s: feature columns %s put in the order of the model's, %s",
             data.name, have, names)
    x = {f"x_{s}": getattr(data, f"x_{s}")[:, order] for s in ("train", "val", "test")}
    pick = lambda values: [values[i] for i in order]  # noqa: E731
    value_range = (None if data.value_range is None else
                   (pick(data.value_range[0]), pick(data.value_range[1])))
    return dataclasses.replace(data, **x, mean=pick(data.mean), std=pick(data.std),
                               value_range=value_range,
                               extra={**data.extra, "feature_names": names})


def synthesized_for(model: torch.nn.Module, path, *, option: str = "--synth",
                    owner: str = "model", seed: int = 0, notes: list | None = None):
    """The Parquet set ``path`` (``parquet:``) for the loaded checkpoint ``model``, fitted to
    its input as a --dataset is (``in_model_scale``): its feature columns (a table's) in the
    model's order by name (``in_model_columns``: a plain Parquet table of the model's columns
    in another order, given to distill, prune or a search's KD as the inputs, reached the
    teacher with its features swapped, silently; a table of other columns is refused naming
    them), its labels in the order of the model's classes (``in_model_order``), series
    shorter than a left-padded model's left-padded to its steps, and values
    normalized with the model's mean and std where the set records others.  A set nnsynth
    synthesized for the model is in its normalization and shape already (unchanged); a
    user's own Parquet of shorter series was refused by its shape alone.  A shape it cannot
    be fitted to is a one-line error naming ``option`` and why (``unfitted_reason``); a set
    left-padded is said in its command's result (``padded_note``, through
    ``synth.workflows.note_synth_padding``).  ``notes``: a list the warnings it logs are
    appended to (for a result's 'warning': prune and distill said them on stderr only, not
    in --json)."""
    from synth.data import load_dataset

    def warn(line: str) -> None:
        log.warning("%s", line)
        if notes is not None:
            notes.append(line)
    meta = (getattr(model, "checkpoint_info", None) or {}).get("dataset") or {}
    check_finished_set(path, option)
    found = in_model_scale(in_model_columns(load_dataset(f"parquet:{path}", seed=seed), meta,
                                            f"the {owner}"), meta, tuple(model.input_shape),
                           notes)
    # its labels in the order of the model's classes where it names them otherwise (a plain
    # table of text labels, sorted, for a model of an ordered category): a search selects on
    # them, prune's Taylor importance takes them as targets
    found = in_model_order(found, meta.get("class_names"))
    if tuple(found.input_shape) != tuple(model.input_shape):
        raise UserError(f"{option} {path} has input shape {tuple(found.input_shape)}; the "
                        f"{owner} expects {tuple(model.input_shape)}"
                        f"{unfitted_reason(found, model.input_shape, meta, owner)}")
    classes = getattr(model, "num_classes", None)
    if classes is not None and found.num_classes != classes:   # another model's set (or a
        # real table of more classes): its inputs serve (KD, continual take the model's own
        # outputs), its labels do not (prune checks them itself: dfprune.check_labels)
        warn(f"{option} {path} is a set of {found.num_classes} classes where the {owner} "
             f"predicts {classes}: its inputs are used, its labels are not the {owner}'s")
    made_by = _set_teacher_checksum(path)
    own = (getattr(model, "checkpoint_info", None) or {}).get("checksum")
    if made_by and own and made_by != own:
        warn(f"{option} {path} was synthesized from another teacher (checksum {made_by}; the "
             f"{owner}'s is {own}): its inputs stand for that teacher's data")
    return found


def _set_teacher_checksum(path) -> str | None:
    """The teacher checksum a synthesized set's job.json records (``nnsynth invert``), or None
    (no such file, not JSON, a plain Parquet table)."""
    from synth.data import set_job
    value = set_job(path).get("teacher_checksum")
    return value if isinstance(value, str) else None


def check_finished_set(path, option: str = "--synth") -> None:
    """Refuse, in one line, an ``nnsynth invert`` folder whose run was interrupted (its
    job.json plans more inputs than its shards hold): prune, distill and continual loaded the
    160 inputs of a 640-input run killed after its first shard as if they were the set, with
    no word.  Rerunning the same ``nnsynth invert`` command resumes it (its finished shards
    are kept).  A finished folder, and one whose job.json records no planned count (older
    versions), loads as before."""
    from synth.data import set_progress
    progress = set_progress(path)
    if progress is None or progress[0] >= progress[1]:
        return
    from synth.files import printable
    held, planned = progress
    raise UserError(f"{option} {printable(str(path))} is an unfinished nnsynth invert run: it "
                    f"holds {held:,} of the {planned:,} inputs planned; rerun the same nnsynth "
                    f"invert command to finish it (it resumes where it stopped)")


def in_model_order(data, names):
    """``data`` with its labels in the order of a model's class ``names`` when it holds the
    same classes in another order: a .ts file declaring '@classLabel true 2 1' where the
    model's file declared '1 2' (or a set whose loader sorts its names) was scored label
    index by label index, and a model right on 70% printed 30%.  Names are matched as
    ``synth.data.spelled_as`` matches them (case ignored where that is unambiguous: a file
    of 'cat', 'Dog' for a model of 'Cat', 'dog'); the set keeps its own spelling."""
    import dataclasses
    import torch
    from synth.data import spelled_as
    names = spelled_as(names or [], data.class_names)
    if (names == list(data.class_names) or len(set(names)) != len(names)
            or sorted(names) != sorted(data.class_names)):
        return data
    lut = torch.tensor([names.index(c) for c in data.class_names], dtype=torch.long)
    return dataclasses.replace(data, y_train=lut[data.y_train], y_val=lut[data.y_val],
                               y_test=lut[data.y_test], class_names=names)
