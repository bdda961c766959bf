"""SPRING's buffer capacities priced by hand: weight, activation and mask buffers."""
import pytest

from hwsim.spring import SpringConfig, evaluate
from hwsim.workload import FP32_BYTES, Op


def _linear(batch=600, k=1000, n=2000):
    return Op(type="linear", name="fc", in_shape=(batch, k), out_shape=(batch, n),
              weight_shape=(n, k), macs=batch * k * n, weight_bytes=k * n * FP32_BYTES,
              in_bytes=batch * k * FP32_BYTES, out_bytes=batch * n * FP32_BYTES,
              gemm=(batch, k, n))


# compressed bits (dense, 20-bit values + a 1-bit mask each): W 2e6 -> 42e6, X 6e5 -> 12.6e6,
# Y 1.2e6 -> 25.2e6.  X and Y (37.8e6 bits) exceed a 1 MB (8e6 bit) activation buffer:
# X is read once and Y written once
W_BITS, X_BITS, Y_BITS = 42e6, 12.6e6, 25.2e6


def _nvm(r):
    return r["energy_breakdown_mj"]["nvm"] * 1e9     # pJ at 1 pJ/bit read, 5 pJ/bit write


def test_weights_that_stay_on_chip_stream_once_and_the_read_write_split_is_by_hand():
    """The input was read and the output written, each charged (X + Y) / 2: a layer whose
    output is twice its input had a third of its writes priced as reads."""
    r = evaluate([_linear()], SpringConfig(act_buffer_mb=1, weight_buffer_mb=100))
    assert _nvm(r) == pytest.approx((W_BITS + X_BITS) * 1.0 + Y_BITS * 5.0)
    assert r["nvm_bytes"] == pytest.approx((W_BITS + X_BITS + Y_BITS) / 8)
    assert r["restream_bytes"] == 0


def test_a_weight_buffer_too_small_for_weights_and_input_restreams_the_cheaper_operand():
    """weight_buffer_mb was accepted and never read.  A 1 MB weight buffer holds the 40e6
    bits of values in 5 tiles, the 1 MB activation buffer the input's 12e6 in 2: either the
    input is read again for each of 4 more weight tiles (4 x 12.6e6) or the weights once more
    for the second input tile (42e6): the cheaper, 42e6 bits."""
    cfg = SpringConfig(act_buffer_mb=1, weight_buffer_mb=1)
    r = evaluate([_linear()], cfg)
    assert r["restream_bytes"] == pytest.approx(42e6 / 8)
    assert r["nvm_bytes"] == pytest.approx((2 * W_BITS + X_BITS + Y_BITS) / 8)
    assert _nvm(r) == pytest.approx((2 * W_BITS + X_BITS) * 1.0 + Y_BITS * 5.0)
    # the input fits (12 MB): the weights stream past it once, whatever the weight buffer
    fits = evaluate([_linear()], SpringConfig(weight_buffer_mb=1))
    assert fits["restream_bytes"] == 0


def test_a_mask_buffer_too_small_tiles_the_weights():
    """mask_buffer_mb was accepted and never read.  0.1 MB (8e5 bits) holds the 2e6 weight
    masks in 3 tiles: the input (2 tiles) is read again twice (2 x 12.6e6 < 42e6)."""
    r = evaluate([_linear()], SpringConfig(act_buffer_mb=1, weight_buffer_mb=100,
                                           mask_buffer_mb=0.1))
    assert r["restream_bytes"] == pytest.approx(2 * X_BITS / 8)


def test_training_restreams_in_the_backward_data_pass_too():
    cfg = SpringConfig(act_buffer_mb=1, weight_buffer_mb=1)
    # forward: 42e6 (above); dX = dY W^T: dY of 1.2e6 values (24e6 bits, 3 tiles) against
    # the 5 weight tiles: min(4 x 25.2e6, 2 x 42e6) = 84e6
    r = evaluate([_linear()], cfg, mode="training")
    assert r["restream_bytes"] == pytest.approx((42e6 + 84e6) / 8)
