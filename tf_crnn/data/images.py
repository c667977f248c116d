"""Line images read with Pillow before training: every pixel decoded once, so a truncated or corrupt
file is reported before a training step runs, not hours later (decoding is cheap next to a step)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image, UnidentifiedImageError

T = TypeVar("T")

#: Formats the pipeline reads: those tf.io.decode_image reads, and TIFF and JPEG 2000, which it reads
#: through PNG (:func:`tf_crnn.data.page_images.tensorflow_readable`); others are reported before training.
DECODABLE_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF", "TIFF", "JPEG2000"}


#: What Pillow raises for truncated, corrupt or oversized files (it has no single error type).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)


def image_size(path: str, data: bytes | None = None) -> tuple[int, int]:
    """(width, height) of a fully decodable image; raises ValueError with the reason.

    ``verify`` checks the file's structure (PNG chunk checksums), ``load`` decodes every pixel,
    which catches truncated and corrupt PNG/JPEG files that a header read would let through.
    ``data`` is the encoded image when it does not come from ``path`` (a TFRecord row's image).
    """
    if data is None and not os.path.exists(path):
        raise ValueError(f"image not found: {path}")
    if (len(data) if data is not None else os.path.getsize(path)) == 0:
        raise ValueError(f"image file is empty: {path}")
    source = ImageSource(path, data)
    image_format = _checked(source, _image_format)
    if image_format not in DECODABLE_FORMATS:
        raise ValueError(f"{image_format} images cannot be decoded in the pipeline, convert to PNG: {path}")
    return _checked(source, _decoded_size)


@dataclass(frozen=True)
class ImageSource:
    """An image file, or its encoded bytes with the path they came from (for messages)."""

    path: str
    data: bytes | None = None

    def open(self) -> Image.Image:
        return Image.open(self.path if self.data is None else io.BytesIO(self.data))


def _image_format(source: ImageSource) -> str:
    with source.open() as image:
        return image.format


def _decoded_size(source: ImageSource) -> tuple[int, int]:
    with source.open() as image:
        image.verify()
    with source.open() as image:
        image.load()
        return image.size


def _checked(source: ImageSource, read: Callable[[ImageSource], T]) -> T:
    """Run a Pillow reader, turning its many error types into one ValueError naming the reason."""
    path = source.path
    try:
        return read(source)
    except UnidentifiedImageError:
        raise ValueError(f"unreadable image (not a known image format): {path}") from None
    except DECODE_ERRORS as error:
        raise ValueError(f"unreadable image, corrupt or truncated ({error}): {path}") from None
