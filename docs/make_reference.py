"""Write docs/configuration.md from the field declarations of tf_crnn.params: ``python docs/make_reference.py``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_crnn.params.reference import markdown  # noqa: E402
from tf_crnn.utils.files import atomic_write_text  # noqa: E402

if __name__ == "__main__":
    target = Path(__file__).with_name("configuration.md")
    atomic_write_text(target, markdown())
    print(target)
