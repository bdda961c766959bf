"""Helper 88: hwsim.tables times an ``embedding`` op on the host CPU (it was refused: 'cannot
time op type embedding' for any model with an nn.Embedding or nn.EmbeddingBag, e.g. every
language model of synth.lm), as the layer computes it."""
import torch
from torch import nn

from hwsim import extract, tables


class _Offsets(nn.Module):
    """An EmbeddingBag called on 1-d indices with offsets (3 bags)."""

    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(40, 6, mode="max")

    def forward(self, x):
        flat = x.flatten()
        return self.bag(flat, torch.tensor([0, 2, 7]))


def _ops(model, shape, rows):
    idx = torch.randint(0, rows, (2,) + shape, generator=torch.Generator().manual_seed(1))
    return extract(model, shape, inputs=idx)


def test_cpu_table_times_embedding_and_bags():
    models = [(nn.Sequential(nn.Embedding(100, 16), nn.Flatten(), nn.Linear(80, 3)), (5,), 100),
              (nn.EmbeddingBag(50, 8, mode="mean"), (6,), 50),
              (_Offsets(), (5,), 40)]
    for model, shape, rows in models:
        ops = _ops(model, shape, rows)
        emb = [o for o in ops if o.type == "embedding"]
        assert emb, ops
        table = tables.build_table(ops, "cpu", repeats=3, threads=1)
        pred = tables.predict(table, ops, threads=1)
        assert pred["missing"] == [] and pred["latency_ms"] > 0
        assert all(table[o.key()]["latency_ms"] > 0 for o in emb)


def test_timed_lookup_is_the_layers_own():
    """op_callable's tensors: indices, then the table; given to the layer, same output."""
    emb = nn.Embedding(30, 4)
    op = _ops(emb, (7,), 30)[0]
    out = tables.op_callable(op, torch.Generator().manual_seed(5))()
    gen = torch.Generator().manual_seed(5)
    idx = torch.randint(0, 30, op.in_shape, generator=gen)
    w = torch.randn(op.weight_shape, generator=gen)
    assert out.shape == op.out_shape
    assert torch.equal(out, nn.Embedding.from_pretrained(w)(idx))
    bag = nn.EmbeddingBag(30, 4, mode="sum")
    op = _ops(bag, (7,), 30)[0]
    out = tables.op_callable(op, torch.Generator().manual_seed(5))()
    gen = torch.Generator().manual_seed(5)
    idx = torch.randint(0, 30, op.in_shape, generator=gen)
    w = torch.randn(op.weight_shape, generator=gen)
    assert torch.allclose(out, nn.EmbeddingBag.from_pretrained(w, mode="sum")(idx))
