"""An embedding's inference cost on the GPU roofline and on SPRING follows the rows its
indices read, not its table: after e098a95 priced Embedding (it was free), both models read
the whole table every batch (a 10,000 x 64 table looked up 35 times: 640,000 values moved on
the GPU instead of 2,240), so a language model's cost grew with its vocabulary."""
import torch
from torch import nn

from hwsim import gpu, spring
from hwsim.workload import extract


class Lookup(nn.Module):
    def __init__(self, vocab: int):
        super().__init__()
        self.emb = nn.Embedding(vocab, 64)
        self.head = nn.Linear(64, 4)

    def forward(self, x):
        return self.head(self.emb(x.long()).mean(1))


def _ops(vocab: int):
    torch.manual_seed(0)
    model = Lookup(vocab)
    return extract(model, (35,), inputs=torch.randint(0, 100, (1, 35)).float())


def test_inference_reads_the_rows_looked_up_not_the_table():
    small, large = _ops(1_000), _ops(100_000)
    g_small, g_large = gpu.evaluate(small), gpu.evaluate(large)
    assert g_small["bytes"] == g_large["bytes"]
    emb_bytes = 35 * 64 * gpu.GpuConfig().bytes_per_elem
    # (+ the mean over the 35 rows, priced since h182: the 35 x 64 values read, 64 written)
    mean_bytes = (35 * 64 + 64) * gpu.GpuConfig().bytes_per_elem
    assert g_small["bytes"] < 2 * emb_bytes + mean_bytes + 64 * 4 * 4 + 1000
    s_small, s_large = spring.evaluate(small), spring.evaluate(large)
    assert s_small["nvm_bytes"] == s_large["nvm_bytes"]


def test_training_still_updates_the_whole_table():
    assert gpu.evaluate(_ops(100_000), mode="training")["bytes"] > \
        gpu.evaluate(_ops(1_000), mode="training")["bytes"]
