"""Ray Train requests the local Ray can never grant are refused before the training
(helper 183): Ray Train waited for them without end and without a word."""
import time

import pytest

from cluster.train import Scaling, train_model
from synth.errors import ConfigError, UserError


def _task(inputs, parallel):
    from synth.models import build
    return build("lenet300_100", (1, 4, 4), 3), {}


@pytest.mark.parametrize("scaling, words", [
    (dict(num_workers=3, cpus_per_worker=1), "3 Ray Train worker(s) of 1 CPU(s) each do not "
                                             "fit the local Ray (1 node(s), 2 CPU(s); at most 2 fit)"),
    (dict(num_workers=1, cpus_per_worker=4), "1 Ray Train worker(s) of 4 CPU(s) each"),
    (dict(num_workers=1, use_gpu="true"), "1 GPU each do not fit the local Ray"),
])
def test_workers_that_never_fit_the_local_ray_are_one_error(ray_local, scaling, words):
    """On this module's 2-CPU local Ray: 3 workers of 1 CPU, one of 4 CPUs, or a GPU on a
    machine without one -- each waited forever (killed after 100 s) before."""
    start = time.monotonic()
    with pytest.raises(UserError) as error:
        train_model(_task, {}, scaling=Scaling.from_dict(scaling))
    assert words in str(error.value), str(error.value)
    assert "lower scaling.num_workers or scaling.cpus_per_worker" in str(error.value)
    assert time.monotonic() - start < 20


def test_a_cpu_fraction_finer_than_rays_is_a_config_error():
    """cpus_per_worker 1e-9 passed validation, and Ray Train failed the training 18 s in
    with a ControllerError ('The precision of the fractional quantity of resource num_cpus
    cannot go beyond 0.0001')."""
    with pytest.raises(ConfigError, match=r"scaling.cpus_per_worker must be 0 \(share a "
                                          r"node's CPUs\) or at least 0.0001"):
        Scaling.from_dict({"cpus_per_worker": 1e-9})
    assert Scaling.from_dict({"cpus_per_worker": 0.0001}).cpus_per_worker == 0.0001
