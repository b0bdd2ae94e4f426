"""surveylib.taxonomy.scan: the Hyperscan database cache keeps the most recently used databases."""
import os

import pytest

from surveylib.taxonomy import scan

pytestmark = pytest.mark.skipif(not scan.AVAILABLE, reason="hyperscan is a dependency; only a broken install lacks it")


def test_the_cache_keeps_the_most_recently_used_databases(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(scan, "CACHE_KEEP", 3)
    folder = tmp_path / "surveylib" / "hyperscan"
    first = scan.Scanner([r"\bfirst\b"], locate=False)
    assert first.which("the first one") == {0: None}
    oldest = sorted(folder.glob("*.hsdb"))
    for i in range(5):
        for path in folder.glob("*"):  # earlier databases look older than the next one
            os.utime(path, (path.stat().st_mtime - 100, path.stat().st_mtime - 100))
        scan.Scanner([rf"\bword{i}\b"], locate=False)
    kept = sorted(folder.glob("*.hsdb"))
    assert len(kept) == 3 and not set(oldest) & set(kept)
    assert len(list(folder.glob("*.json"))) == 3  # metadata goes with its database
    again = scan.Scanner([r"\bfirst\b"], locate=False)  # pruned: compiled again, same answers
    assert again.which("first") == {0: None} and again.which("firstly") == {}
