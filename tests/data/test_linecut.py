"""Cutting lines from pages: deskew by the baseline, dewarp along a curved one, background fill, mapping back."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tf_crnn.data.linecut import cut_line


def ink_rows(image: np.ndarray) -> np.ndarray:
    return np.flatnonzero((image < 100).any(axis=1))


def test_skewed_line_comes_out_level_and_maps_back():
    page = np.full((300, 400), 200, np.uint8)
    angle = math.radians(8)
    start = np.array([50.0, 150.0])
    direction = np.array([math.cos(angle), math.sin(angle)])
    end = start + 300 * direction
    cv2.line(page, tuple(np.round(start).astype(int)), tuple(np.round(end).astype(int)), 0, 3)
    normal = np.array([-direction[1], direction[0]])
    polygon = [
        tuple(start - 15 * normal),
        tuple(end - 15 * normal),
        tuple(end + 10 * normal),
        tuple(start + 10 * normal),
    ]
    cut = cut_line(page, polygon, [tuple(start), tuple(end)], padding=0.1)
    rows = ink_rows(cut.image)
    assert rows.max() - rows.min() <= 8  # a level stroke of 3 px, not a diagonal spanning 42 rows
    assert cut.image.shape[1] == pytest.approx(300 + 2.5, abs=3)
    x, y = cut.to_page(0.0, float(rows.mean()))
    assert np.hypot(*(np.array([x, y]) - start)) < 5
    assert cut.image[0, 0] == 200  # outside the polygon: the line's background


def test_curved_baseline_is_straightened_with_dewarp():
    page = np.full((200, 400), 230, np.uint8)
    xs = np.arange(20, 380)
    ys = 100 + 25 * np.sin((xs - 20) / 360 * math.pi)
    for x, y in zip(xs, ys):
        page[int(y) - 2 : int(y) + 1, x] = 0
    baseline = [(float(x), float(y)) for x, y in zip(xs[::20], ys[::20])]
    polygon = [(x, y - 20) for x, y in baseline] + [(x, y + 12) for x, y in reversed(baseline)]
    straight = cut_line(page, polygon, baseline, padding=0.1, dewarp=False)
    dewarped = cut_line(page, polygon, baseline, padding=0.1, dewarp=True)
    spread = lambda image: np.ptp(ink_rows(image))  # noqa: E731
    assert spread(dewarped.image) <= 5 < spread(straight.image)


def test_background_is_the_lines_own_for_a_negative():
    page = np.full((100, 200), 20, np.uint8)  # dark film, light ink
    page[40:50, 30:150] = 240
    cut = cut_line(page, [(20, 30), (160, 30), (160, 60), (20, 60)], None, padding=0.5)
    assert cut.image[0, 0] == 20 and cut.image.max() == 240


def test_colour_pages_stay_colour():
    page = np.zeros((60, 80, 3), np.uint8)
    page[:] = (200, 180, 150)
    cut = cut_line(page, [(10, 10), (70, 10), (70, 40), (10, 40)], [(10, 35), (70, 35)])
    assert cut.image.ndim == 3 and tuple(cut.image[0, 0]) == (200, 180, 150)


@pytest.mark.parametrize("shape", [(40, 90), (40, 90, 3), (41, 91)])
def test_background_fill_is_the_median_of_the_pixels_inside_the_polygon(shape):
    from tf_crnn.data.linecut import _median_inside

    rng = np.random.default_rng(sum(shape))
    window = rng.integers(0, 256, shape, dtype=np.uint8)
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.array([[5, 3], [80, 8], [70, 35], [10, 30]], np.int32)], 255)
    inside = np.sort(window[mask > 0], axis=0)
    assert np.array_equal(_median_inside(window, mask), inside[(len(inside) - 1) // 2])  # the lower median
    assert _median_inside(window, np.zeros_like(mask)) is None
