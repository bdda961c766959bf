"""h227: host data made a tensor in a forward, whatever the forward called the constructor.

- the legacy constructors (``torch.Tensor(ndarray)``, ``torch.FloatTensor(list)``, the other
  typed classes, ``x.new(list)``) were free: no TorchFunctionMode sees ``torch.Tensor(...)``
  or the typed classes, and ``x.new`` (seen) was in no table.  Each is priced as
  ``torch.as_tensor`` of the same data is (h209): its values written to the device.
- a constructor bound before extract (``from torch import from_numpy``, a module global
  ``_fn = torch.from_numpy``, ``from torch import frombuffer``) kept the unwrapped function
  (h219 wrapped torch's attributes only): free.  Every constructor of host values calls
  aten::lift_fresh, which hwsim answers while it prices; frombuffer and from_dlpack (no
  lift) are wrapped at every module global bound to them too.
"""
import dataclasses

import numpy as np
import torch
from torch import from_dlpack as bound_from_dlpack
from torch import from_numpy as bound_from_numpy
from torch import frombuffer as bound_frombuffer

from hwsim import accel, extract
from hwsim.accel import AcceleratorConfig
from tests.hwsim.test_h193_forward_functions import Net
from tests.hwsim.test_h209_forward_functions import ARR, B, W, _new_ops

_module_global = torch.from_numpy   # bound as this module is imported, before any extract
LIST = ARR.tolist()
HOST = [("resample", 0, B * W, "from_host")]


def _shape(ops):
    return [(o.type, o.in_elems, o.out_elems, dict(o.geometry).get("func")) for o in ops]


def test_legacy_constructors_of_host_data_are_copied_to_the_device():
    for call in (lambda y, z: y + torch.Tensor(ARR), lambda y, z: y + torch.FloatTensor(ARR),
                 lambda y, z: y + torch.Tensor(LIST), lambda y, z: y + torch.FloatTensor(LIST),
                 lambda y, z: y + torch.DoubleTensor(LIST).float(),
                 lambda y, z: y + y.new(ARR), lambda y, z: y + y.new(LIST)):
        assert _shape(_new_ops(call)) == HOST
    # priced as torch.as_tensor's copy of the same array, to the bit
    (legacy,), (as_tensor,) = (_new_ops(lambda y, z: y + torch.Tensor(ARR)),
                               _new_ops(lambda y, z: y + torch.as_tensor(ARR)))
    assert dataclasses.replace(legacy, name="x") == dataclasses.replace(as_tensor, name="x")
    cfg = AcceleratorConfig()
    assert accel.evaluate([legacy], cfg) == accel.evaluate([as_tensor], cfg)


def test_legacy_constructors_that_copy_no_host_data_stay_free():
    # an uninitialised tensor (torch.empty's), an alias of a tensor: nothing copied
    assert _new_ops(lambda y, z: y + 0 * torch.Tensor(B, W).fill_(0.0)) != []   # the fill
    assert _shape(_new_ops(lambda y, z: y + torch.Tensor(B, W).fill_(0.0)))[0][3] == "fill"
    assert _new_ops(lambda y, z: y + torch.Tensor(z)) == []
    assert _new_ops(lambda y, z: y + y.new(z)) == []
    assert _shape(_new_ops(lambda y, z: y + y.new(B, W).fill_(0.0))) == [
        ("resample", 0, B * W, "fill")]


def test_constructors_bound_before_pricing_are_priced():
    assert _shape(_new_ops(lambda y, z: y + bound_from_numpy(ARR))) == HOST
    assert _shape(_new_ops(lambda y, z: y + _module_global(ARR))) == HOST
    assert _shape(_new_ops(lambda y, z: y + bound_frombuffer(
        bytearray(ARR.tobytes()), dtype=torch.float32).view(B, W))) == HOST
    assert _shape(_new_ops(lambda y, z: y + bound_from_dlpack(ARR))) == HOST
    assert _new_ops(lambda y, z: y + bound_from_dlpack(z)) == []   # a view of a tensor


def test_host_values_are_counted_once():
    # a call the mode sees prices its own lift (torch.as_tensor, torch.tensor, x[list]'s index)
    assert len(_new_ops(lambda y, z: y + torch.as_tensor(ARR))) == 1
    assert _shape(_new_ops(lambda y, z: y + torch.tensor(LIST))) == [
        ("resample", 0, B * W, "fill")]
    ops = _new_ops(lambda y, z: y[[0, 1, 2, 3]])
    assert [dict(o.geometry).get("func") for o in ops] == ["__getitem__"]


def test_the_bindings_are_torchs_own_outside_extract():
    extract(Net(lambda y, z: y + bound_frombuffer(bytearray(ARR.tobytes()),
                                                  dtype=torch.float32).view(B, W)), (16,))
    assert bound_frombuffer is torch.frombuffer and _module_global is torch.from_numpy
    assert globals()["bound_frombuffer"] is torch.frombuffer
    assert not hasattr(globals()["bound_from_dlpack"], "hwsim_unwrapped")
    # no kernel of hwsim's answers lift_fresh any more (it did while extract ran): a
    # constructor outside extract is torch's alone (a view of the array)
    assert "\nCPU:" not in torch._C._dispatch_dump("aten::lift_fresh")
    assert torch.from_numpy(ARR).data_ptr() == ARR.ctypes.data
    assert torch.Tensor(ARR).data_ptr() == ARR.ctypes.data
    assert np.asarray(torch.Tensor(LIST)).shape == (B, W)
