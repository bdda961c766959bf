"""h227: work a forward did where hwsim did not see it.

- a TorchScript submodule (torch.jit.trace of a module) was free: its ops run in TorchScript,
  no hook or mode sees them (a model of Linear(16, 32) + ReLU traced cost its head alone);
  a scripted one failed extract with a traceback (register_forward_hook is not supported on
  ScriptModules).  Both are refused in one line naming the module.
- a TorchScript function (torch.jit.script or trace of a function) called in a forward was
  free: refused in one line.
- torch.vmap / torch.func.grad in a forward: vmap failed extract with hwsim's own traceback
  (.item() on a batched tensor; its calls show one sample's shapes), grad priced its forward
  calls alone: both refused in one line.
- Tensor.apply_ / map_ (a Python function run on each value) were free: refused.
"""
import pytest
import torch
from torch import nn

from hwsim import extract
from hwsim.workload import sample_work
from synth.errors import UserError
from tests.hwsim.test_h193_forward_functions import Net
from tests.hwsim.test_h209_forward_functions import B


class _Outer(nn.Module):
    def __init__(self, sub):
        super().__init__()
        self.sub, self.h = sub, nn.Linear(32, 4)

    def forward(self, x):
        return self.h(self.sub(x))


def _body():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU())


def _scale(x):
    return x.exp() * 2.0


def _one_line(call):
    with pytest.raises(UserError) as e:
        call()
    assert "\n" not in str(e.value)
    return str(e.value)


def test_torchscript_modules_are_refused_in_one_line():
    plain = extract(_Outer(_body()), (16,), batch=B)
    assert [o.name for o in plain] == ["sub.0", "sub.1", "h"]
    traced = _Outer(torch.jit.trace(_body(), torch.randn(2, 16)))
    scripted = _Outer(torch.jit.script(_body()))
    for model in (traced, scripted, torch.jit.script(_body())):
        msg = _one_line(lambda model=model: extract(model, (16,), batch=B))
        assert "TorchScript module" in msg
    assert "'sub' (TopLevelTracedModule)" in _one_line(lambda: extract(traced, (16,)))
    _one_line(lambda: sample_work(scripted, (16,)))
    # no hook of hwsim's left on the model (sample_work's leaked before the one it failed on)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in traced.modules()
                   if not isinstance(m, torch.jit.ScriptModule))


def test_torchscript_functions_called_in_a_forward_are_refused():
    scripted = torch.jit.script(_scale)
    traced = torch.jit.trace(_scale, torch.randn(2, 3))
    for fn in (scripted, traced):
        msg = _one_line(lambda fn=fn: extract(Net(lambda y, z: fn(y)), (16,), batch=B))
        assert "TorchScript function" in msg
    # outside extract, and as a layer's own code, it is torch's
    assert torch.equal(scripted(torch.zeros(2)), torch.full((2,), 2.0))
    assert torch.jit.ScriptFunction.__call__.__qualname__ != "_scripted_call"


def test_torch_func_transforms_are_refused_in_one_line():
    for call in (lambda y, z: torch.vmap(lambda t: t.exp())(y),
                 lambda y, z: torch.func.grad(lambda t: t.exp().sum())(y)):
        assert "torch.func transform" in _one_line(
            lambda call=call: extract(Net(call), (16,), batch=B))


def test_python_functions_on_each_value_are_refused():
    for call in (lambda y, z: y.apply_(lambda v: v * 2),
                 lambda y, z: y.map_(z, lambda a, b: a * b)):
        assert "called outside a layer" in _one_line(
            lambda call=call: extract(Net(call), (16,), batch=B))


def _backward(y, z):
    with torch.enable_grad():
        t = y.detach().requires_grad_()
        (t.exp() * z).sum().backward()
        return t.grad


def _grad(y, z):
    with torch.enable_grad():
        t = y.detach().requires_grad_()
        return torch.autograd.grad((t.exp() * z).sum(), t)[0]


def test_a_backward_pass_in_a_forward_is_refused_by_name():
    # the autograd engine's work no mode sees: .backward() was free (its gradient, read
    # back, was refused as '__get__()'), autograd.grad a call of no table
    for call, name in ((_backward, "backward"), (_grad, "grad")):
        msg = _one_line(lambda call=call: extract(Net(call), (16,), batch=B))
        assert f"'{name}()' (called outside a layer)" in msg
    # an attribute read is no call that makes values
    extract(Net(lambda y, z: y.T.T + y.data), (16,), batch=B)


class _Flat(nn.Module):
    """A conv's output permuted channels-last, then flattened by an nn.Flatten layer or by
    x.flatten(1) in the forward: both copy it (a permuted tensor is not contiguous)."""

    def __init__(self, layer=True, permute=True):
        super().__init__()
        torch.manual_seed(0)
        self.c, self.f, self.h = nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(256, 4)
        self.layer, self.permute = layer, permute

    def forward(self, x):
        y = self.c(x)
        y = y.permute(0, 2, 3, 1) if self.permute else y
        return self.h(self.f(y) if self.layer else y.flatten(1))


def test_an_nn_flatten_that_copies_costs_its_copy():
    import dataclasses
    layer, call = (extract(_Flat(layer), (3, 8, 8), batch=B) for layer in (True, False))
    assert [o.name for o in layer] == ["c", "f", "h"]   # the layer's copy was free
    assert dataclasses.replace(layer[1], name="x") == dataclasses.replace(call[1], name="x")
    assert (layer[1].in_elems, layer[1].out_elems) == (B * 256, B * 256)
    # of a contiguous tensor, a view: free
    assert [o.name for o in extract(_Flat(permute=False), (3, 8, 8), batch=B)] == ["c", "h"]
