"""``shape_on_meta`` (output shapes on the meta device by formula) lives in
``synth.meta_shapes`` since synth.models.build uses it too (synth cannot import hwsim);
hwsim's name for it stays."""
from synth.meta_shapes import shape_on_meta

__all__ = ["shape_on_meta"]
