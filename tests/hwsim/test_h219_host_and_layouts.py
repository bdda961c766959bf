"""h219: what a priced forward moved for free.

- ``torch.from_numpy``, ``frombuffer`` and ``from_dlpack`` of host data are no torch functions
  a TorchFunctionMode sees: the values they hand the device were free, where
  ``torch.as_tensor`` of the same array is a copy to the device (h209).  They are priced as
  it is now; ops on their result were priced before and still are.  ``torch.from_file`` (a
  mode sees it) was free too.
- a copy of an MKL-DNN tensor (no storage to compare) was taken for a view and free, and
  ``to_mkldnn`` was in no table: clone, to_mkldnn and to_dense now move their values; a
  reshape of one (a view of its buffer) stays free.
- ``copy.deepcopy`` of a tensor and a ``Tensor.to`` that keeps dtype and device but makes
  new storage (``memory_format=torch.channels_last``, ``copy=True``) were free, where
  ``clone`` and ``contiguous(memory_format=)`` are copies; a cast stays free.
- a nested tensor (torch.nested) in a forward failed extract as an error of hwsim's own (a
  RuntimeError with its traceback); a meta tensor made in a forward too: the first is
  refused in one line, the second priced.
"""
import copy

import numpy as np
import pytest
import torch

from hwsim import extract
from synth.errors import UserError
from tests.hwsim.test_h193_forward_functions import Net
from tests.hwsim.test_h209_forward_functions import ARR, B, W, _new_ops

HOST = ("resample", 0, B * W, "from_host")


def _shape(ops):
    return [(o.type, o.in_elems, o.out_elems, dict(o.geometry).get("func")) for o in ops]


def test_host_data_made_a_tensor_without_a_mode_seeing_it_is_copied_to_the_device():
    assert _shape(_new_ops(lambda y, z: y + torch.from_numpy(ARR))) == [HOST]
    assert _shape(_new_ops(lambda y, z: y + torch.frombuffer(
        bytearray(ARR.tobytes()), dtype=torch.float32).view(B, W))) == [HOST]
    assert _shape(_new_ops(lambda y, z: y + torch.from_dlpack(ARR))) == [HOST]
    assert _shape(_new_ops(lambda y, z: y + torch.utils.dlpack.from_dlpack(ARR))) == [HOST]
    # as torch.as_tensor's (h209)
    assert _shape(_new_ops(lambda y, z: y + torch.as_tensor(ARR))) == [HOST]
    # a tensor's own values through dlpack: a view of it, free
    assert _new_ops(lambda y, z: y + torch.from_dlpack(z)) == []


def test_a_files_values_made_a_tensor_are_copied_to_the_device(tmp_path):
    path = tmp_path / "values.bin"
    ARR.tofile(path)
    assert _shape(_new_ops(lambda y, z: y + torch.from_file(
        str(path), size=B * W, dtype=torch.float32).view(B, W))) == [HOST]


def test_ops_on_host_data_stay_priced():
    ops = _new_ops(lambda y, z: y + torch.from_numpy(ARR).exp())
    assert _shape(ops) == [HOST, ("eltwise", B * W, B * W, None)]
    assert ops[1].elems == B * W


def test_the_host_constructors_are_torchs_own_outside_extract():
    original = torch.from_numpy
    with pytest.raises(UserError):   # an extract that fails gives them back too
        extract(Net(lambda y, z: y + torch.from_numpy(np.ones((3, 3), np.float32))), (16,))
    assert torch.from_numpy is original and torch.frombuffer.__module__ != __name__
    assert not hasattr(torch.from_numpy, "hwsim_unwrapped")
    assert not hasattr(torch.utils.dlpack.from_dlpack, "hwsim_unwrapped")
    assert torch.from_numpy(ARR).data_ptr() == ARR.ctypes.data   # a view of the array


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no MKL-DNN")
def test_copies_of_mkldnn_tensors_move_their_values():
    n = B * W
    ops = _new_ops(lambda y, z: y.to_mkldnn().clone().to_dense())
    assert _shape(ops) == [("resample", n, n, "to_mkldnn"), ("resample", n, n, "clone"),
                           ("resample", n, n, "to_dense")]
    # a reshape of one is a view of its buffer: free (its conversions are not)
    ops = _new_ops(lambda y, z: y.to_mkldnn().reshape(W, B).to_dense().reshape(B, W))
    assert [f for *_, f in _shape(ops)] == ["to_mkldnn", "to_dense"]


def test_a_nested_tensor_is_refused_in_one_line():
    for layout in (torch.strided, torch.jagged):
        net = Net(lambda y, z, layout=layout: y + 0 * torch.nested.as_nested_tensor(
            [y[0], y[1]], layout=layout).clone().to_padded_tensor(0.0).sum())
        with pytest.raises(UserError, match="nested tensor"):
            extract(net, (16,), batch=B)


def test_a_meta_tensor_made_in_a_forward_is_priced():
    ops = _new_ops(lambda y, z: y + 0 * torch.zeros(B, W, device="meta").numel())
    fill = ops[0]   # (then y + 0)
    assert (fill.type, fill.out_elems, fill.act_sparsity) == ("resample", B * W, 0.0)


def test_deepcopy_and_layout_changing_to_are_copies():
    n = B * W
    assert _shape(_new_ops(lambda y, z: copy.deepcopy(y))) == [("resample", n, n, "__deepcopy__")]
    ops = _new_ops(lambda y, z: y.view(B, 2, 4, 4).to(memory_format=torch.channels_last)
                   .reshape(B, W))
    assert [f for *_, f in _shape(ops)] == ["to", "reshape"]   # as contiguous(memory_format=)
    other = torch.zeros(3)
    assert _shape(_new_ops(lambda y, z: y.to(other, copy=True))) == [("resample", n, n, "to")]
    for cast in (lambda y, z: y.to(torch.float64).float(), lambda y, z: y.to(y),
                 lambda y, z: y.to("cpu"), lambda y, z: y.double().float()):
        assert _new_ops(cast) == []   # a cast, or the tensor itself: free
