"""transforms/cache.py: an entry is reused only for the same inputs; stale, corrupt, foreign or
unwritable entries cost a build, never a wrong object or an error."""
from __future__ import annotations

import os
import pickle

import pytest

from transforms import cache
from transforms.identity import gazetteer


@pytest.fixture()
def where(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def source(tmp_path):
    p = tmp_path / "data.txt"
    p.write_text("one", encoding="utf-8")
    return p


def counting(source):
    calls = []

    def build():
        calls.append(1)
        return {"text": source.read_text(encoding="utf-8"), "n": len(calls)}
    return build, calls


def entries(where):
    return sorted(where.glob("thing-*.pickle"))


def test_second_process_loads_what_the_first_built(where, source):
    build, calls = counting(source)
    assert cache.cached("thing", [source], build) == {"text": "one", "n": 1}
    assert cache.cached("thing", [source], build) == {"text": "one", "n": 1}
    assert len(calls) == 1 and len(entries(where)) == 1
    assert oct(where.stat().st_mode & 0o777) == oct(0o700)


def test_changed_input_or_version_builds_anew(where, source):
    build, calls = counting(source)
    cache.cached("thing", [source], build)
    source.write_text("two", encoding="utf-8")           # same size, other bytes
    assert cache.cached("thing", [source], build)["text"] == "two"
    assert cache.cached("thing", [source], build, versions=("opencc 9",))["n"] == 3
    assert cache.cached("thing", [source], build)["n"] == 2  # the entry of "two" is still there
    assert len(calls) == 3


@pytest.mark.parametrize("damage", [b"", b"not a pickle", "truncated", "other key", "not a tuple"])
def test_corrupt_entry_is_ignored_and_replaced(where, source, damage):
    build, calls = counting(source)
    cache.cached("thing", [source], build)
    [entry] = entries(where)
    good = entry.read_bytes()
    bad = {"truncated": good[: len(good) // 2],
           "other key": pickle.dumps(("0" * 32, {"text": "wrong", "n": 0})),
           "not a tuple": pickle.dumps({"text": "wrong", "n": 0})}.get(damage, damage)
    entry.write_bytes(bad)
    assert cache.cached("thing", [source], build) == {"text": "one", "n": 2}
    assert entry.read_bytes() != bad                      # rewritten: the next process loads it
    assert cache.cached("thing", [source], build)["n"] == 2


def test_entry_of_another_user_is_not_loaded(where, source, monkeypatch):
    build, calls = counting(source)
    cache.cached("thing", [source], build)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(where).st_uid + 1)
    assert cache.cached("thing", [source], build)["n"] == 2


def test_unwritable_folder_or_off_only_builds(tmp_path, source, monkeypatch):
    build, calls = counting(source)
    blocker = tmp_path / "a file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))     # cannot be created
    assert cache.cached("thing", [source], build)["n"] == 1
    assert cache.cached("thing", [source], build)["n"] == 2
    monkeypatch.setenv(cache.ENV, "off")
    assert cache.folder() is None
    assert cache.cached("thing", [source], build)["n"] == 3


def test_unreadable_input_builds_without_caching(where, tmp_path):
    assert cache.cached("thing", [tmp_path / "missing"], lambda: 7) == 7
    assert not where.exists()


def test_old_entries_beyond_keep_are_removed(where, source):
    build, _ = counting(source)
    for i in range(cache.KEEP + 3):
        cache.cached("thing", [source], build, versions=(str(i),))
    assert len(entries(where)) == cache.KEEP
    assert not list(where.glob(".*tmp"))


def test_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.folder() == tmp_path / "nianbao"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")          # ignored, as the spec says
    assert cache.folder() == cache.Path.home() / ".cache" / "nianbao"


def test_no_home_folder_means_no_cache(monkeypatch, tmp_path, source):
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory")
    monkeypatch.setattr(cache.Path, "home", staticmethod(no_home))
    assert cache.folder() is None
    build, calls = counting(source)
    assert cache.cached("thing", [source], build)["n"] == 1


def test_gazetteer_from_the_cache_is_the_built_one(where):
    gazetteer.load.cache_clear()
    try:
        first = gazetteer.load()
        assert list(where.glob("gazetteer-*.pickle"))
        gazetteer.load.cache_clear()
        again = gazetteer.load()
        assert again is not first and vars(again) == vars(first) == vars(gazetteer.build())
        assert again.resolve_region("武汉市硚口区") == first.resolve_region("武汉市硚口区") is not None
    finally:
        gazetteer.load.cache_clear()


def test_traditional_forms_come_from_the_cache_once_converted(where, monkeypatch):
    import opencc

    from transforms import labels
    words = ["政府信息公开", "行政复议", "本机关"]
    expected = [opencc.OpenCC("s2t.json").convert(w) for w in words]
    assert labels.traditional(words) == expected == ["政府信息公開", "行政複議", "本機關"]
    monkeypatch.setattr(opencc, "OpenCC", lambda *a: (_ for _ in ()).throw(AssertionError("converted again")))
    assert labels.traditional(words) == expected
    with pytest.raises(AssertionError):
        labels.traditional(["另一个词"])
