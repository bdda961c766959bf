"""What a user of ``nnsynth search`` meets at the edges (helper 205)."""
import pytest

from search.results import append_result
from search.run import SearchConfig, summarize
from synth.errors import UserError
from tests.search.test_asha_stopped import _row


def _finished_without_models(tmp_path):
    append_result(tmp_path / "results.parquet", _row("a", 0.5, str(tmp_path / "models/a.pt")))


def test_a_finished_search_whose_best_model_is_gone_is_one_line(tmp_path):
    """models/ deleted by hand: the summary (of --resume, or at the end) copied best.pt from
    the missing file, a FileNotFoundError traceback."""
    _finished_without_models(tmp_path)
    with pytest.raises(UserError, match=r"best trial a .*/models/a\.pt, which is gone"):
        summarize(tmp_path, SearchConfig(dataset="digits", hardware=False, trials=1))


def test_the_command_exits_2(tmp_path, monkeypatch):
    from click.testing import CliRunner
    import search.run
    from deploy.cli.main import cli
    _finished_without_models(tmp_path)
    monkeypatch.setattr(search.run, "run_search",
                        lambda config, out, **kw: summarize(tmp_path, config))
    r = CliRunner().invoke(cli, ["search", "--out", str(tmp_path), "--no-hardware",
                                 "--trials", "1", "--space", "mlp"])
    assert r.exit_code == 2 and "which is gone" in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_a_bad_constraint_in_a_space_file_names_the_file_and_entry(tmp_path):
    """'constraint 'speed<=3': metric 'speed' unknown' did not say that it came from the
    space file (a --constraint given on the command line reads the same)."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    space = tmp_path / "s.yaml"
    space.write_text("family: mlp\nparams:\n  hidden: {list: [8], length: [1, 2]}\n"
                     "constraints: ['parameters<=5000', speed<=3]\n")
    r = CliRunner().invoke(cli, ["search", "--space", str(space), "--dataset", "iris",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert r.output.strip() == ("error: s.yaml.constraints[1]: constraint 'speed<=3': metric "
                                "'speed' unknown; known: parameters, flops, latency_ms, "
                                "energy_mj"), r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name, text, said", [
    ("s.json", '{"family": "mlp",', "error: s.json is not valid JSON (line 2); expected a "
                                    "mapping of named choices"),
    ("s.yaml", "family: mlp\nparams: {hidden: [\n", "error: s.yaml is not valid YAML (line "),
    ("s.yaml", "", "error: space file s.yaml is empty: give a mapping of named choices"),
    ("s.yaml", "# a comment\n", "error: space file s.yaml is empty"),
])
def test_a_malformed_space_file_says_what_it_is_not(tmp_path, monkeypatch, name, text, said):
    """A .json space file was 'not valid YAML', and an empty one 'must be a mapping of named
    choices ..., got NoneType'."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    r = CliRunner().invoke(cli, ["search", "--space", name, "--dataset", "iris",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and r.output.startswith(said), r.output
    assert len(r.output.strip().splitlines()) == 1
