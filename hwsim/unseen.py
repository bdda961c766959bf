"""Work a forward does where no TorchFunctionMode sees it, shown to ``hwsim.tracing``'s
while a ``FunctionCatcher`` runs (``begin``/``end``): host values made a tensor by any constructor,
under any name (aten::lift_fresh: ``_lifted``), torch.frombuffer / from_dlpack /
torch._C._nested.nested_tensor wherever they are bound (``_seen``), and TorchScript
functions (refused: ``_scripted_call``).  ``own_code`` tells hwsim's own work in the forward
pass from the model's.  Split from hwsim.tracing (h227).
"""
from __future__ import annotations

import contextlib
import functools
import operator
import sys
import threading

import torch
import torch.utils.dlpack
from torch.overrides import handle_torch_function

from hwsim.copies import host_op
from hwsim.op import Refusal
from synth.errors import UserError

# Host data made a tensor in a forward is a copy to the device (``hwsim.copies.FROM_HOST``:
# its values written, nothing on the device read), however the forward made it.
# - Every constructor of host values (torch.tensor, as_tensor, asarray, from_numpy, the legacy
#   torch.Tensor(ndarray), FloatTensor(list)..., x.new(list), new_tensor) hands its tensor to
#   aten::lift_fresh.  While a FunctionCatcher runs, a kernel of hwsim's (``_lifted``) answers
#   it: a lift that no call the mode sees makes (torch.Tensor(ndarray) and the typed legacy
#   classes are no function a mode sees; a 'from torch import from_numpy' bound before is
#   not hwsim's wrapper) is recorded as the host copy it is, whatever name the forward
#   called it by.  They were free (h227); a call the mode sees prices its own (``calls``).
# - torch.frombuffer and from_dlpack make theirs with no lift and no call a mode sees (h219:
#   free): while a FunctionCatcher runs they are wrapped (``_seen``) so that a mode on the
#   calling thread sees them, at torch's attributes and at every module global bound to them
#   ('from torch import frombuffer', ``_fn = torch.frombuffer``: ``_bound_globals``; a name
#   bound elsewhere, a default argument or an attribute, still holds the original).
#   torch.nested.nested_tensor's strided form (torch._C._nested's, which it calls) is one
#   too: a forward that made one and used it in no call a mode sees was priced with the copy
#   it makes free (h225); seen, it is refused as it is made.
_UNSEEN = tuple((owner, name, getattr(owner, name)) for owner, name in (
    (torch, "frombuffer"), (torch, "from_dlpack"), (torch.utils.dlpack, "from_dlpack"),
    (torch._C._nested, "nested_tensor")) if hasattr(owner, name))
_unseen_lock = threading.Lock()
_unseen_users = [0]
_undo: list = []          # (namespace, name, original, wrapper) of each wrapped binding
_lift_library: list = []  # the kernels answering aten::lift_fresh while a catcher runs
_LIFT_KEYS = ("CPU", "CUDA", "Meta")
_scanned: dict = {}       # module name -> (module, its globals bound to an _UNSEEN original)
# sys.modules at the last pass over it (its names and its modules, compared by identity)
# and the names, in its order, of its modules whose scan found bindings.  Unchanged, a pass
# finds nothing new: only those modules' bindings are checked again.
_modules_seen: list = [None, ()]
_catching = threading.local()   # .states: the FunctionCatchers' states on this thread


def _seen(original):
    """``original`` as a torch function a TorchFunctionMode sees (handle_torch_function, as
    torch's Python functions dispatch), called as it is where no mode runs."""
    @functools.wraps(original)
    def call(*args, **kwargs):
        if torch.overrides._is_torch_function_mode_enabled():
            return handle_torch_function(original, (), *args, **kwargs)
        return original(*args, **kwargs)
    call.hwsim_unwrapped = original
    return call


def _bound_globals() -> list:
    """(module globals, name, original) of each module global bound to an ``_UNSEEN`` original
    (``from torch import frombuffer``), torch's own attributes aside; a module is scanned
    once (``_scanned``), its bindings checked again each time."""
    originals = {id(o): o for _, _, o in _UNSEEN}
    owners = {id(vars(owner)) for owner, _, _ in _UNSEEN}
    last, now = _modules_seen[0], tuple(sys.modules.values())
    if last is None or tuple(sys.modules) != last[0] or len(now) != len(last[1]) \
            or any(map(operator.is_not, now, last[1])):      # by identity: no object's __eq__
        modules = list(sys.modules.items())   # one snapshot (another thread may import)
        for name, module in modules:
            if name not in _scanned or _scanned[name][0] is not module:
                try:
                    names = tuple(k for k, v in list(vars(module).items())
                                  if id(v) in originals)
                except TypeError:   # (no __dict__)
                    names = ()
                _scanned[name] = (module, names)
        _modules_seen[:] = [(tuple(k for k, _ in modules), tuple(m for _, m in modules)),
                            tuple(name for name, _ in modules if _scanned[name][1])]
    found = []
    for name in _modules_seen[1]:
        module, names = _scanned[name]
        if id(vars(module)) not in owners:
            found.extend((vars(module), k, vars(module)[k]) for k in names
                         if id(vars(module).get(k)) in originals)
    return found


def _unseen_constructors(step: int) -> None:
    """Wraps ``_UNSEEN`` and the globals bound to them, and answers aten::lift_fresh
    (``_lifted``), while any FunctionCatcher runs (``step`` +1 as one starts, -1 as it ends;
    torch's own back when none runs)."""
    with _unseen_lock:
        _unseen_users[0] += step
        if step > 0 and _unseen_users[0] == 1:
            for owner, name, original in _UNSEEN:
                _undo.append((vars(owner), name, original, _seen(original)))
            _undo.extend((ns, name, o, _seen(o)) for ns, name, o in _bound_globals())
            for ns, name, _, wrapper in _undo:
                ns[name] = wrapper
            _SCRIPTED.__call__ = _scripted_call
            lib = torch.library.Library("aten", "IMPL")
            _lift_library.append(lib)
            for key in _LIFT_KEYS:
                lib.impl("lift_fresh", _lifted, key)
        elif step < 0 and _unseen_users[0] == 0:
            while _undo:
                ns, name, original, wrapper = _undo.pop()
                if ns.get(name) is wrapper:
                    ns[name] = original
            _SCRIPTED.__call__ = _SCRIPTED_CALL
            while _lift_library:
                _lift_library.pop()._destroy()


def _forwards_own(state) -> bool:
    """Whether a forward's own code outside its layers runs (no layer, recurrent cell, call
    the catcher passed on, hook or code of hwsim's)."""
    return state is not None and not (state["calls"] or state["own"] or state["depth"]
                                      or state["cells"] or state["hooks"])


def _running_state():
    """The state of the FunctionCatcher running on this thread (None: none)."""
    states = getattr(_catching, "states", None)
    return states[-1] if states else None


# A TorchScript function (torch.jit.script of a function, torch.jit.trace of one) runs its
# ops in TorchScript, where no mode sees them: one called in a forward was free (h227).  While
# a FunctionCatcher runs, calling one in a forward's own code is refused in one line.
_SCRIPTED = torch.jit.ScriptFunction
_SCRIPTED_CALL = _SCRIPTED.__call__


def _scripted_call(self, *args, **kwargs):
    if _forwards_own(_running_state()):
        raise Refusal(f"hwsim cannot price TorchScript function {self.name!r} called in a "
                      f"forward: its ops run in TorchScript, where hwsim does not see them "
                      f"(call the Python function it was made from)")
    return _SCRIPTED_CALL(self, *args, **kwargs)


def _lifted(t: torch.Tensor) -> torch.Tensor:
    """aten::lift_fresh (host values made a tensor), as it is (the tensor itself), and, in a
    forward's own code outside its layers on a thread where a FunctionCatcher runs and
    outside any call that catcher sees (``calls``: that call's op counts it) or hwsim's own
    code, the host copy it makes (``hwsim.copies.host_op``)."""
    state = _running_state()
    if _forwards_own(state):
        with own_code(state):
            state["acts"].append((state["order"], host_op(f"copy#{len(state['acts'])}", t)))
            state["order"] += 1
    return t


@contextlib.contextmanager
def own_code(state: dict):
    """hwsim's own code running inside extract()'s forward pass (a hook, the function mode's
    work around the call it passes on).  An error raised in it is a fault of hwsim's, not of
    the model: the first is kept in ``state["internal"]`` and extract() raises it with its
    traceback, whatever the model's frames it passes through make of it.  The model's own
    errors (a wrong input width, a module called with the wrong arguments) are raised
    outside these blocks and told in one line.  An error raised in a torch function that
    hwsim's code called (a reshape in an op's arithmetic) passes through the function
    mode's ``_call_user`` too: it was told as the model's ('model Sequential does not
    accept input shape (4,): shape '[7, 7]' is invalid ...'), its traceback dropped, and
    the innermost hwsim frame of a traceback could not tell it from the model's.  A
    refusal (``UserError``: ``Refusal``) is hwsim's answer, not a fault.  While it runs,
    host values it makes a tensor are no copy of the model's (``_lifted``: ``own``)."""
    state["own"] = state.get("own", 0) + 1
    try:
        yield
    except UserError:
        raise
    except Exception as e:
        state.setdefault("internal", e)
        raise
    finally:
        state["own"] -= 1


def begin(state: dict) -> None:
    """A FunctionCatcher of ``state`` starts on this thread: the constructors wrapped, the
    lift kernel registered (at the first one running), its state the thread's."""
    _unseen_constructors(+1)
    _catching.__dict__.setdefault("states", []).append(state)


def end() -> None:
    """The FunctionCatcher last begun on this thread ends (torch's own back after the last)."""
    try:
        _catching.states.pop()
    finally:
        _unseen_constructors(-1)
