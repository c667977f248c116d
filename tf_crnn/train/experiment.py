"""The sacred experiment behind ``python training.py`` and ``tf-crnn train``.

Every field of :class:`tf_crnn.params.params.Params` is a sacred config entry. The command line is
``[COMMAND] [with] CONFIG.json ... field=value ... [sacred options]`` (parsed by
:mod:`tf_crnn.cli.train`): the config files and updates are resolved by :mod:`tf_crnn.params.resolve`
(the one resolution every tf-crnn command uses) and given to sacred as the run's configuration;
sacred's commands (``print_config``) and options (``-F DIR``, ``--loglevel LEVEL``, ``-c COMMENT``,
...) keep their meaning. Runs are recorded by a
FileStorageObserver in ``<output_model_dir>/sacred`` (by the chief only, on a multi-worker cluster).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docopt import docopt
from sacred import Experiment
from sacred.observers import FileStorageObserver
from sacred.utils import apply_backspaces_and_linefeeds

from tf_crnn.errors import ConfigError, StorageError
from tf_crnn.layout import OutputLayout
from tf_crnn.params.params import Params
from tf_crnn.params.resolve import resolve_arguments
from tf_crnn.train.distribute import is_chief
from tf_crnn.train.trainer import train

try:
    ex = Experiment("tf-crnn")
except ValueError:  # a git checkout without commits: record the run without git information
    ex = Experiment("tf-crnn", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
ex.add_config(Params().to_dict())


@ex.config_hook
def record_in_output_dir(config, command_name, logger):
    """Record the run beside the model (the chief's only, on a multi-worker cluster), in a folder checked
    to be writable first (sacred's own failure there would be a traceback)."""
    params = Params.from_dict(config)
    ex.observers[:] = [o for o in ex.observers if not isinstance(o, FileStorageObserver)]
    if is_chief(params.distribution) and command_name == ex.default_command:
        ex.observers.append(FileStorageObserver(str(writable_folder(OutputLayout(params.output_model_dir).sacred))))
    return {}


@ex.main
def training(_config, _run):
    fields = {f.name for f in dataclasses.fields(Params)}
    return train(Params.from_dict({k: v for k, v in _config.items() if k in fields}), _run)


def writable_folder(folder: Path) -> Path:
    """``folder``, created if needed; a file in the way or a folder that cannot be written is a one-line
    error naming the folder of the output and what to do."""
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"output_model_dir: {parent} is a file, not a folder; choose another output_model_dir")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise StorageError(
            f"cannot write into {folder} ({error.strerror or error}); fix its permissions or choose another "
            "output_model_dir"
        ) from None
    return folder


@dataclass
class CommandLine:
    """A training command line, parsed: sacred's command (``print_config``), the config files and
    ``field=value`` updates, and sacred's option tokens (``-F DIR``, ``--loglevel=WARNING``)."""

    config: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    command: str | None = None

    @classmethod
    def of(cls, arguments: Sequence[str], options: Sequence[str] = ()) -> CommandLine:
        """The first argument is sacred's command when it names one; the rest is the configuration."""
        arguments = list(arguments)
        command = arguments.pop(0) if arguments and arguments[0] in dict(ex.gather_commands()) else None
        return cls(arguments, list(options), command)


def run(command_line: CommandLine) -> Any:
    """Run the experiment (or the sacred command) with the resolved configuration; returns sacred's Run.

    Ctrl-C or SIGTERM (after the checkpoint is saved) end it with SystemExit(130 or 143), no traceback.
    """
    params = resolve_arguments(command_line.config)
    _, _, usage = ex.get_usage("training.py")
    tokens = [*filter(None, [command_line.command]), *command_line.options]
    options = docopt(usage, tokens, default_help=False)
    try:
        return ex.run(command_line.command, config_updates=params.to_dict(), options=options)
    except KeyboardInterrupt as interrupt:
        raise SystemExit(128 + getattr(interrupt, "signal", signal.SIGINT)) from None


def record_folder(sacred_run: Any) -> str | None:
    """Where the run's FileStorageObserver recorded it (None when it was not recorded)."""
    folders = [observer.dir for observer in getattr(sacred_run, "observers", []) if hasattr(observer, "dir")]
    return os.fspath(folders[0]) if folders and folders[0] else None
