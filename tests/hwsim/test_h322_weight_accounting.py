"""h322: the weights hwsim counts a user's model storing (``weight_bytes``) are all its
Parameters an op reads, whatever op, each once.

A Parameter read only by an element-wise op or a concatenation (a learned position
embedding added, a class token concatenated) or passed to an attention layer (learned
queries) was priced as an input read but left out of the model's weight bytes; a weight
pruned with torch.nn.utils.prune and tied between two layers was counted twice (its id the
masked tensor's, new every forward), and a layer of the user's own calling
``F.linear(x, self.weight)`` on a pruned weight was refused.  Every test here failed before.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from hwsim import extract, price, price_layers, price_ops, workload

# A class token concatenated, a position embedding added, an attention layer, learned queries
# read by a second attention layer (none of the three read by a product): h320's tiny ViT
from tests.hwsim.test_h320_other_layers import _TinyViT as _ViT  # noqa: E402

E, L, Q = 16, 7, 3   # its width, tokens (a class token and 6 patches), learned queries


def test_parameters_an_elementwise_op_reads_are_stored_weights():
    """Two attention layers' projections (4 E^2 each) and the class token, position
    embedding and queries: 8 E^2 + E + L E + Q E weights (it was 8 E^2, 8,192 bytes).  The
    ops' prices do not change: the Parameters were, and are, read as the ops' inputs."""
    torch.manual_seed(0)
    model = _ViT()
    ops = extract(model, (L - 1, E), batch=2)
    want = (8 * E * E + E + L * E + Q * E) * 4
    assert workload.summary(ops)["weight_bytes"] == want == 8896
    assert price_ops(ops)["weight_bytes"] == price_layers(ops)["weight_bytes"] == want
    assert price(model, (L - 1, E))["weight_bytes"] == want
    # the class token's zeros are stored weights, but no weight the accelerator multiplies
    assert workload.summary(ops)["nonzero_weights"] == want // 4 - E
    assert "zero_weights" not in price_ops(ops)
    moved = [o for o in ops if o.stored_reads]
    assert {o.type for o in moved} == {"resample", "eltwise", "linear"}   # cat, add, q_proj
    bare = [o.key() for o in extract(_ViT(), (L - 1, E), batch=2)]
    assert [o.key() for o in ops] == bare   # (the work is unchanged)


def test_a_parameter_read_as_a_weight_and_an_input_counts_once():
    """A table read as an embedding's weight and added to its output (its rows 0..T-1 as
    positions) and by a product ``h @ table.t()`` (the decoder tied to it): stored once."""
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 6)

        def forward(self, x):
            h = self.emb(x) + self.emb.weight[: x.shape[1]]
            return h @ self.emb.weight.t()
    ops = extract(Tied(), (5,), inputs=torch.randint(0, 10, (2, 5)))
    assert workload.summary(ops)["weight_bytes"] == 10 * 6 * 4


def test_a_weight_the_users_layer_masks_itself_counts_once():
    """``F.linear(x, self.weight * self.mask)`` twice in a forward: the masked weight is made
    of the Parameter the mul read (stored once, 4 x 8); it was counted at each call (256
    bytes), and would be again as the mul's input."""
    class OwnMask(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(4, 8))
            self.register_buffer("mask", (torch.arange(32).reshape(4, 8) % 2).float())

        def forward(self, x):
            return F.linear(x, self.weight * self.mask) + F.linear(x, (self.weight
                                                                       * self.mask).t().t())
    ops = extract(nn.Sequential(OwnMask()), (8,))
    assert workload.summary(ops)["weight_bytes"] == 4 * 8 * 4
    assert workload.summary(ops)["nonzero_weights"] == 16


def _tied(pruned: bool):
    """An embedding and a decoder sharing one Parameter (10 x 6), pruned or not."""
    torch.manual_seed(0)
    emb, dec = nn.Embedding(10, 6), nn.Linear(6, 10, bias=False)
    dec.weight = emb.weight
    if pruned:
        prune.l1_unstructured(emb, "weight", 0.5)
        prune.l1_unstructured(dec, "weight", 0.5)
        assert emb.weight_orig is dec.weight_orig
    return nn.Sequential(emb, dec)


def test_a_tied_weight_pruned_with_torch_prune_is_stored_once():
    """Tied and pruned (each layer's mask its own): 240 bytes as unpruned, not 480."""
    x = torch.randint(0, 10, (1, 5))
    for pruned in (False, True):
        ops = extract(_tied(pruned), (5,), inputs=x)
        assert workload.summary(ops)["weight_bytes"] == 10 * 6 * 4
        assert price_ops(ops)["weight_bytes"] == 10 * 6 * 4


class _OwnLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 8))

    def forward(self, x):
        return F.linear(x, self.weight)


def test_a_users_layer_on_a_pruned_weight_is_priced_as_the_linear():
    """``F.linear(x, self.weight)`` with the weight pruned (``weight_orig`` and its mask):
    refused ('cannot price layer ... no cost model'); priced as nn.Linear with that masked
    weight, its zeros, and stored once when two such layers share the Parameter."""
    torch.manual_seed(0)
    own, ref = _OwnLinear(), nn.Linear(8, 4, bias=False)
    ref.weight = own.weight
    prune.l1_unstructured(own, "weight", 0.5)
    prune.l1_unstructured(ref, "weight", 0.5)
    for _ in range(2):   # (the masked tensor is new each forward)
        ops = extract(nn.Sequential(own), (8,))
        assert [o.type for o in ops] == ["linear"] and ops[0].macs == 32
        assert ops[0].weight_sparsity == 0.5
        assert ops[0].key() == extract(ref, (8,))[0].key()
    class Both(nn.Module):   # the user's layer and nn.Linear on one pruned Parameter
        def __init__(self):
            super().__init__()
            self.own, self.ref = own, ref

        def forward(self, x):
            return self.own(x) + self.ref(x)
    both = extract(Both(), (8,))
    assert [o.type for o in both] == ["linear", "linear", "eltwise"]
    assert workload.summary(both)["weight_bytes"] == 4 * 8 * 4   # (it was refused)
    shared = nn.Sequential(own, nn.Linear(4, 8, bias=False), own)   # called twice
    assert workload.summary(extract(shared, (8,)))["weight_bytes"] == (32 + 32) * 4
