"""``nnsynth datasets``: list the registered data sets."""
import click

from deploy.cli.options import emit, json_option


@click.command("datasets")
@json_option
def command(as_json):
    """List the data sets (bundled ones need no download)."""
    from synth.data import list_datasets
    names = list_datasets()
    emit({"datasets": names}, as_json,
         "\n".join(f"{k:16s} {v}" for k, v in sorted(names.items())))
