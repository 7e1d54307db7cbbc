"""The journal on its own: what it records, per target, across a reopen, on disk at once."""

import sqlite3

from importer.platform.journal import CREATED, FAILED, SENDING, Journal, default_state_dir, identity_key


def test_records_transitions_per_target_and_identity(tmp_path):
    path = tmp_path / "state" / "journal.sqlite3"
    with Journal(path) as journal:
        key = identity_key(("externalId", "EXT-1"))
        assert key == "externalId:EXT-1"
        assert journal.get("https://a", key) is None
        journal.record("https://a", key, SENDING, source_file="c.xlsx", source_row=2)
        assert journal.get("https://a", key).status == SENDING
        journal.record("https://a", key, CREATED, course_id="crs_1", course_slug="one", source_row=2)
        journal.record("https://b", key, FAILED, source_row=2)  # another target: its own entry
        assert journal.get("https://a", key) == journal.entries("https://a")[key]
        assert (journal.get("https://a", key).course_id, journal.get("https://a", key).course_slug) == ("crs_1", "one")
        assert journal.get("https://b", key).status == FAILED and journal.get("https://b", key).course_id is None
        assert list(journal.entries("https://b")) == [key]
    # Reopened (a later run, a run after a crash): the same facts.
    with Journal(path) as again:
        assert again.get("https://a", key).status == CREATED


def test_every_write_is_durable_before_the_next_request(tmp_path):
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        journal.record("t", "title:X", SENDING)
        # Another connection (another process, after a kill -9) sees it without a commit call.
        other = sqlite3.connect(path)
        assert other.execute("SELECT status FROM courses").fetchall() == [(SENDING,)]
        other.close()
        mode = journal._db.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = journal._db.execute("PRAGMA synchronous").fetchone()[0]
        assert (mode, synchronous) == ("wal", 2)  # 2 = FULL


def test_default_state_dir_sits_beside_the_input(tmp_path):
    assert default_state_dir(tmp_path / "c.xlsx") == tmp_path.resolve() / ".importer"


def test_one_owner_at_a_time_and_no_lock_file_left_naming_an_ended_run(tmp_path):
    import pytest

    from importer.errors import JournalBusy

    path = tmp_path / "journal.sqlite3"
    lock = tmp_path / "journal.sqlite3.lock"
    first = Journal(path, owner="the first run")
    assert "the first run" in lock.read_text()
    with pytest.raises(JournalBusy, match="the first run"):
        Journal(path)
    first.close()
    assert not lock.exists()  # nothing left naming a process that has ended
    second = Journal(path, owner="the second run")  # and the next run takes it at once
    assert "the second run" in lock.read_text()
    second.close()
