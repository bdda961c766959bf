"""The work bound checked before extraction (``sample_work``) counts
F.scaled_dot_product_attention called in a forward: a sequence whose attention weights
would not fit is refused in one line at once (it ran the attention, then made its 1 GiB
score matrix several times over, and priced it)."""
import resource
import time

import pytest
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
