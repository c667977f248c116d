"""Render a line of units with a font family, then degrade it like a scan.

Layout: words on one baseline, a font size per line, letter spacing (tracking) and word spacing
(justified lines have wide gaps), a word or a run of words in another style of the family
(bold, italic), typographic glyphs where the font has them (``fi``/``ffi`` ligatures, curly
apostrophes, and TeX-style quotes: the units `````` and ``''`` drawn as “ and ”, as in the
ground truth of UW3 and of many scanned books). The label is always the units, never the
glyphs drawn for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import regex
from PIL import Image, ImageDraw

from tf_crnn.synth.degrade import Degradation, degrade
from tf_crnn.synth.fonts import BOLD, BOLD_ITALIC, ITALIC, REGULAR, Face, Family, FontLibrary

TYPOGRAPHIC_QUOTES = (("``", "\u201c"), ("''", "\u201d"), ("`", "\u2018"), ("'", "\u2019"))
LIGATURES = (("ffi", "\ufb03"), ("ffl", "\ufb04"), ("ff", "\ufb00"), ("fi", "\ufb01"), ("fl", "\ufb02"))
STYLE_P = {REGULAR: 0.68, BOLD: 0.12, ITALIC: 0.15, BOLD_ITALIC: 0.05}


@dataclass(frozen=True)
class Layout:
    """How one line is set: size in pixels, spacing, glyph variants and word styles."""

    size: int
    style: str
    tracking: float  # extra pixels after every character
    word_space: float  # factor on the width of a space
    quotes: bool
    ligatures: bool
    word_styles: tuple[str, ...]


def _words(units: Sequence[str]) -> list[str]:
    """The line as words (strings) separated by single spaces (runs of spaces become empty words)."""
    words, current = [], []
    for unit in units:
        if unit == " ":
            words.append("".join(current))
            current = []
        else:
            current.append(unit)
    words.append("".join(current))
    return words


def _glyphs(word: str, face: Face, layout: Layout) -> str:
    """The characters drawn for a word: typographic variants where the face has them (a shaped face
    sets its own ligatures)."""
    if layout.quotes:
        for plain, fancy in TYPOGRAPHIC_QUOTES:
            if plain in word and fancy in face.chars:
                word = word.replace(plain, fancy)
    if layout.ligatures and not face.shaped:
        for plain, ligature in LIGATURES:
            if plain in word and ligature in face.chars:
                word = word.replace(plain, ligature)
    return word


class LineRenderer:
    """Draws a list of units as a scanned-looking line image (uint8, paper light, ink dark)."""

    def __init__(
        self,
        library: FontLibrary,
        degradation: Degradation | None = None,
        sizes: tuple[int, int] = (20, 48),
    ) -> None:
        self.library = library
        self.degradation = degradation or Degradation()
        self.sizes = sizes

    def layout(self, family: Family, n_words: int, rng: np.random.Generator) -> Layout:
        size = int(rng.integers(self.sizes[0], self.sizes[1] + 1))
        styles = [s for s in STYLE_P if s in family.faces]
        p = np.array([STYLE_P[s] for s in styles])
        style = styles[int(rng.choice(len(styles), p=p / p.sum()))]
        word_styles = [style] * n_words
        if len(styles) > 1 and rng.random() < 0.2:
            other = styles[int(rng.integers(len(styles)))]
            start = int(rng.integers(n_words))
            for i in range(start, min(n_words, start + int(rng.integers(1, 4)))):
                word_styles[i] = other
        tracking = rng.uniform(-0.03, 0.1) * size if rng.random() < 0.2 else 0.0
        word_space = rng.uniform(1.0, 2.6) if rng.random() < 0.3 else rng.uniform(0.8, 1.25)
        return Layout(size, style, tracking, word_space, rng.random() < 0.7, rng.random() < 0.5, tuple(word_styles))

    def render(self, units: Sequence[str], family: Family, rng: np.random.Generator) -> np.ndarray:
        words = _words(units)
        layout = self.layout(family, len(words), rng)
        faces = []
        for word, style in zip(words, layout.word_styles):
            face = family.face(style)
            faces.append(face if face.covers(word) else family.face(REGULAR))
        base = family.face(layout.style if family.face(layout.style).covers("".join(words)) else REGULAR)
        if base.is_hershey:
            ink, box = self._draw_hershey(words, faces, layout)
        else:
            ink, box = self._draw_pil(words, faces, base, layout)
        return degrade(ink, box, layout.size, rng, self.degradation)

    def _draw_pil(self, words: list[str], faces: list[Face], base: Face, layout: Layout) -> tuple[np.ndarray, tuple]:
        fonts = [face.pil_font(layout.size) for face in faces]
        base_font = base.pil_font(layout.size)
        ascent, descent = base_font.getmetrics()
        space = base_font.getlength(" ") * layout.word_space
        # with tracking, each grapheme cluster (a letter and its combining marks) is set apart
        texts = [_glyphs(word, face, layout) for word, face in zip(words, faces)]
        texts = [regex.findall(r"\X", text) if layout.tracking else [text] for text in texts]
        advances = []
        for text, font in zip(texts, fonts):
            if layout.tracking:
                advances.append([font.getlength(c) + layout.tracking for c in text])
            else:
                advances.append([font.getlength(text[0])])
        pad = layout.size // 2 + 4
        width = int(sum(sum(a) for a in advances) + space * (len(words) - 1)) + 2 * pad
        height = ascent + descent + 2 * pad
        canvas = Image.new("L", (max(width, 1), height), 0)
        draw = ImageDraw.Draw(canvas)
        baseline = pad + ascent
        x = float(pad)
        for text, font, steps in zip(texts, fonts, advances):
            if layout.tracking:
                for char, step in zip(text, steps):
                    draw.text((x, baseline), char, font=font, fill=255, anchor="ls")
                    x += step
            elif text[0]:
                draw.text((x, baseline), text[0], font=font, fill=255, anchor="ls")
                x += steps[0]
            x += space
        ink = np.asarray(canvas, dtype=np.float32) / 255.0
        return ink, (baseline - ascent, baseline + descent)

    def _draw_hershey(self, words: list[str], faces: list[Face], layout: Layout) -> tuple[np.ndarray, tuple]:
        scale = layout.size * 0.7 / 22.0
        thickness = max(1, round(layout.size / 18))
        (_, ascent), descent = cv2.getTextSize("Ag", faces[0].hershey, scale, thickness)
        space = cv2.getTextSize(" ", faces[0].hershey, scale, thickness)[0][0] * layout.word_space
        widths = [cv2.getTextSize(w, f.hershey, scale, thickness)[0][0] if w else 0 for w, f in zip(words, faces)]
        pad = layout.size // 2 + 4
        width = int(sum(widths) + space * (len(words) - 1)) + 2 * pad
        height = ascent + descent + 2 * pad
        canvas = np.zeros((height, max(width, 1)), np.uint8)
        baseline = pad + ascent
        x = float(pad)
        for word, face, advance in zip(words, faces, widths):
            if word:
                cv2.putText(canvas, word, (round(x), baseline), face.hershey, scale, 255, thickness, cv2.LINE_AA)
            x += advance + space
        return canvas.astype(np.float32) / 255.0, (baseline - ascent, baseline + descent)
