"""``images:<dir>`` reads symbolic links to images and to class folders (h279).

A folder built by linking (``ln -s /pool/img7.png train/cat/``, ``ln -s /pool/dogs dog``:
how sets are assembled without copies, and read by torchvision's ImageFolder) lost those
entries without a word: a class folder of 15 linked images beside a real one of 1 loaded as
that one image, and a linked class folder was no class at all, so the set trained on the
classes left.  Links are followed; a link loop and a broken link are one-line errors.
"""
import numpy as np
import pytest
from PIL import Image

from synth.data import load_dataset
from synth.errors import UserError


def _pool(root, shade, n=6):
    root.mkdir(parents=True)
    rng = np.random.default_rng(shade)
    for i in range(n):
        pixels = np.clip(rng.normal(40 * shade, 10, size=(6, 5)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(root / f"{i}.png")
    return root


def test_linked_images_and_class_folders_are_read(tmp_path):
    a, b, c = (_pool(tmp_path / "pool" / k, s) for k, s in (("a", 1), ("b", 3), ("c", 5)))
    root = tmp_path / "set"
    (root / "a").mkdir(parents=True)
    for f in sorted(a.iterdir()):   # class a: links to images
        (root / "a" / f.name).symlink_to(f)
    (root / "b").symlink_to(b)      # class b: a linked folder
    (root / "c").mkdir()
    (root / "c" / "more").symlink_to(c)   # class c: a linked subfolder
    data = load_dataset(f"images:{root}")
    assert data.class_names == ["a", "b", "c"]
    assert sum(len(data.split(s)[1]) for s in ("train", "val", "test")) == 18


def test_a_link_loop_and_a_broken_link_are_one_line_errors(tmp_path):
    root = tmp_path / "set"
    for k, s in (("a", 1), ("b", 3)):
        _pool(root / k, s)
    (root / "a" / "again").symlink_to(root / "a")
    with pytest.raises(UserError, match="loop"):
        load_dataset(f"images:{root}")
    (root / "a" / "again").unlink()
    (root / "a" / "gone.png").symlink_to(tmp_path / "nothing.png")
    with pytest.raises(UserError, match="broken link"):
        load_dataset(f"images:{root}")
