"""surveylib.io: atomic writes, alone and several at once."""
import os

import pytest

from surveylib.io import atomic_write_all, atomic_write_bytes


def test_atomic_write_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "out.bib"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.bib"]


def test_atomic_write_all_writes_every_file(tmp_path):
    files = {tmp_path / "a.bib": b"a" * 100_000, tmp_path / "sub" / "b.bib": b"b"}
    atomic_write_all(files)
    assert {p: p.read_bytes() for p in files} == files


def test_atomic_write_all_raises_a_failed_write_and_keeps_the_old_file(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    good, bad = tmp_path / "good.bib", tmp_path / "blocker" / "bad.bib"
    good.write_bytes(b"old")
    with pytest.raises(OSError):
        atomic_write_all({bad: b"x", good: b"new"})
    assert good.read_bytes() == b"new"  # each file is atomic on its own; the other one was written
    assert sorted(os.listdir(tmp_path)) == ["blocker", "good.bib"]
