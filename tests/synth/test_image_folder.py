"""``images:<dir>``: a user's own images, one subfolder per class (or train/ and test/ folders
of those), read with every size checked from the file headers before a pixel is decoded."""
import numpy as np
import pytest
import torch
from PIL import Image

from synth.data import load_dataset
from synth.errors import UserError


def _png_header(width: int, height: int) -> bytes:
    """A PNG's signature and IHDR chunk (8-bit grayscale) with no pixel data."""
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    def chunk(kind: bytes, body: bytes = b"") -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT") + chunk(b"IEND")


def _folder(root, images, labels, mode="L"):
    for i, (img, t) in enumerate(zip(images, labels)):
        (root / str(t)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, mode=mode).save(root / str(t) / f"{i:04d}.png")
    return root


@pytest.fixture(scope="module")
def digit_pngs(tmp_path_factory):
    import sklearn.datasets as skd
    d = skd.load_digits()
    pixels = (d.images * 255 / 16).round().astype(np.uint8)
    return _folder(tmp_path_factory.mktemp("png") / "digits", pixels[:400], d.target[:400]), d


def test_class_subfolders_load_as_an_image_set(digit_pngs):
    root, d = digit_pngs
    data = load_dataset(f"images:{root}", seed=1)
    assert data.input_shape == (1, 8, 8) and data.class_names == [str(i) for i in range(10)]
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 400
    raw = data.x_train * torch.tensor(data.std).view(1, -1, 1, 1) + torch.tensor(
        data.mean).view(1, -1, 1, 1)                          # back to [0, 1] pixels
    assert raw.min() >= -1e-5 and raw.max() <= 1 + 1e-5
    assert abs(float(raw.mean()) - float((d.images[:400] / 16).mean())) < 0.02


def test_train_and_test_folders_are_kept_as_splits(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (60, 6, 6, 3), dtype=np.uint8)
    _folder(tmp_path / "train", imgs[:40], np.tile(["cat", "dog"], 20), mode="RGB")
    _folder(tmp_path / "test", imgs[40:], np.tile(["cat", "dog"], 10), mode="RGB")
    data = load_dataset(f"images:{tmp_path}")
    assert data.input_shape == (3, 6, 6) and data.class_names == ["cat", "dog"]
    assert len(data.x_test) == 20 and len(data.x_train) + len(data.x_val) == 40


def test_bad_folders_are_one_line_errors_and_sizes_are_read_from_headers(tmp_path):
    root = tmp_path / "set"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    small = np.zeros((8, 8), dtype=np.uint8)
    for i in range(6):
        Image.fromarray(small).save(root / "a" / f"{i}.png")
    with pytest.raises(UserError, match="at least 2 classes"):
        load_dataset(f"images:{root}")
    for i in range(6):
        Image.fromarray(small).save(root / "b" / f"{i}.png")
    assert load_dataset(f"images:{root}").num_classes == 2
    # a PNG header alone can claim any size: 5,000 x 5,000, and 10**5 x 10**5 (past PIL's
    # own bomb limit, whose DecompressionBombError is no OSError)
    for side, message in ((5000, "5000x5000 px; the limit is 1024"),
                          (100_000, "declares more than")):
        (root / "b" / "big.png").write_bytes(_png_header(side, side))
        with pytest.raises(UserError, match=message):
            load_dataset(f"images:{root}")
    (root / "b" / "big.png").unlink()
    Image.fromarray(np.zeros((9, 8), dtype=np.uint8)).save(root / "b" / "odd.png")
    with pytest.raises(UserError, match="share one size"):
        load_dataset(f"images:{root}")
    (root / "b" / "odd.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="cannot be read as an image"):
        load_dataset(f"images:{root}")
    (root / "b" / "odd.png").unlink()
    (root / "b" / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="is not an image"):
        load_dataset(f"images:{root}")
    with pytest.raises(UserError, match="image folder not found"):
        load_dataset(f"images:{tmp_path / 'none'}")


def test_train_on_an_image_folder_through_the_cli(digit_pngs, tmp_path):
    from click.testing import CliRunner
    from deploy.cli.main import cli
    root, _ = digit_pngs
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", f"images:{root}", "--model",
                                 "convnet_small", "--epochs", "1", "--min-steps", "0",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0 and f"images:{root}" in r.output, r.output
