"""Members of a convnet space that do not see their input are never proposed (helper 241).

The built-in ``convnet`` space lets any layer take kernel 1 at stride 2: a first layer so read
rows and columns 0, 2, 4, 6 of digits' 8x8 (a pixel in four) and three such layers one pixel
of 64; a searched one predicted one class for every test input (10.0%).  For the input shape
of a search, ``search.costs.blind_spot`` refuses a strided convnet whose layers skip input
rows or columns between ones they read, or read under 75% of the input (an unread edge strip
is allowed: kernels [5, 1] at strides [2, 2] miss digits' last row and column only), and
``CostModel.sees``/``feasible`` (what every searcher proposes from), ``cost_extreme`` and
``no_trial_reason`` follow it.  The space itself -- its members, encoding and predictor
features -- is unchanged."""
import itertools
import json

import numpy as np
import pytest

from search.costs import CostModel, blind_spot
from search.searchers import DONE_KEY, SEARCHERS
from search.space import load_space, spec_key

DIGITS, MNIST = (1, 8, 8), (1, 28, 28)
ONE = {"family": "convnet", "widths": [4], "kernels": [1], "strides": [2], "pool": "avg",
       "hidden": [], "bn": True}
SMALL = {"family": "convnet", "params": {   # 4 members, one of them blind on 8x8
    "widths": [4], "kernels": {"list": [1, 3], "length": 1},
    "strides": {"list": [1, 2], "length": 1}, "pool": "avg", "hidden": [], "bn": True}}


def _convnet(kernels, strides):
    return {**ONE, "widths": [4] * len(kernels), "kernels": list(kernels),
            "strides": list(strides)}


def test_a_member_that_skips_pixels_is_blind_and_one_that_reads_them_is_not():
    assert blind_spot(ONE, DIGITS) == (
        "kernels [1] at strides [2] read 16 of the 64 input pixels of 8x8 (rows 1, 3, 5, 7 of "
        "8 skipped between read ones; a member must read, without gaps, at least 75% of its "
        "input)")
    assert "read 1 of the 64 input pixels" in blind_spot(_convnet([1] * 3, [2] * 3), DIGITS)
    # blind lines through an mnist digit: rows and columns 4, 12 and 20 never read
    assert "rows 4, 12, 20 of 28 skipped" in blind_spot(_convnet([3, 3, 1], [2] * 3), MNIST)
    # kernel 1 at stride 2 after a 3x3 layer: the 3x3 windows cover the skipped pixels
    assert blind_spot(_convnet([3, 1], [1, 2]), DIGITS) is None
    # only the last row and column unread (49 of 64): kept
    assert blind_spot(_convnet([5, 1], [2, 2]), DIGITS) is None
    assert blind_spot({"family": "mlp", "hidden": [8]}, (4,)) is None
    assert blind_spot({"family": "convnet1d", "widths": [8], "kernels": [1], "strides": [2]},
                      (3, 100)).startswith("kernels [1] at strides [2] read 50 of the 100 "
                                           "input steps of 100 (steps 1, 3, 5")


@pytest.mark.parametrize("shape", [DIGITS, MNIST, (3, 32, 32), (3, 5, 7)])
def test_no_member_whose_every_kernel_covers_its_stride_is_refused(shape):
    """Sound members are not touched: a layer whose kernel covers its stride reads all of
    its input, so such a stack reads every pixel.  Of the built-in space's kernel/stride
    choices, the members refused all have a layer of kernel 1 at stride 2."""
    for depth in range(1, 5):
        for kernels in itertools.product((1, 3, 5), repeat=depth):
            for strides in itertools.product((1, 2), repeat=depth):
                blind = blind_spot(_convnet(kernels, strides), shape)
                if all(k >= s for k, s in zip(kernels, strides)):
                    assert blind is None, (kernels, strides)


def test_the_built_in_convnet_space_loses_these_members_and_keeps_its_encoding():
    """How many of the built-in space's 7,541,370 members are refused (the widths, pool and
    hidden choices multiply each kernel/stride choice), and that the space, its encoding and
    its features are what they were (predictors fitted on old results stay valid)."""
    space = load_space("convnet")
    assert space.dim == 20 and space.contains(ONE)
    assert space.encode([ONE]).tolist() == [[1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0,
                                             1.0, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]
    counts = {}
    for shape in (DIGITS, MNIST):
        total = removed = 0
        for depth in range(1, 5):
            each = 5 ** depth * 3 * 3      # widths, pool, hidden
            for kernels in itertools.product((1, 3, 5), repeat=depth):
                for strides in itertools.product((1, 2), repeat=depth):
                    total += each
                    removed += each * (blind_spot(_convnet(kernels, strides), shape)
                                       is not None)
        counts[shape[1]] = (total, removed)
    assert counts == {8: (7541370, 2146095), 28: (7541370, 2020095)}


def test_the_cached_benchmark_set_keeps_its_sound_members():
    """benchmarks/data/convnet_archs.parquet (200 convnets trained on digits): 39 are refused,
    none of them the best, and they score lower (median 0.845 against 0.964)."""
    import pyarrow.parquet as pq
    from pathlib import Path
    path = Path(__file__).parents[2] / "benchmarks" / "data" / "convnet_archs.parquet"
    rows = pq.read_table(path).to_pylist()
    blind = [r for r in rows if blind_spot(json.loads(r["spec"]), DIGITS)]
    assert len(rows) == 200 and len(blind) == 39
    best = max(rows, key=lambda r: r["accuracy"])
    assert best not in blind
    assert np.median([r["accuracy"] for r in blind]) < np.median(
        [r["accuracy"] for r in rows if r not in blind])


@pytest.mark.parametrize("name", ["random", "localbo"])
def test_a_searcher_never_proposes_a_blind_member(name):
    space = load_space(SMALL)
    s = SEARCHERS[name](space, batch_size=1, n_initial=2, seed=0,
                        cost_model=CostModel(DIGITS, 10))
    proposed = []
    for t in range(6):
        out = s.suggest(f"t{t}")
        if not isinstance(out, dict):
            break
        proposed.append(out["spec"])
        s.on_trial_complete(f"t{t}", {"accuracy": 0.5 + 0.1 * t, DONE_KEY: True})
    assert spec_key(_convnet([1], [2])) not in proposed
    assert sorted(json.loads(p)["kernels"] + json.loads(p)["strides"] for p in proposed) == [
        [1, 1], [3, 1], [3, 2]]
    # on a larger input the same member is as blind; without a cost model nothing is judged
    assert not CostModel(MNIST, 10).sees(_convnet([1], [2]))
    assert CostModel(DIGITS, 10).sees(_convnet([3], [2]))


def test_a_search_of_only_blind_members_is_refused_before_it_starts(tmp_path):
    from search.run import SearchConfig, check_searchable
    from synth.errors import UserError
    only = {**SMALL, "params": {**SMALL["params"], "kernels": {"list": [1], "length": 1},
                                "strides": {"list": [2], "length": 1}}}
    path = tmp_path / "blind.json"
    path.write_text(json.dumps(only))
    with pytest.raises(UserError) as e:
        check_searchable(SearchConfig(space=str(path), dataset="digits", searcher="random"))
    text = str(e.value)
    assert "\n" not in text
    assert "none of 64 random members of the space builds for input shape (1, 8, 8)" in text
    assert "read 16 of the 64 input pixels of 8x8" in text
