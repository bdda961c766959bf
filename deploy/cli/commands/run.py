"""``nnsynth run [CONFIG]``: teacher -> synthesis -> search -> refine -> export, resumable."""
import click

from deploy.run_config import STAGES

from deploy.cli.options import (address_option, emit, json_option, num_cpus_option,
                                show_progress, stderr_log)


@click.command("run")
@click.argument("config", required=False, default="default")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="Run directory (default: runs/<config name>). Rerun to resume.")
@click.option("--stop-after", type=click.Choice(STAGES), default=None,
              help="Stop after this stage (finished stages are kept; default: run every stage).")
@click.option("--check", is_flag=True, help="Validate the config and exit; no work is done.")
@address_option
@num_cpus_option
@json_option
def command(config, run_dir, stop_after, check, address, num_cpus, as_json):
    """Run the pipeline from CONFIG (a YAML file, or the bundled `default` / `tiny`).

    Every stage writes into one run directory and records itself in ledger.json when it
    finishes; running the same command again skips the finished stages (and finished
    search trials) and resumes the rest."""
    from deploy.pipeline import check_run, default_run_dir, run_pipeline
    from deploy.run_config import load_run_config
    from deploy.stages import check_enabled_stages

    # the stages' option sections too: their errors name the file, as the others do
    cfg = load_run_config(config, {"num_cpus": num_cpus} if num_cpus else None,
                          check=check_enabled_stages)
    if check:       # the real data set is loaded: the models must fit its inputs
        stages = check_run(cfg, progress=show_progress())
        emit({"config": config, "valid": True, "stages": stages,
              "run_dir": str(run_dir or default_run_dir(cfg))}, as_json,
             None if as_json else f"{config}: valid; stages {', '.join(stages)}")
        return
    result = run_pipeline(cfg, run_dir, address=address, progress=show_progress(),
                          log=stderr_log, stop_after=stop_after)
    if as_json:
        emit(result, True)
        return
    # named as the user gave it (search's --out too): the run works in the absolute path
    from synth.files import shown_path
    shown = shown_path(result["run_dir"], result["run_dir"], run_dir or default_run_dir(cfg))
    summary = f"{shown}/summary.md"
    if "final_test_accuracy" in result:
        click.echo(f"final model: test accuracy {result['final_test_accuracy']:.4f}, "
                   f"{result['final_parameters']:,} parameters (teacher "
                   f"{result['teacher_test_accuracy']:.4f}, {result['teacher_parameters']:,})")
        click.echo(f"report: {summary}")
    else:
        click.echo(f"stopped after {stop_after}; run directory: {shown}")
