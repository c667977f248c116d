"""Reading page scans as archives keep them: TIFF of every kind, JPEG, colour read as gray for gray models."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tf_crnn.data.page_images import needs_conversion, read_image, tensorflow_readable
from tf_crnn.errors import DataError


def scan(seed: int = 5) -> np.ndarray:
    """A colour 'page': smooth paper with dark strokes, so JPEG keeps it close."""
    rng = np.random.default_rng(seed)
    page = np.full((120, 160, 3), (225, 215, 190), np.uint8)
    for _ in range(12):
        x, y = rng.integers(10, 150), rng.integers(10, 110)
        cv2.line(page, (int(x), int(y)), (int(x) + 30, int(y)), (40, 30, 20), 2)
    return page


@pytest.mark.parametrize(
    "mode, compression",
    [("RGB", "tiff_lzw"), ("RGB", "jpeg"), ("L", "tiff_adobe_deflate"), ("1", "group4"), ("L", None)],
)
def test_tiff_pages_are_read_in_colour_and_as_gray(tmp_path, mode, compression):
    image = Image.fromarray(scan()).convert(mode)
    path = tmp_path / "page.tif"
    image.save(path, compression=compression) if compression else image.save(path)
    assert needs_conversion(path)
    colour, gray = read_image(path), read_image(path, gray=True)
    assert gray.shape == (120, 160) and gray.dtype == np.uint8
    expected = cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY) if colour.ndim == 3 else colour
    assert np.abs(gray.astype(int) - expected).max() <= 1  # the luma the predictor takes of colour lines


def test_a_jpeg_page_is_decoded_straight_to_gray(tmp_path):
    path = tmp_path / "page.jpg"
    Image.fromarray(scan()).save(path, quality=95)
    colour, gray = read_image(path), read_image(path, gray=True)
    assert colour.shape == (120, 160, 3) and gray.shape == (120, 160)
    assert np.abs(gray.astype(int) - cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)).mean() < 2


def test_sixteen_bit_gray_is_scaled_to_eight_bits(tmp_path):
    path = tmp_path / "page16.tif"
    Image.fromarray(np.arange(160, dtype=np.uint16)[None, :].repeat(10, 0) * 400).save(path)
    for gray in (False, True):
        pixels = read_image(path, gray=gray)
        assert pixels.dtype == np.uint8 and pixels.shape == (10, 160) and pixels[0, -1] > pixels[0, 0]


def test_tiff_bytes_become_png_that_tensorflow_decodes():
    buffer = io.BytesIO()
    Image.fromarray(scan()).save(buffer, "TIFF")
    readable = tensorflow_readable(buffer.getvalue())
    assert readable[:4] == b"\x89PNG"
    assert tf.io.decode_image(readable, channels=3).numpy().tolist() == scan().tolist()
    png = readable
    assert tensorflow_readable(png) is png  # what TensorFlow reads is passed as it is


def test_unreadable_pages_are_data_errors_naming_the_file(tmp_path):
    with pytest.raises(DataError, match="gone.tif: image not found"):
        read_image(tmp_path / "gone.tif")
    (tmp_path / "text.tif").write_bytes(b"not an image")
    with pytest.raises(DataError, match="text.tif: unreadable image .not a known image format"):
        read_image(tmp_path / "text.tif", gray=True)
    for name, kind in (("cut.png", "PNG"), ("cut.tif", "TIFF")):
        buffer = io.BytesIO()
        Image.fromarray(scan()).save(buffer, kind)
        (tmp_path / name).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        with pytest.raises(
            DataError, match=f"{name}: unreadable image, corrupt or truncated .*scan or export it again"
        ):
            read_image(tmp_path / name)
