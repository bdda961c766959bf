"""hwsim: hardware cost models for candidate networks (pure functions, no Ray, no I/O).

``price(model, input_shape)`` is the one call the search and the pipeline need: it extracts
the workload once and prices it on the analytical accelerator (and SPRING on request).
"""
from __future__ import annotations

from typing import Any, Mapping

from hwsim import accel, gpu, spring, workload
from hwsim.accel import AcceleratorConfig
from hwsim.recurrent import traced_steps_note
from hwsim.spring import SpringConfig
from hwsim.workload import Op, build_priced, extract

__all__ = ["AcceleratorConfig", "Op", "SPARSITY_MACS", "SPARSITY_SAMPLES", "SpringConfig",
           "accel", "accel_cost", "build_priced", "dense_note", "extract", "gpu",
           "latency_cost", "price", "price_report", "price_layers", "price_ops", "serial_note",
           "share_text", "sparsity_sample_size", "spring", "spring_config_for",
           "with_sparsity", "workload", "zero_weights"]


def accel_config(accel_cfg: Any) -> AcceleratorConfig:
    if accel_cfg is None:
        return AcceleratorConfig()
    if isinstance(accel_cfg, AcceleratorConfig):
        return accel_cfg
    if isinstance(accel_cfg, Mapping):
        return AcceleratorConfig.from_dict(accel_cfg, where="accel")
    from synth.errors import ConfigError
    raise ConfigError(f"accel must be an AcceleratorConfig or a dict, got {type(accel_cfg).__name__}")


def stored_weight_bytes(ops) -> int:
    """Weight bytes the model stores (fp32): each weight tensor once, a decoder tied to its
    embedding counted once (it was twice; ``workload.unique_weights``), a Parameter an op
    reads as an input (a position embedding added) too (``workload.stored_weights``)."""
    return int(sum(n for n, _ in workload.stored_weights(ops)))


def price_ops(ops, accel_cfg=None, spring_cfg: Any = False) -> dict:
    """Price an extracted workload: latency_ms, energy_mj, cycles, area_mm2, utilization,
    macs, dram_bytes on the accelerator; with ``spring_cfg`` (True or a SpringConfig/dict) also
    spring_latency_ms, spring_energy_mj, spring_power_w (inference, batch as extracted)."""
    cfg = accel_config(accel_cfg)
    res = accel.evaluate_many(ops, [cfg])
    out = {k: float(v[0]) for k, v in res.items()}
    out["macs"] = int(sum(o.macs for o in ops))
    out["weight_bytes"] = stored_weight_bytes(ops)
    if spring_cfg is not False and spring_cfg is not None:
        s = spring.evaluate(ops, spring_config(spring_cfg), "inference", chunks=True)
        out.update(spring_latency_ms=s["latency_ms"], spring_energy_mj=s["energy_mj"],
                   spring_power_w=s["power_w"])
    return out


def spring_config(spring_cfg: Any) -> SpringConfig:
    """``price_ops``' ``spring_cfg`` (True, a SpringConfig or a dict of its fields) as a
    SpringConfig."""
    if spring_cfg is True:
        return SpringConfig()
    if isinstance(spring_cfg, SpringConfig):
        return spring_cfg
    return SpringConfig.from_dict(spring_cfg, where="spring")


def price_report(model, input_shape, accel_cfg=None, *, batch: int = 1,
                 spring: bool = False, sample=None, sample_from: str | None = None,
                 inputs=None) -> dict:
    """``nnsynth hwsim eval``'s report: accelerator totals and per-layer rows and, with
    ``spring``, SPRING inference and training against the GPU roofline.  A checkpoint trained
    in fixed point (``synth.quant.checkpoint_quant``) is priced on SPRING at its precision.

    SPRING skips zero activations, so its figures depend on the inputs: ``sample`` (real
    samples of ``input_shape``, e.g. a bounded part of the checkpoint's test split,
    ``sparsity_sample_size``) is what every op's activation sparsity is measured on, and
    ``sample_from`` says what they are (``spring_sparsity_inputs`` of the report); None: a
    seeded N(0, 1) batch (``extract``), said so.  The accelerator model is dense: its figures
    do not depend on the inputs.  Where the workload has per-step GEMMs (a recurrent layer)
    ``serial_note`` says what their cycles are (``serial_note`` of the report).  ``inputs``:
    the batch the workload is extracted on (a language model's token ids, which a random
    N(0, 1) batch cannot be); None: ``extract``'s seeded one of ``batch`` samples."""
    from hwsim import spring as spring_mod
    ops = extract(model, input_shape, batch=batch, inputs=inputs)
    cfg = accel_config(accel_cfg)
    res = accel.evaluate(ops, cfg)
    out = {"input_shape": list(input_shape), "batch": batch,
           **{k: v for k, v in res.items() if k not in ("layers", "config")},
           "config": res["config"], "layers": res["layers"]}
    zeros = zero_weights(ops)
    if zeros:   # a pruned model: its accelerator figures are its dense architecture's
        out.update(zero_weights=zeros, note=dense_note(ops))
    serial = serial_note(ops, res, cfg)
    if serial:
        out["serial_note"] = serial
    if not spring:
        return out
    if sample is not None:
        ops = with_sparsity(ops, extract(model, input_shape, inputs=sample))
        out["spring_sparsity_inputs"] = sample_from or f"{len(sample):,} given samples"
    else:
        out["spring_sparsity_inputs"] = (f"a seeded N(0, 1) random batch of {batch:,} "
                                         f"sample{'s' * (batch != 1)}"
                                         + (f" ({sample_from})" if sample_from else ""))
    traced = traced_steps_note(ops)   # a long sequence's steps beyond the traced ones
    if traced:
        out["spring_steps_note"] = traced
    spring_cfg = spring_config_for(model)
    out["spring_precision"] = f"{spring_cfg.int_bits}.{spring_cfg.frac_bits}"
    for mode in ("inference", "training"):
        cmp = spring_mod.compare(ops, spring_cfg, mode=mode, chunks=True)
        out[f"spring_{mode}"] = {k: cmp["spring"][k] for k in
                                 ("latency_ms", "energy_mj", "power_w", "skipped_fraction")}
        out[f"spring_{mode}"].update(speedup_vs_gpu=cmp["speedup"],
                                     power_reduction_vs_gpu=cmp["power_reduction"],
                                     energy_efficiency_vs_gpu=cmp["energy_efficiency"])
    return out


# the real samples ``hwsim eval --spring`` measures activation sparsity on: at most
# SPARSITY_SAMPLES of them, and at most SPARSITY_MACS multiply-accumulates of forward pass
# (about a second of one CPU; ``hwsim.workload.sample_work``) and MAX_BATCH_VALUES input values
SPARSITY_SAMPLES = 64
SPARSITY_MACS = 1 << 30


def sparsity_sample_size(model, input_shape, available: int) -> int:
    """How many of ``available`` real samples to measure activation sparsity on (at least one):
    bounded in time and memory by ``SPARSITY_SAMPLES``, ``SPARSITY_MACS`` and
    ``workload.MAX_BATCH_VALUES``, and by extract's own work limits."""
    import math
    n = min(SPARSITY_SAMPLES, int(available),
            max(1, workload.MAX_BATCH_VALUES // max(1, math.prod(input_shape))))
    work = workload.sample_work(model, tuple(input_shape))
    if work is not None:
        macs, largest = work
        n = min(n, SPARSITY_MACS // max(1, macs),
                workload.MAX_ACTIVATION_VALUES // max(1, largest))
    return max(1, n)


def with_sparsity(ops, measured) -> list:
    """``ops`` with each op's activation sparsity that of the op of the same name and type in
    ``measured`` (the same model extracted on other inputs: the accelerator figures of
    ``ops``' batch, SPRING's zero-skipping measured on ``measured``'s samples); an op with
    no counterpart keeps its own."""
    import dataclasses
    seen = {}
    for op in measured:
        seen.setdefault((op.name, op.type), op.act_sparsity)
    return [dataclasses.replace(op, act_sparsity=seen.get((op.name, op.type), op.act_sparsity))
            for op in ops]


def serial_note(ops, res: dict, cfg: AcceleratorConfig) -> str | None:
    """A line saying what a workload's per-step GEMMs cost on the accelerator model, None
    where it has none.  A recurrent layer runs its per-step GEMMs one after another (step
    t + 1 reads h_t, ``accel.serial_steps``), each a GEMM of batch rows, and the array
    prices each as SCALE-Sim does (``accel.gemm_compute_cycles``: per fold of R rows x C
    columns, R cycles of weight load and R + C + rows - 2 of fill and drain), whatever part
    of the array it uses: a GEMM of 1 x 28 x 8 takes 94 cycles on 32 x 32 ws, as one of
    1 x 32 x 32 does.  The model fuses no GEMMs: each Linear call is one (an H-LSTM's four
    gate networks are eight GEMMs a step, Dai et al. 1805.11797 Eq. 1-4; an LSTM's gates,
    one matrix, one), so a layer's time is its steps x its GEMMs' folds, not its MACs."""
    import numpy as np
    rec = [(i, o) for i, o in enumerate(ops) if o.type in accel.RECURRENT_TYPES
           and o.type in workload.GEMM_TYPES and o.gemm[0] > 0]
    if not rec:
        return None
    df = accel.DATAFLOWS.index(cfg.dataflow)
    step = sum(float(np.asarray(accel.gemm_compute_cycles(
        o.gemm[0], o.gemm[1], o.gemm[2], cfg.rows, cfg.cols, df)))
        * (o.groups // accel.serial_steps(o)) for _, o in rec)
    steps = max(accel.serial_steps(o) for _, o in rec)
    cycles = sum(res["layers"][i]["cycles"] for i, _ in rec)
    macs = sum(o.macs for _, o in rec)
    gemms = sum(o.groups // accel.serial_steps(o) for _, o in rec)
    return (f"{gemms} GEMM{'s' * (gemms != 1)} a step, the steps one after another (step "
            f"t+1 reads h_t; {steps:,} step{'s' * (steps != 1)}), each GEMM at least one fold "
            f"of the {cfg.rows}x{cfg.cols} array (its weight load, fill and drain) whatever "
            f"its size: {step:,.0f} cycles a step, {cycles:,.0f} of the "
            f"{res['cycles']:,.0f} cycles for "
            f"{macs:,} MACs, utilization {share_text(macs, int(cycles * cfg.rows * cfg.cols))}"
            f"; each Linear call is its own GEMM (none fused: an H-LSTM's four gate networks"
            f" are eight a step, an LSTM's gates one)")


def zero_weights(ops) -> int:
    """Weights of the workload's ops that are exactly zero (each stored tensor once): the
    ops' own (``dense_note``: the accelerator multiplies them), not a Parameter an op reads
    as an input (``Op.stored_reads``: a class token of zeros is no zero weight multiplied)."""
    return int(round(sum(o.weight_elems * o.weight_sparsity
                         for o in workload.unique_weights(ops))))


def share_text(part: int, total: int) -> str:
    """``part / total`` as a percentage that is 0% or 100% only when it is: one weight of
    2,400 that a fixed-point training rounded to zero read '1 zero weights (0% of 2,400)'
    (h250); shares under 1% or over 99% get two decimals (0.04%, 99.96%)."""
    share = part / max(1, total)
    return f"{share:.2%}" if 0 < share < 0.01 or 0.99 < share < 1 else f"{share:.0%}"


def dense_note(ops, spring: str = "SPRING (--spring)") -> str | None:
    """The line for a workload with zero weights priced on the accelerator model, which is a
    dense array (``hwsim.accel``: it multiplies a zero as any weight); None without zeros.
    A 75%-pruned model costs there what its dense architecture costs; SPRING skips zeros.
    ``spring``: how the command at hand prices on SPRING (``hwsim eval``'s --spring)."""
    zeros = zero_weights(ops)
    if not zeros:
        return None
    total = sum(o.weight_elems for o in workload.unique_weights(ops))
    return (f"the accelerator model is a dense array: it multiplies the model's {zeros:,} "
            f"zero weight{'s' * (zeros != 1)} ({share_text(zeros, total)} of {total:,}) as any "
            f"other, so its cycles, "
            f"latency and energy are those of the dense architecture; {spring} "
            f"skips zeros and prices the sparsity")


def accel_cost(model, input_shape, *, spring: str = "SPRING") -> dict:
    """``price(model, input_shape)`` on the accelerator model, with ``zero_weights`` and
    ``dense_note``'s ``note`` (``spring`` its remedy's wording) where the model has zero
    weights, and ``serial_note``'s (joined by '; ') where it has per-step GEMMs: the cost
    of a model as a command reports it (DiabDeep's accel column)."""
    ops = extract(model, input_shape)
    out = price_ops(ops)
    zeros = zero_weights(ops)
    if zeros:
        out.update(zero_weights=zeros)
    # a recurrent model's per-step GEMMs (``serial_note``): an H-LSTM of 38k MACs priced
    # 3.7x an LSTM of 52k (DiabDeep's table, h291) without a word on why
    cfg = AcceleratorConfig()
    notes = [dense_note(ops, spring), serial_note(ops, accel.evaluate(ops, cfg), cfg)]
    if any(notes):
        out["note"] = "; ".join(n for n in notes if n)
    return out


def spring_config_for(model) -> SpringConfig:
    """SPRING at the fixed point a checkpoint was trained in (``synth.quant.checkpoint_quant``),
    SPRING's own 4.16 for a model trained in fp32: every SPRING price of a model (``hwsim eval
    --spring`` and ``hwsim table --device spring``) uses the same precision."""
    from synth.quant import checkpoint_quant
    quant = checkpoint_quant(model)
    return SpringConfig(**({"int_bits": quant.int_bits, "frac_bits": quant.frac_bits}
                           if quant else {}))


def latency_cost(model) -> float:
    """A cost function (``synth.dfprune.prune``'s ``cost_fn``): the model's latency on the
    default accelerator, ms per image."""
    return float(price(model, model.input_shape)["latency_ms"])


def price(model, input_shape, accel=None, spring=False, *, batch: int = 1, inputs=None) -> dict:
    """Hardware cost of ``model`` (dense, masked or compacted nn.Module) on one batch of
    ``input_shape``: latency_ms, energy_mj, cycles, area_mm2 (+ spring_* when spring)."""
    ops = extract(model, input_shape, batch=batch, inputs=inputs)
    return price_ops(ops, accel, spring)


def price_layers(ops, accel_cfg=None, spring_cfg: Any = False, cache: dict | None = None) -> dict:
    """``price_ops`` computed layer by layer with a memo ``cache`` (op key, config) -> costs.

    Every accelerator total is a sum over ops of per-op cycles, pJ and bytes
    (``accel.layer_costs``), so the cached layers' costs, stacked in the workload's order
    and summed as ``price_ops`` sums them (``accel.summed_totals``, ``accel.layer_sum``),
    give its figures to the bit; a repeated layer costs a dict lookup.  (The sums were of
    per-op ms and mJ: the pool's trials differed from ``hwsim eval`` in the last digit,
    0.039178000000000004 ms against 0.039178, h297.)  SPRING's price is the network's (its
    schedule runs the whole network per chunk, ``hwsim.spring.evaluate``, and its static
    energy follows the whole latency): computed once on all the ops, as ``price_ops``
    computes it."""
    import numpy as np
    cfg = accel_config(accel_cfg)
    cache = {} if cache is None else cache
    ckey = tuple(sorted(cfg.to_dict().items()))
    per_op = []
    for op in ops:
        key = (op.key(), ckey)
        one = cache.get(key)
        if one is None:
            one = cache[key] = accel.layer_costs([op], cfg)
        per_op.append(one)
    costs = {n: (np.concatenate([one[n] for one in per_op], axis=0) if per_op
                 else np.zeros((0, 1))) for n in accel.SUMMED}
    macs = int(sum(o.macs for o in ops))
    total = accel.summed_totals(costs, macs, cfg)
    total["macs"], total["weight_bytes"] = macs, stored_weight_bytes(ops)
    if spring_cfg is not False and spring_cfg is not None:
        s = spring.evaluate(ops, spring_config(spring_cfg), "inference", chunks=True)
        total.update(spring_latency_ms=s["latency_ms"], spring_energy_mj=s["energy_mj"],
                     spring_power_w=s["power_w"])
    return total
