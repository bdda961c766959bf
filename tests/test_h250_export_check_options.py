"""nnsynth run --check refuses export.tolerance / export.rtol with export.onnx: false (h250).

Both set only the ONNX check against PyTorch; with onnx off a config of
``export: {onnx: false, tolerance: 0.1}`` was 'valid' and the value was never read, as
export.accel was with price: false (refused since).  Their defaults stay accepted."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


@pytest.mark.parametrize("export, error", [
    ("{onnx: false, tolerance: 0.1}", "export.tolerance sets the ONNX check"),
    ("{onnx: false, rtol: 0.001}", "export.rtol sets the ONNX check"),
    ("{onnx: false}", None),
    ("{onnx: true, tolerance: 0.1, rtol: 0.001}", None),
])
def test_an_onnx_check_setting_without_onnx_is_refused(tmp_path, monkeypatch, export, error):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(
        "name: c\nteacher: {dataset: iris, model: mlp_small, epochs: 1}\n"
        "synthesis: {enabled: false}\nsearch: {enabled: false}\nrefine: {enabled: false}\n"
        f"export: {export}\n")
    r = CliRunner().invoke(cli, ["run", "c.yaml", "--check"])
    if error is None:
        assert r.exit_code == 0 and "valid" in r.output, r.output
    else:
        assert r.exit_code == 2 and error in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1 and "c.yaml" in r.output
