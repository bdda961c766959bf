"""The overflow check beside a command's real work runs its inputs in batches (lead): the
first 192 samples of a set went through the model in one pass, which for large inputs
holds far more activations than the command's own batches."""
import torch

from synth.overflow import nonfinite_outputs


def test_inputs_go_through_in_batches_and_every_broken_row_is_counted():
    model = torch.nn.Linear(4, 3)
    seen = []
    model.register_forward_hook(lambda m, inp, out: seen.append(len(inp[0])))
    x = torch.ones(200, 4)
    x[[5, 70, 199]] = 3e38      # rows whose outputs overflow (weights ~0.5: beyond float32)
    with torch.no_grad():
        model.weight.fill_(0.5)
    assert nonfinite_outputs(model, x) == 3
    assert max(seen) == 64 and sum(seen) == 200
