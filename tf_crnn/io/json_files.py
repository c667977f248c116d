"""Readable JSON files (lookups, counts, indexes) written whole or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: str | os.PathLike, document: Any) -> Path:
    """Write ``document`` as indented UTF-8 JSON (non-ASCII units kept readable), through a
    temporary file and a rename so that a crash never leaves half a lookup behind."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target
