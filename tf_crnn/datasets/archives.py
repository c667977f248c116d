"""Extracting downloaded archives safely: every entry is checked before anything is written.

Absolute paths, ``..`` escapes, links pointing outside, devices and entries reached through a link are
refused with the archive's name; where Python has it, the tar "data" filter is a second line of
defence. A marker file records a finished extraction, so a rerun skips it.
"""

from __future__ import annotations

import logging
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from tf_crnn.errors import DataError
from tf_crnn.utils.files import atomic_write_text
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)
CHUNK = 1 << 20
EXTRACTED_MARKER = ".extracted"
# Python < 3.10.12 / 3.11.4 has neither the tar "data" filter nor its errors: the explicit checks
# of every entry always run, the filter is a second line of defence where it exists.
EXTRACT_FILTER: dict[str, str] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
FILTER_ERROR: type[Exception] = getattr(tarfile, "FilterError", tarfile.ExtractError)


def _escapes(path: PurePosixPath) -> bool:
    """Whether a relative path climbs above its starting folder at some point ('a/../../b' does)."""
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            return True
    return False


def _is_absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or bool(PureWindowsPath(name).drive)


def unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why extracting this entry could write outside the target folder, or None when it cannot."""
    if _is_absolute(member.name):
        return "absolute path"
    name = PurePosixPath(member.name.replace("\\", "/"))
    if ".." in name.parts:
        return "'..' in its path"
    if member.ischr() or member.isblk() or member.isfifo():
        return "device or pipe"
    link = PurePosixPath(member.linkname.replace("\\", "/"))
    if member.issym() and (_is_absolute(member.linkname) or _escapes(name.parent / link)):
        return f"symbolic link to {member.linkname!r}, outside the target folder"
    if member.islnk() and (_is_absolute(member.linkname) or _escapes(link)):
        return f"hard link to {member.linkname!r}, outside the target folder"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "unsupported entry type"
    return None


def _posix(path: str) -> PurePosixPath:
    return PurePosixPath(path.replace("\\", "/"))


def _crossed_link(path: PurePosixPath, links: set[PurePosixPath]) -> PurePosixPath | None:
    """The first symbolic link that walking ``path`` component by component would go through."""
    current = PurePosixPath()
    for part in path.parts:
        if current in links:
            return current
        current = current.parent if part == ".." else current / part
    return None


def through_links(members: Sequence[tarfile.TarInfo]) -> list[str]:
    """Entries whose path or link target goes through a symbolic link of the same archive.

    The checks of single entries reason on the paths as written; a link in the middle of a path
    (``up -> ..`` then ``up/x``) would redirect it, so such archives are refused as a whole.
    """
    links = {_posix(member.name) for member in members if member.issym()}
    refused = []
    for member in members:
        name = _posix(member.name)
        paths = [name]
        if member.issym():
            paths.append(name.parent / _posix(member.linkname))
        elif member.islnk():
            paths.append(_posix(member.linkname))
        crossed = [link for path in paths if (link := _crossed_link(path, links)) is not None]
        if crossed:
            refused.append(f"{member.name!r} (goes through the symbolic link {str(crossed[0])!r})")
    return refused


def _checked_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """Read every entry to its end (a damaged archive fails here) and check that each one is safe."""
    members: list[tarfile.TarInfo] = []
    unsafe: list[str] = []
    try:
        for member in progress_bar(tar, desc=f"checking {archive.name}", unit="file"):
            reason = unsafe_reason(member)
            if reason is not None:
                unsafe.append(f"{member.name!r} ({reason})")
            elif member.isfile():
                with tar.extractfile(member) as data:
                    while data.read(CHUNK):
                        pass
            members.append(member)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(
            f"{archive} is damaged or not a .tgz archive ({error}); delete it and run the script again"
        ) from None
    unsafe += through_links(members)
    if unsafe:
        shown = "; ".join(unsafe[:5]) + (f"; and {len(unsafe) - 5} more" if len(unsafe) > 5 else "")
        raise DataError(
            f"{archive}: refused, nothing was extracted: {len(unsafe)} unsafe entr"
            f"{'y' if len(unsafe) == 1 else 'ies'}: {shown}. It is not a genuine IAM archive: delete it"
        )
    return members


def extract_archive(archive: Path, target: Path) -> None:
    """Extract ``archive`` into ``target`` after checking every entry; a later run skips it."""
    marker = target / EXTRACTED_MARKER
    stamp = f"{archive.name} {archive.stat().st_size}\n"
    if marker.is_file() and marker.read_text(encoding="utf-8") == stamp:
        LOGGER.info("%s: already extracted in %s", archive.name, target)
        return
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _checked_members(tar, archive)
            target.mkdir(parents=True, exist_ok=True)
            shown = progress_bar(members, desc=f"extracting {archive.name}", unit="file")
            tar.extractall(target, members=shown, **EXTRACT_FILTER)
    except FILTER_ERROR as error:
        raise DataError(f"{archive}: refused an unsafe entry ({error}); delete the archive") from None
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise DataError(
            f"{archive} is damaged or not a .tgz archive ({error}); delete it and run the script again"
        ) from None
    atomic_write_text(marker, stamp)
