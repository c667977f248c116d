"""``python -m tf_crnn.cli``: the same as the installed ``tf-crnn`` command."""

import sys

from tf_crnn.cli import main

sys.exit(main())
