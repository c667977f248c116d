"""Every code block of docs/*.md runs, section by section, in a sandbox (see tests/docs/examples.py)."""

import pytest

from tests.docs.examples import DOCUMENTS, REPO, document_blocks
from tests.docs.test_readme import run_block

BLOCKS = [block for document in DOCUMENTS[1:] for block in document_blocks(document)]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{block.document}:{block.line}" for block in BLOCKS])
def test_docs_block(block, section_sandboxes):
    run_block(block, section_sandboxes)


def test_every_page_is_linked_from_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert [page.name for page in DOCUMENTS[1:] if f"docs/{page.name}" not in readme] == []
