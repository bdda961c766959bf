"""Model families built from JSON-able specs: ``build(spec, input_shape, num_classes)``.

Importing this package registers every family (one per file) and the named variants.
"""
from synth.models.registry import (SpecModel, batchnorm_layers, build, check_shape, count_flops,
                                   count_parameters, max_parameters, list_families, list_variants, prunable_layers, register_family,
                                   register_variant, resolve_spec)
from synth.models import convnet, lenet5, mlp, resnet  # noqa: F401  (registration)

__all__ = ["SpecModel", "batchnorm_layers", "build", "check_shape", "max_parameters", "count_flops", "count_parameters",
           "list_families", "list_variants", "prunable_layers", "register_family",
           "register_variant", "resolve_spec"]
