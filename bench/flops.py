"""Where the training time goes: FLOPs per line, and achieved FLOP/s against the measured peak, per part.

Usage: python bench/flops.py [--width 512] [--batch 32] [--sweep 16,32,64] [--precisions float32,mixed_bfloat16]
                            [--smoke] [--no-record]

In one process, for each precision, in three rounds (each figure the median of its rounds, so a
drift of the shared machine's speed moves the peak and the timings alike): the machine's
matrix-multiply peak in that precision (2048-square matmuls, float32 or bfloat16), then, on one
batch of ``--batch`` lines of ``--width`` px, the forward + backward time of each part of the default model
(config.json): the convolution stack (images to per-time-step features), the recurrent head
(BiLSTMs and the output Dense, features to logits, with the gradient to the features), the CTC loss
(logits to loss, with its gradient; also through the label path the step does not use, for
comparison: sparse-label kernel on CPUs, dense-label path on GPUs and under XLA), and Keras' whole
training step (all of these, the optimizer and the non-finite checks); in the same rounds, the whole
step and the recurrent head at each ``--sweep`` batch size, because the BiLSTMs' per-time-step
matmuls ([lines x features] by [features x 4 units]) are small enough for the batch size to set
their efficiency.
FLOPs per line are counted from the layer shapes (2 per multiply-add; a backward pass is 2 forward
passes) and cross-checked with TensorFlow's profiler (``float_operation``) on the forward graph and
on one LSTM cell step. The input pipeline's time per line (default augmentation, tf.data on all
cores) is given beside them: it runs concurrently with the training step, not before it.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

BATCH = 32
ROUNDS = 3
PEAK_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def forward_flops(params, n_classes: int, width: int) -> dict[str, float]:
    """Multiply-add FLOPs (x2) of one line's forward pass, per part, from the layer shapes."""
    height, channels = params.input_shape[0], params.input_channels
    conv = 0.0
    for features, kernel, stride, pool in zip(
        params.cnn_features_list, params.cnn_kernel_size, params.cnn_stride_size, params.cnn_pool_size
    ):
        height, width_now = -(-height // stride[0]), -(-width // stride[1])
        conv += 2 * height * width_now * kernel * kernel * channels * features
        height, width, channels = height // pool[0], width_now // pool[1], features
    steps = width
    size = params.output_height * params.cnn_features_list[-1]
    per_layer = []
    for units in params.rnn_units:
        per_layer.append(2 * steps * 2 * (size + units) * 4 * units)  # two directions, four gates
        size = 2 * units
    dense = 2 * steps * size * n_classes
    return {
        "conv": conv,
        "lstm": sum(per_layer),
        "first_bilstm": per_layer[0],
        "dense": dense,
        "steps": steps,
        "conv_blocks": len(params.cnn_features_list),
        "bilstms": len(params.rnn_units),
    }


def profiled_flops(inference, params, width: int) -> tuple[float, float]:
    """TensorFlow profiler's FLOPs of (the forward graph for one line, one step of the first LSTM cell).

    The profiler does not look inside the LSTMs' while loop, so the forward graph's count holds the
    convolutions, the Dense and the element-wise ops; the cell step is counted separately.
    """
    import tensorflow as tf

    from tf_crnn.data.features import IMAGES, WIDTHS

    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"

    def count(function, *specs) -> float:
        graph = tf.function(function).get_concrete_function(*specs).graph
        return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)

    height, channels = params.input_shape[0], params.input_channels
    whole = count(
        lambda images, widths: inference({IMAGES: images, WIDTHS: widths}, training=False),
        tf.TensorSpec([1, height, width, channels], tf.float32),
        tf.TensorSpec([1], tf.int32),
    )
    cell = inference.get_layer("bilstm_0").forward_layer.cell
    size, units = params.output_height * params.cnn_features_list[-1], params.rnn_units[0]
    dtype = cell.compute_dtype
    step = count(
        lambda x, h, c: cell(x, [h, c])[0],
        tf.TensorSpec([1, size], dtype),
        tf.TensorSpec([1, units], dtype),
        tf.TensorSpec([1, units], dtype),
    )
    return whole, step


def measure(workdir: str, precision: str, width: int, batch_size: int, sweep: list[int], smoke: bool) -> dict:
    import keras
    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.data.features import IMAGES, LABEL_LENGTH, LABELS, WIDTHS
    from tf_crnn.model.crnn import LOGITS, get_model_inference
    from tf_crnn.model.ctc import CTCLoss
    from tf_crnn.model.training import get_model_train

    folder = Path(workdir)
    params = common.default_params(folder / precision, smoke, precision=precision)
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    keras.utils.set_random_seed(0)
    inference = get_model_inference(params, alphabet.n_classes)
    model = get_model_train(params, inference)
    batches = {
        size: common.fixed_width_batch(folder, params, alphabet.n_classes, width, size)
        for size in dict.fromkeys([batch_size, *sweep])
    }
    batch = batches[batch_size]
    images, widths = batch[IMAGES], batch[WIDTHS]
    repeats = 1 if smoke else 5

    conv_stack = keras.Model(inference.inputs, inference.get_layer("fold_height").output)
    mask_layer = inference.get_layer("time_step_mask")
    recurrent = [inference.get_layer(f"bilstm_{i}") for i in range(len(params.rnn_units))]
    dropouts = [inference.get_layer(f"dropout_{i}") if params.rnn_dropout > 0 else None for i in range(len(recurrent))]
    dense = inference.get_layer(LOGITS)
    ctc = model.get_layer("ctc_loss")
    other_ctc = CTCLoss(params.width_reduction, sparse_labels=not ctc.sparse_labels, dtype="float32")
    head_variables = [v for layer in [*recurrent, dense] for v in layer.trainable_variables]

    def total(gradients) -> tf.Tensor:
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in gradients])

    @tf.function
    def conv_step():
        with tf.GradientTape() as tape:
            out = conv_stack({IMAGES: images, WIDTHS: widths}, training=True)
            loss = tf.reduce_sum(tf.cast(out, tf.float32))
        return total(tape.gradient(loss, conv_stack.trainable_variables))

    def head_step(size: int):
        """The recurrent head's forward + backward on the features of the ``size``-line batch."""
        size_widths = batches[size][WIDTHS]
        features = conv_stack({IMAGES: batches[size][IMAGES], WIDTHS: size_widths}, training=False)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                tape.watch(features)
                x, mask = features, mask_layer(size_widths, features)
                for dropout, bilstm in zip(dropouts, recurrent):
                    if dropout is not None:
                        x = dropout(x, training=True)
                    x = bilstm(x, mask=mask, training=True)
                loss = tf.reduce_sum(dense(x))
            return total(tape.gradient(loss, [features, *head_variables]))

        return lambda: step().numpy()

    def training_step(size: int):
        """Seconds per line of whole training steps (Keras' fit) on the ``size``-line batch."""
        stream = tf.data.Dataset.from_tensors((batches[size], tf.zeros([size]))).repeat()
        warmup, steps = (1, 1) if smoke else (3, 6)
        return lambda: 1 / common.train_lines_per_second(model, stream, size, steps, warmup)

    logits = inference({IMAGES: images, WIDTHS: widths}, training=False)

    def ctc_step(layer):
        @tf.function
        def step():
            with tf.GradientTape() as tape:
                tape.watch(logits)
                loss = tf.reduce_sum(layer(batch[LABELS], logits, batch[LABEL_LENGTH], widths))
            return total(tape.gradient(loss, [logits]))

        return step

    ctc_step_used, ctc_step_other = ctc_step(ctc), ctc_step(other_ctc)  # traced once, timed many times
    forward = tf.function(lambda: inference({IMAGES: images, WIDTHS: widths}, training=False))
    parts = {
        "conv": lambda: conv_step().numpy(),
        "head": head_step(batch_size),
        "ctc": lambda: ctc_step_used().numpy(),
        "other_ctc": lambda: ctc_step_other().numpy(),
        "forward": lambda: forward().numpy(),
    }
    training_steps = {size: training_step(size) for size in batches}
    sweep_heads = {size: head_step(size) for size in sweep if size != batch_size}
    # This shared machine's speed drifts between minutes: the peak is measured in turn with the
    # timings, each round once, and each figure is the median of its rounds.
    peaks, samples = [], {name: [] for name in [*parts, *(("step", size) for size in training_steps), *sweep_heads]}
    matmul_size, peak_seconds = (256, 0.1) if smoke else (2048, 1.0)
    for _ in range(1 if smoke else ROUNDS):
        peaks.append(common.matmul_peak(PEAK_DTYPES[precision], matmul_size, peak_seconds))
        for name, part in parts.items():
            samples[name].append(common.timed(part, repeats))
        for size, step in training_steps.items():
            samples["step", size].append(step())
        for size, part in sweep_heads.items():
            samples[size].append(common.timed(part, repeats))
    seconds = {name: statistics.median(values) for name, values in samples.items()}
    whole, cell_step = profiled_flops(inference, params, width)
    ms_per_line = {part: 1000 * seconds[part] / batch_size for part in parts}
    ms_per_line["step"] = 1000 * seconds["step", batch_size]
    by_batch = {
        size: {
            "step": 1000 * seconds["step", size],
            "head": ms_per_line["head"] if size == batch_size else 1000 * seconds[size] / size,
        }
        for size in sorted(batches)
    }
    return {
        "precision": precision,
        "peak": statistics.median(peaks),
        "peak_range": (min(peaks), max(peaks)),
        "sparse_ctc": ctc.sparse_labels,
        "ms_per_line": ms_per_line,
        "by_batch": by_batch,
        "counted": forward_flops(params, alphabet.n_classes, width),
        "profiled_forward": whole,
        "profiled_cell_step": cell_step,
        "peak_mb": common.peak_rss_mb(),
    }


def part_row(step_ms: float, peak: float, name: str, flops: float, time_ms: float) -> list[str]:
    """A table row: FLOPs per line, time per line, share of the training step, FLOP/s and share of the peak."""
    rate = flops / (time_ms / 1000) if flops else 0.0
    return [
        name,
        f"{flops / 1e6:.0f}" if flops else "-",
        f"{time_ms:.2f}",
        f"{time_ms / step_ms:.0%}",
        f"{rate / 1e9:.1f}" if flops else "-",
        f"{rate / peak:.0%}" if flops else "-",
    ]


def ctc_path(sparse: bool) -> str:
    return "sparse-label kernel" if sparse else "dense-label path"


def pipeline_ms_per_line(folder: Path, smoke: bool) -> float:
    """The trainer's input stream (synthetic lines, default augmentation, width buckets), alone."""
    import time

    params = common.default_params(folder / "pipeline", smoke, data_augmentation=True)
    data = common.prepared(common.synthetic_lines(folder, common.SMOKE_LINES if smoke else 800), params)
    iterator = iter(common.training_batches(data, params, augmentation=True))
    for _ in range(1 if smoke else 3):
        next(iterator)
    started, lines = time.perf_counter(), 0
    for _ in range(2 if smoke else 25):
        lines += int(next(iterator)[0]["widths"].shape[0])
    return 1000 * (time.perf_counter() - started) / lines


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--width", type=int, default=512, help="line width in px (default 512: 128 time steps)")
    parser.add_argument(
        "--batch",
        type=common.positive_int,
        default=BATCH,
        help=f"lines per batch (default {BATCH})",
    )
    parser.add_argument(
        "--sweep",
        type=common.positive_ints,
        default="16,32,64",
        help="comma-separated batch sizes whose whole step and head are also timed",
    )
    parser.add_argument("--precisions", default="float32,mixed_bfloat16", help="comma-separated policies")
    args = parser.parse_args()
    folder = common.workdir(args)
    common.synthetic_lines(folder, 1, "one")
    precisions = args.precisions.split(",")
    if args.smoke:
        args.width, args.batch, args.sweep = 128, common.SMOKE_MODEL["train_batch_size"], [2]
    results = common.isolated_each(
        measure,
        "precision",
        precisions,
        args.smoke,
        workdir=str(folder),
        width=args.width,
        batch_size=args.batch,
        sweep=args.sweep,
        smoke=args.smoke,
    )
    pipeline_ms = common.isolated(pipeline_ms_per_line, args.smoke, folder=folder, smoke=args.smoke)

    counted = results[0]["counted"]
    forward = counted["conv"] + counted["lstm"] + counted["dense"]
    parts = {"conv": 3 * counted["conv"], "head": 3 * (counted["lstm"] + counted["dense"]), "ctc": 0.0}
    train_flops = 3 * forward
    conv_name = f"convolution stack ({counted['conv_blocks']} ConvBlocks), fwd + bwd"
    head_name = f"recurrent head ({counted['bilstms']} BiLSTM + Dense), fwd + bwd"
    sections = []
    for r in results:
        ms, peak = r["ms_per_line"], r["peak"]
        parts_alone = ms["conv"] + ms["head"] + ms["ctc"]

        rows = [
            part_row(ms["step"], peak, conv_name, parts["conv"], ms["conv"]),
            part_row(ms["step"], peak, head_name, parts["head"], ms["head"]),
            part_row(ms["step"], peak, f"CTC loss and its gradient ({ctc_path(r['sparse_ctc'])})", 0.0, ms["ctc"]),
            part_row(ms["step"], peak, "the three parts above, timed alone, summed", 0.0, parts_alone),
            part_row(ms["step"], peak, "whole training step", train_flops, ms["step"]),
            part_row(ms["step"], peak, "forward pass alone (inference)", forward, ms["forward"]),
            part_row(ms["step"], peak, f"CTC, {ctc_path(not r['sparse_ctc'])} instead (not in the step)", 0.0,
                     ms["other_ctc"]),
            ["input pipeline, default augmentation (all cores, concurrent)", "-", f"{pipeline_ms:.2f}",
             f"{pipeline_ms / ms['step']:.0%}", "-", "-"],
        ]  # fmt: skip
        header = ["part", "MFLOP per line", "ms per line", "of the step", "GFLOP/s", "of peak"]
        sweep_rows = [
            [f"{size}", f"{t['step']:.2f}", f"{train_flops / (t['step'] / 1000) / peak:.0%}", f"{t['head']:.2f}",
             f"{parts['head'] / (t['head'] / 1000) / peak:.0%}"]
            for size, t in r["by_batch"].items()
        ]  # fmt: skip
        sweep_header = ["lines per batch", "training step, ms per line", "of peak", "recurrent head, ms per line",
                        "of peak"]  # fmt: skip
        sections.append(
            f"**{r['precision']}**: measured matmul peak {peak / 1e9:.0f} GFLOP/s ({PEAK_DTYPES[r['precision']]}; "
            f"rounds {r['peak_range'][0] / 1e9:.0f}-{r['peak_range'][1] / 1e9:.0f}); peak memory {r['peak_mb']:.0f} MB"
            f" (batch of {args.batch})\n\n"
            + common.table(header, rows)
            + "\n\nThe whole training step and the recurrent head per batch size (same rounds):\n\n"
            + common.table(sweep_header, sweep_rows)
        )
    base = results[0]
    speedups = ", ".join(
        f"{r['precision']} {base['ms_per_line']['step'] / r['ms_per_line']['step']:.2f}x training, "
        f"{base['ms_per_line']['forward'] / r['ms_per_line']['forward']:.2f}x forward, "
        f"peak {r['peak'] / base['peak']:.2f}x"
        for r in results[1:]
    )
    lstm_profiled = results[0]["profiled_cell_step"] * 2 * counted["steps"]
    check = common.table(
        ["forward FLOPs per line", "from the layer shapes", "TensorFlow profiler"],
        [
            ["convolutions + Dense (+ element-wise ops in the profiler)",
             f"{(counted['conv'] + counted['dense']) / 1e6:.1f} M", f"{results[0]['profiled_forward'] / 1e6:.1f} M"],
            ["first BiLSTM (cell step x 2 directions x time steps)",
             f"{counted['first_bilstm'] / 1e6:.1f} M", f"{lstm_profiled / 1e6:.1f} M"],
            ["convolutions / BiLSTMs / Dense", f"{counted['conv'] / 1e6:.1f} / {counted['lstm'] / 1e6:.1f} / "
             f"{counted['dense'] / 1e6:.1f} M", "-"],
        ],
    )  # fmt: skip
    body = "\n\n".join(sections) + "\n\n" + check
    body += (
        f"\n\nOne batch of {args.batch} lines of {args.width} px ({counted['steps']} time steps) of the default model "
        "(config.json), each part timed forward + backward on the same batch after warm-up, in three rounds with "
        "the peak (medians), each precision in "
        f"its own process. Ratios to {base['precision']}: {speedups or '-'}. Training FLOPs = 3 x forward "
        "(convolutions, LSTM matmuls, Dense; element-wise ops not counted); 'of peak' = achieved FLOP/s over "
        "the matmul peak of the same precision measured in the same process. Parts timed alone each pay "
        "their own call, synchronisation and gradient sum, which the whole step pays once, so their sum "
        "can exceed the step.\n" + common.load_note()
    )
    shape = f"batch {args.batch} of {args.width} px"
    figures = [common.Figure(f"training FLOPs per line of {args.width} px", round(train_flops / 1e6), "MFLOP")]
    for r in results:
        step_ms = r["ms_per_line"]["step"]
        figures += [
            common.Figure(f"training step, {r['precision']}, {shape}", round(step_ms, 2), "ms per line"),
            common.Figure(
                f"training step's share of the matmul peak, {r['precision']}, {shape}",
                round(100 * train_flops / (step_ms / 1000) / r["peak"]),
                "%",
            ),
        ]
    common.report(args, "Where the training time goes (bench/flops.py)", body, figures)


if __name__ == "__main__":
    main()
