"""Writes that a crash, a kill or a full disk cannot leave half done: every file tf-crnn writes goes through here.

Files are written aside and renamed into place (a rename within one file system is atomic), so a
reader sees the old version or the new one, never a mix; each write has a temporary file of its own,
so two processes writing the same file (training and evaluation filling one line cache) do not
write into or rename each other's: :func:`written_aside` for any writer,
:func:`atomic_write_text`, :func:`atomic_write_bytes` and :func:`write_json` for whole documents,
:func:`replaced_folder` for folders (SavedModel exports). Checkpoints are
written by ``tf.train.CheckpointManager``, which writes the data files first and then replaces its
``checkpoint`` state file atomically: the previous checkpoint stays the latest until the new one is
complete. Writing over an existing checkpoint is not atomic (TensorFlow renames the new data file
over the old one, then rewrites the index in place), so :func:`save_checkpoint` never does it.
Failures to write become :class:`StorageError` saying what was being written and whether
the disk is full.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tf_crnn.errors import StorageError

if TYPE_CHECKING:
    import tensorflow as tf

LOGGER = logging.getLogger(__name__)


def is_disk_full(error: BaseException) -> bool:
    """True for 'no space left' (ENOSPC) and 'quota exceeded' from Python or TensorFlow."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error)
    return "No space left on device" in text or "Disk quota exceeded" in text


def storage_error(error: BaseException, what: str, kept: str | None) -> StorageError:
    """A StorageError that says what failed, whether the disk is full and what is still intact."""
    reason = "the disk is full (no space left on device)" if is_disk_full(error) else str(error)
    tail = f"; the previous checkpoint {kept} is intact" if kept else ""
    rerun = "resume with restore_model=true" if kept else "run it again"
    hint = f"; free some space and {rerun}" if is_disk_full(error) else ""
    return StorageError(f"could not write {what}: {reason}{tail}{hint}")


def _new_file_beside(target: Path) -> Path:
    """A new, empty, hidden file in ``target``'s folder under a name no other writer can have (random, and
    created exclusively). Not ``tempfile.mkstemp``: its files are private (0600) and would make every file
    renamed from them unreadable to others; this one gets the mode a plain ``open`` gives (the umask)."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


@contextmanager
def written_aside(path: str | os.PathLike) -> Iterator[Path]:
    """A new temporary file beside ``path`` for the block to write; renamed over ``path`` when the block
    ends without error, removed when it fails. Write failures become a StorageError naming ``path``."""
    target = Path(path)
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _new_file_beside(target)
        yield tmp
        os.replace(tmp, target)
    except OSError as error:
        _remove(tmp)
        raise storage_error(error, str(target), None) from error
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path | None) -> None:
    if tmp is not None:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file, flushed to disk, and a rename."""
    with written_aside(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, flushed to disk, and a rename."""
    with written_aside(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_json(path: str | os.PathLike, document: Any, indent: int = 1) -> Path:
    """Write ``document`` as indented UTF-8 JSON (non-ASCII units kept readable), whole or not at all."""
    atomic_write_text(path, json.dumps(document, indent=indent, ensure_ascii=False) + "\n")
    return Path(path)


@contextmanager
def replaced_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``path`` for the block to fill; it replaces ``path`` (an older
    folder of that name is moved aside first, then removed) when the block ends without error, and
    is removed when it fails. Write failures become a StorageError naming ``path``. Like files, each
    call has folders of its own (random names, the new one created exclusively), so two writers of
    one export do not fill or remove each other's."""
    target = Path(path)
    token = secrets.token_hex(8)
    tmp = target.with_name(f".{target.name}.{token}.tmp")
    old = target.with_name(f".{target.name}.{token}.old")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        yield tmp
        if target.exists():
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        raise storage_error(error, str(target), None) from error
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def checkpoint_exists(manager: tf.train.CheckpointManager, number: int) -> bool:
    """Whether ``ckpt-<number>`` is one of the manager's kept checkpoints (files left by an
    interrupted save are not: nothing refers to them, so writing over them is safe)."""
    return os.path.join(manager.directory, f"ckpt-{number}") in manager.checkpoints


def save_checkpoint(manager: tf.train.CheckpointManager, number: int) -> str | None:
    """``manager.save`` as ``ckpt-<number>``, unless that is a kept checkpoint (then None: writing
    over it is not atomic).

    Failures (a full disk above all) raise StorageError naming the checkpoint that is kept.
    """
    if checkpoint_exists(manager, number):
        LOGGER.info("%s/ckpt-%d exists and is not overwritten", manager.directory, number)
        return None
    import tensorflow as tf

    previous = manager.latest_checkpoint
    try:
        return manager.save(checkpoint_number=number)
    except (OSError, tf.errors.OpError) as error:
        raise storage_error(error, f"checkpoint {number} in {manager.directory}", previous) from error
