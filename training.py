"""Train a CRNN under sacred: ``python training.py with config.json [field=value ...]`` (= ``tf-crnn train``)."""

import sys


def __getattr__(name: str):
    """``from training import ex``: the sacred experiment, imported only when asked for."""
    if name == "ex":
        from tf_crnn.train.experiment import ex

        return ex
    raise AttributeError(name)


if __name__ == "__main__":
    from tf_crnn.cli import run_command
    from tf_crnn.cli import train as train_command

    sys.exit(run_command(train_command, sys.argv[1:], "training.py"))
