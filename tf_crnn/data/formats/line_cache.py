"""The cache of lines cut from page scans: where a page's lines are kept, and its upkeep.

Each page's cut lines live in ``<cache>/<key[:2]>/<key>/`` (``0000.png`` ..., and ``lines.json``, the
manifest written last), ``key`` a digest of the XML, the image file and the cut. Nothing else in the
cache folder is ever touched: ``pages.cache_dir`` may point into a folder that holds other files.
Reading a page's lines from the cache marks the manifest as used (its modification time), so
:func:`prune` removes what no run has read for a while and keeps what training reads every day.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The file an entry writes last: an entry without it was cut short (or is being written).
MANIFEST = "lines.json"
_KEY = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(r"[0-9a-f]{2}")
_DAY = 24 * 3600.0


def entry_folder(root: Path, parts: list[bytes]) -> Path:
    """The folder of the entry whose key is the digest of ``parts``."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    key = digest.hexdigest()
    return root / key[:2] / key


def mark_used(folder: Path) -> None:
    """Record that a run read this entry (a read-only cache still serves, unmarked)."""
    try:
        os.utime(folder / MANIFEST)
    except OSError:
        return


@dataclass
class CacheUsage:
    """Entries (one per page and cut), their line images and bytes; ``oldest_use`` in days ago."""

    root: str
    pages: int = 0
    files: int = 0
    bytes: int = 0
    oldest_use_days: float = 0.0

    def add(self, folder: Path, last_use: float, now: float) -> None:
        files = [path for path in folder.iterdir() if path.is_file()]
        self.pages += 1
        self.files += len(files)
        self.bytes += sum(path.stat().st_size for path in files)
        self.oldest_use_days = max(self.oldest_use_days, (now - last_use) / _DAY)


def entries(root: Path) -> Iterator[tuple[Path, float]]:
    """Each entry folder under ``root`` with when it was last used (seconds since the epoch): its
    manifest's time, or for an entry cut short, the newest of its files."""
    if not root.is_dir():
        return
    for prefix in sorted(root.iterdir()):
        if not (prefix.is_dir() and _PREFIX.fullmatch(prefix.name)):
            continue
        for folder in sorted(prefix.iterdir()):
            if folder.is_dir() and _KEY.fullmatch(folder.name) and folder.name.startswith(prefix.name):
                manifest = folder / MANIFEST
                times = [manifest.stat().st_mtime] if manifest.is_file() else []
                times = times or [path.stat().st_mtime for path in folder.iterdir()] or [folder.stat().st_mtime]
                yield folder, max(times)


def usage(root: Path) -> CacheUsage:
    """What the cache at ``root`` holds."""
    now = time.time()
    found = CacheUsage(str(root))
    for folder, last_use in entries(root):
        found.add(folder, last_use, now)
    return found


def prune(root: Path, unused_days: float) -> CacheUsage:
    """Remove the entries no run has used for ``unused_days`` days (0: all of them): what was removed.
    A run reading the cache meanwhile cuts a removed page again."""
    now = time.time()
    removed = CacheUsage(str(root))
    for folder, last_use in entries(root):
        if now - last_use >= unused_days * _DAY:
            removed.add(folder, last_use, now)
            shutil.rmtree(folder)
            if not any(folder.parent.iterdir()):
                folder.parent.rmdir()
    return removed
