"""Figures the Ray-based commands write (ledger.json, results, summaries) that were wrong,
inconsistent, or not strict JSON.  Each test fails on the code before its fix; none starts Ray."""
import json
import math

import pytest


def _strict(text: str):
    """Parse as strict JSON: ``NaN``/``Infinity`` (Python's json extension) are refused."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_ledger_writes_an_unmeasured_figure_as_null(tmp_path):
    # nnsynth run's refine history has test_accuracy NaN (grow-and-prune measures no test
    # split data-free); ledger.json held the bare token NaN, which jq and most readers refuse
    from deploy.ledger import Ledger
    ledger = Ledger(tmp_path)
    ledger.record("refine", "f", {"history": [{"step": 0, "test_accuracy": float("nan")}],
                                  "ratio": float("inf")}, seconds=1.0)
    data = _strict((tmp_path / "ledger.json").read_text())
    assert data["stages"]["refine"]["outputs"]["history"][0]["test_accuracy"] is None
    assert data["stages"]["refine"]["outputs"]["ratio"] is None
    assert Ledger(tmp_path).done("refine", "f")["outputs"]["history"][0]["step"] == 0


def test_write_json_atomic_keeps_arrays_and_scalars(tmp_path):
    import numpy as np
    from synth.files import write_json_atomic
    path = write_json_atomic(tmp_path / "r.json", {"a": np.float32(0.5), "b": np.arange(3),
                                                   "c": float("nan"), 1: (2, 3)})
    assert _strict(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": None, "1": [2, 3]}
