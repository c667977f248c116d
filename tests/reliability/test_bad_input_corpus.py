"""The bad-input corpus of the command line: one row per case, each a clear one-line message (or a counted
skip) with the status of its class, and never a traceback.

A case builds its input in a fresh folder and gives the command line; the row says the exit status and
a pattern the standard error must match. Add a row for every new way input can be wrong.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.page_samples import make_page
from tf_crnn.cli import main
from tf_crnn.errors import (
    INTERNAL_STATUS,
    PARTIAL_STATUS,
    AlphabetError,
    ConfigError,
    DataError,
    ModelError,
)

USAGE_STATUS = 2


@dataclass(frozen=True)
class Context:
    folder: Path
    export: Path
    lines: list[Path]  # readable line images
    alphabet: Path
    train_csv: Path
    eval_csv: Path


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Context], list[str]]
    status: int
    stderr: str  # a regular expression the standard error must match


def truncated(context: Context, name: str = "broken.png") -> Path:
    data = context.lines[0].read_bytes()
    target = context.folder / name
    target.write_bytes(data[: len(data) // 2])
    return target


def folder_with(context: Context, *extra: tuple[str, bytes]) -> Path:
    folder = context.folder / "scans"
    folder.mkdir()
    for index, line in enumerate(context.lines[:3]):
        shutil.copy(line, folder / f"good{index}.png")
    for name, data in extra:
        (folder / name).write_bytes(data)
    return folder


def predict(context: Context, *inputs: str) -> list[str]:
    return ["predict", "--model-dir", str(context.export), *inputs]


def labelled_csv(context: Context, rows: list[tuple[Path, str]]) -> Path:
    csv = context.folder / "lines.csv"
    csv.write_text("".join(f"{path};|{'|'.join(text)}|\n" for path, text in rows), encoding="utf-8")
    return csv


def broken_export(context: Context) -> list[str]:
    export = context.folder / "export"
    shutil.copytree(context.export, export)
    for data_file in (export / "variables").glob("variables.data-*"):
        data_file.unlink()
    return ["predict", "--model-dir", str(export), str(context.lines[0])]


def empty_folder(context: Context) -> list[str]:
    (context.folder / "empty").mkdir()
    (context.folder / "empty" / "notes.txt").write_text("not an image")
    return predict(context, str(context.folder / "empty"))


def csv_with_a_text_file_as_image(context: Context) -> list[str]:
    (context.folder / "t.png").write_text("text")
    return predict(
        context, "--csv", str(labelled_csv(context, [(context.lines[0], "ab"), (context.folder / "t.png", "cd")]))
    )


def config_file(context: Context, text: str) -> Path:
    path = context.folder / "c.json"
    path.write_text(text, encoding="utf-8")
    return path


def page(context: Context, xml: str | None = None, texts=("ab", "cd"), with_image: bool = True) -> Path:
    """A PAGE-XML page of two of the tiny lines (``xml``: other content in its place)."""
    made = make_page(context.folder / "pages", context.lines[:2], list(texts))
    if xml is not None:
        made["xml"].write_text(xml, encoding="utf-8")
    if not with_image:
        made["image"].unlink()
    return made["xml"]


def evaluate_page(context: Context, xml: Path) -> list[str]:
    return ["evaluate", "--model-dir", str(context.export), "--csv", str(xml)]


ENTITIES = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><PcGts>&e;</PcGts>'

CASES = [
    Case("predict: a truncated PNG among good ones",
         lambda c: predict(c, str(folder_with(c, ("cut.png", truncated(c).read_bytes())))),
         PARTIAL_STATUS, r"cut\.png: unreadable image, corrupt or truncated.*\n.*1 of 4 images could not be read"),
    Case("predict: a text file named .png",
         lambda c: predict(c, str(folder_with(c, ("notes.png", b"just some text\n")))),
         PARTIAL_STATUS, r"notes\.png: unreadable image \(not a known image format\)"),
    Case("predict: an empty file named .png",
         lambda c: predict(c, str(folder_with(c, ("empty.png", b"")))), PARTIAL_STATUS,
         r"empty\.png: image file is empty"),
    Case("predict: a missing file", lambda c: predict(c, str(c.folder / "nope.png")), PARTIAL_STATUS,
         r"nope\.png: image file not found"),
    Case("predict: a folder holding no image", empty_folder, DataError.exit_status,
         r"empty: the folder holds no image \(looked for \.png, \.jpg"),
    Case("predict --csv: a row's image is a text file", csv_with_a_text_file_as_image, PARTIAL_STATUS,
         r"t\.png: unreadable image"),
    Case("predict: an export whose variables are missing", broken_export, ModelError.exit_status,
         r"the exported model cannot be loaded .*; it is damaged or incomplete"),
    Case("predict: a folder without any export", lambda c: ["predict", "--model-dir", str(c.folder), "x.png"],
         ModelError.exit_status, r"no exported model \(saved_model\.pb\) found"),
    Case("predict: --output exists", lambda c: predict(c, str(c.lines[0]), "--output", str(c.alphabet)),
         USAGE_STATUS, r"exists: add --resume to continue it, or --overwrite"),
    Case("evaluate: a truncated image among the rows",
         lambda c: ["evaluate", "--model-dir", str(c.export), "--csv",
                    str(labelled_csv(c, [(c.lines[0], "ab"), (truncated(c), "cd")]))],
         PARTIAL_STATUS, r"1 of 2 lines could not be read: they count as empty transcriptions"),
    Case("train: output_model_dir is a file",
         lambda c: ["train", f"output_model_dir={c.alphabet}", f"lookup_alphabet_file={c.alphabet}"],
         ConfigError.exit_status, r"output_model_dir: .*alphabet\.json is a file, not a folder"),
    Case("train: a config file with a trailing comma",
         lambda c: ["train", str(config_file(c, '{"n_epochs": 3,}'))], ConfigError.exit_status,
         r"c\.json:1:16: not valid JSON \(Expecting property name"),
    Case("train: a config file that is not an object", lambda c: ["train", str(config_file(c, "[1, 2]"))],
         ConfigError.exit_status, r"c\.json: a config file holds one JSON object"),
    Case("train: no alphabet given", lambda c: ["train", f"output_model_dir={c.folder / 'out'}"],
         AlphabetError.exit_status, r"no alphabet lookup file given \(lookup_alphabet_file is empty\)"),
    Case("page: malformed XML", lambda c: evaluate_page(c, page(c, "<PcGts><Page>")), DataError.exit_status,
         r"page\.xml.*not well-formed XML|page\.xml.*malformed"),
    Case("page: a document that is neither PAGE nor ALTO",
         lambda c: evaluate_page(c, page(c, '<?xml version="1.0"?><html><body/></html>')), DataError.exit_status,
         r"page\.xml.*neither PAGE-XML"),
    Case("page: external entities are refused", lambda c: evaluate_page(c, page(c, ENTITIES)),
         DataError.exit_status, r"page\.xml.*declares XML entities"),
    Case("page: its image is missing", lambda c: evaluate_page(c, page(c, with_image=False)),
         DataError.exit_status, r"page\.xml.*(no image|image .*not found)"),
    Case("page: predict into the input page without --in-place",
         lambda c: predict(c, str(page(c)), "--output-dir", str(c.folder / "pages")), PARTIAL_STATUS,
         r"is the input page; write elsewhere \(--output-dir\) or give --in-place"),
    Case("an unknown option", lambda c: ["predict", "--model-dir", str(c.export), "--colour"], USAGE_STATUS,
         r"unrecognized arguments: --colour"),
]  # fmt: skip


@pytest.fixture
def context(tmp_path, random_export, tiny_dataset) -> Context:
    lines = sorted((tiny_dataset["root"] / "eval").glob("*.png"))
    return Context(tmp_path, random_export[3], lines, tiny_dataset["alphabet"], tiny_dataset["train"],
                   tiny_dataset["eval"])  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, context: Context, capsys):
    argv = case.build(context)
    try:
        status = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        status = stop.code
    err = capsys.readouterr().err
    assert status == case.status, err
    assert re.search(case.stderr, err), err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) <= 1, err


def test_the_readable_images_of_a_partial_run_are_all_transcribed(context: Context, capsys):
    folder = folder_with(context, ("cut.png", truncated(context).read_bytes()), ("notes.png", b"text"))
    out = context.folder / "pred.jsonl"
    assert main(predict(context, str(folder), "--format", "jsonl", "--output", str(out))) == PARTIAL_STATUS
    records = {Path(r["path"]).name: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(records) == {"good0.png", "good1.png", "good2.png", "cut.png", "notes.png"}
    assert all("text" in records[f"good{i}.png"] for i in range(3))
    assert records["cut.png"]["error"].startswith("unreadable image, corrupt or truncated")
    assert records["notes.png"]["error"] == "unreadable image (not a known image format)"


def test_a_bug_is_one_line_with_status_70_and_its_traceback_only_with_debug(context, monkeypatch, capsys):
    from tf_crnn.cli import predict as command

    def broken(args):
        raise RuntimeError("something that should never happen")

    monkeypatch.setattr(command, "run", broken)
    assert main(predict(context, str(context.lines[0]))) == INTERNAL_STATUS
    err = capsys.readouterr().err
    assert "internal error (RuntimeError: something that should never happen); run again with --debug" in err
    assert "Traceback" not in err
    assert main([*predict(context, str(context.lines[0])), "--debug"]) == INTERNAL_STATUS
    assert "Traceback" in capsys.readouterr().err
