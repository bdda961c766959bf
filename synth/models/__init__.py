"""Model families built from JSON-able specs: ``build(spec, input_shape, num_classes)``.

Importing this package registers every family (one per file) and the named variants.
"""
from synth.models.registry import (ParameterLimitError, SpecModel, batchnorm_layers, build,
                                   check_in_range, check_input_rank,
                                   check_shape, count_flops, count_parameters, list_families,
                                   list_variants, logits_of, max_parameters, not_built,
                                   prunable_layers,
                                   register_family, register_variant, resolve_spec,
                                   round_units)
from synth.models import convnet, convnet1d, hlstm, lenet5, lm, lstm, mlp, resnet  # noqa: F401,E501  (registration)
from synth.models.hlstm import HLSTMLayer
from synth.models.lstm import LSTMLayer, RecurrentLayer, RecurrentStack

__all__ = ["HLSTMLayer", "LSTMLayer", "ParameterLimitError", "RecurrentLayer", "RecurrentStack",
           "SpecModel", "batchnorm_layers", "build", "check_in_range", "check_input_rank", "check_shape",
           "count_flops", "count_parameters", "max_parameters",
           "list_families", "list_variants", "logits_of", "not_built", "prunable_layers",
           "register_family",
           "register_variant", "resolve_spec", "round_units"]
