"""Prepare the IAM handwritten text lines for tf-crnn: ``python hlp/prepare_iam.py [--help]``.

The same as ``tf-crnn prepare-iam``; the work is done by :mod:`tf_crnn.datasets.iam` (see hlp/README.md).
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_crnn.cli.prepare_iam import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
