"""Resource costs of a candidate spec, cached: parameters, FLOPs (MACs) and, when asked,
latency and energy from hwsim's analytical tables (Chameleon, arXiv 1812.08934, Sec. 4:
resource predictors from per-operator tables, not measurements of the candidate).

A spec that does not build for the input shape (e.g. a feature map that shrinks to 1x1
under BatchNorm) is infeasible: ``costs`` returns None and the searchers skip it.  A
constraint on latency or energy makes ``feasible`` price the candidate on hwsim, whether or
not the model was made with ``hardware`` (the same figures the hwsim pool reports for a
trial: the analytical accelerator depends on the layer shapes only).
"""
from __future__ import annotations


from search.predictors import single_thread
from search.space import HARDWARE_METRICS, Constraint, spec_key
from synth.errors import UserError
from synth.models import count_flops, count_parameters


class CostModel:
    """``costs(spec) -> dict | None`` with parameters, flops and (``hardware``) latency_ms,
    energy_mj; cached by spec so the searchers can price thousands of candidates."""

    def __init__(self, input_shape, num_classes: int, hardware: bool = False):
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)
        self.hardware = hardware
        self._cache: dict[str, dict | None] = {}

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
                    price = hwsim.price(model, self.input_shape)
                    out.update(latency_ms=float(price["latency_ms"]),
                               energy_mj=float(price["energy_mj"]))
        except (UserError, ValueError):  # ValueError: BatchNorm on a 1x1 map, batch 1
            return None
        return out

    def prime(self, spec: dict, costs: dict) -> None:
        """Use known costs for ``spec`` (e.g. from a lookup table) instead of building it."""
        self._cache[spec_key(spec)] = dict(costs)

    def feasible(self, spec: dict, constraints: list[Constraint]) -> bool:
        """Buildable and within every constraint (priced on hwsim when one asks for it)."""
        hardware = any(c.metric in HARDWARE_METRICS for c in constraints)
        costs = self.costs(spec, hardware=hardware or None)
        return costs is not None and all(c.ok(costs) for c in constraints)
