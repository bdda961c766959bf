"""``nnsynth models``: list model families and named variants."""
import json

import click

from deploy.cli.options import emit, json_option


@click.command("models")
@json_option
def command(as_json):
    """List model families and variants (use a variant name or a JSON spec as --model)."""
    from synth.models import list_families, list_variants
    fams, variants = list_families(), list_variants()
    lines = ["families:"] + [f"  {k:10s} {v}" for k, v in sorted(fams.items())]
    lines += ["variants:"] + [f"  {k:16s} {json.dumps(v)}" for k, v in sorted(variants.items())]
    emit({"families": fams, "variants": variants}, as_json, "\n".join(lines))
