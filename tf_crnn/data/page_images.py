"""Page and line images in the formats archives keep them: TIFF (bitonal, grayscale, colour; raw, LZW,
Group 4 or JPEG-compressed), JPEG 2000, PNG, JPEG, read with Pillow into uint8 arrays.

TensorFlow's decoder reads PNG, JPEG, BMP and GIF only: :func:`tensorflow_readable` turns the other
formats into PNG (the pipeline does it for TIFF line images, the predictor for TIFF files), so a TIFF
line is read wherever a PNG line is.
"""

from __future__ import annotations

import io
import os

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from tf_crnn.data.images import DECODE_ERRORS
from tf_crnn.errors import DataError

IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".jp2", ".j2k", ".jpx", ".bmp", ".gif")
#: The first bytes of the files tf.io.decode_image cannot read but Pillow can: TIFF (little- and
#: big-endian, classic and BigTIFF) and JPEG 2000 (JP2 box, bare codestream).
CONVERTED_HEADS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"\x00\x00\x00\x0c", b"\xff\x4f\xff\x51")


def _to_array(image: Image.Image) -> np.ndarray:
    """uint8 [H, W] (bitonal and grayscale) or [H, W, 3] (colour); 16-bit gray scaled to 8 bits."""
    if image.mode in ("1", "L", "P", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "PA"):
        if image.mode == "1":
            return np.asarray(image.convert("L"))
        if image.mode in ("L", "LA"):
            return np.asarray(image.convert("L"))
        converted = image.convert("RGB")
        return np.asarray(converted)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = array.astype(np.float64)
        top = float(array.max()) or 1.0
        array = np.clip(array * (255.0 / (65535.0 if top > 255 else 255.0)), 0, 255).astype(np.uint8)
    return array if array.ndim == 2 else array[:, :, :3]


def _to_gray(image: Image.Image) -> np.ndarray:
    """uint8 [H, W]: the BT.601 luma of colour images (as the predictor converts colour lines)."""
    if image.mode in ("P", "PA", "RGB", "RGBA", "CMYK", "YCbCr"):
        return np.asarray(image.convert("RGB").convert("L") if image.mode in ("P", "PA") else image.convert("L"))
    array = _to_array(image)
    return array if array.ndim == 2 else cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)


def read_image(path: str | os.PathLike, gray: bool = False) -> np.ndarray:
    """The first frame of an image file as uint8 [H, W] or [H, W, 3] ([H, W] with ``gray``: a colour scan
    read for a grayscale model is converted once, before its lines are cut, not line by line).

    DataError naming the file and why: a damaged scan is the user's to replace, and callers that go on
    with the next page catch it (it is a ValueError too)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"{path}: image not found")
    try:
        with Image.open(path) as image:
            if gray:
                image.draft("L", image.size)  # a JPEG file decodes straight to gray
            image.load()
            return _to_gray(image) if gray else _to_array(image)
    except UnidentifiedImageError:
        raise DataError(f"{path}: unreadable image (not a known image format)") from None
    except DECODE_ERRORS as error:
        raise DataError(f"{path}: unreadable image, corrupt or truncated ({error}); scan or export it again") from None


def png_bytes(array: np.ndarray) -> bytes:
    """A uint8 gray or RGB array encoded as PNG."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError(f"cannot encode an image of shape {array.shape} as PNG")
    return encoded.tobytes()


def needs_conversion(path: str | os.PathLike) -> bool:
    """Whether an image file is TIFF or JPEG 2000, which TensorFlow's decoder does not read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in CONVERTED_HEADS
    except OSError:
        return False


def tensorflow_readable(data: bytes) -> bytes:
    """Encoded image bytes that tf.io.decode_image reads: as they are for PNG/JPEG/BMP/GIF, else as PNG."""
    if data[:4] not in CONVERTED_HEADS:
        return data
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return png_bytes(_to_array(image))
