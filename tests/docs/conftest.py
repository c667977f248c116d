"""The sandboxes the documentation's examples run in (see tests/docs/examples.py)."""

import shutil
from pathlib import Path

import pytest

from tests.docs.examples import build_template


@pytest.fixture(scope="session")
def template(tmp_path_factory, tiny_dataset) -> Path:
    """The files the examples name, built once per test process."""
    return build_template(tmp_path_factory, tiny_dataset)


@pytest.fixture(scope="session")
def section_sandboxes(template, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """One sandbox per (document, section), made on first use: a copy of the template."""

    class Sandboxes(dict):
        def __missing__(self, key: tuple[str, str]) -> Path:
            folder = tmp_path_factory.mktemp("docs_section") / "sandbox"
            shutil.copytree(template, folder, symlinks=True)
            self[key] = folder
            return folder

    return Sandboxes()
