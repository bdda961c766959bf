"""scann's warnings about its feature reduction are in the result's 'warning' (--json), not
only on stderr.

``nnsynth scann --dataset basicmotions --json`` said 'pca keeps at most one feature per
training sample: 57 of the 600 features ...' and 'pca: 1 of the 57 components hold no
variance ...' on stderr; its JSON said reduced_features 57 and had no 'warning'."""
import functools

import synth.scann
from synth.scann import ScannConfig
from tests._cli import json_result, run


def test_the_reduction_warnings_are_in_the_result(tmp_path, monkeypatch):
    monkeypatch.setattr(synth.scann, "ScannConfig",
                        functools.partial(ScannConfig, epochs=1, prune_steps=1, retrain_epochs=0))
    path = tmp_path / "wide.csv"    # 20 rows of 30 features: 14 training rows
    path.write_text(",".join(f"c{j}" for j in range(30)) + ",label\n" + "".join(
        ",".join(str((i * 7 + j * 3) % 11 + (j == 0) * (i % 2) * 5) for j in range(30))
        + f",{i % 2}\n" for i in range(20)))
    result = json_result(run(["-q", "scann", "--dataset", f"csv:{path}", "--json"]))
    n = result["reduced_features"]   # 0.5 of 30 asked, capped at the 14 training rows, of
    assert n < 14, result             # which those that hold variance are kept (h240)
    assert ("pca keeps at most one feature per training sample: 14 of the 30 features"
            in result["warning"]), result
    assert f"SCANN keeps the {n} that do" in result["warning"], result
    assert f"components hold no variance of csv:{path}'s training split" in result["warning"]
