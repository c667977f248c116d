"""Train a CRNN under sacred: ``python training.py with config.json [field=value ...]``.

Every field of ``tf_crnn.config.Params`` is a sacred config entry, so sacred's usual overrides
work (``with config.json n_epochs=3 train_batch_size=16``). Runs are recorded by a
FileStorageObserver in ``<output_model_dir>/sacred`` (by the chief only, on a multi-worker cluster).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sacred import SETTINGS, Experiment  # noqa: E402
from sacred.observers import FileStorageObserver  # noqa: E402
from sacred.utils import apply_backspaces_and_linefeeds  # noqa: E402

from tf_crnn.config import Params  # noqa: E402
from tf_crnn.distribute import is_chief  # noqa: E402
from tf_crnn.errors import TfCrnnError  # noqa: E402
from tf_crnn.trainer import train  # noqa: E402

SETTINGS.CAPTURE_MODE = "sys"
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("tensorflow").setLevel(logging.WARNING)  # tf.distribute logs every all-reduce it builds

try:
    ex = Experiment("tf-crnn")
except ValueError:  # a git checkout without commits: record the run without git information
    ex = Experiment("tf-crnn", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
ex.add_config(Params().to_dict())


def fail(error: TfCrnnError) -> None:
    """A mistake the user can fix: one clear line and exit status 1, no traceback."""
    logging.getLogger("tf_crnn").error("%s", error)
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


def main() -> None:
    """Run from the command line; Ctrl-C or SIGTERM (after the checkpoint is saved) exits without a traceback."""
    try:
        ex.run_commandline()
    except KeyboardInterrupt as interrupt:
        raise SystemExit(128 + getattr(interrupt, "signal", signal.SIGINT)) from None


if __name__ == "__main__":
    main()
