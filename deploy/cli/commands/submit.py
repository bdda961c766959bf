"""``nnsynth submit [CONFIG] --address http://HOST:8265``: run the pipeline as a Ray job."""
import sys

import click

from deploy.cli.options import emit, json_option


@click.command("submit")
@click.argument("config", required=False, default="default")
@click.option("--address", required=True, envvar="RAY_DASHBOARD_ADDRESS",
              help="The cluster's dashboard URL, e.g. http://127.0.0.1:8265.")
@click.option("--run-dir", default=None,
              help="Run directory on the cluster (shared storage on a multi-node cluster).")
@click.option("--no-follow", is_flag=True, help="Return after submitting; do not stream logs.")
@json_option
def command(config, address, run_dir, no_follow, as_json):
    """Submit `nnsynth run CONFIG` with this project as the job's working_dir, stream its
    logs and exit with the job's status (0 when it succeeded)."""
    from deploy.submit import submit_run

    echo = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    result = submit_run(config, address, run_dir=run_dir, follow=not no_follow, echo=echo)
    emit(result, as_json, None if as_json else f"job {result['job_id']}: {result['status']}")
    if result["exit_code"]:
        sys.exit(result["exit_code"])
