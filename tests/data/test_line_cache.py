"""The cache of lines cut from pages: what it holds, reads marking pages used, pruning what no run read,
and never touching anything else in the cache folder."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from pathlib import Path

import pytest

from tests.page_samples import make_page
from tf_crnn.cli import main
from tf_crnn.data.formats import line_cache
from tf_crnn.data.formats.sources import read_rows

DAY = 24 * 3600


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TF_CRNN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def pages(tmp_path, tiny_dataset):
    """Two pages of two lines each."""
    rows = [line.split(";", 1) for line in tiny_dataset["train"].read_text(encoding="utf-8").splitlines()[:4]]
    images = [tiny_dataset["train"].parent / path for path, _ in rows]
    texts = [label.strip("|").replace("|", "") for _, label in rows]
    first = make_page(tmp_path / "book", images[:2], texts[:2], name="p1")["xml"]
    second = make_page(tmp_path / "book", images[2:], texts[2:], name="p2")["xml"]
    return first, second


def entry_of(rows) -> Path:
    return Path(rows[0].path).parent


def age(entry: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(entry / line_cache.MANIFEST, (then, then))


def test_usage_counts_pages_files_and_bytes(cache, pages):
    assert line_cache.usage(cache).pages == 0  # no cache folder yet
    rows = [row for xml in pages for row in read_rows(xml)[0]]
    found = line_cache.usage(cache)
    assert (found.pages, found.files) == (2, 4 + 2)  # four lines and a manifest per page
    assert found.bytes == sum(path.stat().st_size for path in cache.rglob("*") if path.is_file())
    assert found.oldest_use_days < 0.01 and all(Path(row.path).is_file() for row in rows)


def test_reading_a_page_marks_it_used_and_prune_removes_only_pages_unread_for_that_long(cache, pages):
    first, second = (read_rows(xml)[0] for xml in pages)
    age(entry_of(first), 40)
    age(entry_of(second), 40)
    read_rows(pages[1])  # read again: used now
    assert line_cache.usage(cache).oldest_use_days == pytest.approx(40, abs=0.01)
    removed = line_cache.prune(cache, 30)
    assert (removed.pages, removed.files) == (1, 3)
    assert not entry_of(first).exists() and entry_of(second).is_dir()
    again, _ = read_rows(pages[0])  # a pruned page is cut again, the same
    assert [row.text for row in again] == [row.text for row in first]
    assert all(Path(row.path).is_file() for row in again)


def test_pruning_never_touches_what_is_not_the_caches_own(cache, pages):
    for xml in pages:
        read_rows(xml)
    mine = cache / "notes.txt"
    mine.write_text("mine")
    lookalike = cache / "ab" / "not-a-digest"
    lookalike.mkdir(parents=True)
    (lookalike / "lines.json").write_text("{}")
    misplaced = cache / "00" / ("ff" + "0" * 62)  # a digest under another prefix
    misplaced.mkdir(parents=True)
    removed = line_cache.prune(cache, 0)
    assert removed.pages == 2 and line_cache.usage(cache).pages == 0
    assert mine.read_text() == "mine" and (lookalike / "lines.json").is_file() and misplaced.is_dir()


def test_an_entry_cut_short_counts_by_its_newest_file(cache, pages):
    rows, _ = read_rows(pages[0])
    entry = entry_of(rows)
    (entry / line_cache.MANIFEST).unlink()
    then = time.time() - 3 * DAY
    for path in entry.iterdir():
        os.utime(path, (then, then))
    assert line_cache.prune(cache, 5).pages == 0
    assert line_cache.prune(cache, 2).pages == 1 and not entry.exists()


def run(*argv: str) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["cache", *argv, "--json"])
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else {}


def test_the_command_shows_and_prunes_the_cache_a_config_names(tmp_path, cache, pages, capsys):
    for xml in pages:
        read_rows(xml)
    code, document = run()
    assert code == 0 and document["cache"]["pages"] == 2 and document["cache"]["root"] == str(cache)
    code, document = run("--prune", "1")
    assert code == 0 and document["removed"]["pages"] == 0 and document["cache"]["pages"] == 2
    code, document = run("--prune", "0")
    assert document["removed"]["pages"] == 2 and document["cache"]["pages"] == 0
    other = tmp_path / "elsewhere"
    code, document = run("--cache-dir", str(other))
    assert code == 0 and document["cache"] == {"root": str(other), "pages": 0, "files": 0, "bytes": 0,
                                               "oldest_use_days": 0.0}  # fmt: skip
    with pytest.raises(SystemExit) as refused:
        main(["cache", "--prune", "-1"])
    assert refused.value.code == 2
    assert "--prune takes a number of days >= 0, got -1" in capsys.readouterr().err
