"""Config files and JSON options nested too deep are told so, with the limit (h253).

A YAML config of 50,000 brackets (``"[" * 50000 + "]" * 50000``) was "not valid YAML
(line 1)" (libyaml's own cap of 1,000 levels), a --options of as many "not valid JSON:
nested too deeply" and a model spec likewise, without the limit; 100 levels of block
mappings were read.  Every reader of the user's YAML and JSON shares one check
(``synth.files.check_depth``, ``MAX_CONFIG_DEPTH`` levels of lists and mappings)."""
import time

import pytest

from synth.errors import ConfigError, UserError
from synth.files import MAX_CONFIG_DEPTH, load_json_text, load_yaml_text
from synth.models import resolve_spec
from tests._cli import one_error_line, run

TOO_DEEP = f"is nested too deep: more than {MAX_CONFIG_DEPTH} levels of lists and mappings"
DEEP = "[" * 50_000 + "]" * 50_000


def _block(levels: int) -> str:
    """``levels`` block mappings, one inside another (a: / a: / ... / 1)."""
    return "".join(" " * i + "a:\n" for i in range(levels - 1)) + " " * (levels - 1) + "a: 1\n"


@pytest.mark.parametrize("text", [DEEP, "x: " + "{a: " * 50_000 + "1" + "}" * 50_000,
                                  "- " * 50_000 + "1\n", _block(100)])
def test_a_deep_yaml_file_is_one_line_saying_so(tmp_path, text):
    f = tmp_path / "deep.yaml"
    f.write_text(text)
    began = time.perf_counter()
    line = one_error_line(run(["run", str(f), "--check"]))
    assert line == f"error: {f} {TOO_DEEP} (the limit)", line
    assert time.perf_counter() - began < 3
    assert "not valid" not in line


def test_the_same_check_for_space_files_hwsim_configs_and_json_options(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text(DEEP)
    line = one_error_line(run(["search", "--space", str(f), "--out", str(tmp_path / "s")]))
    assert line.startswith(f"error: {f} {TOO_DEEP} (the limit); expected a mapping"), line
    line = one_error_line(run(["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3",
                               "--dse-config", str(f)]))
    assert line.startswith(f"error: {f} {TOO_DEEP}"), line
    line = one_error_line(run(["diabdeep", "--dataset", "blink", "--options", DEEP]))
    assert line == f"error: --options {TOO_DEEP} (the limit)", line
    with pytest.raises(UserError, match=rf"^model spec {TOO_DEEP}"):
        resolve_spec('{"family": ' + DEEP + "}")


def test_the_limit_is_exact_and_shallow_values_load():
    ok = "[" * MAX_CONFIG_DEPTH + "]" * MAX_CONFIG_DEPTH
    assert load_yaml_text(ok, "f.yaml") == load_json_text(ok)
    deeper = "[" + ok + "]"
    with pytest.raises(ConfigError, match=TOO_DEEP):
        load_yaml_text(deeper, "f.yaml")
    with pytest.raises(ConfigError, match=f"^{TOO_DEEP}"):
        load_json_text(deeper)
    assert load_yaml_text(_block(MAX_CONFIG_DEPTH), "f.yaml")
    assert load_json_text('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
