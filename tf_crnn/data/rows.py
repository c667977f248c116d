"""A labelled line as every reader gives it, and a row that cannot be used, with where it came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tf_crnn.errors import DataError

MAX_REPORTED_PROBLEMS = 20


@dataclass(frozen=True)
class LabelledRow:
    """One labelled line image, with where it came from (for error messages)."""

    path: str
    units: tuple[str, ...]
    source: str = ""
    line: int = 0
    #: The encoded image itself, for rows read from TFRecord shards (whose ``path`` is informative only).
    image: bytes | None = field(default=None, repr=False, compare=False)
    #: The id of the TextLine, for rows cut from a page (PAGE-XML, ALTO); ``source`` is then the XML file.
    line_id: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        return "".join(self.units)

    @property
    def where(self) -> str:
        place = f"{self.source}:{self.line}" if self.source else self.path
        return f"{place} (line {self.line_id})" if self.line_id else place


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be used: file, line and reason."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


def raise_for_problems(problems: Sequence[RowProblem], what: str) -> None:
    """Raise one DataError listing the first problems and how many there are in all."""
    if not problems:
        return
    shown = "\n  ".join(str(p) for p in problems[:MAX_REPORTED_PROBLEMS])
    more = len(problems) - MAX_REPORTED_PROBLEMS
    tail = f"\n  ... and {more} more" if more > 0 else ""
    raise DataError(f"{len(problems)} {what}:\n  {shown}{tail}")
