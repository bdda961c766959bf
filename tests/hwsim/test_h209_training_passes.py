"""h209: in training an op runs only the backward passes it has (``hwsim.op.backward_passes``):
an op without weights forward + backward-data, an embedding forward + backward-weight, a
product of two activations its two backward GEMMs.  The GPU's FLOPs and traffic and
SPRING's element ops charged every op a backward-weight pass (a ReLU's training cost 3x its
forward), while the GPU's kernel count said such an op has no dW kernel."""
import dataclasses

import numpy as np
import pytest

from hwsim import gpu, spring
from hwsim.op import Op, backward_passes

RELU = Op(type="eltwise", name="relu", in_shape=(8, 100), out_shape=(8, 100),
          weight_shape=(), macs=0, weight_bytes=0, in_bytes=3200, out_bytes=3200,
          elems=800, geometry=(("kind", "relu"),))
PRELU = dataclasses.replace(RELU, name="prelu", weight_shape=(1,), weight_bytes=4)
EMB = Op(type="embedding", name="emb", in_shape=(8, 5), out_shape=(8, 5, 16),
         weight_shape=(100, 16), macs=0, weight_bytes=6400, in_bytes=160, out_bytes=2560)
MATMUL = Op(type="matmul", name="qk", in_shape=(2, 2 * 4 * 8), out_shape=(2, 1, 4, 4),
            weight_shape=(), macs=2 * 4 * 4 * 8, weight_bytes=0, in_bytes=2 * 64 * 4,
            out_bytes=2 * 16 * 4, gemm=(4, 8, 4), groups=2)


def test_backward_passes():
    data, weights = backward_passes([RELU, PRELU, EMB, MATMUL])
    assert data.tolist() == [1, 1, 0, 1]
    assert weights.tolist() == [0, 1, 1, 1]


def test_an_op_without_weights_trains_forward_and_backward_data_only():
    (f_inf,), (m_inf,) = gpu.phase_work([RELU], "inference")
    (f_tr,), (m_tr,) = gpu.phase_work([RELU], "training")
    assert f_tr == 2 * f_inf                       # was 3x
    assert m_tr == m_inf + RELU.out_elems + RELU.in_elems   # read dY, write dX


def test_an_op_with_weights_keeps_its_backward_weight_pass():
    (f_inf,), _ = gpu.phase_work([PRELU], "inference")
    (f_tr,), _ = gpu.phase_work([PRELU], "training")
    assert f_tr == 3 * f_inf + 3 * PRELU.weight_elems


def test_attention_product_has_two_backward_gemms():
    (f_inf,), (m_inf,) = gpu.phase_work([MATMUL], "inference")
    (f_tr,), (m_tr,) = gpu.phase_work([MATMUL], "training")
    assert f_tr == 3 * f_inf
    assert m_tr == m_inf + 2 * (MATMUL.in_elems + MATMUL.out_elems)


def test_embedding_forward_and_backward_weight():
    (f_inf,), _ = gpu.phase_work([EMB], "inference")
    (f_tr,), _ = gpu.phase_work([EMB], "training")
    assert f_tr == 2 * f_inf + 3 * EMB.weight_elems


def test_spring_prices_a_relu_in_training_at_two_passes():
    cfg = spring.SpringConfig()
    a = spring._arrays([RELU], "training")
    inf = spring._run(spring._arrays([RELU], "inference"), cfg, "inference")
    tr = spring._run(a, cfg, "training")
    assert tr["compute"][0] == pytest.approx(2 * inf["compute"][0])   # was 3x
    assert tr["e_vec"] == pytest.approx(2 * inf["e_vec"])               # was 3x
    assert tr["e_sram"] == pytest.approx(2 * inf["e_sram"])             # was 3x
    w = spring._run(spring._arrays([PRELU], "training"), cfg, "training")
    assert w["e_vec"] == pytest.approx(3 * inf["e_vec"])


def test_gpu_relu_network_training_flops():
    ops = [RELU] * 3
    r_inf = gpu.evaluate(ops, mode="inference")
    r_tr = gpu.evaluate(ops, mode="training")
    assert r_tr["flops"] == pytest.approx(2 * r_inf["flops"])
    assert np.isfinite(r_tr["latency_ms"])


def test_a_norm_has_a_backward_weight_pass_when_affine():
    from torch import nn
    from hwsim.workload import extract
    affine = extract(nn.LayerNorm([4, 6]), (4, 6), batch=2)[0]
    plain = extract(nn.LayerNorm([4, 6], elementwise_affine=False), (4, 6), batch=2)[0]
    assert backward_passes([affine, plain])[1].tolist() == [1, 0]
    (fa,), _ = gpu.phase_work([affine], "training")
    (fp,), _ = gpu.phase_work([plain], "training")
    (fi,), _ = gpu.phase_work([plain], "inference")
    assert (fa, fp) == (3 * fi, 2 * fi)
