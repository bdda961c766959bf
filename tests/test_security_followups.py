"""Follow-ups of the security probe (tests/test_security_probe.py): the symbiotic latency
plot had its own predictable temp name (.NAME.tmpPID.png, followed through a planted link),
and a job.json in an invert --out folder that is not nnsynth's was a JSON traceback."""
import os

import pytest

from synth.errors import UserError


def test_symbiotic_plot_does_not_follow_a_link_at_its_old_temp_name(tmp_path):
    from deploy.symbiotic import _plot
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"precious")
    planted = tmp_path / f".latency.png.tmp{os.getpid()}.png"
    planted.symlink_to(victim)
    rows = [{"cell": "lstm", "exec": "dense", "width": w, "best_ms": 1.0 + w, "q1_ms": 1.0,
             "q3_ms": 2.0 + w} for w in (8, 16)]
    _plot(tmp_path / "latency.png", {"host": rows}, {}, steps=5)
    assert victim.read_bytes() == b"precious" and planted.is_symlink()
    out = tmp_path / "latency.png"
    assert not out.is_symlink() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("content", [b"not json {", b"[1, 2]", b"\xff\xfe\x00", b"{" * 2_000_000])
@pytest.mark.parametrize("replace", [False, True])
def test_a_foreign_job_json_is_refused_in_one_line_and_kept(tmp_path, content, replace):
    from cluster.pairs import _check_manifest
    (tmp_path / "job.json").write_bytes(content)
    (tmp_path / "shard-00000.parquet").write_bytes(b"someone's file")
    with pytest.raises(UserError, match="not a synthesis job's manifest"):
        _check_manifest(tmp_path, {"teacher": "t"}, replace=replace)
    assert (tmp_path / "job.json").read_bytes() == content
    assert (tmp_path / "shard-00000.parquet").read_bytes() == b"someone's file"
