"""h199: probes of the application and hardware commands (hwsim table, ...)."""
import json

from tests._cli import one_error_line, run


def _table(tmp_path, device: str) -> str:
    r = run(["hwsim", "table", "--device", device, "--model", "mlp_small@4", "--num-classes",
             "3", "--json"])
    assert r.exit_code == 0, r.output
    path = tmp_path / f"{device}.json"
    path.write_text(r.output.strip().splitlines()[-1])
    return str(path)


def test_threads_with_a_model_devices_table_is_refused(tmp_path):
    # an accel/spring table is a model's prices: --threads (the host CPU's torch threads a
    # cpu table's prediction is for) was accepted and dropped without a word, while the same
    # option building such a table is refused
    for device in ("accel", "spring"):
        path = _table(tmp_path, device)
        line = one_error_line(run(["hwsim", "table", "--table", path, "--model",
                                   "mlp_small@4", "--num-classes", "3", "--threads", "3"]))
        assert line.startswith("error: --threads ") and device in line and "leave" in line, line
        # without it the prediction still runs
        r = run(["hwsim", "table", "--table", path, "--model", "mlp_small@4",
                 "--num-classes", "3", "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output.strip().splitlines()[-1])["prediction"]["latency_ms"] > 0
