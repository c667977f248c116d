"""Measure how training throughput scales with the number of replicas (MirroredStrategy).

Usage: python bench/scaling.py [--replicas 1 2 4 8] [--per-replica-batch 32] [--steps 40]
                               [--cpu-devices K] [--smoke] [--no-record]

For each replica count k, the default model (config.json's architecture and alphabet) is built
under a MirroredStrategy over the first k GPUs and trained on a global batch of k times
``--per-replica-batch`` lines; the time of ``--steps`` steps after a warm-up gives lines/s, the
speed-up over one replica and the efficiency (speed-up / k). The batches are rendered synthetic
lines cached in memory, so the figures are those of the training step and its all-reduce, not of
image decoding. The all-reduce volume per step is the model's gradient bytes. ``--cpu-devices K``
splits the CPU into K logical devices instead: a check that the script runs, not a measurement
(``--smoke``: 1 and 2 replicas on 2 logical CPU devices, a few steps of a tiny model).
Appends a section to BENCHMARKS.md (``--no-record``: print only).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402


def devices(cpu_devices: int) -> list[str]:
    """The devices to spread replicas over; must run before TensorFlow initialises its devices."""
    import tensorflow as tf

    if cpu_devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    return [d.name for d in tf.config.list_logical_devices("GPU")]


def cached_batches(params, workdir: Path, n_lines: int):
    """Rendered lines, preprocessed, batched at ``params.train_batch_size`` and kept in memory."""
    import tensorflow as tf

    from tf_crnn.data.features import LABELS
    from tf_crnn.data.pipeline import dataset_generator

    data = common.prepared(common.synthetic_lines(workdir, n_lines, "lines", seed=7, max_words=6, max_chars=40), params)
    dataset = dataset_generator(data, params, batch_size=params.train_batch_size, num_epochs=None)
    n_batches = max(len(data) // params.train_batch_size, 1)
    dataset = dataset.take(n_batches).cache().repeat()
    return dataset.map(lambda features: (features, tf.zeros_like(features[LABELS][:, 0], tf.float32)))


def lines_per_second(params, alphabet, strategy, workdir: Path, steps: int, smoke: bool) -> float:
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train

    with strategy.scope():
        model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
        model.optimizer.build(model.trainable_variables)
    n_lines = common.SMOKE_LINES if smoke else max(8 * params.train_batch_size, 256)
    dataset = cached_batches(params, workdir, n_lines)
    model.fit(dataset, steps_per_epoch=1 if smoke else 5, epochs=1, verbose=0, shuffle=False)  # tracing, warm-up
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps * params.train_batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--replicas", type=int, nargs="+", help="replica counts (default: 1, 2, 4, ... all GPUs)")
    parser.add_argument("--per-replica-batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--cpu-devices", type=int, default=0, help="split the CPU into K logical devices (check)")
    args = parser.parse_args()
    if args.smoke:
        print("--smoke: logical CPU devices, not GPUs (a check of the script, not a measurement)")
        args.cpu_devices, args.replicas, args.per_replica_batch, args.steps = 2, [1, 2], 2, 1
    available = devices(args.cpu_devices)
    if not available:
        raise SystemExit("no GPU found; use --cpu-devices K to check the script on logical CPU devices")
    counts = args.replicas or [k for k in (1, 2, 4, 8, 16) if k < len(available)] + [len(available)]
    if max(counts) > len(available):
        raise SystemExit(f"{max(counts)} replicas asked, {len(available)} devices available")

    import numpy as np
    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference

    workdir = common.workdir(args)
    rows, single = [], None
    for k in sorted(set(counts)):
        params = common.default_params(workdir / "output", args.smoke, train_batch_size=k * args.per_replica_batch)
        alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
        strategy = tf.distribute.MirroredStrategy(available[:k])
        speed = lines_per_second(params, alphabet, strategy, workdir / f"data{k}", args.steps, args.smoke)
        single = single or speed
        rows.append((k, params.train_batch_size, speed, speed / single, speed / single / k))
        print(f"{k} replicas: {speed:.0f} lines/s", flush=True)

    model = get_model_inference(params, alphabet.n_classes)
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
    k, _, speed, up, _ = rows[-1]
    figures = []
    if not args.cpu_devices:
        figures = [
            common.Figure(f"training on {k} GPUs (MirroredStrategy)", round(speed), "lines/s"),
            common.Figure(f"training speed-up on {k} GPUs over one", round(up, 2), "x"),
        ]
    common.report(args, "Training throughput vs replicas (bench/scaling.py)", body, figures)


if __name__ == "__main__":
    main()
