"""Cutting text lines out of a page scan, given their polygon and baseline (PAGE-XML, ALTO).

A line is cut as a strip that follows its baseline: the strip's x axis runs along the baseline, its
y axis across it. With a straight baseline (the default) the strip is the polygon's box rotated by
the baseline's angle, so a skewed line comes out level; with ``dewarp`` the strip follows a curved
baseline point by point, so a curved line comes out straight. Without a baseline the polygon's
bounding box is cut as it is. The strip reaches ``padding`` times the line height above and below
the polygon (half of it left and right).

Pixels outside the polygon (the neighbouring lines' ascenders and descenders, the padding) are
filled with the line's own background: the median of the pixels inside the polygon, which is the
paper (or the film, for a negative) since ink covers less than half of a line. Nothing is assumed
black or white.

Every column ``x`` of the strip keeps where it lies on the page (:class:`LineCut`), so positions the
model gives in the strip (a character's columns) map back to page coordinates (word boxes).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Points = list[tuple[float, float]]


@dataclass
class LineCut:
    """A cut line and where its pixels were on the page: column ``x``, row ``y`` of ``image`` came from
    ``origins[x] + y * normals[x]`` (page pixels)."""

    image: np.ndarray
    origins: np.ndarray  # [W, 2]
    normals: np.ndarray  # [W, 2]

    def to_page(self, x: float, y: float) -> tuple[float, float]:
        """Page coordinates of a point of the cut image (x between columns is interpolated)."""
        width = len(self.origins)
        x = min(max(x, 0.0), width - 1.0)
        left = int(np.floor(x))
        right = min(left + 1, width - 1)
        share = x - left
        origin = self.origins[left] * (1 - share) + self.origins[right] * share
        normal = self.normals[left] * (1 - share) + self.normals[right] * share
        point = origin + y * normal
        return float(point[0]), float(point[1])

    def box_on_page(self, x_start: float, x_end: float) -> Points:
        """The page polygon of the strip's columns [x_start, x_end): four corners, clockwise from top left."""
        height = self.image.shape[0] - 1.0
        return [
            self.to_page(x_start, 0.0),
            self.to_page(x_end, 0.0),
            self.to_page(x_end, height),
            self.to_page(x_start, height),
        ]


def _polyline_frame(baseline: np.ndarray, dewarp: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points along the baseline, the unit tangent and the unit normal (pointing down the page) at each.

    Straight: the chord from the first to the last point. Dewarp: the polyline itself, with
    tangents smoothed over neighbouring segments so the normals turn gradually.
    """
    if not dewarp or len(baseline) < 3:
        start, end = baseline[0], baseline[-1]
        direction = end - start
        if np.hypot(*direction) < 1e-6:
            direction = np.array([1.0, 0.0])
        tangent = direction / np.hypot(*direction)
        points = np.stack([start, end])
        tangents = np.stack([tangent, tangent])
    else:
        points = baseline
        segments = np.diff(points, axis=0)
        lengths = np.maximum(np.hypot(segments[:, 0], segments[:, 1]), 1e-6)
        units = segments / lengths[:, None]
        tangents = np.concatenate([units[:1], (units[:-1] + units[1:]) / 2, units[-1:]])
        tangents /= np.maximum(np.hypot(tangents[:, 0], tangents[:, 1]), 1e-6)[:, None]
    if tangents[:, 0].mean() < 0:  # baselines drawn right to left: the strip still reads left to right
        points, tangents = points[::-1], -tangents[::-1]
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)
    return points, tangents, normals


def _arc_lengths(points: np.ndarray) -> np.ndarray:
    steps = np.hypot(*np.diff(points, axis=0).T) if len(points) > 1 else np.zeros(0)
    return np.concatenate([[0.0], np.cumsum(steps)])


def _project(polygon: np.ndarray, points: np.ndarray, tangents: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(s, t) of each polygon point: arc length along the baseline and signed distance across it."""
    arcs = _arc_lengths(points)
    result = np.zeros((len(polygon), 2))
    for i, p in enumerate(polygon):
        best = None
        for k in range(max(len(points) - 1, 1)):
            a = points[k]
            b = points[min(k + 1, len(points) - 1)]
            seg = b - a
            length = float(np.hypot(*seg))
            u = float(np.dot(p - a, seg) / (length * length)) if length > 1e-6 else 0.0
            first, last = k == 0, k >= len(points) - 2
            clipped = u if (first and u < 0) or (last and u > 1) else min(max(u, 0.0), 1.0)
            foot = a + clipped * seg
            distance = float(np.hypot(*(p - foot)))
            if best is None or distance < best[0]:
                share = min(max(u, 0.0), 1.0)
                normal = normals[k] * (1 - share) + normals[min(k + 1, len(normals) - 1)] * share
                best = (distance, arcs[k] + clipped * length, float(np.dot(p - foot, normal)))
        result[i] = best[1:]
    return result


def _frame_at(
    s: np.ndarray, points: np.ndarray, tangents: np.ndarray, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Baseline points and normals at arc lengths ``s`` (extended straight beyond both ends)."""
    arcs = _arc_lengths(points)
    if len(points) == 1 or arcs[-1] < 1e-6:
        return points[0] + s[:, None] * tangents[0], np.repeat(normals[:1], len(s), axis=0)
    base = np.stack([np.interp(s, arcs, points[:, 0]), np.interp(s, arcs, points[:, 1])], axis=1)
    before, after = s < 0, s > arcs[-1]
    base[before] = points[0] + s[before, None] * tangents[0]
    base[after] = points[-1] + (s[after] - arcs[-1])[:, None] * tangents[-1]
    normal = np.stack([np.interp(s, arcs, normals[:, 0]), np.interp(s, arcs, normals[:, 1])], axis=1)
    normal /= np.maximum(np.hypot(normal[:, 0], normal[:, 1]), 1e-6)[:, None]
    return base, normal


def line_strip(
    polygon: Points, baseline: Points | None, padding: float, dewarp: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """The strip's column origins [W, 2], normals [W, 2] and height for a line's polygon and baseline."""
    poly = np.asarray(polygon, np.float64)
    if baseline is None or len(baseline) < 2:
        x0, y0 = poly.min(axis=0)
        x1, y1 = poly.max(axis=0)
        height = y1 - y0
        pad = padding * height
        width = int(np.ceil(x1 - x0 + pad)) + 1
        origins = np.stack([x0 - pad / 2 + np.arange(width), np.full(width, y0 - pad)], axis=1)
        normals = np.tile([0.0, 1.0], (width, 1))
        return origins, normals, int(np.ceil(height + 2 * pad)) + 1
    points, tangents, normals = _polyline_frame(np.asarray(baseline, np.float64), dewarp)
    st = _project(poly, points, tangents, normals)
    s0, s1 = st[:, 0].min(), st[:, 0].max()
    t0, t1 = st[:, 1].min(), st[:, 1].max()
    pad = padding * (t1 - t0)
    width = int(np.ceil(s1 - s0 + pad)) + 1
    s = s0 - pad / 2 + np.arange(width, dtype=np.float64)
    base, normal = _frame_at(s, points, tangents, normals)
    origins = base + (t0 - pad) * normal
    return origins, normal, int(np.ceil(t1 - t0 + 2 * pad)) + 1


def cut_line(
    page: np.ndarray, polygon: Points, baseline: Points | None = None, padding: float = 0.1, dewarp: bool = False
) -> LineCut:
    """The line of ``page`` (uint8 [H, W] or [H, W, 3]) inside ``polygon``, levelled, the outside filled
    with the line's background."""
    origins, normals, height = line_strip(polygon, baseline, padding, dewarp)
    rows = np.arange(height, dtype=np.float64)
    map_x = (origins[None, :, 0] + rows[:, None] * normals[None, :, 0]).astype(np.float32)
    map_y = (origins[None, :, 1] + rows[:, None] * normals[None, :, 1]).astype(np.float32)
    # everything is read from the polygon's neighbourhood only, so a line costs its own size, not the page's
    poly = np.asarray(polygon, np.float64)
    left = int(max(np.floor(min(map_x.min(), poly[:, 0].min())) - 2, 0))
    top = int(max(np.floor(min(map_y.min(), poly[:, 1].min())) - 2, 0))
    right = int(min(np.ceil(max(map_x.max(), poly[:, 0].max())) + 3, page.shape[1]))
    bottom = int(min(np.ceil(max(map_y.max(), poly[:, 1].max())) + 3, page.shape[0]))
    window = np.ascontiguousarray(page[top:bottom, left:right])
    mask = np.zeros(window.shape[:2], np.uint8)
    shifted = np.round(poly - [left, top]).astype(np.int32)
    cv2.fillPoly(mask, [shifted], 255)
    map_x -= left
    map_y -= top
    strip = cv2.remap(window, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.remap(mask, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    background = _median_inside(window, mask)
    if background is not None:
        strip[~inside] = background
    return LineCut(strip, origins, normals)


def _median_inside(window: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """The (lower) median of each channel of the pixels under ``mask``, or None when it covers none.

    Counted in a 256-bin histogram: a line's window has ~10^5 pixels, which sorting made the most
    expensive step of cutting a line."""
    count = cv2.countNonZero(mask)
    if not count:
        return None
    channels = 1 if window.ndim == 2 else window.shape[2]
    median_rank = (count - 1) // 2 + 1  # the 1-based rank of the lower median
    values = [
        np.searchsorted(cv2.calcHist([window], [c], mask, [256], [0, 256]).ravel().cumsum(), median_rank)
        for c in range(channels)
    ]
    return np.asarray(values if channels > 1 else values[0], np.uint8)


def clip_polygon(polygon: Points, width: int, height: int) -> tuple[Points, bool]:
    """The polygon with its points moved inside a ``width`` x ``height`` image, and whether any moved."""
    clipped = [(min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)) for x, y in polygon]
    return clipped, clipped != [(float(x), float(y)) for x, y in polygon]
