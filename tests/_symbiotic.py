"""A tiny text and a tiny ``nnsynth symbiotic`` command line, shared by the symbiotic tests."""

# an 8x64 output-stationary array at 50 MHz with half-KiB buffers: far from hwsim's default
ODD_ACCEL = ("rows: 8\ncols: 64\ndataflow: os\nifmap_kb: 0.5\nfilter_kb: 0.5\nofmap_kb: 0.5\n"
             "clock_mhz: 50\n")
WORDS = "the cat sat on the mat and the dog ran far away then slept".split()


def tiny_text(folder, lines: int = 150, end: str = "") -> str:
    """``text:<folder>/t.txt``: ``lines`` lines of 8 words cycling through ``WORDS`` (each
    ended by ``end``)."""
    path = folder / "t.txt"
    path.write_text("\n".join(" ".join(WORDS[(i * 5 + j) % len(WORDS)] for j in range(8)) + end
                              for i in range(lines)))
    return f"text:{path}"


def symbiotic_args(folder, *extra, end: str = "") -> list[str]:
    """``nnsynth symbiotic`` on ``tiny_text(folder)`` at the smallest budget: LSTMs of width
    4 and 8 against a one-layer baseline of 8, one epoch of two batches, one pruning step,
    no Ray; output in ``folder / "out"``."""
    return ["symbiotic", "--dataset", tiny_text(folder, end=end), "--out", str(folder / "out"),
            "--cells", "lstm", "--widths", "4,8", "--baseline-width", "8",
            "--baseline-layers", "1", "--epochs", "1", "--max-batches", "2", "--min-count",
            "1", "--rounds", "2", "--sparsities", "0.5", "--no-ray", *extra]
