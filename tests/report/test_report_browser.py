"""The evaluation report as a person sees it: rendered by headless Chromium from the file, no server.

Skipped when Chromium is not installed (``.ci/run`` installs Debian's ``chromium``).
"""

import contextlib
import html
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from tf_crnn.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
BROWSER_OPTIONS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(tmp_path, *options: str) -> str:
    command = [CHROMIUM, *BROWSER_OPTIONS, f"--user-data-dir={tmp_path / 'profile'}", *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.fixture(scope="module")
def report(random_export, tiny_dataset, tmp_path_factory):
    """``tf-crnn evaluate ... --report DIR --json``: its figures and the page it wrote."""
    folder = tmp_path_factory.mktemp("report")
    argv = ["evaluate", "--csv", str(tiny_dataset["eval"]), "--model-dir", str(random_export[3])]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([*argv, "--report", str(folder / "report"), "--json"]) == 0
    return json.loads(stdout.getvalue()), folder / "report" / "index.html"


def test_the_page_shows_the_figures_and_every_image_decodes(report, tmp_path):
    figures, page = report
    assert figures["report"] == str(page)
    dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    body = re.search(r"<body([^>]*)>", dom)[1]
    images, decoded = re.search(r'data-images="(\d+)"', body)[1], re.search(r'data-images-decoded="(\d+)"', body)
    assert decoded is not None, "the page's script did not run"
    assert int(images) == int(decoded[1]) == dom.count("<img ") == 12  # all 12 lines are wrong: all shown
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    for name in ("CER", "WER", "Line accuracy"):
        assert re.search(rf"{name}\s+{figures[name.lower().replace(' ', '_')]:.2%}", text), name
    assert "CER by line length" in text and "Most frequent character confusions" in text
    assert len(re.findall(r"<tr>", dom.split('id="substitutions"')[1].split("</table>")[0])) > 1
    assert "line images could not be shown" not in text.replace("hidden", "")  # the warning stays hidden


def test_the_page_renders_as_a_picture(report, tmp_path):
    _, page = report
    shot = tmp_path / "report.png"  # look at it: pytest --basetemp=/tmp/t, then open the PNG
    chromium(tmp_path, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (1600, 1200)
    assert pixels.std() > 20  # text, cards, the chart and the line images, not a blank page
    assert (pixels < 80).mean() > 0.002  # dark ink: headline figures and text are drawn
