import pytest

from tf_crnn.metrics import TextMetrics, compute_metrics, edit_distance


def test_edit_distance_on_strings_and_word_lists():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1


def test_known_pairs():
    figures = compute_metrics(["hello world", "abc"], ["hallo world", "abc"])
    assert figures["cer"] == pytest.approx(1 / 14)
    assert figures["wer"] == pytest.approx(1 / 3)
    assert figures["line_accuracy"] == 0.5
    assert figures["lines"] == 2


def test_figures_are_over_the_whole_set_not_averaged_per_batch():
    metrics = TextMetrics()
    metrics.update(["a"], ["b"])  # batch 1: CER 1.0
    metrics.update(["abcdefghij"], ["abcdefghij"])  # batch 2: CER 0.0
    assert metrics.cer == pytest.approx(1 / 11)  # not (1.0 + 0.0) / 2


def test_empty_prediction_and_empty_set():
    assert compute_metrics(["abc"], [""])["cer"] == 1.0
    assert compute_metrics([], [])["cer"] == 0.0
