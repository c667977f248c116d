"""Running the examples of README.md and docs/*.md: an example that stops working fails, naming its line.

How blocks run (one test per block, named ``FILE:LINE``; tests/docs/test_readme.py and test_docs_pages.py):

- ```` ```python ```` blocks are executed; ```` ```sh ```` blocks are split into command lines (``\\``
  continuations joined, ``#`` comments dropped, ``~`` expanded where bash expands it) and each line
  runs in-process: ``tf-crnn ARGS`` (:func:`tf_crnn.cli.main`), ``python SCRIPT.py ARGS`` and
  ``python -m MODULE ARGS`` (the repository's script or module, as ``__main__``), with ``> FILE``
  redirecting its standard output. Any other command fails the test. Other blocks (CSV, trees, YAML)
  are not code and are not run.
- Blocks of one section (a ``## `` heading) of one file run in order in one sandbox, a copy of the
  template below, so a block may use what an earlier block of its section wrote (``tf-crnn export
  --onnx``, then the Python code that reads ``network.onnx``). ``HOME`` is the sandbox's ``home/``,
  and a ``python bench/...`` script records its figures in the sandbox, not the repository.
- Training stays tiny, by arguments appended to each training command (later ones win):
  :data:`TINY_TRAINING` (one epoch of a small CRNN; for ``tf-crnn train-folds``, of each fold),
  :data:`TINY_SYNTHETIC` when the run generates synthetic lines, and for ``synth`` :data:`TINY_SYNTH`.
  A fine-tuning of a shipped model (``warm_start.model=NAME``) keeps that model's architecture and
  trains one epoch (:data:`TINY_EPOCHS`).
  A training command that does not resume (``restore_model`` false) starts without its output folder,
  as for a first run; one that resumes trains one epoch more than its output folder holds.
- A training command that warm-starts from ``output/default`` must name the architecture of
  ``config.json`` (the model ``make train`` makes): the tiny arguments would hide a difference, so it
  is compared first.
- A block that cannot run here (an IAM account, Docker, GPUs, several machines, ``make``, ``pip install``)
  has ``<!-- readme-test: skip (REASON) -->`` on the line just before its opening fence; the reason
  may not be empty.

The template sandbox (built once; add what a new example names):

- ``config.json``, ``config_synth_long.json`` and ``data/alphabet/`` from the repository;
- ``output/default``: the default experiment trained by ``tf-crnn train config.json`` (tiny), which also
  wrote ``data/synthetic/eval.csv``; ``output/my_lines``, ``output/iam`` and ``output/iam_rms``: copies of
  it (runs the ``plot`` examples compare);
- ``line.png``, ``line1.png``, ``line2.png``, ``scans/*.png``, ``scans/more/*.png`` (lines of
  ``data/synthetic/eval``), ``lines.csv`` (those of ``scans/``, labelled) and ``words.txt`` (a lexicon);
- ``home/data/my_lines/`` (48 images of digits and letters a-f with ``.gt.txt`` transcriptions),
  ``home/fonts/`` (one TTF) and ``data/my_lines/{train,validation}.csv`` + ``alphabet.json`` prepared
  from them by ``hlp/prepare_folder.py``;
- lines of digits and letters a-f in the other input formats: ``data/my_lines/{train,eval,test}.tsv``,
  ``data/big/{train,eval}.tsv``, ``.gt.txt`` folders ``data/book/{train,eval}/``, and ``new_lines.csv``;
  alphabets ``latin.json`` and ``greek.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import runpy
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.machine import BENCHMARKS_ENV
from tests.conftest import REPO
from tf_crnn.serve.pretrained import CATALOG

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SKIP_MARK = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>.*)\)\s*-->")
RUNNABLE = ("python", "sh")
TINY_EPOCHS = ["n_epochs=1"]
TINY_TRAINING = [
    *TINY_EPOCHS,
    "cnn_features_list=[8, 16]",
    "cnn_kernel_size=[3, 3]",
    "cnn_stride_size=[[1, 1], [1, 1]]",
    "cnn_pool_size=[[2, 2], [2, 2]]",
    "cnn_batch_norm=[true, false]",
    "rnn_units=[16]",
]
TINY_SYNTHETIC = ["synthetic_data.n_train=16", "synthetic_data.n_eval=6", "synthetic_data.max_words=3"]
TINY_SYNTH = {"--n": "4", "--n-eval": "2"}  # options of tf-crnn synth, appended when the command has them
TRAINING_COMMANDS = (("tf-crnn", "train"), ("python", "training.py"))
FOLDS_COMMAND = ("tf-crnn", "train-folds")
SYNTH_COMMANDS = (("tf-crnn", "synth"), ("python", "-m", "tf_crnn.cli", "synth"))


@dataclass(frozen=True)
class Block:
    document: str  # README.md, docs/serving.md, ...
    line: int  # of the opening fence
    language: str
    code: str
    section: str
    skip_reason: str | None


def readme_blocks(text: str, document: str = "README.md") -> list[Block]:
    """The fenced code blocks of a Markdown text, with their section and skip mark."""
    blocks, section, lines = [], "", text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        if line.startswith("```"):
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            mark = SKIP_MARK.search(lines[index - 1]) if index else None
            reason = mark.group("reason").strip() if mark else None
            code = "\n".join(lines[index + 1 : end]) + "\n"
            blocks.append(Block(document, index + 1, line[3:].strip(), code, section, reason))
            index = end
        index += 1
    return blocks


def document_blocks(path: Path) -> list[Block]:
    """The runnable blocks of one Markdown file of the repository."""
    blocks = readme_blocks(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())
    return [block for block in blocks if block.language in RUNNABLE]


def shell_commands(code: str) -> list[list[str]]:
    """The command lines of a sh block as argument lists."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        words = [_expand_tilde(word) for word in shlex.split(line, comments=True)]
        if words:
            commands.append(words)
    return commands


def _expand_tilde(word: str) -> str:
    """What bash does: ``~/x`` and ``name=~/x`` (a shell identifier before ``=``) expand, nothing else."""
    if word.startswith("~"):
        return os.path.expanduser(word)
    name, sep, value = word.partition("=")
    if sep and value.startswith("~") and name.isidentifier():
        return f"{name}={os.path.expanduser(value)}"
    return word


def tiny(words: list[str]) -> list[str]:
    """A command with the appended arguments that keep it small (see the module docstring)."""
    if tuple(words[:2]) in TRAINING_COMMANDS:
        from tf_crnn.params.resolve import resolve_arguments as resolve_params

        arguments = [word for word in words[2:] if word not in ("--quiet", "--json")]
        if arguments and arguments[0] in ("print_config",):
            return words
        check_warm_start_architecture(arguments)
        named = resolve_params(arguments)
        # a fine-tuning of a shipped model keeps its architecture (its weights fit no other): one epoch only
        architecture = TINY_EPOCHS if named.warm_start.model in CATALOG else TINY_TRAINING
        extra = architecture + (TINY_SYNTHETIC if named.synthetic_data.enabled else [])
        params = resolve_params(arguments + extra)
        state = Path(params.output_model_dir) / "training_state.json"
        if not params.restore_model:
            shutil.rmtree(params.output_model_dir, ignore_errors=True)
        elif state.is_file():  # a resumed run trains one more epoch
            extra = [*extra, f"n_epochs={json.loads(state.read_text(encoding='utf-8'))['epoch'] + 1}"]
        return words + extra
    if tuple(words[:2]) in SYNTH_COMMANDS or tuple(words[:4]) in SYNTH_COMMANDS:
        return words + [part for option, n in TINY_SYNTH.items() if option in words for part in (option, n)]
    if tuple(words[:2]) == FOLDS_COMMAND:  # every fold trains tiny; the folds resume, so nothing is removed
        from tf_crnn.cli import build_parser
        from tf_crnn.cli.common import parse

        arguments = parse(build_parser(), words[1:]).config
        check_warm_start_architecture(arguments)
        return words + TINY_TRAINING
    return words


def check_warm_start_architecture(arguments: list[str]) -> None:
    """A fine-tuning from the default experiment's model must name that model's architecture."""
    from tf_crnn.params.resolve import resolve_arguments
    from tf_crnn.train.warm_start import architecture_differences

    params = resolve_arguments(arguments)
    if params.warm_start.model.rstrip("/") == "output/default":
        # what the example names itself: the sandbox's tiny output/default would fill in the fields it leaves out
        named = resolve_arguments([*arguments, "warm_start.model=", "warm_start.freeze_cnn_steps=0"])
        differences = architecture_differences(resolve_arguments([str(REPO / "config.json")]), named)
        assert differences == [], f"a warm start from the make train model needs its architecture: {differences}"


def run_command(words: list[str]) -> int:
    """Run one command line in-process; its exit status."""
    stdout_file = None
    if ">" in words:
        position = words.index(">")
        words, stdout_file = words[:position], words[position + 1]
    words = tiny(words)
    with contextlib.ExitStack() as stack:
        if stdout_file:
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(stdout_file, "w"))))
        return _run(words)


def _run(words: list[str]) -> int:
    program, *arguments = words
    if program == "tf-crnn":
        from tf_crnn.cli import main

        return main(arguments)
    if program not in ("python", "python3") or not arguments:
        raise AssertionError(f"cannot run {shlex.join(words)!r} in a test: mark its block with readme-test: skip")
    saved_argv = sys.argv
    try:
        if arguments[0] == "-m":
            sys.argv = [arguments[1], *arguments[2:]]
            runpy.run_module(arguments[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(arguments)
            runpy.run_path(str(REPO / arguments[0]), run_name="__main__")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.argv = saved_argv
    return 0


def _write_input_formats(root: Path, train_rows: list, eval_rows: list) -> None:
    """The same tiny lines as TSV lists, ``.gt.txt`` folders and a CSV, where the README's examples look."""
    splits = {"train": train_rows, "eval": eval_rows, "test": eval_rows}
    for folder, names in (("data/my_lines", ("train", "eval", "test")), ("data/big", ("train", "eval"))):
        (root / folder / "images").mkdir(parents=True, exist_ok=True)
        for name in names:
            lines = []
            for i, row in enumerate(splits[name]):
                image = f"images/{name}_{i:04d}.png"
                shutil.copy(row.path, root / folder / image)
                lines.append(f"{image}\t{row.text}")
            (root / folder / f"{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in ("train", "eval"):
        book = root / "data" / "book" / name
        book.mkdir(parents=True)
        for i, row in enumerate(splits[name]):
            shutil.copy(row.path, book / f"{i:04d}.png")
            (book / f"{i:04d}.gt.txt").write_text(row.text + "\n", encoding="utf-8")
    new_lines = [f"data/my_lines/images/eval_{i:04d}.png;|{'|'.join(row.units)}|" for i, row in enumerate(eval_rows)]
    (root / "new_lines.csv").write_text("\n".join(new_lines) + "\n", encoding="utf-8")
    (root / "latin.json").write_text(json.dumps({u: i + 1 for i, u in enumerate("abcdefghij ")}), encoding="utf-8")
    (root / "greek.json").write_text(json.dumps({u: i + 1 for i, u in enumerate("αβγδε ")}), encoding="utf-8")


@contextlib.contextmanager
def _inside(folder: Path):
    """Work in ``folder`` with ``HOME`` at ``folder/home``; a benchmark appends to ``folder/BENCHMARKS.md``."""
    sandboxed = {"HOME": str(folder / "home"), BENCHMARKS_ENV: str(folder / "BENCHMARKS.md")}
    saved_cwd, saved = Path.cwd(), {name: os.environ.get(name) for name in sandboxed}
    os.chdir(folder)
    os.environ.update(sandboxed)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_template(tmp_path_factory, tiny_dataset) -> Path:
    """The files the examples name (see the module docstring)."""
    from PIL import Image

    from tf_crnn.data.formats.csv_rows import read_csv_rows

    root = tmp_path_factory.mktemp("readme_template")
    for name in ("config.json", "config_synth_long.json"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "data" / "alphabet", root / "data" / "alphabet")
    with _inside(root):
        assert run_command(["tf-crnn", "train", "config.json", "--quiet"]) == 0
    for run in ("my_lines", "iam", "iam_rms"):
        shutil.copytree(root / "output" / "default", root / "output" / run)

    rows, _ = read_csv_rows(root / "data" / "synthetic" / "eval.csv", ";", "|")
    for name, row in zip(("line.png", "line1.png", "line2.png"), rows):
        shutil.copy(row.path, root / name)
    (root / "scans" / "more").mkdir(parents=True)
    scans = [f"scans/{i}.png" for i in range(3)] + ["scans/more/3.png"]
    for scan, row in zip(scans, rows):
        shutil.copy(row.path, root / scan)
    labelled = [f"{scan};|{'|'.join(row.units)}|" for scan, row in zip(scans, rows)]
    (root / "lines.csv").write_text("\n".join(labelled) + "\n", encoding="utf-8")
    words = sorted({word for row in rows for word in row.text.split()})
    (root / "words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")

    my_lines = root / "home" / "data" / "my_lines"
    my_lines.mkdir(parents=True)
    own_rows, _ = read_csv_rows(tiny_dataset["train"], ";", "|")  # 48 lines of 17 units: all in training
    for i, row in enumerate(own_rows):
        Image.open(row.path).save(my_lines / f"{i:04d}.png")
        (my_lines / f"{i:04d}.gt.txt").write_text(row.text, encoding="utf-8")
    (root / "home" / "fonts").mkdir()
    from matplotlib import font_manager

    shutil.copy(font_manager.findfont("DejaVu Sans"), root / "home" / "fonts")
    with _inside(root):
        assert run_command(["python", "hlp/prepare_folder.py", str(my_lines), "--output-dir", "data/my_lines"]) == 0
    _write_input_formats(root, own_rows, read_csv_rows(tiny_dataset["eval"], ";", "|")[0])
    return root
