"""Readable JSON files (lookups, counts, indexes, parameters) written whole or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tf_crnn.safe_io import atomic_write_text


def write_json(path: str | os.PathLike, document: Any, indent: int = 1) -> Path:
    """Write ``document`` as indented UTF-8 JSON (non-ASCII units kept readable), through a
    temporary file and a rename so that a crash never leaves half a lookup behind."""
    atomic_write_text(path, json.dumps(document, indent=indent, ensure_ascii=False) + "\n")
    return Path(path)
