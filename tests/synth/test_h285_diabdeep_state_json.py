"""A DiabDeep state's finished rows (JSON text in ``<report>.resume``) are read as every JSON
nnsynth reads back is (``synth.files.load_json_text``): a key given twice is refused, naming
the file, where json kept the last one without a word (h285)."""
import pytest
import torch

from synth.data import load_dataset
from synth.diabdeep import DiabDeepConfig, _Done
from synth.errors import UserError


def test_a_state_giving_a_row_twice_is_refused(tmp_path):
    data = load_dataset("iris", seed=0)
    config = DiabDeepConfig.from_dict({"dataset": "iris", "baselines": ["forest"]})
    state = tmp_path / "r.json.resume"
    _Done(state, config, False, data).add("forest", {"model": "forest", "accuracy": 0.9}, None)
    saved = torch.load(state, weights_only=True)
    saved["done"] = saved["done"].replace('{"rows": {', '{"rows": {"forest": {"model": "x"}, ', 1)
    assert saved["done"].count('"forest":') == 2
    torch.save(saved, state)
    with pytest.raises(UserError, match=r"r\.json\.resume holds a DiabDeep state .*'forest' "
                                        r"twice"):
        _Done(state, config, False, data)
