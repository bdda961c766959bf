"""``images:<dir>``: a folder of class subfolders of images, as torchvision's ImageFolder
reads it, or a folder of train/, val/ and test/ folders of those."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from synth.data_parquet import MAX_DATASET_VALUES, MAX_PARQUET_INFLATION, PARQUET_FREE_BYTES
from synth.data_registry import check_class_names, missing_path, printable, register_dataset
from synth.data_splits import _image_dataset, split_column, too_few_to_split
from synth.dataset import Dataset
from synth.errors import TooFewClasses, UserError
from synth.files import quoted
from synth.logs import set_logger

log = set_logger(__name__)   # quiet while a set is read to compare (synth.logs)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# The formats those suffixes name (JPEG opens a camera's multi-picture file too): a file is
# opened only as one of them.  Pillow otherwise tries every format it knows whatever the name, and
# an EPS file named x.png was opened as EPS, whose decoding runs Ghostscript on the file.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
MAX_IMAGE_SIDE = 1024        # px: the sets this tool trains on are small images
MAX_IMAGE_FILES = 200_000    # files and folders looked at under an images:<dir>


def _listing(folder: Path, root: Path) -> list[Path]:
    """The entries of ``folder`` (under the images:<dir> ``root``) in name order; a folder
    that cannot be listed (no permission) is a one-line error: it was a PermissionError
    traceback."""
    try:
        return sorted(folder.iterdir())
    except OSError as e:
        raise UserError(f"image folder {printable(root)}: {printable(folder)} cannot be read "
                        f"({e.strerror or type(e).__name__})") from None


def _class_folders(root: Path) -> dict[str, list[Path]]:
    """{class name: its image files} of ``root``'s class subfolders, each read with its own
    subfolders as torchvision's ImageFolder reads it (a class folder of subfolders, one per
    recording or subject, was a class without images: "found 0 classes"); hidden entries are
    not read, symbolic links are followed as ImageFolder follows them (a set assembled by
    linking lost its linked images and class folders without a word); in name order, a
    folder's files before its subfolders'.  A class folder without images is {name: []}
    (the caller refuses it).  The keys are the folders' names; a class is named without the
    spaces around its folder's name (``_class_name``), and two folders of one class name
    ('b' and 'b ') are refused."""
    if not root.is_dir():
        raise missing_path("images", root)
    classes, seen, named = {}, [0], {}
    for sub in (p for p in _listing(root, root) if not p.name.startswith(".")):
        if not sub.is_dir():   # a link to a folder is one (a class linked in)
            continue
        other = named.setdefault(_class_name(sub.name), sub.name)
        if other != sub.name:
            raise UserError(f"image folder {printable(root)}: class folders {quoted(other)} and "
                            f"{quoted(sub.name)} are one class name "
                            f"{quoted(_class_name(sub.name))} (spaces around a name are not "
                            f"part of it); merge or rename one")
        classes[sub.name] = _images_under(sub, root, seen)
    return classes


def _class_name(folder: str) -> str:
    """The class a folder of images names: its name without the spaces around it, as a CSV
    label cell's ('b ' was a class of its own, named with its space, beside a CSV's 'b')."""
    return folder.strip()


def _images_under(folder: Path, root: Path, seen: list[int]) -> list[Path]:
    """The image files in ``folder`` and its subfolders (``_class_folders``); ``seen[0]``
    counts the entries looked at under ``root``, at most MAX_IMAGE_FILES.  Iterative: a
    chain of 2,000 nested folders is no RecursionError."""
    files, stack, read = [], [folder], set()
    while stack:
        folders, current = [], stack.pop()
        real = os.path.realpath(current)   # links followed: a loop would never end
        if real in read:
            raise UserError(f"image folder {printable(root)}: {printable(current)} is a "
                            f"symbolic link to a folder of its class read already (a loop, "
                            f"or one folder linked twice); remove the link")
        read.add(real)
        for entry in _listing(current, root):
            seen[0] += 1
            if seen[0] > MAX_IMAGE_FILES:
                raise UserError(f"image folder {printable(root)} holds more than "
                                f"{MAX_IMAGE_FILES:,} files; give a smaller set or write it "
                                f"as Parquet")
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                folders.append(entry)
                continue
            if not entry.is_file():   # a FIFO x.png was skipped: a class one image short,
                # without a word (parquet:<dir> refuses it as this does)
                raise UserError(f"image folder {printable(root)}: {printable(entry)} is not a "
                                f"regular file (a named pipe, a device, a socket or a broken "
                                f"link); move it out of the folder")
            if entry.suffix.lower() not in IMAGE_SUFFIXES:
                raise UserError(f"image folder {printable(root)}: {printable(entry)} is not "
                                f"an image ({', '.join(IMAGE_SUFFIXES)})")
            files.append(entry)
        stack += reversed(folders)   # depth first, in name order
    return files


# 16-bit grayscale (PNG, TIFF): Pillow's convert("L") clipped every value above 255 to white
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def _sixteen_bit(im) -> bool:
    """``im`` holds 16-bit gray values (a PNG has no 32-bit mode: older Pillow opens its
    16-bit images as "I")."""
    return im.mode in SIXTEEN_BIT_MODES or (im.mode == "I" and im.format == "PNG")


def _flatten(im):
    """``im`` with its transparency flattened onto white, as a viewer shows it on a page;
    an image without transparency as it is.  convert("RGB") drops the alpha channel and
    keeps the colour under it: icons drawn in their alpha channel over transparent black
    (RGBA 0,0,0,a) all read as black, a set of identical inputs that trained to chance."""
    if im.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in im.info:
        return im
    from PIL import Image
    rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    return flat


def _read_images(files: list[Path], root: Path) -> tuple[np.ndarray, str]:
    """``_decode_images`` with Pillow's warnings on a damaged file (a TIFF's 'Tag data larger
    than file. Skipping tag 279', 'Truncated File Read'), which Python printed on stderr with
    Pillow's source line, as one log line each."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _decode_images(files, root)
    for message in sorted({" ".join(str(w.message).split()) for w in caught})[:5]:
        log.warning("image folder %s: Pillow: %s", printable(root), message[:200])
    return result


def _decode_images(files: list[Path], root: Path) -> tuple[np.ndarray, str]:
    """(N, C, H, W) pixels in [0, 1] of ``files`` (all of one size; grayscale when every one
    is, else RGB), the size checked from each header before a pixel is decoded.  8-bit
    images are scaled by 255, 16-bit ones by 65535; floating-point and 32-bit images, whose
    range is unknown, are refused."""
    from PIL import Image
    size, modes, headers = None, set(), []
    for f in files:
        try:
            with Image.open(f, formats=IMAGE_FORMATS) as im:
                w, h = im.size
                odd = im.mode in ("F", "I") and not _sixteen_bit(im)
                mode = im.mode
                modes.add("L" if im.mode in ("1", "L") or _sixteen_bit(im) else "RGB")
        except Image.DecompressionBombError:   # PIL's own limit: 179 M pixels
            raise UserError(f"image folder {printable(root)}: {printable(f)} declares more "
                            f"than {Image.MAX_IMAGE_PIXELS * 2:,} pixels; the limit is "
                            f"{MAX_IMAGE_SIDE} px a side") from None
        except Exception as e:   # UnidentifiedImageError, OSError; and Pillow's SyntaxError,
            # struct.error, EOFError or MemoryError of a damaged file (mutation fuzzing)
            raise UserError(f"image folder {printable(root)}: {printable(f)} cannot be read as "
                            f"an image ({type(e).__name__})") from None
        if odd:   # floats of 0..3 were truncated to 0..2 of 255, 32-bit integers all white
            raise UserError(f"image folder {printable(root)}: {printable(f)} is a "
                            f"{'floating-point' if mode == 'F' else '32-bit'} image of no known "
                            f"range; nnsynth reads 8- or 16-bit images")
        if max(w, h) > MAX_IMAGE_SIDE or min(w, h) < 1:
            raise UserError(f"image folder {printable(root)}: {printable(f)} is {w}x{h} px; "
                            f"the limit is {MAX_IMAGE_SIDE} px a side")
        if size is None:
            size = (w, h)
        elif (w, h) != size:
            raise UserError(f"image folder {printable(root)}: images must share one size, "
                            f"{printable(f)} is {w}x{h} and {printable(headers[0])} is "
                            f"{size[0]}x{size[1]} (resize them first)")
        headers.append(f)
    mode = "L" if modes == {"L"} else "RGB"
    channels = 1 if mode == "L" else 3
    if len(files) * channels * size[0] * size[1] > MAX_DATASET_VALUES:
        raise UserError(f"image folder {printable(root)} holds {len(files):,} images of "
                        f"{size[0]}x{size[1]}; the limit is {MAX_DATASET_VALUES:,} values")
    # the same bound as a Parquet file's: 340 PNGs of 1024x1024 black pixels (1.3 MB on
    # disk, 4 kB each) asked for 4 GiB of float32 inputs (a MemoryError traceback, or the
    # memory taken) before any check of the set against the model could run
    held = sum(f.stat().st_size for f in files)
    declared = 4 * len(files) * channels * size[0] * size[1]
    if declared > max(MAX_PARQUET_INFLATION * held, PARQUET_FREE_BYTES):
        raise UserError(f"image folder {printable(root)}: its {len(files):,} images of "
                        f"{size[0]}x{size[1]} decode to {declared / 2**20:,.0f} MiB as float32 "
                        f"from {held:,} bytes of files, more than {MAX_PARQUET_INFLATION} "
                        f"times their size: refused undecoded (nearly blank images, or a "
                        f"decompression bomb)")
    try:
        x = np.empty((len(files), channels, size[1], size[0]), dtype=np.float32)
    except MemoryError:
        raise UserError(f"image folder {printable(root)}: {len(files):,} images of "
                        f"{size[0]}x{size[1]} ({declared / 2**20:,.0f} MiB as float32) do "
                        f"not fit in memory") from None
    for i, f in enumerate(files):
        try:
            with Image.open(f, formats=IMAGE_FORMATS) as im:
                if _sixteen_bit(im):   # gray, in every channel of an RGB set
                    a = np.asarray(im, dtype=np.float32) / 65535.0
                    x[i] = a[None]
                else:
                    a = np.asarray(_flatten(im).convert(mode), dtype=np.float32) / 255.0
                    x[i] = a[None] if channels == 1 else a.transpose(2, 0, 1)
        except Exception as e:   # a truncated file passes the header check; a damaged one
            # raised Pillow's SyntaxError ('broken PNG file (chunk ...)'), a traceback, and a
            # PNG chunk declaring 3 GB made Pillow's read(n) a MemoryError under a memory cap
            raise UserError(f"image folder {printable(root)}: {printable(f)} cannot be decoded "
                            f"({type(e).__name__})") from None
    return x, mode


SPLIT_FOLDERS = ("train", "val", "test")


def _split_folders(root: Path) -> list[str | None]:
    """The split folders of an images:<dir> in SPLIT_FOLDERS order, or [None] for a folder
    of class subfolders.  train/ with val/ or test/ (or train/ alone) is a split layout, as a
    csv split column of those values is: train/ and val/ without test/ were read as one
    folder of two classes without images ("found 0 classes").  A split layout holds no other
    folder (its classes were ignored), and val/ or test/ without train/ is refused."""
    top = sorted(p.name for p in _listing(root, root) if p.is_dir()
                 and not p.name.startswith(".")) if root.is_dir() else []
    splits = [s for s in SPLIT_FOLDERS if s in top]
    others = [n for n in top if n not in SPLIT_FOLDERS]
    if "train" in splits and (len(splits) > 1 or not others):
        if others:
            raise UserError(f"image folder {printable(root)} holds the split folders "
                            f"{', '.join(s + '/' for s in splits)} and also "
                            f"{quoted(others[0] + '/')}; give either one "
                            f"subfolder per class or only train/, val/ and test/ folders of them")
        return splits
    if splits and not others:
        held = " and ".join(s + "/" for s in splits)
        raise UserError(f"image folder {printable(root)} has {held} but no train/ folder; "
                        f"the training images go in train/")
    return [None]


@register_dataset("images", "your own images: a folder with one subfolder per class (PNG, JPEG, "
                  "...; one size), or with train/ (val/, test/) folders of those",
                  prefixed=True)
def _images(path: str, seed: int) -> Dataset:
    """A folder of class subfolders, as torchvision's ImageFolder reads it (the class names
    are the subfolder names, in order), split stratified with ``seed``; or a folder with
    ``train``, ``val`` and ``test`` folders of class subfolders (``_split_folders``), kept as
    those splits as a csv split column is: val drawn from train when absent, no test split
    when test/ is absent.  Pixels scaled to [0, 1], normalized per channel with the
    training split's mean and std."""
    root = Path(path).expanduser()
    parts = _split_folders(root)
    groups = {part: _class_folders(root / part if part else root) for part in parts}
    names = sorted(set().union(*({_class_name(n) for n, fs in g.items() if fs}
                                 for g in groups.values())))
    if len(names) < 2:   # images in the folder itself: say where they must go
        import itertools
        loose = sum(1 for p in itertools.islice(root.iterdir(), MAX_IMAGE_FILES)
                    if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
                    and p.is_file()) if root.is_dir() else 0
        raise TooFewClasses(f"image folder {printable(root)} needs subfolders of images for "
                            f"at least 2 classes, found {len(names)}" + (
                                f" (it holds {loose:,} images of its own: put each class's "
                                f"images in a subfolder named after the class)" if loose
                                else ""), found=len(names))
    for part, group in groups.items():   # an empty class folder dropped its class silently
        empty = next((n for n, fs in group.items() if not fs), None)
        if empty is not None:
            where = root / part if part else root
            raise UserError(f"image folder {printable(where)}: class folder "
                            f"{quoted(empty)} holds no images (hidden files are not read); "
                            f"add its images or remove it")
    check_class_names(names, f"image folder {printable(root)}", loaded=True)
    files, labels, where = [], [], []
    for part, group in groups.items():
        for name, fs in group.items():
            files += fs
            labels += [names.index(_class_name(name))] * len(fs)
            where += [part] * len(fs)
    x, _ = _read_images(files, root)
    y, where = np.asarray(labels, dtype=np.int64), np.asarray(where, dtype=object)
    splits = None
    if parts != [None]:
        splits = split_column(where, y, seed, f"image folder {printable(root)}")
    try:
        return _image_dataset(f"images:{path}", x, y, names, seed, splits)
    except UserError:   # already says what is wrong (a ValueError too)
        raise
    except ValueError:
        raise UserError(f"image folder {printable(root)}: "
                        f"{too_few_to_split(y, names, 'images')}") from None
