"""A search trial's prices (``search.trial``: ``hwsim.extract`` of the trained model on its
seeded random batch, priced by ``hwsim.price_ops`` in process or ``hwsim.price_layers`` in the
pool, SPRING off) are the accelerator model's, which do not depend on the inputs: only
SPRING's activation sparsity reads them (h293 measured that on real held-out samples for
``nnsynth hwsim eval --spring``).  A guard of h295's finding that the trials price nothing on
random inputs that real ones would change (it passes before too)."""
import torch

import hwsim
from synth.data import load_dataset
from synth.models import build


def test_a_trials_prices_are_the_same_on_real_inputs():
    data = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16, 8]}, data.input_shape,
                  data.num_classes).eval()
    shape = tuple(data.input_shape)
    n = hwsim.sparsity_sample_size(model, shape, len(data.x_test))
    drawn = hwsim.extract(model, shape)            # what the trial extracts
    real = hwsim.with_sparsity(drawn, hwsim.extract(model, shape, inputs=data.x_test[:n]))
    assert [o.act_sparsity for o in drawn] != [o.act_sparsity for o in real]
    for price in (hwsim.price_ops, hwsim.price_layers):
        assert price(drawn) == price(real)
        assert not any(k.startswith("spring") for k in price(drawn))
    # SPRING, which no trial asks for, is what the inputs change
    assert hwsim.price_ops(drawn, spring_cfg=True)["spring_energy_mj"] != \
        hwsim.price_ops(real, spring_cfg=True)["spring_energy_mj"]
