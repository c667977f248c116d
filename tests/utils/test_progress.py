"""Progress bars and output modes: rates and ETA on a terminal, log lines elsewhere, silence when quiet."""

import io
import logging
import re

import pytest

from tf_crnn.utils import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    progress.configure()  # the default mode again, then the logging as it was
    root.handlers[:] = handlers
    root.setLevel(level)


def test_terminal_bar_shows_count_rate_and_eta():
    progress.configure()
    terminal = Terminal()
    for _ in progress.progress_bar(range(7), desc="checking train images", stream=terminal, mininterval=0):
        pass
    shown = terminal.getvalue().replace("\r", "\n")
    last = [line for line in shown.splitlines() if line.strip()][-1]
    assert last.startswith("checking train images: 100%") and "7/7" in last
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d, +[\d.]+line/s\]", last), last  # elapsed<ETA, rate


def test_without_a_terminal_a_bar_is_a_few_log_lines(caplog):
    progress.configure()
    caplog.set_level(logging.INFO)
    for _ in progress.progress_bar(range(500), desc="rendering train", stream=io.StringIO()):
        pass
    lines = [r.getMessage() for r in caplog.records if r.name == "tf_crnn.progress"]
    assert lines[0].startswith("rendering train: 0/500 line")
    assert re.fullmatch(r"rendering train: 500/500 line \[\d\d:\d\d<\d\d:\d\d, +[\d.]+line/s\]", lines[-1])
    assert len(lines) == 2  # one line at the start, one at the end: no flood of refreshes in a log


def test_quiet_shows_no_bar_and_only_errors(capsys):
    progress.configure(quiet=True)
    terminal = Terminal()
    bar = progress.progress_bar(range(3), desc="predicting", stream=terminal)
    assert list(bar) == [0, 1, 2] and terminal.getvalue() == ""
    logging.getLogger("tf_crnn.test").info("an information")
    logging.getLogger("tf_crnn.test").warning("a warning")
    logging.getLogger("tf_crnn.test").error("a failure")
    assert capsys.readouterr().err == "error: a failure\n"


def test_messages_are_plain_lines_and_other_libraries_only_warn(capsys):
    progress.configure(json=True)
    assert progress.mode().json and not progress.mode().quiet
    logging.getLogger("tf_crnn.test").info("lines.tgz: found")
    logging.getLogger("tf_crnn.test").warning("3 rows dropped")
    logging.getLogger("absl").info("library chatter")
    logging.getLogger("absl").warning("library warning")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["lines.tgz: found", "WARNING: 3 rows dropped", "WARNING: library warning"]


def test_a_disabled_bar_counts_nothing_on_screen():
    progress.configure()
    terminal = Terminal()
    with progress.progress_bar(total=4, desc="evaluating", enabled=False, stream=terminal) as bar:
        bar.update(4)
    assert terminal.getvalue() == ""
