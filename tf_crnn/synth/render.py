"""Render text lines as grayscale images with fonts available offline.

Fonts: Pillow's built-in scalable font (shipped inside Pillow), OpenCV's Hershey fonts (shipped
inside OpenCV) and, optionally, any .ttf/.otf files of a folder the user names. Each line gets a
random font, size, letter spacing, ink and paper shade, margins, blur and noise. Every line's
random draws come from ``(seed, index)``, so a data set is reproducible line by line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tf_crnn.io.csv_rows import write_csv_rows
from tf_crnn.synth.text import TextSampler
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)

HERSHEY_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
HERSHEY_CHARS = {chr(c) for c in range(32, 127)}


@dataclass(frozen=True)
class FontChoice:
    """A Pillow font file (None = Pillow's built-in font) or a Hershey font id."""

    path: str | None = None
    hershey: int | None = None


class LineRenderer:
    """Draws a list of units as one line image (uint8, paper light, ink dark)."""

    def __init__(self, units: Sequence[str], font_dir: str | os.PathLike | None = None) -> None:
        fonts = [FontChoice()]
        if font_dir:
            files = sorted(p for p in Path(font_dir).rglob("*") if p.suffix.lower() in {".ttf", ".otf"})
            if not files:
                raise FileNotFoundError(f"{font_dir}: no .ttf or .otf font files found")
            fonts += [FontChoice(path=str(p)) for p in files]
        self.pil_fonts = fonts
        self.hershey_ok = set(units) <= HERSHEY_CHARS

    def render(self, units: Sequence[str], rng: np.random.Generator) -> np.ndarray:
        text = "".join(units)
        if self.hershey_ok and rng.random() < 0.35:
            image = self._render_hershey(text, rng)
        else:
            font = self.pil_fonts[int(rng.integers(len(self.pil_fonts)))]
            image = self._render_pil(units, font, rng)
        return _degrade(image, rng)

    def _render_pil(self, units: Sequence[str], choice: FontChoice, rng: np.random.Generator) -> np.ndarray:
        size = int(rng.integers(18, 36))
        font = ImageFont.truetype(choice.path, size) if choice.path else ImageFont.load_default(size)
        ascent, descent = font.getmetrics()
        spacing = float(rng.uniform(-0.5, 2.5)) if rng.random() < 0.5 else 0.0
        advances = [font.getlength(u) + spacing for u in units]
        margin_x = [int(rng.integers(2, 12)) for _ in range(2)]
        margin_y = [int(rng.integers(1, 7)) for _ in range(2)]
        width = int(np.ceil(sum(advances))) + sum(margin_x) + 2
        height = ascent + descent + sum(margin_y)
        paper = int(rng.integers(190, 256))
        ink = int(rng.integers(0, 90))
        canvas = Image.new("L", (width, height), paper)
        draw = ImageDraw.Draw(canvas)
        x = float(margin_x[0])
        if spacing == 0.0:
            draw.text((x, margin_y[0]), "".join(units), font=font, fill=ink)
        else:
            for unit, advance in zip(units, advances):
                draw.text((x, margin_y[0]), unit, font=font, fill=ink)
                x += advance
        return np.asarray(canvas)

    def _render_hershey(self, text: str, rng: np.random.Generator) -> np.ndarray:
        font = HERSHEY_FONTS[int(rng.integers(len(HERSHEY_FONTS)))]
        if rng.random() < 0.3:
            font |= cv2.FONT_ITALIC
        scale = float(rng.uniform(0.6, 1.1))
        thickness = int(rng.integers(1, 3))
        (text_width, text_height), baseline = cv2.getTextSize(text, font, scale, thickness)
        full_height = cv2.getTextSize("Ag|", font, scale, thickness)[0][1] + baseline
        margin_x = [int(rng.integers(2, 12)) for _ in range(2)]
        margin_y = [int(rng.integers(2, 7)) for _ in range(2)]
        width = text_width + sum(margin_x)
        height = full_height + baseline + sum(margin_y)
        paper = int(rng.integers(190, 256))
        ink = int(rng.integers(0, 90))
        canvas = np.full((height, width), paper, np.uint8)
        origin = (margin_x[0], margin_y[0] + full_height)
        cv2.putText(canvas, text, origin, font, scale, ink, thickness, cv2.LINE_AA)
        return canvas


def _degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mild scan-like degradations: blur, noise, resolution loss."""
    out = image.astype(np.float32)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.3:
        h, w = out.shape
        factor = float(rng.uniform(0.5, 0.9))
        small = cv2.resize(out, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        out += rng.normal(0.0, float(rng.uniform(2, 12)), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def generate_dataset(
    out_dir: str | os.PathLike,
    n: int,
    units: Sequence[str],
    seed: int = 1,
    name: str = "train",
    max_words: int = 6,
    max_chars: int = 40,
    font_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Write ``n`` line images to ``out_dir/<name>/`` and their labels to ``out_dir/<name>.csv``."""
    out_dir = Path(out_dir)
    image_dir = out_dir / name
    image_dir.mkdir(parents=True, exist_ok=True)
    sampler = TextSampler(units, max_words=max_words, max_chars=max_chars)
    renderer = LineRenderer(units, font_dir)
    rows = []
    for index in progress_bar(range(n), desc=f"rendering {name}", enabled=progress):
        rng = np.random.default_rng([seed, index])
        line_units = sampler.sample(rng)
        path = image_dir / f"{index:06d}.png"
        cv2.imwrite(str(path), renderer.render(line_units, rng))
        rows.append((path, line_units))
    csv_path = out_dir / f"{name}.csv"
    write_csv_rows(csv_path, rows)
    LOGGER.info("wrote %d synthetic lines to %s", n, csv_path)
    return csv_path
