"""Scan-like degradations of a rendered line (numpy/OpenCV), each drawn from the line's generator.

Stages, in the order a page goes through them: geometry (rotation, skew, baseline curvature),
ink (bleed, erosion/dilation, weight), the line crop (variable margins, ascenders/descenders
clipped by tight crops, fragments of the neighbouring lines), paper and ink shades with a
background texture and specks, then the scanner (blur, noise, resolution loss, JPEG artefacts)
and binarisation (Otsu, Sauvola or a fixed threshold), which real archives often apply.

Ink maps are float32 in [0, 1] with ink high; images are uint8 with paper light.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Degradation:
    """Probabilities and strengths of the degradations (the defaults suit printed scans)."""

    binarize: float = 0.5  # share of lines binarised (black ink on white)
    rotate: float = 0.4
    max_rotation_deg: float = 1.0
    skew: float = 0.25
    max_skew: float = 0.12
    curve: float = 0.2
    bleed: float = 0.35
    morph: float = 0.15
    clip: float = 0.2  # share of crops that cut into ascenders/descenders
    neighbours: float = 0.15
    specks: float = 0.25
    texture: float = 0.35
    blur: float = 0.4
    noise: float = 0.5
    resolution: float = 0.25
    jpeg: float = 0.25


def warp(ink: np.ndarray, rng: np.random.Generator, d: Degradation) -> np.ndarray:
    """Rotation and horizontal skew (one affine warp), then a sine-shaped baseline curvature."""
    angle = np.deg2rad(rng.uniform(-d.max_rotation_deg, d.max_rotation_deg)) if rng.random() < d.rotate else 0.0
    skew = rng.uniform(-d.max_skew, d.max_skew) if rng.random() < d.skew else 0.0
    height, width = ink.shape
    if angle or skew:
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = width / 2.0, height / 2.0
        # source = centre + [[cos, sin + skew], [-sin, cos]] @ (destination - centre)
        matrix = np.array([[cos, sin + skew, 0.0], [-sin, cos, 0.0]], np.float64)
        matrix[:, 2] = [cx - matrix[0, 0] * cx - matrix[0, 1] * cy, cy - matrix[1, 0] * cx - matrix[1, 1] * cy]
        ink = cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    if rng.random() < d.curve:
        amplitude = rng.uniform(0.5, 0.04 * height + 0.5)
        period = rng.uniform(0.7, 3.0) * width
        columns = np.arange(width, dtype=np.float32)
        offset = amplitude * np.sin(2 * np.pi * columns / period + rng.uniform(0, 2 * np.pi)).astype(np.float32)
        map_x = np.broadcast_to(columns, (height, width))
        map_y = np.arange(height, dtype=np.float32)[:, None] + offset[None, :]
        ink = cv2.remap(ink, np.ascontiguousarray(map_x), map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=0.0)
    return ink


def ink_spread(ink: np.ndarray, rng: np.random.Generator, d: Degradation, size: int) -> np.ndarray:
    """Ink bleed (blur then a threshold that thickens or thins strokes) and erosion/dilation.

    The blurred strokes are scaled to their own peak first, so thin faces at small sizes thin
    out without vanishing.
    """
    bled = rng.random() < d.bleed
    if bled:
        blurred = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.3, 0.03 * size + 0.5))
        peak = float(np.percentile(blurred[blurred > 0.05], 95)) if np.any(blurred > 0.05) else 1.0
        level = rng.uniform(0.3, 0.6)  # low: bolder, high: thinner
        ink = np.clip((blurred / max(peak, 1e-3) - level) / 0.25 + 0.5, 0.0, 1.0)
    if not bled and rng.random() < d.morph:
        kernel = np.ones((2, 2), np.uint8)
        ink = cv2.erode(ink, kernel) if size >= 32 and rng.random() < 0.3 else cv2.dilate(ink, kernel)
    return ink


def crop(ink: np.ndarray, box: tuple[int, int], rng: np.random.Generator, d: Degradation) -> np.ndarray:
    """Cut the line out like a line segmenter would: around the ink or the font's line box.

    ``box`` is the (top, bottom) of the font's ascender-descender box. Margins vary; a share of
    crops cuts into the ascenders/descenders or the first/last letter, as tight real crops do.
    """
    rows = np.flatnonzero(ink.max(axis=1) > 0.35)
    cols = np.flatnonzero(ink.max(axis=0) > 0.35)
    if rows.size == 0 or cols.size == 0:
        return ink
    if rng.random() < 0.75:
        top, bottom = int(rows[0]), int(rows[-1]) + 1
    else:
        top, bottom = min(box[0], int(rows[0])), max(box[1], int(rows[-1]) + 1)
    height = bottom - top
    if rng.random() < d.clip:
        top += int(rng.integers(0, max(1, height // 12) + 1))
        bottom -= int(rng.integers(0, max(1, height // 12) + 1))
    else:
        top -= int(rng.integers(0, max(1, height // 10) + 1))
        bottom += int(rng.integers(0, max(1, height // 10) + 1))
    left = int(cols[0]) - int(rng.integers(0, max(2, height // 2)))
    right = int(cols[-1]) + 1 + int(rng.integers(0, max(2, height // 2)))
    if rng.random() < 0.05:
        left += int(rng.integers(1, max(2, height // 8) + 1))  # the first letter touches the border
    top, left = max(0, top), max(0, left)
    bottom, right = min(ink.shape[0], max(bottom, top + 4)), min(ink.shape[1], max(right, left + 4))
    return ink[top:bottom, left:right]


def neighbour_fragments(line: np.ndarray, full: np.ndarray, rng: np.random.Generator, d: Degradation) -> np.ndarray:
    """Descenders of the line above and ascenders of the line below, cut by the crop."""
    if rng.random() >= d.neighbours:
        return line
    height, width = line.shape
    out = line.copy()
    band = max(1, int(height * rng.uniform(0.03, 0.12)))
    shift = int(rng.integers(0, max(1, full.shape[1] - width) + 1))
    rows = np.flatnonzero(full.max(axis=1) > 0.35)
    if rows.size == 0:
        return line
    piece = full[:, shift : shift + width]
    if rng.random() < 0.5:  # the bottom of the line above, at the top
        fragment = piece[rows[-1] + 1 - band : rows[-1] + 1]
        h, w = fragment.shape
        out[:h, :w] = np.maximum(out[:h, :w], fragment)
    else:  # the top of the line below, at the bottom
        fragment = piece[rows[0] : rows[0] + band]
        h = fragment.shape[0]
        out[height - h :, : fragment.shape[1]] = np.maximum(out[height - h :, : fragment.shape[1]], fragment)
    return out


def specks(ink: np.ndarray, rng: np.random.Generator, d: Degradation) -> np.ndarray:
    if rng.random() >= d.specks:
        return ink
    height, width = ink.shape
    out = ink.copy()
    for _ in range(int(rng.integers(1, 2 + width // 120))):
        center = (int(rng.integers(width)), int(rng.integers(height)))
        radius = int(rng.integers(0, 2))
        cv2.circle(out, center, radius, float(rng.uniform(0.5, 1.0)), -1)
    return out


def compose(ink: np.ndarray, rng: np.random.Generator, d: Degradation) -> np.ndarray:
    """Paper and ink shades, with a low-frequency paper texture: float gray, paper light."""
    height, width = ink.shape
    paper = rng.uniform(185, 255)
    tone = rng.uniform(0, 90)
    background = np.full((height, width), paper, np.float32)
    if rng.random() < d.texture:
        coarse = rng.normal(0, 1, (max(2, height // 8), max(2, width // 8))).astype(np.float32)
        background += rng.uniform(4, 22) * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return background - (background - tone) * ink


def scan(gray: np.ndarray, rng: np.random.Generator, d: Degradation) -> tuple[np.ndarray, bool]:
    """Blur, noise, resolution loss; returns (float gray, whether it still needs binarising)."""
    if rng.random() < d.blur:
        gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.3, 1.1))
    if rng.random() < d.resolution:
        height, width = gray.shape
        factor = rng.uniform(0.5, 0.85)
        small = cv2.resize(gray, (max(1, round(width * factor)), max(1, round(height * factor))), cv2.INTER_AREA)
        gray = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < d.noise:
        gray = gray + rng.normal(0, rng.uniform(2, 10), gray.shape).astype(np.float32)
    return gray, rng.random() < d.binarize


def sauvola(gray: np.ndarray, window: int, k: float, r: float = 128.0) -> np.ndarray:
    """Sauvola's local threshold ``mean * (1 + k * (std / r - 1))`` (paper light, ink dark)."""
    window |= 1
    mean = cv2.boxFilter(gray, cv2.CV_32F, (window, window), borderType=cv2.BORDER_REFLECT)
    square = cv2.boxFilter(gray * gray, cv2.CV_32F, (window, window), borderType=cv2.BORDER_REFLECT)
    std = np.sqrt(np.maximum(square - mean * mean, 0.0))
    return mean * (1.0 + k * (std / r - 1.0))


def binarize(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Black and white (0/255) by Otsu's global threshold, Sauvola's local one or a fixed level."""
    image = np.clip(gray, 0, 255).astype(np.uint8)
    kind = rng.random()
    if kind < 0.5:
        level, _ = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        level += rng.uniform(-25, 25)  # a slightly bolder or thinner scan than the optimum
        return np.where(image > level, 255, 0).astype(np.uint8)
    if kind < 0.8:
        window = max(15, int(image.shape[0] * rng.uniform(0.6, 1.5)))
        threshold = sauvola(image.astype(np.float32), window, rng.uniform(0.05, 0.35))
        return np.where(image > threshold, 255, 0).astype(np.uint8)
    return np.where(image > rng.uniform(100, 200), 255, 0).astype(np.uint8)


def jpeg(image: np.ndarray, rng: np.random.Generator, d: Degradation) -> np.ndarray:
    if rng.random() >= d.jpeg:
        return image
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE) if ok else image


def degrade(ink: np.ndarray, box: tuple[int, int], size: int, rng: np.random.Generator, d: Degradation) -> np.ndarray:
    """A rendered ink map (canvas with room around the text) -> a scanned-looking uint8 line image."""
    ink = warp(ink, rng, d)
    ink = ink_spread(ink, rng, d, size)
    line = crop(ink, box, rng, d)
    line = neighbour_fragments(line, ink, rng, d)
    line = specks(line, rng, d)
    gray, binarise = scan(compose(line, rng, d), rng, d)
    if binarise:
        return binarize(gray, rng)
    return jpeg(np.clip(gray, 0, 255).astype(np.uint8), rng, d)
