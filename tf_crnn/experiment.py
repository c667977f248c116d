"""The sacred experiment behind ``python training.py`` and ``tf-crnn train``.

Every field of :class:`tf_crnn.config.Params` is a sacred config entry, so sacred's usual overrides
work (``with config.json n_epochs=3 train_batch_size=16``). Runs are recorded by a
FileStorageObserver in ``<output_model_dir>/sacred`` (by the chief only, on a multi-worker cluster).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sacred import SETTINGS, Experiment  # noqa: E402
from sacred.arg_parser import get_config_updates  # noqa: E402
from sacred.observers import FileStorageObserver  # noqa: E402
from sacred.utils import apply_backspaces_and_linefeeds  # noqa: E402

from tf_crnn.config import Params  # noqa: E402
from tf_crnn.distribute import is_chief  # noqa: E402
from tf_crnn.errors import ConfigError, TfCrnnError  # noqa: E402
from tf_crnn.trainer import train  # noqa: E402
from tf_crnn.utils import progress  # noqa: E402

SETTINGS.CAPTURE_MODE = "sys"
LOGGER = logging.getLogger("tf_crnn")
logging.getLogger("tensorflow").setLevel(logging.WARNING)  # tf.distribute logs every all-reduce it builds

try:
    ex = Experiment("tf-crnn")
except ValueError:  # a git checkout without commits: record the run without git information
    ex = Experiment("tf-crnn", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
ex.add_config(Params().to_dict())


def fail(error: TfCrnnError) -> None:
    """A mistake the user can fix: one clear line and exit status 1, no traceback."""
    LOGGER.error("%s", error)
    raise SystemExit(1)


@ex.config_hook
def record_in_output_dir(config, command_name, logger):
    """Validate the config before anything runs, and store the run beside the model."""
    try:
        params = Params.from_dict(config)
        chief = is_chief(params.distribution)
    except TfCrnnError as error:
        fail(error)
    ex.observers[:] = [o for o in ex.observers if not isinstance(o, FileStorageObserver)]
    if chief:  # a multi-worker run is recorded once, by its chief
        ex.observers.append(FileStorageObserver(os.path.join(params.output_model_dir, "sacred")))
    return {}


@ex.main
def training(_config, _run):
    fields = {f.name for f in dataclasses.fields(Params)}
    params = Params.from_dict({k: v for k, v in _config.items() if k in fields})
    try:
        return train(params, _run)
    except TfCrnnError as error:
        fail(error)


def sacred_arguments(arguments: Sequence[str]) -> list[str]:
    """Sacred's command line for ``arguments``; ``with`` may be left out, config files must exist.

    ``config.json n_epochs=3`` becomes ``with config.json n_epochs=3``; sacred commands
    (``print_config with config.json``) and options pass through. Values may be written in JSON
    (``restore_model=true``) as well as in Python (``restore_model=True``).
    """
    arguments = list(arguments)
    if "with" not in arguments and arguments and not arguments[0].startswith("-"):
        position = 1 if arguments[0] in ex.commands else 0
        if position < len(arguments) and not arguments[position].startswith("-"):
            arguments.insert(position, "with")
    if "with" in arguments:
        start = arguments.index("with") + 1
        for index, update in enumerate(arguments[start:], start):
            if update.startswith("-"):
                break
            if "=" in update:
                arguments[index] = _python_literal(update)
            elif not Path(update).is_file():
                raise ConfigError(
                    f"config file not found: {update} (after 'with' come JSON config files and field=value updates)"
                )
    return arguments


def resolve_params(arguments: Sequence[str]) -> Params:
    """The configuration ``tf-crnn train ARGUMENTS`` would train with, resolved without running anything.

    ``arguments`` are what follows ``tf-crnn train`` (``[with] config.json ... field=value ...``):
    JSON files merged in order, then the updates, which win over any file (sacred's precedence);
    dotted updates (``synthetic_data.n_train=50``) change one entry of a section.
    """
    arguments = sacred_arguments(arguments)
    if arguments[:1] != ["with"] or any(argument.startswith("-") for argument in arguments):
        raise ConfigError("give config files and field=value updates only (no sacred command or option)")
    values: dict[str, Any] = Params().to_dict()
    files = [argument for argument in arguments[1:] if "=" not in argument]
    updates, _ = get_config_updates([argument for argument in arguments[1:] if "=" in argument])
    for config_file in files:
        try:
            loaded = json.loads(Path(config_file).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ConfigError(f"{config_file}:{error.lineno}: not valid JSON ({error.msg})") from None
        _merge(values, loaded)
    return Params.from_dict(_merge(values, updates))


def _merge(values: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """``updates`` written into ``values``, section by section (a section's other entries stay)."""
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            _merge(values[key], value)
        else:
            values[key] = value
    return values


def _python_literal(update: str) -> str:
    """``field=true`` as ``field=True``: sacred reads Python literals, users write JSON like their config files."""
    field, _, value = update.partition("=")
    try:
        ast.literal_eval(value)
        return update
    except (ValueError, SyntaxError):
        pass
    try:
        return f"{field}={json.loads(value)!r}"
    except ValueError:
        return update  # a plain string such as optimizer=rms


def run(arguments: Sequence[str], program: str = "training.py") -> Any:
    """Run the experiment from command-line ``arguments``; returns sacred's Run.

    Ctrl-C or SIGTERM (after the checkpoint is saved) end it with SystemExit(130 or 143), no traceback.
    """
    try:
        return ex.run_commandline([program, *sacred_arguments(arguments)])
    except KeyboardInterrupt as interrupt:
        raise SystemExit(128 + getattr(interrupt, "signal", signal.SIGINT)) from None


def main(argv: Sequence[str] | None = None) -> None:
    """``python training.py [with] config.json [field=value ...]``."""
    progress.configure(timestamps=True)
    try:
        run(sys.argv[1:] if argv is None else argv)
    except TfCrnnError as error:
        fail(error)
