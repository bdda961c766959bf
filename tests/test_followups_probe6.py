"""Follow-ups of the probe-6 review: the lock file and a hard link, torch's thread count
after a host latency table, the symbiotic host table's measurement conditions, and what
count_lm_parameters(nonzero=True) counts."""
import os

import pytest
import torch

from synth.errors import UserError


# --------------------------------------------------------------------------- lock file
def test_lock_file_hard_link_to_a_users_file_is_refused_not_overwritten(tmp_path):
    """O_NOFOLLOW refuses a symbolic link at .nnsynth.lock but not a hard link: taking the
    lock truncated the linked user's file and wrote our pid into it."""
    from synth.files import LOCK_FILE, claim_dir, lock_dir
    victim = tmp_path / "thesis.tex"
    victim.write_text("precious\n")
    run = claim_dir(tmp_path / "run")
    os.link(victim, run / LOCK_FILE)
    with pytest.raises(UserError, match="hard links") as e:
        with lock_dir(run):
            pass
    assert "\n" not in str(e.value)
    assert victim.read_text() == "precious\n"


def test_lock_file_of_our_own_is_reused(tmp_path):
    from synth.files import LOCK_FILE, claim_dir, lock_dir
    run = claim_dir(tmp_path / "run")
    with lock_dir(run):
        pass
    assert (run / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    with lock_dir(run):      # the file it left is ours, one link: taken again
        pass
