"""Resuming a search unpickles its Tune state (Tuner.restore: tune/tuner.pkl, the trials'
state), so ``--resume`` of a directory someone else wrote ran whatever code it held; now only
searches this user started (search.trust) are restored, and others are refused first."""
import json
import os
import pickle
import shutil

import pytest

from search.trust import SEARCH_ID_FILE, check_trusted, register_search, state_dir
from synth.errors import UserError


class Payload:
    """Unpickling this creates a file: what a planted tuner.pkl could do instead."""
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _foreign_search(folder, witness):
    """A search directory as another user's machine would leave it, with a planted pickle."""
    from search.run import (INPUTS_FILE, SearchConfig, input_digest, save_space,
                            searchable_space, with_data_space)
    from synth.files import claim_dir
    claim_dir(folder, "--out")
    config = with_data_space(SearchConfig(dataset="digits", trials=1, hardware=False))
    (folder / "search_config.json").write_text(json.dumps(config.to_dict()))
    save_space(folder, searchable_space(config.space))
    (folder / INPUTS_FILE).write_text(json.dumps({"digest": input_digest(config)}))
    (folder / SEARCH_ID_FILE).write_text("0" * 32 + "\n")        # an id not recorded here
    (folder / "tune").mkdir()
    (folder / "tune" / "tuner.pkl").write_bytes(pickle.dumps(Payload(str(witness))))
    return folder


def test_resume_of_a_search_this_user_did_not_start_is_refused_before_unpickling(tmp_path):
    from search.run import run_search
    witness = tmp_path / "pwned"
    folder = _foreign_search(tmp_path / "theirs", witness)
    with pytest.raises(UserError, match="did not start here"):
        run_search(None, folder, resume=True, progress=False)
    assert not witness.exists()


def test_own_searches_and_copies_of_them_are_trusted(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    search_id = register_search(mine)
    check_trusted(mine)
    assert (state_dir() / "searches" / search_id).is_file()
    assert oct((state_dir() / "searches").stat().st_mode & 0o777) == "0o700"
    assert register_search(mine) == search_id               # a fresh start keeps its id
    copy = tmp_path / "copy"
    shutil.copytree(mine, copy)
    with pytest.raises(UserError, match="move it back"):   # the user's own, copied: its
        check_trusted(copy)                                 # Tune state names `mine` (h211)


def test_a_planted_state_beside_a_copied_id_is_refused(tmp_path):
    """h211: the search id is readable in the user's search directory; a directory holding a
    copy of it and a planted tune/tuner.pkl (its inputs file naming no other folder) passed
    check_trusted and search.run's check_in_place, and --resume unpickled the plant."""
    mine = tmp_path / "mine"
    mine.mkdir()
    register_search(mine)
    theirs = _foreign_search(tmp_path / "theirs", tmp_path / "pwned")
    shutil.copy(mine / SEARCH_ID_FILE, theirs / SEARCH_ID_FILE)
    with pytest.raises(UserError, match=f"begun in {mine.resolve()}"):
        check_trusted(theirs)


@pytest.mark.parametrize("content", [None, "0" * 32, "not an id", "../../etc/passwd"])
def test_unrecorded_missing_or_malformed_ids_are_refused(tmp_path, content):
    folder = tmp_path / "s"
    folder.mkdir()
    if content is not None:
        (folder / SEARCH_ID_FILE).write_text(content)
    with pytest.raises(UserError, match="did not start here"):
        check_trusted(folder)


def test_a_linked_id_file_is_refused(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    register_search(mine)
    other = tmp_path / "other"
    other.mkdir()
    os.symlink(mine / SEARCH_ID_FILE, other / SEARCH_ID_FILE)
    with pytest.raises(UserError, match="did not start here"):
        check_trusted(other)
