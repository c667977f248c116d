"""Progress bars and output modes shared by every command: bars with rates and ETA, quiet, JSON.

One process-wide mode, set once by a command line (:func:`configure`):

* normal: a bar per long operation on a terminal (on stderr, with rate and ETA); where stderr is not a
  terminal (log files, CI, batch schedulers), one log line per bar every 30 s and when it ends, so a
  log shows progress without thousands of carriage returns;
* quiet: no bars and, in the log, errors only;
* JSON: as normal on stderr, while stdout is kept for the command's one JSON document.

Library code calls :func:`progress_bar` and logs through :mod:`logging`; it never prints.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm import tqdm

LOGGER = logging.getLogger("tf_crnn.progress")
#: Seconds between two progress lines in a log (stderr not a terminal).
LOG_INTERVAL = 30.0
LOG_BAR_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}]"
#: Loggers whose information messages are shown; other libraries (TensorFlow, absl) only warn.
OWN_LOGGERS = ("tf_crnn", "tf-crnn", "sacred", "__main__")
TIMESTAMPED = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class OutputMode:
    quiet: bool = False
    json: bool = False


_mode = OutputMode()


def mode() -> OutputMode:
    return _mode


def configure(quiet: bool = False, json: bool = False, timestamps: bool = False) -> OutputMode:
    """Set the output mode and send log messages to stderr (errors only when ``quiet``)."""
    global _mode
    _mode = OutputMode(quiet=quiet, json=json)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter(TIMESTAMPED) if timestamps else CliFormatter())
    handler.addFilter(_own_information)
    root.addHandler(handler)
    root.setLevel(logging.ERROR if quiet else logging.INFO)
    return _mode


class StderrHandler(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (redirections and test captures included)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


class CliFormatter(logging.Formatter):
    """Information as plain lines, warnings and errors prefixed: what a command-line tool prints."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR:
            message += "\n" + self.formatException(record.exc_info)
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"WARNING: {message}"
        return message


def _own_information(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.startswith(OWN_LOGGERS)


class _LogLines:
    """A file-like target for tqdm that turns each refresh into one log line."""

    def __init__(self) -> None:
        self._last = ""

    def write(self, text: str) -> int:
        line = text.strip("\r\n ")
        if line and line != self._last:
            LOGGER.info(line)
            self._last = line
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: float | None = None,
    desc: str | None = None,
    unit: str = "line",
    enabled: bool = True,
    stream: TextIO | None = None,
    **tqdm_options: Any,
) -> tqdm:
    """A tqdm bar (use it like tqdm) that follows the output mode; ``enabled=False`` turns it off."""
    if not enabled or _mode.quiet:
        return tqdm(iterable, total=total, disable=True)
    stream = stream if stream is not None else sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        options = {"dynamic_ncols": True, "mininterval": 0.2, "smoothing": 0.1, **tqdm_options}
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, **options)
    options = {"mininterval": LOG_INTERVAL, "maxinterval": LOG_INTERVAL, "bar_format": LOG_BAR_FORMAT}
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=_LogLines(), **{**options, **tqdm_options})
