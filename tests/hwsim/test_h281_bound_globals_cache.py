"""hwsim.unseen._bound_globals passes over sys.modules only when it changed (h281: the pass
over ~3,000 modules was most of a small model's price() call).  A module imported, replaced
or removed after a pricing is still seen as it is now: a ``frombuffer`` it binds is wrapped
while a model is priced (its host copy priced, as tests/hwsim/test_h227_host_data.py checks
for modules bound at import), and a removed one's is not."""
import sys
import types

import torch

from hwsim.unseen import _bound_globals
from tests.hwsim.test_h209_forward_functions import ARR, B, W, _new_ops

HOST = [("resample", 0, B * W, "from_host")]
NAME = "h281_late_module"


def _late_module() -> types.ModuleType:
    module = types.ModuleType(NAME)
    module.frombuffer = torch.frombuffer         # as `from torch import frombuffer` binds it
    return module


def _bound_in(module) -> list[str]:
    return [name for ns, name, _ in _bound_globals() if ns is vars(module)]


def _shape(ops):
    return [(o.type, o.in_elems, o.out_elems, dict(o.geometry).get("func")) for o in ops]


def _priced_through(module):
    return _shape(_new_ops(lambda y, z: y + module.frombuffer(
        bytearray(ARR.tobytes()), dtype=torch.float32).view(B, W)))


def test_a_module_imported_replaced_or_removed_after_a_pricing_is_seen_as_it_is_now():
    _bound_globals()                             # sys.modules as it is: passed over once
    first = _late_module()
    sys.modules[NAME] = first
    try:
        assert _bound_in(first) == ["frombuffer"]
        assert _priced_through(first) == HOST
        second = _late_module()                  # the same name, another module
        sys.modules[NAME] = second
        assert _bound_in(second) == ["frombuffer"] and _bound_in(first) == []
        assert _priced_through(second) == HOST
        second.frombuffer = len                  # rebound: checked again on every call
        assert _bound_in(second) == []
        second.frombuffer = torch.frombuffer
        assert _bound_in(second) == ["frombuffer"]
    finally:
        del sys.modules[NAME]
    assert _bound_in(second) == [] and _bound_in(first) == []
    assert first.frombuffer is torch.frombuffer and second.frombuffer is torch.frombuffer
