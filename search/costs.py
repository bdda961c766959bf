"""Resource costs of a candidate spec, cached: parameters, FLOPs (MACs) and, when asked,
latency and energy from hwsim's analytical tables (Chameleon, arXiv 1812.08934, Sec. 4:
resource predictors from per-operator tables, not measurements of the candidate).

A spec that does not build for the input shape (e.g. a feature map that shrinks to 1x1
under BatchNorm) is infeasible: ``costs`` returns None and the searchers skip it.  So is a
strided convnet that does not read its input (``blind_spot``: a first layer of kernel 1 at
stride 2 reads a pixel in four): ``CostModel.sees`` and ``feasible`` refuse it, for the
input shape of the search; the space itself (its members, encoding and features) is
unchanged.  A
constraint on latency or energy makes ``feasible`` price the candidate on hwsim, whether or
not the model was made with ``hardware`` (the same figures the hwsim pool reports for a
trial: the analytical accelerator depends on the layer shapes only), on the model's
``accel`` (the search's accelerator).
"""
from __future__ import annotations


from search.predictors import single_thread
from search.space import HARDWARE_METRICS, Constraint, spec_key
from synth.errors import UserError
from synth.models import count_flops, count_parameters


# --------------------------------------------------------------------------- input coverage
# Families whose layers are convolutions of per-layer ``kernels`` and ``strides`` padded by
# k // 2 (synth.models.convnet, convnet1d): what of the input a member reads follows from those
STRIDED_FAMILIES = ("convnet", "convnet1d")
MIN_READ = 0.75     # the least fraction of the input's positions a member must read


def read_positions(size: int, kernels, strides) -> list[bool]:
    """Which of the ``size`` input positions along one axis reach the output of a stack of
    convolutions of ``kernels`` and ``strides`` (padding k // 2; global pooling or flatten
    after them reads every output position): output o of a layer reads its input positions
    o*s - k//2 ... o*s - k//2 + k - 1, traced back from the last layer's outputs."""
    sizes = [int(size)]
    for k, s in zip(kernels, strides):
        sizes.append((sizes[-1] + 2 * (k // 2) - k) // s + 1)
    read = [True] * sizes[-1]
    for (k, s), n in zip(reversed(list(zip(kernels, strides))), reversed(sizes[:-1])):
        below = [False] * n
        for o, used in enumerate(read):
            if used:
                for i in range(max(0, o * s - k // 2), min(n, o * s - k // 2 + k)):
                    below[i] = True
        read = below
    return read


def _positions(indices: list[int]) -> str:
    """'1, 3, 5, 7' or '1-7' (a run), for a one-line reason."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    text = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
    return text if len(text) <= 60 else text[:57].rsplit(",", 1)[0] + ", ..."


def blind_spot(spec: dict, input_shape) -> str | None:
    """Why a member of a strided convolution family (``STRIDED_FAMILIES``) does not see its
    input of ``input_shape`` (C, H, W) or (C, L), or None when it does.  A member sees it when,
    along every spatial axis, the positions its layers read are contiguous (no row or column
    skipped between two that are read: only a strip at the far edge, where the deepest
    layer's stride lattice ends before the input, may be unread) and they make at least
    ``MIN_READ`` of the input's positions.  A first layer of kernel 1 at stride 2 read one
    pixel in four of digits' 8x8 (rows and columns 1, 3, 5, 7 never), and such a searched
    convnet predicted one class for every test input (10.0%); three layers of kernel 1 at
    stride 2 read one pixel of 64.  Members that lose only an edge strip are kept (kernels
    [5, 1] at strides [2, 2] leave digits' last row and column unread: 49 of 64; mnist's
    28x28, whose outer rows are blank, loses at most 3 rows a side so).  Other families,
    and specs whose kernels or strides are not lists of positive integers (the build says
    why), are None."""
    if not isinstance(spec, dict) or spec.get("family") not in STRIDED_FAMILIES:
        return None
    kernels, strides = spec.get("kernels"), spec.get("strides")
    if not (isinstance(kernels, list) and isinstance(strides, list) and kernels
            and len(kernels) == len(strides)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                    for v in [*kernels, *strides])):
        return None
    sides = [int(n) for n in tuple(input_shape)[1:]]
    if not sides or any(n < 1 for n in sides):
        return None
    read, total, holes = 1, 1, []
    for axis, n in enumerate(sides):
        seen = read_positions(n, kernels, strides)
        count = sum(seen)
        read, total = read * count, total * n
        if count < n and not all(seen[:count]):   # a skipped position between read ones
            holes.append((axis, n, [i for i, v in enumerate(seen) if not v]))
    if not holes and read >= MIN_READ * total:
        return None
    what = "skipped between read ones" if holes else "unread at the edge"
    if not holes:
        holes = [(a, n, [i for i, v in enumerate(read_positions(n, kernels, strides)) if not v])
                 for a, n in enumerate(sides)]
    axis, n, unread = next(h for h in holes if h[2])
    names = ("rows", "columns") if len(sides) == 2 else ("steps",) if len(sides) == 1 else ()
    name = names[axis] if axis < len(names) else f"positions along axis {axis + 1}"
    unit = "pixels" if len(sides) == 2 else "steps" if len(sides) == 1 else "positions"
    return (f"kernels {kernels} at strides {strides} read {read} of the {total} input {unit} "
            f"of {'x'.join(map(str, sides))} ({name} {_positions(unread)} of {n} {what}; a "
            f"member must read, without gaps, at least {MIN_READ:.0%} of its input)")


def reads_input(cost_model, spec: dict) -> bool:
    """Whether ``cost_model`` lets ``spec`` read its input (``CostModel.blind_spot``); a cost
    model of ``costs`` and ``feasible`` only (a table's, a formula's) judges nothing here."""
    check = getattr(cost_model, "blind_spot", None)
    return check is None or check(spec) is None


class CostModel:
    """``costs(spec) -> dict | None`` with parameters, flops and (``hardware``) latency_ms,
    energy_mj; cached by spec so the searchers can price thousands of candidates.
    ``sees(spec)``: the member reads its input (``blind_spot``); ``feasible`` asks it.
    ``accel``: the hwsim AcceleratorConfig (or its dict; None: the default array) latency and
    energy are priced on -- the search's (``SearchConfig.accel``), so that a bound is checked
    on the accelerator its trials are priced and reported on."""

    def __init__(self, input_shape, num_classes: int, hardware: bool = False, accel=None):
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)
        self.hardware = hardware
        self.accel = dict(accel) if accel else None
        self._cache: dict[str, dict | None] = {}
        self._blind: dict[str, str | None] = {}

    def blind_spot(self, spec: dict) -> str | None:
        """``blind_spot(spec, input_shape)``, cached by spec."""
        key = spec_key(spec)
        if key not in self._blind:
            self._blind[key] = blind_spot(spec, self.input_shape)
        return self._blind[key]

    def sees(self, spec: dict) -> bool:
        """Whether ``spec`` builds for the input and reads it (``blind_spot``): what a
        searcher may propose, whatever the constraints."""
        return self.blind_spot(spec) is None and self.costs(spec) is not None

    def costs(self, spec: dict, hardware: bool | None = None) -> dict | None:
        """Parameters and FLOPs; with ``hardware`` (default: the model's setting) also
        latency_ms and energy_mj."""
        hardware = self.hardware if hardware is None else hardware
        key = spec_key(spec)
        if key not in self._cache:
            self._cache[key] = self._measure(spec, hardware)
        out = self._cache[key]
        if out is not None and hardware and "latency_ms" not in out:  # primed, or asked late
            out.update(self._measure(spec, True) or {})
        return out

    def _measure(self, spec: dict, hardware: bool) -> dict | None:
        # One thread: tiny models only contend on more (50 ms vs ~1 s per spec here).
        # hwsim.build_priced: the weights every pricer of a spec prices, no one's random
        # stream shifted.
        import hwsim
        try:
            with single_thread():
                model = hwsim.build_priced(spec, self.input_shape, self.num_classes)
                out = {"parameters": count_parameters(model),
                       "flops": count_flops(model, self.input_shape)}
                if hardware:
                    price = hwsim.price(model, self.input_shape, self.accel)
                    out.update(latency_ms=float(price["latency_ms"]),
                               energy_mj=float(price["energy_mj"]))
        except (UserError, ValueError):  # ValueError: BatchNorm on a 1x1 map, batch 1
            return None
        return out

    def prime(self, spec: dict, costs: dict) -> None:
        """Use known costs for ``spec`` (e.g. from a lookup table) instead of building it."""
        self._cache[spec_key(spec)] = dict(costs)

    def feasible(self, spec: dict, constraints: list[Constraint]) -> bool:
        """Buildable, reading its input (``sees``) and within every constraint (priced on
        hwsim when one asks for it)."""
        if self.blind_spot(spec) is not None:
            return False
        hardware = any(c.metric in HARDWARE_METRICS for c in constraints)
        costs = self.costs(spec, hardware=hardware or None)
        return costs is not None and all(c.ok(costs) for c in constraints)


# --------------------------------------------------------------------------- extremes
SMALL_SPACE = 128   # members priced one by one; a larger space is searched per parameter


def _group_options(group: list) -> list[dict]:
    """The values a cost extreme is looked for among, for one group of a space (a parameter,
    or a list with the lists tied to its length): a choice's every value, a range's ends, a
    list at its shortest and longest with every slot at its first or last choice."""
    from search.space import Choice, Range
    lead = group[0]
    if isinstance(lead, Choice):
        return [{lead.name: c} for c in lead.choices]
    if isinstance(lead, Range):
        ends = (int(lead.low), int(lead.high)) if lead.integer else (lead.low, lead.high)
        return [{lead.name: v} for v in dict.fromkeys(ends)]
    import itertools
    return [{p.name: [p.choices[i]] * n for p, i in zip(group, ends)}
            for n in dict.fromkeys((lead.min_len, lead.max_len))
            for ends in itertools.product((0, -1), repeat=len(group))]


def cost_extreme(space, cost_model: CostModel, metric: str, highest: bool,
                 seed: int = 0, passes: int = 4, starts: int = 32) -> tuple[float, dict] | None:
    """(figure, spec): the member of ``space`` with the highest (or lowest) ``metric`` that
    could be found, priced as a searcher prices it (``cost_model``; latency and energy on
    hwsim); None when no member tried builds.  A space of at most ``SMALL_SPACE`` members is
    priced whole; a larger one by coordinate search from the most extreme of ``starts``
    random members: each parameter in turn (its condition holding) set to each of its
    extreme values (``_group_options``), the best kept, up to ``passes`` times.  Costs grow with widths, depths
    and lengths in every built-in family, so the search meets the ends of the space; a
    figure it misses is one less bound refused, never a bound refused that a member meets."""
    import numpy as np
    hardware = metric in HARDWARE_METRICS
    sign = 1.0 if highest else -1.0

    def price(spec: dict) -> float | None:
        if not reads_input(cost_model, spec):   # never proposed: no extreme
            return None
        costs = cost_model.costs(spec, hardware=hardware or None)
        value = None if costs is None else costs.get(metric)
        return None if value is None else float(value)

    best: tuple[float, dict] | None = None

    def consider(spec: dict) -> bool:
        nonlocal best
        value = price(spec)
        if value is not None and (best is None or sign * value > sign * best[0]):
            best = (value, spec)
            return True
        return False

    members = space.members(SMALL_SPACE)
    if members is not None:
        for spec in members:
            consider(spec)
        return best
    rng = np.random.default_rng(seed)
    values = None
    for _ in range(starts):   # the start: the most extreme of random members
        drawn = space._repair({}, rng)
        if consider(space.complete(drawn)):
            values = drawn
    if values is None:
        return None
    for _ in range(passes):
        moved = False
        for group in space._groups():
            if not space._active(group[0], values):
                continue
            for option in _group_options(group):
                trial = space._repair({**values, **option}, rng)
                if consider(space.complete(trial)):
                    values, moved = trial, True
        if not moved:
            break
    return best


# --------------------------------------------------------------------------- few members meet
def seek_feasible(space, cost_model: CostModel, constraints, ok, rng, n: int,
                  exclude: set[str], bases=(), budget: int = 64, starts: int = 4,
                  mutations: int = 4) -> list[dict]:
    """Up to ``n`` distinct members of ``space`` within ``constraints`` (priced by
    ``cost_model``) for which ``ok`` holds, none in ``exclude``: for bounds that so few
    members meet that random draws miss them (tiny's convnet space on mnist has ~0.35% of
    members over 2M parameters: 40 draws found none, and every searcher proposed nothing).

    Each of ``bases`` that is feasible (a searcher's recent proposals) is walked from; with
    none, a feasible member is searched for by descent on the constraints' violation (Deb's,
    ``search.feasibility.violation``): from the least violating of ``starts`` random members,
    each parameter in turn (in random order) set to each of its extreme values (as
    ``cost_extreme`` moves toward a cost's end) and ``mutations`` random edits, the least
    violating kept, until none is violated -- stopping at the bound, not at the space's end
    -- or nothing improves (then again from new random members).  A random walk of feasible
    edits (``Space.mutate``) from the feasible members found gives the others.  At most
    ``budget`` members are priced per call (~75 ms each for a convnet on one core): a bound
    no member meets costs that much, once."""
    import math

    from search.feasibility import violation
    hardware = any(c.metric in HARDWARE_METRICS for c in constraints)
    priced: dict[str, float] = {}     # spec key -> violation (inf: does not build)
    out: list[dict] = []
    taken = set(exclude)
    found: dict[str, dict] = {}       # feasible members (seen ones too): walked from

    def violated(spec: dict) -> float | None:
        """The spec's violation; None once ``budget`` members were priced."""
        key = spec_key(spec)
        if key not in priced:
            if len(priced) >= budget:
                return None
            costs = (cost_model.costs(spec, hardware=hardware or None)
                     if reads_input(cost_model, spec) else None)
            priced[key] = math.inf if costs is None else violation(constraints, costs)
        return priced[key]

    def keep(spec: dict) -> bool:
        """Record a member of no violation that ``ok`` takes (proposed unless seen)."""
        key = spec_key(spec)
        if priced.get(key) != 0 or not ok(spec):
            return False
        found.setdefault(key, spec)
        if key not in taken and len(out) < n:
            taken.add(key)
            out.append(spec)
        return True

    def descend() -> bool:
        """One descent from random members; False once the budget is spent."""
        best = None
        for _ in range(starts):
            spec = space.sample(rng)
            v = violated(spec)
            if v is None:
                return False
            if keep(spec):
                return True
            if v < math.inf and (best is None or v < best[0]):
                best = (v, spec)
        if best is None:
            return True                       # nothing built: new starts next time
        v, spec = best
        values = space.active_values(spec)
        groups = space._groups()
        while v > 0:
            moved = False
            for i in [*rng.permutation(len(groups)), None]:   # None: random edits
                if v == 0:
                    break
                if i is None:
                    edits = [space.active_values(space.mutate(spec, rng))
                             for _ in range(mutations)]
                elif space._active(groups[i][0], values):
                    edits = [space._repair({**values, **option}, rng)
                             for option in _group_options(groups[i])]
                else:
                    continue
                step = None
                for trial in edits:           # each group from where the last one moved
                    candidate = space.complete(trial)
                    w = violated(candidate)
                    if w is None:
                        return False
                    if w < v:
                        v, step = w, (trial, candidate)
                        if w == 0:
                            break
                if step is not None:
                    (values, spec), moved = step, True
            if not moved:
                return True                   # stuck: no edit of an extreme helps
        keep(spec)
        return True

    for spec in bases:
        if violated(spec) is None:
            break
        keep(spec)
    tries = 0
    while len(out) < n and tries < 4 * budget:
        tries += 1
        if not found:
            if not descend():
                break
            continue
        keys = list(found)
        child = space.mutate(found[keys[int(rng.integers(len(keys)))]], rng)
        if rng.random() < 0.5:
            child = space.mutate(child, rng)
        if spec_key(child) in taken or spec_key(child) in priced:
            continue
        if violated(child) is None:
            break
        keep(child)
    return out
