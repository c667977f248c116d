"""Write the evaluation report as one HTML page that opens in any browser, without a server.

Everything is inside ``index.html``: the styles, the chart (inline SVG) and the line images (PNG,
base64), so the folder can be mailed or archived as it is. A few lines of script check, once the
page has loaded, that every image decoded, and say so on the page if one did not.
"""

from __future__ import annotations

import base64
import datetime
import io
import math
import os
import unicodedata
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tf_crnn import __version__
from tf_crnn.data.images import DECODE_ERRORS
from tf_crnn.metrics import TextMetrics
from tf_crnn.report.analysis import (
    Confusions,
    LengthBucket,
    LineResult,
    cer_by_length,
    char_confusions,
    diff_segments,
    worst_lines,
)
from tf_crnn.utils.files import atomic_write_text

REPORT_FILENAME = "index.html"
#: Line images are shrunk to this height (never enlarged): readable, and a report of 50 lines stays small.
IMAGE_HEIGHT = 80
N_CONFUSIONS = 15

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --panel: #f6f8fa; --accent: #0969da;
  --sub: #fff0c2; --sub-ink: #7d4e00; --del: #ffdcd7; --del-ink: #a40e26; --ins: #d2f4dc; --ins-ink: #116329; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 56px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 8px; }
.meta, .note { color: var(--muted); font-size: 13px; }
.meta code { font-size: 12px; }
.warning { color: var(--del-ink); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 16px; margin-top: 22px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 14px 20px; background: var(--panel); }
.card .name { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.card .value { font-size: 40px; font-weight: 650; line-height: 1.2; font-variant-numeric: tabular-nums; }
.card .detail { font-size: 13px; color: var(--muted); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 14px; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--line); text-align: right; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
th:first-child, td:first-child { text-align: left; padding-left: 0; }
.by-length { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 32px; align-items: start; }
.by-length svg { width: 100%; height: auto; }
.confusions { display: grid; grid-template-columns: repeat(3, 1fr); gap: 28px; }
.confusions table { width: 100%; }
.char { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; }
.arrow { color: var(--muted); padding: 0 4px; }
.legend span { margin-right: 14px; }
ol.lines { list-style: none; padding: 0; margin: 0; }
ol.lines li { border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px 10px; margin: 0 0 12px; }
ol.lines img { display: block; max-width: 100%; height: auto; margin-bottom: 8px; border: 1px solid var(--line); }
.missing { color: var(--del-ink); font-size: 13px; margin-bottom: 8px; }
.row { display: grid; grid-template-columns: 88px 1fr; gap: 8px; align-items: baseline; }
.tag { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 15px; white-space: pre-wrap; word-break: break-word; }
.sub { background: var(--sub); color: var(--sub-ink); border-radius: 2px; }
.del { background: var(--del); color: var(--del-ink); text-decoration: line-through; border-radius: 2px; }
.ins { background: var(--ins); color: var(--ins-ink); text-decoration: underline; border-radius: 2px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media (max-width: 800px) { .cards, .confusions, .by-length { grid-template-columns: 1fr; } }
"""

#: Counts the images that decoded (for the page itself and for automated checks of it).
SCRIPT = """
window.addEventListener("load", function () {
  var images = document.images, decoded = 0;
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) decoded++;
  }
  document.body.setAttribute("data-images-decoded", String(decoded));
  if (decoded < images.length) {
    var warning = document.getElementById("image-warning");
    warning.textContent = (images.length - decoded) + " of " + images.length + " line images could not be shown.";
    warning.hidden = false;
  }
});
"""


def write_report(
    folder: str | os.PathLike,
    lines: Sequence[LineResult],
    *,
    data: str,
    model: str,
    model_info: dict[str, Any] | None = None,
    decoding: str = "greedy",
    n_worst: int = 50,
) -> Path:
    """Write ``folder/index.html`` for the evaluated ``lines``; returns its path."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"--report {folder} is a file, not a folder")
    page = render_report(lines, data=data, model=model, model_info=model_info, decoding=decoding, n_worst=n_worst)
    path = folder / REPORT_FILENAME
    atomic_write_text(path, page)
    return path


def render_report(
    lines: Sequence[LineResult],
    *,
    data: str,
    model: str,
    model_info: dict[str, Any] | None = None,
    decoding: str = "greedy",
    n_worst: int = 50,
) -> str:
    """The report page as a string."""
    metrics = TextMetrics()
    metrics.update([line.reference for line in lines], [line.prediction for line in lines])
    worst = worst_lines(lines, n_worst)
    wrong = sum(line.reference != line.prediction for line in lines)
    images = [_embedded_image(line.path) for line in worst]
    trained = (model_info or {}).get("metrics", {}).get("cer")
    model_note = f" (evaluation CER at export: {_percent(trained)})" if isinstance(trained, (int, float)) else ""
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [
        "<header>",
        f"<h1>Evaluation of {escape(Path(data).name)}</h1>",
        f'<p class="meta">{metrics.lines:,} lines of <code>{escape(data)}</code> read by the model '
        f"<code>{escape(model)}</code>{model_note}; decoding: {escape(decoding)}; {when}, tf-crnn {__version__}</p>",
        "</header>",
        _headline(metrics),
        "<section>",
        "<h2>CER by line length</h2>",
        _by_length(cer_by_length(lines)),
        "</section>",
        "<section>",
        "<h2>Most frequent character confusions</h2>",
        _confusions(char_confusions((line.reference, line.prediction) for line in lines)),
        "</section>",
        "<section>",
        f"<h2>The {len(worst)} lines with the most errors</h2>" if worst else "<h2>Lines with errors</h2>",
        _worst(worst, images, wrong),
        "</section>",
        "<footer>CER: edit distance over reference characters, summed over all lines; WER: the same over words; "
        "line accuracy: the share of lines read exactly. Made by <code>tf-crnn evaluate --report</code>.</footer>",
    ]
    n_images = sum(image is not None for image in images)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>tf-crnn evaluation: {escape(Path(data).name)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f'<body data-images="{n_images}">\n<main>\n' + "\n".join(body) + "\n</main>\n"
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def _percent(value: float) -> str:
    return f"{value:.2%}"


def _headline(metrics: TextMetrics) -> str:
    cards = [
        ("CER", metrics.cer, f"{metrics.char_errors:,} errors in {metrics.chars:,} characters"),
        ("WER", metrics.wer, f"{metrics.word_errors:,} errors in {metrics.words:,} words"),
        ("Line accuracy", metrics.line_accuracy, f"{metrics.correct_lines:,} of {metrics.lines:,} lines exact"),
    ]
    html = [
        f'<div class="card" id="{name.lower().replace(" ", "-")}"><div class="name">{name}</div>'
        f'<div class="value">{_percent(value)}</div><div class="detail">{detail}</div></div>'
        for name, value, detail in cards
    ]
    return '<section class="cards">' + "".join(html) + "</section>"


def _by_length(buckets: Sequence[LengthBucket]) -> str:
    if not buckets:
        return '<p class="note">No lines.</p>'
    rows = "".join(
        f"<tr><td>{b.label}</td><td>{b.lines:,}</td><td>{b.chars:,}</td><td>{b.errors:,}</td>"
        f"<td>{_percent(b.cer)}</td><td>{_percent(b.line_accuracy)}</td></tr>"
        for b in buckets
    )
    table = (
        '<table id="cer-by-length"><thead><tr><th>characters</th><th>lines</th><th>chars</th><th>errors</th>'
        f"<th>CER</th><th>exact</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return f'<div class="by-length">{_length_chart(buckets)}{table}</div>'


def _nice_top(value: float) -> tuple[float, float]:
    """An axis top above ``value`` and its tick step (1, 2 or 5 times a power of ten, 4 to 6 ticks)."""
    value = max(value, 0.01)
    for step in (m * 10.0**e for e in range(-3, 3) for m in (1, 2, 5)):
        if value / step <= 5:
            return step * math.ceil(value / step - 1e-9), step
    return value, value / 5


def _length_chart(buckets: Sequence[LengthBucket]) -> str:
    """A bar chart of CER per length bucket, as inline SVG (no script, no library)."""
    width, height = 640, 260
    left, right, top, bottom = 52, 12, 22, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    axis_top, step = _nice_top(max(b.cer for b in buckets))
    slot = plot_w / len(buckets)
    parts = [
        f'<svg id="cer-chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="CER by line length" xmlns="http://www.w3.org/2000/svg" '
        'font-family="system-ui, sans-serif" font-size="12">'
    ]
    for k in range(round(axis_top / step) + 1):
        y = top + plot_h * (1 - k * step / axis_top)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8dee4"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#59636e">{k * step:.0%}</text>')
    for i, bucket in enumerate(buckets):
        bar_h = plot_h * bucket.cer / axis_top
        x = left + i * slot + slot * 0.18
        center = left + (i + 0.5) * slot
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{slot * 0.64:.1f}" height="{bar_h:.1f}" '
            f'rx="2" fill="#0969da"><title>{bucket.label} characters: CER {_percent(bucket.cer)} '
            f"({bucket.lines} lines)</title></rect>"
        )
        parts.append(
            f'<text x="{center:.1f}" y="{top + plot_h - bar_h - 5:.1f}" text-anchor="middle" '
            f'fill="#1f2328">{bucket.cer:.1%}</text>'
        )
        parts.append(f'<text x="{center:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{bucket.label}</text>')
        parts.append(
            f'<text x="{center:.1f}" y="{top + plot_h + 31}" text-anchor="middle" fill="#59636e">'
            f"{bucket.lines} lines</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="#59636e">'
        "reference length (characters)</text></svg>"
    )
    return "".join(parts)


def _char_label(char: str) -> str:
    """A character as it can be seen: spaces, combining marks and invisible characters made visible."""
    name = unicodedata.name(char, "")
    title = f"U+{ord(char):04X} {name}".strip()
    if char == " ":
        shown = "␣"
    elif unicodedata.combining(char):
        shown = "◌" + char
    elif unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp"):
        shown = f"U+{ord(char):04X}"
    else:
        shown = char
    return f'<span class="char" title="{escape(title)}">{escape(shown)}</span>'


def _confusions(confusions: Confusions) -> str:
    if not confusions.total:
        return '<p class="note">No character errors.</p>'

    def table(title: str, html_id: str, rows: list[tuple[str, int]], head: str) -> str:
        body = "".join(f"<tr><td>{cell}</td><td>{count:,}</td></tr>" for cell, count in rows)
        if not body:
            body = '<tr><td class="note">none</td><td></td></tr>'
        return (
            f'<div><h3>{title}</h3><table id="{html_id}"><thead><tr><th>{head}</th><th>count</th></tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )

    substitutions = [
        (f'{_char_label(ref)}<span class="arrow">→</span>{_char_label(hyp)}', n)
        for (ref, hyp), n in confusions.substitutions.most_common(N_CONFUSIONS)
    ]
    deletions = [(_char_label(c), n) for c, n in confusions.deletions.most_common(N_CONFUSIONS)]
    insertions = [(_char_label(c), n) for c, n in confusions.insertions.most_common(N_CONFUSIONS)]
    counts = (
        f"{sum(confusions.substitutions.values()):,} substitutions, {sum(confusions.deletions.values()):,} "
        f"deletions and {sum(confusions.insertions.values()):,} insertions in all."
    )
    return (
        f'<p class="note">{counts} Hover a character for its code point and name.</p><div class="confusions">'
        + table("Substitutions", "substitutions", substitutions, "reference → read")
        + table("Deletions (missed)", "deletions", deletions, "reference")
        + table("Insertions (added)", "insertions", insertions, "read")
        + "</div>"
    )


def _visible(text: str) -> str:
    return escape(text.replace(" ", "␣"))


def _diff_html(line: LineResult) -> tuple[str, str]:
    """The reference and the prediction with their differences marked."""
    reference, prediction = [], []
    for segment in diff_segments(line.reference, line.prediction):
        if segment.kind == "equal":
            reference.append(escape(segment.reference))
            prediction.append(escape(segment.prediction))
        elif segment.kind == "replace":
            reference.append(f'<span class="sub">{_visible(segment.reference)}</span>')
            prediction.append(f'<span class="sub">{_visible(segment.prediction)}</span>')
        elif segment.kind == "delete":
            reference.append(f'<del class="del">{_visible(segment.reference)}</del>')
        else:
            prediction.append(f'<ins class="ins">{_visible(segment.prediction)}</ins>')
    return "".join(reference), "".join(prediction) or '<span class="note">(nothing read)</span>'


def _worst(worst: Sequence[LineResult], images: Sequence[tuple[str, int, int] | None], wrong: int) -> str:
    if not worst:
        return '<p class="note">Every line was read exactly.</p>'
    legend = (
        '<p class="legend note"><span><span class="sub">substituted</span></span>'
        '<span><del class="del">missed</del> (in the reference)</span>'
        '<span><ins class="ins">added</ins> (in the prediction)</span><span>␣ = a space</span></p>'
    )
    shown = f"{len(worst)} of the {wrong:,} lines with errors" if wrong > len(worst) else f"all {wrong:,} lines"
    note = (
        f'<p class="note">Showing {shown}, most errors first (<code>--report-lines</code> shows more; '
        "<code>--output</code> writes every line to a CSV).</p>"
        '<p id="image-warning" class="warning" hidden></p>'
    )
    items = []
    for line, image in zip(worst, images):
        reference, prediction = _diff_html(line)
        if image is None:
            picture = f'<div class="missing">image not readable: {escape(line.path)}</div>'
        else:
            data, width, height = image
            picture = (
                f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
                f'alt="{escape(Path(line.path).name)}">'
            )
        confidence = "" if math.isnan(line.confidence) else f" · confidence {line.confidence:.2f}"
        items.append(
            f"<li>{picture}"
            f'<div class="row"><span class="tag">reference</span><span class="text ref">{reference}</span></div>'
            f'<div class="row"><span class="tag">read</span><span class="text hyp">{prediction}</span></div>'
            f'<div class="meta" title="{escape(line.path)}">{escape(line.label or Path(line.path).name)} · '
            f"{line.errors} error{'s' if line.errors != 1 else ''} · CER {_percent(line.cer)}{confidence}</div>"
            "</li>"
        )
    return legend + note + '<ol class="lines">' + "".join(items) + "</ol>"


def _embedded_image(path: str, max_height: int = IMAGE_HEIGHT) -> tuple[str, int, int] | None:
    """The line image as base64 PNG (8-bit gray or RGB, at most ``max_height`` high), or None if unreadable."""
    try:
        with Image.open(path) as image:
            image.load()
            picture = _eight_bit(image)
    except DECODE_ERRORS:  # missing, truncated or corrupt: the page says so instead of showing it
        return None
    if picture.height > max_height:
        width = max(1, round(picture.width * max_height / picture.height))
        picture = picture.resize((width, max_height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii"), picture.width, picture.height


def _eight_bit(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I;16") or image.mode == "I":
        pixels = np.asarray(image, dtype=np.float64)
        scale = 1 / 257 if pixels.max() > 255 else 1.0  # 16-bit values, or 8-bit ones stored wider
        return Image.fromarray(np.clip(pixels * scale, 0, 255).astype(np.uint8), "L")
    if image.mode in ("1", "L", "LA", "F"):
        return image.convert("L")
    return image.convert("RGB")
