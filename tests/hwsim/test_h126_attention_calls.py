"""An nn.MultiheadAttention is priced from the call its forward makes to
F.multi_head_attention_forward (h126): a subclass that binds its own arguments (always
need_weights=True, its own causal mask) is priced as it runs, not as its parent on its
caller's arguments; and a model that does not run on the meta device is bounded before that
call runs (its score matrix was allocated first: tens of GB for a long sequence)."""
from __future__ import annotations

import resource
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim.workload import MAX_ACTIVATION_VALUES, extract, sample_work, summary
from synth.errors import UserError

E, H, L = 8, 2, 5


class CausalWeights(nn.MultiheadAttention):
    """A decoder's self-attention: its own causal mask, and always the heads' weights."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.register_buffer("causal", torch.ones(L, L, dtype=torch.bool).triu(1),
                             persistent=False)

    def forward(self, query, key, value, **kw):
        return super().forward(query, key, value, attn_mask=self.causal, need_weights=True,
                               average_attn_weights=True)


class Holder(nn.Module):
    def __init__(self, attn, call):
        super().__init__()
        self.attn, self.call = attn, call

    def forward(self, x):
        return self.call(self.attn, x)


def _parent(call):
    torch.manual_seed(0)
    return Holder(nn.MultiheadAttention(E, H, batch_first=True), call)


def _child(attn, call, parent):
    attn.load_state_dict(parent.attn.state_dict())
    return Holder(attn, call)


def _same_price(got, want):
    assert [o.key() for o in got] == [o.key() for o in want]
    assert hwsim.price_ops(got, spring_cfg=True) == hwsim.price_ops(want, spring_cfg=True)


def test_a_subclass_with_its_own_mask_and_weights_prices_as_it_runs():
    """Called as a(x, x, x, need_weights=False), it runs with its causal mask and returns the
    heads' mean: one masked add per score in its softmax and a ``.weights`` op.  It was
    priced as the parent called with need_weights=False and no mask."""
    mask = torch.ones(L, L, dtype=torch.bool).triu(1)
    parent = _parent(lambda a, x: a(x, x, x, attn_mask=mask)[0])
    child = _child(CausalWeights(E, H, batch_first=True),
                   lambda a, x: a(x, x, x, need_weights=False)[0], parent)
    got, want = extract(child, (L, E), batch=2), extract(parent, (L, E), batch=2)
    _same_price(got, want)
    soft = next(o for o in got if o.name == "attn.softmax")
    assert soft.elems == 2 * (2 * H * L * L)          # exp/sum/divide + the mask's add
    assert ("masked", True) in soft.geometry
    assert [o.name for o in got][-2:] == ["attn.weights", "attn.out_proj"]
    # the causal mask: 10 of each head's 25 weights are zero, measured on the call's own
    assert next(o for o in got if o.name == "attn.context").act_sparsity > 0.1


class Twice(nn.MultiheadAttention):
    """Attends to its input, then to the result: two calls of the parent."""

    def forward(self, x):
        y = super().forward(x, x, x, need_weights=False)[0]
        return super().forward(y, y, y, need_weights=False)[0]


def test_a_subclass_that_calls_its_parent_twice_is_both_calls():
    parent = _parent(lambda a, x: a(a(x, x, x, need_weights=False)[0], x, x,
                                    need_weights=False)[0])
    child = _child(Twice(E, H, batch_first=True), lambda a, x: a(x), parent)
    got = extract(child, (L, E))
    once = extract(_parent(lambda a, x: a(x, x, x, need_weights=False)[0]), (L, E))
    assert [o.name for o in got] == [o.name for o in once] + [
        o.name.replace("attn.", "attn#2.") for o in once]
    # self-attention over L tokens of width E, twice: 2 (4 L E^2 + 2 L^2 E)
    assert summary(got)["macs"] == 2 * (4 * L * E * E + 2 * L * L * E) == 3360
    # each stored weight counted once (the second call reads the same tensors)
    assert summary(got)["weight_bytes"] == summary(once)["weight_bytes"]


class OwnAttention(nn.MultiheadAttention):
    """Its own attention through the parent's weights, never the parent's forward."""

    def forward(self, x):
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, -1)
        return self.out_proj(F.scaled_dot_product_attention(q, k, v))


def test_a_subclass_that_never_calls_its_parent_is_refused_in_one_line():
    """Its products ran inside the layer, where hwsim does not look: pricing it as its parent
    was a guess."""
    with pytest.raises(UserError) as e:
        extract(Holder(OwnAttention(E, H, batch_first=True), lambda a, x: a(x)), (L, E))
    msg = str(e.value)
    assert "\n" not in msg and "cannot price layer 'attn' (OwnAttention)" in msg
    assert "its forward made none" in msg


def test_the_meta_bound_counts_a_subclass_on_the_arguments_it_runs():
    """OneInput's call a(x) does not bind to the parent's arguments: sample_work left the
    layer out of its bound (0 MACs), so a long sequence was not refused up front."""
    class OneInput(nn.MultiheadAttention):
        def forward(self, x):
            return super().forward(x, x, x, need_weights=False)[0]
    m = Holder(OneInput(E, H, batch_first=True), lambda a, x: a(x))
    assert sample_work(m, (L, E)) == (4 * L * E * E + 2 * L * L * E, H * L * L)
    n = 12_000   # H n^2 = 288 M weights > MAX_ACTIVATION_VALUES
    assert H * n * n > MAX_ACTIVATION_VALUES
    with pytest.raises(UserError, match="values in its largest layer output"):
        extract(m, (n, E))


def test_a_direct_functional_attention_call_is_refused_not_free():
    """F.multi_head_attention_forward called in a forward (no MultiheadAttention call):
    its projections and products ran unseen, and the model was priced without them."""
    class Direct(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.head = nn.MultiheadAttention(E, H), nn.Linear(E, 2)

        def forward(self, x):
            a = self.a
            y = F.multi_head_attention_forward(
                x, x, x, E, H, a.in_proj_weight, a.in_proj_bias, None, None, False, 0.0,
                a.out_proj.weight, a.out_proj.bias, training=False, need_weights=False)[0]
            return self.head(y)
    with pytest.raises(UserError) as e:
        extract(Direct(), (1, E))
    msg = str(e.value)
    assert "\n" not in msg and "multi_head_attention_forward()" in msg


class OffMeta(nn.Module):
    """Data-dependent code (a Python float of a value): no meta pass, so no bound before the
    forward pass runs."""

    def __init__(self, attn):
        super().__init__()
        self.attn = attn

    def forward(self, x):
        if float(x.abs().sum()) < 0:
            return x
        return self.attn(x, x, x, need_weights=False)[0]


class OneInputOffMeta(nn.MultiheadAttention):
    def forward(self, x):
        if float(x.abs().sum()) < 0:
            return x
        return super().forward(x, x, x, need_weights=False)[0]


@pytest.mark.parametrize("make", [
    lambda: OffMeta(nn.MultiheadAttention(E, 1, batch_first=True)),
    lambda: Holder(OneInputOffMeta(E, 1, batch_first=True), lambda a, x: a(x)),
], ids=["layer", "subclass"])
def test_an_attention_off_the_meta_device_is_bounded_before_it_runs(make):
    """100,000 tokens, one head: 1e10 attention weights, a 40 GB score matrix torch made
    (then hwsim, per head) before any bound; refused at the layer's call, at once, with no
    large allocation (the peak RSS of this process does not grow by 200 MB)."""
    n = 100_000
    m = make()
    assert sample_work(m, (n, E)) is None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(UserError) as e:
        extract(m, (n, E))
    assert time.perf_counter() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024   # KiB
    msg = str(e.value)
    assert "\n" not in msg and "pricing layer 'attn'" in msg
    assert f"makes {n * n:,} attention weights" in msg and "does not accept" not in msg
