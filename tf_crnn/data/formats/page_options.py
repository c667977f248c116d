"""How page ground truth becomes line images: the ``pages`` section of the configuration.

It lives with the page readers (like ``text`` with the label code) so that training, evaluation,
prediction and the export agree on one cut: a model is evaluated and used on lines cut the way it
was trained on them (the export's ``params.json`` keeps the section).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tf_crnn.params.fields import Boolean, Number, Text, setting, validate

#: Where cut lines are cached when ``pages.cache_dir`` is empty and TF_CRNN_CACHE_DIR is not set.
DEFAULT_CACHE = Path("~/.cache/tf-crnn/lines")
CACHE_ENV = "TF_CRNN_CACHE_DIR"


@dataclass
class PageOptions:
    """How lines are cut from page scans with PAGE-XML or ALTO ground truth (see docs/pages.md).

    ``padding``: the margin kept above and below the line polygon, as a share of the line's height
    (half of it left and right); it holds the line's own background, like the pixels outside the
    polygon. ``dewarp``: resample along the baseline, so a curved line comes out straight (a straight
    baseline only deskews). ``mets_group``: the METS file group whose PAGE or ALTO files to read
    (needed when a ``mets.xml`` lists several, e.g. ``OCR-D-GT-PAGE`` and ``OCR-D-GT-ALTO``; a
    comma-separated list takes the first group each METS file has);
    ``mets_image_group``: the group of the page images (default: the image the XML names, else the
    first image of the page that exists). ``cache_dir``: where cut lines are kept, so pages are
    decoded once per data set and not every epoch (default: ``$TF_CRNN_CACHE_DIR``, else
    ``~/.cache/tf-crnn/lines``).
    """

    padding: float = setting(
        0.1, Number(0.0, 2.0), "margin above and below each line polygon, a share of the line height"
    )
    dewarp: bool = setting(False, Boolean(), "straighten curved baselines (resample along the baseline)")
    mets_group: str = setting("", Text(), "METS file group(s) of the PAGE/ALTO files, comma-separated (empty: any)")
    mets_image_group: str = setting("", Text(), "METS file group(s) of the page images (empty: the XML's image)")
    cache_dir: str = setting("", Text(), f"folder of the cut lines (empty: ${CACHE_ENV} or {DEFAULT_CACHE})")

    def __post_init__(self) -> None:
        validate(self, "pages.")

    @property
    def cache(self) -> Path:
        """The folder that holds cut lines."""
        chosen = self.cache_dir or os.environ.get(CACHE_ENV) or str(DEFAULT_CACHE)
        return Path(chosen).expanduser()

    def cut_key(self) -> str:
        """What changes the pixels of a cut line (the cache key's part that comes from the options)."""
        return f"padding={self.padding:g};dewarp={self.dewarp}"
