"""``python -m tf_crnn.synth --n 20000 --out DIR --seed 1 [--alphabet FILE]``: the same as ``tf-crnn synth``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from tf_crnn.cli import run_command, synth

    return run_command(synth, argv, "python -m tf_crnn.synth")


if __name__ == "__main__":
    sys.exit(main())
