"""FrameAverage: the members' posteriors merged frame by frame, as a mixture or as a product of experts."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_params
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.ensemble import FrameAverage, frame_average_network


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_probabilities_average_to_a_mixture_and_logs_to_a_renormalised_product():
    logits = np.random.default_rng(3).normal(0, 3, (3, 2, 5, 7)).astype(np.float32)  # 3 members
    members = [tf.constant(x) for x in logits]
    mixture = softmax(FrameAverage("prob")(members).numpy())
    np.testing.assert_allclose(mixture, softmax(logits).mean(axis=0), rtol=1e-5)
    product = softmax(FrameAverage("log")(members).numpy())
    geometric = np.exp(np.log(softmax(logits)).mean(axis=0))
    np.testing.assert_allclose(product, geometric / geometric.sum(axis=-1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(np.exp(FrameAverage("prob")(members).numpy()).sum(axis=-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="space must be one of prob, log"):
        FrameAverage("median")


def test_the_network_runs_every_member_on_the_same_lines(tmp_path):
    params = tiny_params(tmp_path)
    members = [get_model_inference(params, 9) for _ in range(2)]
    network = frame_average_network(members, params, "log")
    images = tf.random.stateless_uniform([2, 16, 64, 1], seed=[1, 2])
    widths = tf.constant([64, 40])
    each = [m({"images": images, "widths": widths}) for m in members]
    np.testing.assert_allclose(network({"images": images, "widths": widths}), FrameAverage("log")(each), atol=1e-6)
    assert [layer.name for layer in network.layers if layer.name.startswith("member_")] == ["member_0", "member_1"]
    assert len(network.trainable_weights) == sum(len(m.trainable_weights) for m in members)
