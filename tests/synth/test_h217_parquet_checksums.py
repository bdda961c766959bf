"""Every Parquet file nnsynth writes carries page checksums (CRC-32, ``write_page_checksum``)
and its readers verify them: a byte flipped inside a data page of a synthesized set, of
results.parquet or of sweep.parquet is one line naming the file (exit 2 through the CLI),
not a set of wrong values.  Before, 79 of 400 fuzzed sets loaded with wrong values (h217).
A file another tool wrote without checksums still loads."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from synth.data import load_dataset, write_parquet
from synth.errors import UserError

N = 64
META = dict(input_shape=[1, 4, 4], num_classes=2, class_names=["a", "b"], mean=[0.0],
            std=[1.0])


def _set(path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, 1, 4, 4, generator=g)
    return write_parquet(path, x, torch.arange(N) % 2, META), x


def _flip_in_data_page(path, column: int = 0) -> None:
    """Flip one bit three quarters into the data page(s) of the first row group's column
    ``column``: past the page header, inside the values (or dictionary indices)."""
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(column)
    first = min(o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o)
    end = first + chunk.total_compressed_size
    pos = chunk.data_page_offset + (end - chunk.data_page_offset) * 3 // 4
    raw = bytearray(path.read_bytes())
    raw[pos] ^= 0x04
    path.write_bytes(bytes(raw))


def _one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def test_a_damaged_data_page_of_a_set_is_one_line(tmp_path):
    path, _ = _set(tmp_path / "s.parquet")
    _flip_in_data_page(path)
    with pytest.raises(UserError, match="CRC checksum") as e:
        load_dataset(f"parquet:{path}")
    assert "s.parquet" in _one_line(e)


def test_a_damaged_set_through_the_cli_exits_2(tmp_path):
    from click.testing import CliRunner

    from deploy.cli.main import cli
    path, _ = _set(tmp_path / "s.parquet")
    _flip_in_data_page(path)
    r = CliRunner().invoke(cli, ["train", "--dataset", f"parquet:{path}", "--model",
                                 "mlp_small", "--epochs", "1", "--min-steps", "0",
                                 "--out", str(tmp_path / "m.pt")])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "CRC checksum" in r.output and "s.parquet" in r.output


def test_an_undamaged_set_loads_its_values(tmp_path):
    path, x = _set(tmp_path / "s.parquet")
    got, _ = load_dataset(f"parquet:{path}").split("all")
    assert got.shape == (N, 1, 4, 4)   # the rows in another order (train, then validation)
    assert torch.equal(got.reshape(N, -1).sort(0).values, x.reshape(N, -1).sort(0).values)


def test_a_file_without_checksums_still_loads(tmp_path):
    # written by another tool (pyarrow's default: no page checksums), a plain table and a set
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"a": rng.random(N), "b": rng.random(N), "label": np.arange(N) % 2}),
                   tmp_path / "plain.parquet")
    assert load_dataset(f"parquet:{tmp_path / 'plain.parquet'}").num_classes == 2
    x = pa.FixedSizeListArray.from_arrays(pa.array(rng.random(N * 16).astype(np.float32)), 16)
    t = pa.table({"x": x, "label": np.arange(N) % 2}).replace_schema_metadata(
        {b"nnsynth": json.dumps(META).encode()})
    pq.write_table(t, tmp_path / "own.parquet")
    assert load_dataset(f"parquet:{tmp_path / 'own.parquet'}").input_shape == (1, 4, 4)


def test_results_table_carries_checksums(tmp_path):
    from search.results import append_result, read_results
    path = tmp_path / "results.parquet"
    for i in range(20):
        append_result(path, {"trial_id": f"t{i}", "spec": "{}", "accuracy": 0.5 + i / 100,
                             "latency_ms": 1.0 + i})
    accuracy = list(pq.read_table(path).column_names).index("accuracy")
    _flip_in_data_page(path, accuracy)
    with pytest.raises(UserError, match="results table") as e:
        read_results(path)
    assert "CRC checksum" in _one_line(e)


def test_sweep_table_carries_checksums(tmp_path):
    from deploy.sweep import write_rows
    path = write_rows(tmp_path / "sweep.parquet",
                      [{"name": f"r{i}", "accuracy": 0.5 + i / 100} for i in range(20)])
    accuracy = list(pq.read_table(path).column_names).index("accuracy")
    _flip_in_data_page(path, accuracy)
    with pytest.raises(OSError, match="CRC checksum"):
        pq.read_table(path, page_checksum_verification=True)


def test_every_parquet_writer_goes_through_the_one_helper():
    # a new writer calling pyarrow (or pandas) itself would write pages without checksums
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    direct = [f"{f.relative_to(root)}:{i}" for pkg in ("synth", "hwsim", "cluster", "search",
                                                       "deploy", "benchmarks")
              for f in sorted((root / pkg).rglob("*.py")) if f.name != "data_parquet.py"
              for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
              if any(call in line for call in ("pq.write_table(", "ParquetWriter(",
                                               ".to_parquet(", "write_to_dataset("))]
    assert not direct, f"write Parquet through synth.data_parquet.write_parquet_table: {direct}"
