"""One synthetic line from ``(seed, index)``: text, font family, layout, degradations.

Every random draw of line ``index`` comes from ``numpy.random.default_rng([seed, index])``, so a
line depends only on the seed and its index: data sets are reproducible line by line, can be
rendered in any order or in parallel, and a stream can resume at any index.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from tf_crnn.synth.degrade import Degradation
from tf_crnn.synth.fonts import FontLibrary
from tf_crnn.synth.render import LineRenderer
from tf_crnn.synth.text import TextSampler

EVAL_SEED_OFFSET = 1_000_003  # the evaluation split's seed: seed + this, never a training seed


class LineGenerator:
    """Text sampler + fonts + renderer for one alphabet."""

    def __init__(
        self,
        units: Sequence[str],
        max_words: int = 6,
        max_chars: int = 40,
        font_dir: str | os.PathLike | None = None,
        builtin_fonts: bool = True,
        rare_share: float = 0.3,
        binarize: float = 0.5,
        sizes: tuple[int, int] = (20, 48),
        font_dir_share: float = 0.5,
        languages: Sequence[str] = (),
        orthography: str = "modern",
    ) -> None:
        self.units = list(units)
        self.sampler = TextSampler(
            units, max_words=max_words, max_chars=max_chars, rare_share=rare_share, languages=languages,
            orthography=orthography,
        )  # fmt: skip
        self.library = FontLibrary(units, font_dir, builtin=builtin_fonts, user_share=font_dir_share)
        self.renderer = LineRenderer(self.library, Degradation(binarize=binarize), sizes)

    @classmethod
    def from_config(cls, synthetic, units: Sequence[str], max_label_units: int) -> LineGenerator:
        """The generator a ``Params.synthetic_data`` section describes."""
        return cls(units, **generator_options(synthetic, max_label_units))

    def line(self, seed: int, index: int) -> tuple[np.ndarray, list[str]]:
        """Line ``index`` of the stream ``seed``: (uint8 image [H, W], paper light; its units)."""
        rng = np.random.default_rng([seed, index])
        for _ in range(8):
            units = self.sampler.sample(rng)
            family = self.library.choose(units, rng)
            if family is not None:
                break
        else:  # no family draws all of these units: keep those one family draws
            family = self.library.any_family(rng)
            units = [u for u in units if u == " " or u in family.covered] or [sorted(family.covered)[0]]
        return self.renderer.render(units, family, rng), units


def generator_options(synthetic, max_label_units: int) -> dict:
    """:class:`LineGenerator` arguments of a ``Params.synthetic_data`` section (max_chars capped by the CTC limit)."""
    return dict(
        max_words=synthetic.max_words,
        max_chars=min(synthetic.max_chars, max_label_units),
        font_dir=synthetic.font_dir or None,
        builtin_fonts=synthetic.builtin_fonts,
        rare_share=synthetic.rare_share,
        binarize=synthetic.binarize,
        sizes=tuple(synthetic.font_sizes),
        font_dir_share=synthetic.font_dir_share,
        languages=tuple(synthetic.languages),
        orthography=synthetic.orthography,
    )
