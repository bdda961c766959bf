"""The work bound checked before extraction (``sample_work``) counts
F.scaled_dot_product_attention called in a forward: a sequence whose attention weights
would not fit is refused in one line at once (it ran the attention, then made its 1 GiB
score matrix several times over, and priced it).  A subclass of nn.MultiheadAttention with a
forward of its own prices as its parent called with the arguments its forward passes it (h126:
they were its caller's, bound to the parent's, and a call that did not bind was refused; it
was a TypeError or AssertionError traceback before that)."""
import resource
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim.workload import MAX_ACTIVATION_VALUES, extract, sample_work
from synth.errors import UserError


class Sdpa(nn.Module):
    def __init__(self, d=4):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)

    def forward(self, x):
        q, k, v = self.qkv(x).unsqueeze(1).chunk(3, -1)   # (N, 1 head, L, d)
        return F.scaled_dot_product_attention(q, k, v)


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_sample_work_counts_attention_called_as_a_function():
    L, d = 20, 4
    macs, largest = sample_work(Sdpa(d), (L, d))
    # the qkv Linear L d 3d, then Q K^T and A V: L L d each; its L x L weights the largest
    assert macs == L * d * 3 * d + 2 * L * L * d
    assert largest == L * L > L * 3 * d


def test_an_enormous_attention_in_a_forward_is_refused_at_once_in_one_line():
    L = 16_500   # 272 M attention weights a sample: over MAX_ACTIVATION_VALUES (268 M)
    assert L * L > MAX_ACTIVATION_VALUES
    before, t0 = _peak_mb(), time.perf_counter()
    with pytest.raises(UserError) as e:
        hwsim.price(Sdpa(), (L, 4))
    assert time.perf_counter() - t0 < 5
    assert _peak_mb() - before < 500      # no score matrix was made (1 GiB each)
    msg = str(e.value)
    assert "\n" not in msg and "values in its largest layer output" in msg
    assert f"{MAX_ACTIVATION_VALUES:,}" in msg


def test_an_attention_refused_while_extracting_where_the_model_is_not_on_meta():
    """A forward with data-dependent code cannot be bounded on the meta device: its
    attention is checked before it runs instead."""
    class DataDependent(Sdpa):
        def forward(self, x):
            if float(x.abs().sum()) < 0:   # .item() on a value: no meta pass
                return x
            return super().forward(x)
    m = DataDependent()
    L = 16_500
    assert sample_work(m, (L, 4)) is None
    t0 = time.perf_counter()
    with pytest.raises(UserError) as e:
        extract(m, (L, 4))
    assert time.perf_counter() - t0 < 5
    msg = str(e.value)
    assert "\n" not in msg and "scaled_dot_product_attention" in msg
    assert f"{L * L:,} attention weights" in msg and "does not accept" not in msg


# --- a subclass of nn.MultiheadAttention with its own forward ---------------------------------
class OneInput(nn.MultiheadAttention):
    """Self-attention on one argument: its call does not bind to the parent's arguments."""

    def forward(self, x):
        return super().forward(x, x, x, need_weights=False)[0]


class Renamed(nn.MultiheadAttention):
    """Its own names and a mask argument the parent does not have."""

    def forward(self, q, k, v, mask=None):
        return super().forward(q, k, v, attn_mask=mask, need_weights=False)[0]


class Holder(nn.Module):
    def __init__(self, attn, call):
        super().__init__()
        torch.manual_seed(0)
        self.attn, self.call = attn, call

    def forward(self, x):
        return self.call(self.attn, x)


def _same_price(got, want):
    assert [o.key() for o in got] == [o.key() for o in want]
    assert hwsim.price_ops(got, spring_cfg=True) == hwsim.price_ops(want, spring_cfg=True)


MASK = torch.ones(5, 5, dtype=torch.bool).triu(1)


@pytest.mark.parametrize("attn, call, parent_call", [
    (Renamed(8, 2, batch_first=True), lambda a, x: a(x, x, x),
     lambda a, x: a(x, x, x, need_weights=False)[0]),
    (OneInput(8, 2, batch_first=True), lambda a, x: a(x),
     lambda a, x: a(x, x, x, need_weights=False)[0]),
    (Renamed(8, 2, batch_first=True), lambda a, x: a(x, x, x, mask=MASK),
     lambda a, x: a(x, x, x, attn_mask=MASK, need_weights=False)[0]),
    (Renamed(8, 2, batch_first=True), lambda a, x: a(q=x, k=x, v=x),
     lambda a, x: a(x, x, x, need_weights=False)[0]),
    (Renamed(8, 2, batch_first=True), lambda a, x: a(x, x, x, MASK),
     lambda a, x: a(x, x, x, attn_mask=MASK, need_weights=False)[0]),
], ids=["positional", "one-input", "mask-keyword", "renamed-keywords", "mask-positional"])
def test_a_subclass_prices_as_its_parent_on_the_arguments_it_passes(attn, call, parent_call):
    """Its forward's super().forward call as the parent called so: need_weights=False (no
    heads' mean op) and its own mask (one masked add per score).  Priced on its caller's
    arguments bound to the parent's, the positional and mask-less calls were the parent with
    need_weights=True and no mask; the rest were refused ('missing a required argument:
    'key'', 'unexpected keyword argument 'mask'', the mask bound as the key_padding_mask)."""
    parent = Holder(nn.MultiheadAttention(8, 2, batch_first=True), parent_call)
    child = Holder(attn, call)
    child.attn.load_state_dict(parent.attn.state_dict())
    want, got = extract(parent, (5, 8), batch=2), extract(child, (5, 8), batch=2)
    _same_price(got, want)
    _same_price(extract(child, (5, 8)), extract(parent, (5, 8)))
