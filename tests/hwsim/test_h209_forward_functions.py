"""h209: calls a forward makes that were free (h203's survey): in-place partial fills
(fill_diagonal_, tril_, triu_: their output is their target, taken for a view), sum_to_size
(a reduction), unravel_index, torch.special's orthogonal polynomials (a recurrence of n steps
a value) and host data made a tensor (torch.as_tensor / asarray of a numpy array: its values
copied to the device).  Each op is also replayed by the host CPU tables (op_callable)."""
import numpy as np
import pytest
import torch

from hwsim import extract
from hwsim.host_ops import op_callable
from hwsim.pointwise import polynomial_ops
from tests.hwsim.test_h193_forward_functions import Net

B, W = 4, 32
ARR = np.ones((B, W), dtype=np.float32)


def _new_ops(call):
    """The ops of the call (named NAME#i), without the Net's own ``0 * z``."""
    ops = [o for o in extract(Net(call), (16,), batch=B) if "#" in o.name][:-1]
    for o in ops:
        op_callable(o, torch.Generator().manual_seed(0))()
    return ops


def test_partial_fills_write_what_they_set():
    (d,) = _new_ops(lambda y, z: y.fill_diagonal_(0.0))
    assert (d.in_elems, d.out_elems) == (0, 4)                   # min(4, 32) values
    (lo,) = _new_ops(lambda y, z: y.tril_())
    assert (lo.in_elems, lo.out_elems) == (0, 31 + 30 + 29 + 28)  # above the diagonal
    (up,) = _new_ops(lambda y, z: y.triu_(1))
    assert up.out_elems == 1 + 2 + 3 + 4                          # on and below it
    (w,) = _new_ops(lambda y, z: y.view(W, B).fill_diagonal_(0.0, wrap=True).view(B, W))
    assert w.out_elems == len(range(0, W * B, B + 1))             # torch's wrapped diagonal


def test_partial_fill_counts_match_torch():
    for k in (-2, 0, 1, 5):
        x = torch.ones(2, 5, 7)
        lo = _new_ops(lambda y, z, k=k: y + 0 * (x.tril_(k).sum()))[0]
        assert lo.out_elems == int((torch.ones(2, 5, 7).tril(k) == 0).sum())
        x = torch.ones(2, 5, 7)
        up = _new_ops(lambda y, z, k=k: y + 0 * (x.triu_(k).sum()))[0]
        assert up.out_elems == int((torch.ones(2, 5, 7).triu(k) == 0).sum())


def test_sum_to_size_is_a_sum():
    (s,) = _new_ops(lambda y, z: y.sum_to_size(1, W).expand(B, W))
    assert (s.type, s.in_elems, s.out_elems, s.elems) == ("eltwise", 128, 32, 128)
    assert dict(s.geometry)["dim"] == (0,)
    assert _new_ops(lambda y, z: y.sum_to_size(B, W)) == []      # itself: nothing summed


def test_unravel_index_computes_each_coordinate():
    ops = _new_ops(lambda y, z: torch.stack(torch.unravel_index(y.argmax(1), (4, 8)), 1)
                   .float().repeat(1, 16))
    (u,) = [o for o in ops if dict(o.geometry).get("func") == "unravel_index"]
    assert (u.in_elems, u.out_elems, u.elems) == (4, 8, 16)       # 2 coordinates of 4


@pytest.mark.parametrize("kind,n,per", [
    ("chebyshev_polynomial_t", 5, 8), ("chebyshev_polynomial_t", 10, 3),
    ("chebyshev_polynomial_u", 8, 14), ("legendre_polynomial_p", 5, 16),
    ("hermite_polynomial_h", 1, 1), ("laguerre_polynomial_l", 3, 8)])
def test_orthogonal_polynomials_price_their_recurrence(kind, n, per):
    assert polynomial_ops(kind, n) == per
    (p,) = _new_ops(lambda y, z: getattr(torch.special, kind)(y, n))
    assert (p.type, p.elems) == ("eltwise", per * B * W)


def test_host_data_made_a_tensor_is_copied_to_the_device():
    for make in (torch.as_tensor, torch.asarray):
        c = _new_ops(lambda y, z, f=make: y + f(ARR))[0]
        assert (c.type, c.in_elems, c.out_elems) == ("resample", 0, B * W)
    assert _new_ops(lambda y, z: y + torch.as_tensor(z)) == []    # the tensor itself: free
