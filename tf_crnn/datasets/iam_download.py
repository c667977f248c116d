"""Downloading the IAM archives: HTTP basic authentication that never leaks, and downloads that resume.

The user name and password come from the environment (IAM_USER, IAM_PWD), travel only in the
Authorization header (never to another host after a redirect, never from HTTPS down to HTTP) and are
never printed, logged or written. A download grows ``<file>.part`` and takes its name once complete,
so a cut connection or an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import base64
import http.client
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tf_crnn.errors import TfCrnnError
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)
REGISTER_URL = "https://fki.tic.heia-fr.ch/register"
CHUNK = 1 << 20
USER_AGENT = "tf-crnn-prepare-iam"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class PreparationError(TfCrnnError):
    """The archives cannot be obtained (credentials, network, missing file); the message says what to do."""


@dataclass(frozen=True)
class Credentials:
    """An IAM account; ``repr`` leaves the password out so it cannot reach a log by accident."""

    user: str
    password: str = field(repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Credentials:
        user, password = environ.get("IAM_USER", ""), environ.get("IAM_PWD", "")
        if not user or not password:
            raise PreparationError(
                "the IAM archives must be downloaded but IAM_USER and IAM_PWD are not both set: export them "
                f"with your IAM account (register at {REGISTER_URL}), or pass --archives-dir with the "
                "archives you downloaded by hand"
            )
        return cls(user, password)

    def authorization(self) -> str:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


def _keeps_credentials(old_url: str, new_url: str) -> bool:
    """Credentials may follow a redirect to the same host, and never from HTTPS down to HTTP."""
    old, new = urlsplit(old_url), urlsplit(new_url)
    return old.hostname == new.hostname and not (old.scheme == "https" and new.scheme != "https")


class _SafeRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects like urllib's, but does not hand the credentials to another host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and not _keeps_credentials(req.full_url, new.full_url):
            new.remove_header("Authorization")
        return new


def check_url(url: str, option: str) -> None:
    """Refuse addresses that would carry or print credentials; warn when they would travel unencrypted."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise PreparationError(f"{option} must not contain a user name or password; set IAM_USER and IAM_PWD")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PreparationError(f"{option} {url!r} is not an http:// or https:// address")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        LOGGER.warning("%s uses plain HTTP: the IAM credentials would travel unencrypted", option)


def _http_refusal(url: str, code: int) -> PreparationError:
    if code == 401:
        why = (
            "the server refused the user name or password (HTTP 401): check IAM_USER and IAM_PWD "
            f"(your account at {REGISTER_URL})"
        )
    elif code == 403:
        why = "access is forbidden (HTTP 403): check that your IAM account is activated"
    elif code == 404:
        why = (
            "not found (HTTP 404): check --base-url and --splits-url, or download the archives by hand "
            "and pass --archives-dir"
        )
    else:
        why = f"the server answered HTTP {code}: try again later, or download the archives by hand"
    return PreparationError(f"{url}: {why}")


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot reach the server: {error.reason}"
    return f"{type(error).__name__} {error}".strip()


def _body_span(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None] | None:
    """Where the body starts in the file and the file's full size (if known); None if unusable."""
    length = response.headers.get("Content-Length", "")
    if response.status != 206:
        return 0, int(length) if length.isdigit() else None
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
    if match is None or int(match[1]) != offset:
        return None
    return offset, None if match[3] == "*" else int(match[3])


def _fetch(
    opener: urllib.request.OpenerDirector, url: str, part: Path, credentials: Credentials, timeout: float
) -> bool:
    """One request, appending to ``part`` when the server honours the range; True once complete."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Authorization": credentials.authorization(), "User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:
            return True  # nothing left after the offset: the part holds the whole file (verified later)
        if error.code >= 500:
            raise
        raise _http_refusal(url, error.code) from None
    with response:
        if response.headers.get_content_type() == "text/html":
            raise PreparationError(
                f"{url} answered with a web page instead of the archive: the credentials may have been "
                "refused or the address is wrong; check IAM_USER, IAM_PWD and --base-url / --splits-url"
            )
        span = _body_span(response, offset)
        if span is None:
            part.unlink()
            return False
        start, total = span
        name = part.name.removesuffix(".part")
        with (
            open(part, "ab" if start else "wb") as out,
            progress_bar(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=name) as bar,
        ):
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size > total:
        part.unlink()
        raise PreparationError(
            f"{url}: received {size} bytes, more than the {total} announced; the partial file was deleted, "
            "run the script again"
        )
    return total is None or size == total


def download(
    url: str,
    destination: Path,
    credentials: Credentials,
    attempts: int = 5,
    timeout: float = 60,
) -> None:
    """Fetch ``url`` into ``destination``, resuming ``<destination>.part`` after a cut or in a new run.

    The file takes its final name only once complete, so an existing ``destination`` is a finished
    download. A retry that follows progress starts at once; one after a failure to connect waits.
    """
    part = destination.with_name(destination.name + ".part")
    opener = urllib.request.build_opener(_SafeRedirectHandler)
    problem = ""
    for attempt in range(1, attempts + 1):
        before = part.stat().st_size if part.exists() else 0
        try:
            if _fetch(opener, url, part, credentials, timeout):
                part.replace(destination)
                return
            problem = "the connection closed before the end of the file"
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
            problem = _describe(error)
        if attempt < attempts:
            LOGGER.warning("%s: %s; retrying (%d/%d)", destination.name, problem, attempt, attempts - 1)
            if (part.stat().st_size if part.exists() else 0) <= before:
                time.sleep(min(2 * attempt, 30))
    raise PreparationError(
        f"could not download {url} ({problem}) after {attempts} attempt(s): check your network connection "
        "and run the script again (the download resumes where it stopped)"
    )
