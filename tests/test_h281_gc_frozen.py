"""The suite's start-up objects are out of the garbage collector's view
(tests/conftest.py ``pytest_collection_finish``: gc.freeze once the tests are collected),
so that a test process's full collections do not walk torch's and Ray's objects again."""
import gc


def test_the_collected_session_is_frozen():
    assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()
