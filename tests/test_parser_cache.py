"""The parser's tables kept in the cache folder between processes (``parser._parser_cache``):
made on first use, loaded after, rebuilt when damaged, skipped when the folder cannot be made;
whichever way the tables came, a policy parses the same and its errors are the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ringfence.errors import PolicyError
from ringfence.language import parser
from ringfence.resources import policies_dir

POLICY = (policies_dir() / "us-federal.rf").read_text(encoding="utf-8")
BROKEN = POLICY + "\nrule late\n  deny when purpose is (\n"  # syntax errors, with hints


@pytest.fixture
def fresh_parser(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each ``_lark()`` below builds or loads the tables again, as a new process would."""
    parser._lark.cache_clear()
    yield
    monkeypatch.undo()
    parser._lark.cache_clear()


def _outcomes() -> tuple[object, list[str]]:
    """A valid policy's syntax tree and a broken one's messages, parsed with the tables as
    they come now."""
    parser._lark.cache_clear()
    tree = parser.parse_text(POLICY, "us-federal.rf")
    with pytest.raises(PolicyError) as err:
        parser.parse_text(BROKEN, "broken.rf")
    return tree, [d.render() for d in err.value.diagnostics]


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("grammar-*.lark"))


def test_tables_are_kept_and_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    fresh_parser: None) -> None:
    monkeypatch.setenv("RINGFENCE_CACHE_DIR", str(tmp_path / "cache"))
    built = _outcomes()
    [kept] = _cache_files(tmp_path / "cache")
    stamp = kept.stat().st_mtime_ns
    loaded = _outcomes()
    assert loaded == built
    assert kept.stat().st_mtime_ns == stamp  # read, not written again


def test_damaged_tables_are_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        fresh_parser: None) -> None:
    monkeypatch.setenv("RINGFENCE_CACHE_DIR", str(tmp_path))
    built = _outcomes()
    [kept] = _cache_files(tmp_path)
    good = kept.read_bytes()
    for damage in (b"", good[: len(good) // 2], b"not a cache\n" + good[40:]):
        kept.write_bytes(damage)
        assert _outcomes() == built
        repaired = kept.read_bytes()  # written whole again: the next process loads it
        assert repaired.split(b"\n", 1)[0] == good.split(b"\n", 1)[0]
        stamp = kept.stat().st_mtime_ns
        assert _outcomes() == built
        assert kept.stat().st_mtime_ns == stamp


def test_no_cache_folder_still_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      fresh_parser: None) -> None:
    monkeypatch.setenv("RINGFENCE_CACHE_DIR", str(tmp_path))
    built = _outcomes()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("RINGFENCE_CACHE_DIR", str(blocker / "below"))  # cannot be made
    assert parser._parser_cache("grammar") is False
    assert _outcomes() == built
    assert not (blocker.parent / "below").exists()


def test_grammars_keep_files_of_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RINGFENCE_CACHE_DIR", str(tmp_path))
    one, other = parser._parser_cache("start: A"), parser._parser_cache("start: B")
    assert isinstance(one, str) and isinstance(other, str)
    assert one != other and Path(one).parent == Path(other).parent == tmp_path
