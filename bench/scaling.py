"""Measure how training throughput scales with the number of replicas (MirroredStrategy).

Usage: python bench/scaling.py [--replicas 1 2 4 8] [--per-replica-batch 32] [--steps 40]
                               [--cpu-devices K] [--no-record]

For each replica count k, the default model (config.json's architecture and alphabet) is built
under a MirroredStrategy over the first k GPUs and trained on a global batch of k times
``--per-replica-batch`` lines; the time of ``--steps`` steps after a warm-up gives lines/s, the
speed-up over one replica and the efficiency (speed-up / k). The batches are rendered synthetic
lines cached in memory, so the figures are those of the training step and its all-reduce, not of
image decoding. The all-reduce volume per step is the model's gradient bytes. ``--cpu-devices K``
splits the CPU into K logical devices instead: a check that the script runs, not a measurement.
Appends a section to BENCHMARKS.md (``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]


def devices(cpu_devices: int) -> list[str]:
    """The devices to spread replicas over; must run before TensorFlow initialises its devices."""
    import tensorflow as tf

    if cpu_devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    return [d.name for d in tf.config.list_logical_devices("GPU")]


def cached_batches(params, alphabet, workdir: Path, n_lines: int):
    """Rendered lines, preprocessed, batched at ``params.train_batch_size`` and kept in memory."""
    import tensorflow as tf

    from tf_crnn.data_handler import LABELS, dataset_generator
    from tf_crnn.preprocessing import preprocess_csv
    from tf_crnn.synth.render import generate_dataset

    csv_file = generate_dataset(workdir, n_lines, alphabet.alphabet_units, 7, "lines", 6, 40, progress=False)
    data = preprocess_csv([str(csv_file)], params, alphabet, "train")
    dataset = dataset_generator(data, params, batch_size=params.train_batch_size, num_epochs=None)
    n_batches = max(len(data) // params.train_batch_size, 1)
    dataset = dataset.take(n_batches).cache().repeat()
    return dataset.map(lambda features: (features, tf.zeros_like(features[LABELS][:, 0], tf.float32)))


def lines_per_second(params, alphabet, strategy, workdir: Path, steps: int) -> float:
    from tf_crnn.model import get_model_inference, get_model_train

    with strategy.scope():
        model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
        model.optimizer.build(model.trainable_variables)
    dataset = cached_batches(params, alphabet, workdir, max(8 * params.train_batch_size, 256))
    model.fit(dataset, steps_per_epoch=5, epochs=1, verbose=0, shuffle=False)  # tracing and warm-up
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps * params.train_batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, nargs="+", help="replica counts (default: 1, 2, 4, ... all GPUs)")
    parser.add_argument("--per-replica-batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--cpu-devices", type=int, default=0, help="split the CPU into K logical devices (check)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to BENCHMARKS.md")
    args = parser.parse_args()
    available = devices(args.cpu_devices)
    if not available:
        raise SystemExit("no GPU found; use --cpu-devices K to check the script on logical CPU devices")
    counts = args.replicas or [k for k in (1, 2, 4, 8, 16) if k < len(available)] + [len(available)]
    if max(counts) > len(available):
        raise SystemExit(f"{max(counts)} replicas asked, {len(available)} devices available")

    import numpy as np
    import tensorflow as tf

    from bench.machine import append_section
    from tf_crnn.config import Alphabet, Params

    base = json.loads((REPO / "config.json").read_text())
    alphabet_file = str(REPO / base["lookup_alphabet_file"])
    architecture = {"input_shape": base["input_shape"], "max_chars_per_string": base["max_chars_per_string"]}
    architecture["lookup_alphabet_file"] = alphabet_file
    alphabet = Alphabet(alphabet_file)
    workdir = Path(tempfile.mkdtemp(prefix="tf_crnn_scaling_"))
    rows, single = [], None
    for k in sorted(set(counts)):
        params = Params(
            **architecture, train_batch_size=k * args.per_replica_batch, output_model_dir=str(workdir / "output")
        )
        strategy = tf.distribute.MirroredStrategy(available[:k])
        speed = lines_per_second(params, alphabet, strategy, workdir / f"data{k}", args.steps)
        single = single or speed
        rows.append((k, params.train_batch_size, speed, speed / single, speed / single / k))
        print(f"{k} replicas: {speed:.0f} lines/s", flush=True)

    from tf_crnn.model import get_model_inference

    model = get_model_inference(Params(**architecture), alphabet.n_classes)
    n_params = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    kind = f"{args.cpu_devices} logical CPU devices (a check, not a measurement)" if args.cpu_devices else "GPUs"
    body = "\n".join(
        [
            f"Default model ({n_params:,} trainable parameters: {4 * n_params / 1e6:.2f} MB of float32 gradients "
            f"all-reduced per step), MirroredStrategy over {kind}, {args.per_replica_batch} lines per replica, "
            f"{args.steps} steps on cached batches after a warm-up.",
            "",
            "| replicas | global batch | lines/s | speed-up | efficiency |",
            "| --- | --- | --- | --- | --- |",
            *(f"| {k} | {batch} | {speed:.0f} | {up:.2f}x | {eff:.0%} |" for k, batch, speed, up, eff in rows),
        ]
    )
    print(body)
    if not args.no_record:
        command = "python " + " ".join(["bench/scaling.py", *sys.argv[1:]])
        append_section("Training throughput vs replicas (issue 8)", command, body)


if __name__ == "__main__":
    main()
