"""The evaluation report: one self-contained HTML page (``tf-crnn evaluate --report DIR``)."""

from tf_crnn.report.analysis import LineResult, cer_by_length, char_confusions, diff_segments, worst_lines
from tf_crnn.report.html import REPORT_FILENAME, write_report

__all__ = [
    "REPORT_FILENAME",
    "LineResult",
    "cer_by_length",
    "char_confusions",
    "diff_segments",
    "worst_lines",
    "write_report",
]
