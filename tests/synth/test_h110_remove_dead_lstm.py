"""h110: masked.remove_dead on an LSTM, whose ih reads all steps (N, T, C) at once."""
import torch

from synth import masked
from synth.models import build


def test_remove_dead_on_an_lstm_with_a_constant_input_channel_keeps_outputs():
    # the LSTM's ih reads (N, T, C) at once: its per-step min/max, (T, C), was an IndexError
    torch.manual_seed(0)
    model = build({"family": "lstm", "hidden": [6]}, (3, 4), 4)
    masked.attach_masks(model, masked.random_masks(model, 0.6, 0))
    model.eval()
    x = torch.randn(8, 3, 4)
    x[:, 0, :] = 0.5
    with torch.no_grad():
        before = model(x)
        removed = masked.remove_dead(model, x)
        assert removed > 0
        assert not masked.masked_layers(model)[0][2].mask[:, 0].any()   # ih reads channel 0
        torch.testing.assert_close(model(x), before, rtol=0, atol=1e-6)
