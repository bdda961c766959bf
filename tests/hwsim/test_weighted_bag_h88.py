"""Helper 88: an nn.EmbeddingBag called with per_sample_weights multiplies every value it
reads by its index's weight before the sum; extract() did not count those multiplies (a
weighted bag priced as an unweighted one).  They are known only at call time: the forward
hook reads them from the call (keyword or positional)."""
import torch
from torch import nn

from hwsim import AcceleratorConfig, accel, extract, tables


class _Weighted(nn.Module):
    def __init__(self, positional=False):
        super().__init__()
        self.bag = nn.EmbeddingBag(50, 8, mode="sum")
        self.positional = positional

    def forward(self, x):
        w = torch.ones(x.shape, dtype=torch.float32) * 0.5
        if self.positional:
            return self.bag(x, None, w)
        return self.bag(x, per_sample_weights=w)


def _bag_op(model, idx):
    """The bag's op (the weights' own ``ones * 0.5`` is an op too since h182)."""
    return next(o for o in extract(model, (6,), inputs=idx) if o.type == "embedding")


def _idx():
    return torch.randint(0, 50, (4, 6), generator=torch.Generator().manual_seed(0))


def test_per_sample_weights_count_one_multiply_per_value_read():
    plain = extract(_Weighted().bag, (6,), inputs=_idx())[0]
    for positional in (False, True):
        op = _bag_op(_Weighted(positional), _idx())
        assert op.type == "embedding" and op.macs == 0
        assert plain.elems == 4 * 6 * 8
        assert op.elems == plain.elems + 4 * 6 * 8        # + one multiply per value read
        assert dict(op.geometry).get("per_sample_weights") is True
        assert op.key() != plain.key()
        cfg = AcceleratorConfig(cols=8)
        assert (accel.evaluate([op], cfg)["compute_cycles"]
                > accel.evaluate([plain], cfg)["compute_cycles"])


def test_weighted_bag_is_timed_with_weights():
    op = _bag_op(_Weighted(), _idx())
    out = tables.op_callable(op, torch.Generator().manual_seed(3))()
    gen = torch.Generator().manual_seed(3)
    idx = torch.randint(0, 50, op.in_shape, generator=gen)
    w = torch.randn(op.weight_shape, generator=gen)
    psw = torch.randn(op.in_shape, generator=gen)
    bag = nn.EmbeddingBag.from_pretrained(w, mode="sum")
    assert torch.allclose(out, bag(idx, per_sample_weights=psw))
