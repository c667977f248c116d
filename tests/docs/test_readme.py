"""Every code block of README.md runs, section by section, in a sandbox (see tests/docs/examples.py)."""

import json
import shlex

import pytest

from tests.docs.examples import (
    DOCUMENTS,
    SKIP_MARK,
    Block,
    _inside,
    document_blocks,
    readme_blocks,
    run_command,
    shell_commands,
)

README = DOCUMENTS[0]
BLOCKS = document_blocks(README)


def run_block(block: Block, section_sandboxes) -> None:
    """Run one block in its section's sandbox; skip it if it is marked so."""
    if block.skip_reason is not None:
        pytest.skip(block.skip_reason)
    with _inside(section_sandboxes[block.document, block.section]):
        if block.language == "python":
            exec(compile(block.code, f"{block.document}:{block.line}", "exec"), {"__name__": "__readme__"})
            return
        for words in shell_commands(block.code):
            assert run_command(words) == 0, f"{block.document}:{block.line}: {shlex.join(words)} failed (see the log)"


def test_skip_marks_give_a_reason():
    for document in DOCUMENTS:
        for match in SKIP_MARK.finditer(document.read_text(encoding="utf-8")):
            assert match.group("reason").strip(), f"{document.name}: a readme-test skip mark without a reason"
    assert readme_blocks("## A\n<!-- readme-test: skip (needs Docker) -->\n```sh\ndocker run x\n```\n") == [
        Block("README.md", 3, "sh", "docker run x\n", "A", "needs Docker")
    ]


def test_shell_lines_are_read_as_bash_would(monkeypatch):
    monkeypatch.setenv("HOME", "/home/me")
    code = "tf-crnn a 'x y' \\\n    z  # comment\n# only a comment\nb=~/f c.d=~/f ~/g\n"
    assert shell_commands(code) == [["tf-crnn", "a", "x y", "z"], ["b=/home/me/f", "c.d=~/f", "/home/me/g"]]


def test_the_readme_stays_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 350


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{block.line}" for block in BLOCKS])
def test_readme_block(block: Block, section_sandboxes):
    run_block(block, section_sandboxes)


def test_readme_outputs_are_what_the_examples_say(section_sandboxes):
    """The files the examples promise exist after their blocks ran."""
    outputs = {
        "Command line": "figures.json",
        "Transcribe with a trained model": "report/index.html",
        "Train on your own lines": "grid.png",
    }
    folders = {section: section_sandboxes["README.md", section] for section in outputs}
    if not all((folders[section] / name).is_file() for section, name in outputs.items()):
        pytest.skip("the README's blocks did not all run")
    figures = json.loads((folders["Command line"] / "figures.json").read_text())
    assert {"cer", "wer", "line_accuracy"} <= set(figures)
