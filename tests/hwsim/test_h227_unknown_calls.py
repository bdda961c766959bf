"""h227: a torch function no table of hwsim's holds was free, whatever it computed.

A forward's call outside a layer is priced by its table (hwsim.functional, arithmetic,
copies...); one in none recorded nothing: torch._softmax, torch._log_softmax,
torch._addmm_activation (a GEMM and its activation), torch._convolution,
torch._scaled_dot_product_flash_attention_for_cpu, torch._weight_norm and aten operators
such as torch.ops.aten.silu / upsample_nearest2d (whose torch form is torch._C._nn's) all
cost nothing.  A call that makes a tensor of new values and records nothing is now refused
as having no cost model (one line); casts, uninitialised tensors and views stay free.
torch.nn.utils.rnn.pack_padded_sequence / pad_packed_sequence (free copies) are copies.
"""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from hwsim import extract
from synth.errors import UserError
from tests.hwsim.test_h193_forward_functions import Net
from tests.hwsim.test_h209_forward_functions import B, W, _new_ops

WT = torch.ones(W, W)
_QKV = lambda y: (y.view(B, 1, 4, 8),) * 3   # noqa: E731

UNKNOWN = {
    "_softmax": lambda y, z: torch._softmax(y, 1, False),
    "_log_softmax": lambda y, z: torch._log_softmax(y, 1, False),
    "_addmm_activation": lambda y, z: torch._addmm_activation(z, y, WT),
    "_convolution": lambda y, z: torch._convolution(
        y[:, None], torch.ones(1, 1, 3), None, [1], [1], [1], False, [0], 1, False, False,
        True, True)[:, 0],
    "_scaled_dot_product_flash_attention_for_cpu": lambda y, z:
        torch._scaled_dot_product_flash_attention_for_cpu(*_QKV(y))[0].reshape(B, W),
    "silu": lambda y, z: torch.ops.aten.silu(y),
    "upsample_nearest2d": lambda y, z: torch.ops.aten.upsample_nearest2d(
        y.view(B, 2, 4, 4), [8, 8]).reshape(B, 128)[:, :W],
}


@pytest.mark.parametrize("name", list(UNKNOWN))
def test_a_call_no_table_holds_is_refused(name):
    with pytest.raises(UserError, match=rf"'{name}\(\)' \(called outside a layer\): no cost"
                                       ) as e:
        extract(Net(UNKNOWN[name]), (16,), batch=B)
    assert "\n" not in str(e.value)


def test_casts_empties_and_views_stay_free():
    for call in (lambda y, z: y.double().float(), lambda y, z: y.to(torch.float64).float(),
                 lambda y, z: y + 0 * torch.empty_like(y).zero_(),
                 lambda y, z: y.t().t(),
                 lambda y, z: y.detach(), lambda y, z: y.new(B, W).copy_(y)):
        ops = _new_ops(call)
        assert all(o.type == "resample" or dict(o.geometry).get("kind") == "mul" for o in ops)


def test_packing_sequences_is_a_copy():
    ops = _new_ops(lambda y, z: pad_packed_sequence(pack_padded_sequence(
        y.view(B, 4, 8), torch.tensor([4, 3, 2, 1]), batch_first=True), batch_first=True,
        total_length=4)[0].reshape(B, W))
    packed = [(o.in_elems, o.out_elems, dict(o.geometry)["func"]) for o in ops
              if dict(o.geometry).get("func", "").endswith("_sequence")]
    steps = 4 + 3 + 2 + 1
    assert packed == [(steps * 8 + 4, steps * 8, "_pack_padded_sequence"),
                      (steps * 8 + 4, B * W, "_pad_packed_sequence")]


def _in_place(fn):
    def call(y, z):
        t = y.clone()
        fn(t, z)
        return t
    return call


def test_an_in_place_call_no_table_holds_is_refused():
    # it writes into its input: no new storage tells it, its name does
    for name, fn in (("silu_", lambda t, z: torch._C._nn.silu_(t)),
                     ("hardswish_", lambda t, z: torch._C._nn.hardswish_(t)),
                     ("_add_relu_", lambda t, z: torch._add_relu_(t, z))):
        with pytest.raises(UserError, match=rf"'{name}\(\)' \(called outside a layer\)"):
            extract(Net(_in_place(fn)), (16,), batch=B)
    # in-place changes of metadata, and in-place writes of nothing, stay as they were
    for fn in (lambda t, z: t.unsqueeze_(0).squeeze_(0), lambda t, z: t.requires_grad_(False),
               lambda t, z: t.index_fill_(1, torch.zeros(0, dtype=torch.long), 0.0)):
        extract(Net(_in_place(fn)), (16,), batch=B)


def test_a_torch_modules_own_call_of_no_table_is_refused():
    # torch's own modules' arithmetic is no work of the model's (a mask made in
    # nn.MultiheadAttention's forward: ``_by_torch_module``), but a fused kernel one calls
    # outside its layers (a fast path such as torch._transformer_encoder_layer_fwd, which
    # torch skips while a mode runs) is: code compiled as torch.nn.modules' stands for one
    import os

    import hwsim.tracing
    where = os.path.join(os.path.dirname(torch.__file__), "nn", "modules", "h227_fused.py")
    space = {"torch": torch}
    exec(compile("def fused(y):\n    return torch._softmax(y, 1, False)\n"
                 "def own(y):\n    return (y > 0).float() * y\n", where, "exec"), space)
    assert space["fused"].__code__.co_filename.startswith(hwsim.tracing._TORCH_MODULES_DIR)
    with pytest.raises(UserError, match=r"'_softmax\(\)' \(called outside a layer\)"):
        extract(Net(lambda y, z: space["fused"](y)), (16,), batch=B)
    assert _new_ops(lambda y, z: space["own"](y)) == []   # its arithmetic: not the model's


def test_sparse_calls_of_no_table_are_refused_and_transposes_copied():
    # their outputs are sparse: the watch read strided storage only (free before)
    for name, call in (("_sparse_softmax", lambda y, z: torch.sparse.softmax(
                            y.relu().to_sparse(), 1).to_dense()),
                       ("_sparse_sum", lambda y, z: y + torch.sparse.sum(
                            y.relu().to_sparse(), 1).to_dense().unsqueeze(1))):
        with pytest.raises(UserError, match=rf"'{name}\(\)' \(called outside a layer\)"):
            extract(Net(call), (16,), batch=B)
    # a sparse tensor's transpose copies its values and indices (a strided one's is a view)
    ops = _new_ops(lambda y, z: y.relu().to_sparse().t().t().to_dense())
    ts = [o for o in ops if dict(o.geometry).get("func") == "t"]
    stored = ops[1].out_elems   # to_sparse's: nnz values and 2 x nnz indices
    assert [(o.in_elems, o.out_elems) for o in ts] == [(stored, stored)] * 2
    assert _new_ops(lambda y, z: y.view(B, 4, 8).permute(0, 2, 1).transpose(1, 2)
                    .reshape(B, W)) == []


def test_nn_init_draws_a_mode_sees_as_one_call_are_priced_as_their_tensor_forms():
    # nn.init.uniform_ / normal_ / kaiming_uniform_ / constant_ reach a mode as one call
    # (their own draw unseen inside it): free before the watch, refused by it; each is now
    # the draw or fill it makes (kaiming_normal_, xavier_* call Tensor.normal_/uniform_,
    # priced before)
    def shape(call):
        return [(o.type, o.in_elems, o.out_elems, o.elems, dict(o.geometry).get("draw"))
                for o in _new_ops(lambda y, z: y + 0 * call(z.clone()))]
    init = torch.nn.init
    assert shape(init.uniform_) == shape(lambda t: t.uniform_())
    assert shape(init.kaiming_uniform_) == shape(lambda t: t.uniform_())
    assert shape(init.normal_) == shape(lambda t: t.normal_())
    assert shape(lambda t: init.constant_(t, 0.5)) == shape(lambda t: t.fill_(0.5))
    assert shape(init.uniform_)[1] == ("resample", 0, B * W, B * W, "uniform")
