"""Input pipeline throughput with and without augmentation, against the training step rate, in one run.

Usage: python bench/pipeline.py [--data early-printed-books|synthetic] [--smoke] [--no-record]

The pipeline alone (the trainer's stream: read, decode, resize, augment, width buckets, batch,
iterated without a model) with augmentation off, with config.json's augmentation (the defaults), and
with every operation on (elastic and perspective too); the cost of each operation alone; then the
default model's steady-state training lines/s on the same stream. Target: the pipeline with
augmentation delivers at least 3x the training rate, so training never waits for data. Data: the
real early printed books (../shared/data, 840 lines, decoding real scans) or synthetic lines.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

#: One line per operation: what it is measured with.
OPERATIONS = {
    "rotation + slant": dict(data_augmentation_max_rotation=0.01, data_augmentation_max_slant=0.2),
    "shift_vertical": {"shift_vertical": 2.0},
    "perspective": {"perspective": 0.05},
    "elastic": {"elastic": 1.0},
    "erosion_dilation": {"erosion_dilation": 0.5},
    "pad_left_right": {"pad_left_right": 8},
    "blur": {"blur": 0.5},
    "contrast": {"contrast": 0.3},
    "gamma": {"gamma": 0.3},
    "brightness": {"brightness": 0.1},
    "noise": {"noise": 0.03},
}


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--data", choices=["early-printed-books", "synthetic"], default="early-printed-books")
    args = parser.parse_args()
    if args.data == "early-printed-books":
        common.require(args, common.EARLY_PRINTED_BOOKS / "train.csv")
    folder = common.workdir(args)
    import keras

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train
    from tf_crnn.params.sections import Augmentation

    overrides = {}
    if args.data == "early-printed-books":
        csv_file, alphabet = common.early_printed_books(folder, 3 * common.SMOKE_LINES if args.smoke else None)
        overrides = dict(lookup_alphabet_file=str(alphabet), input_shape=[32, 1024], max_chars_per_string=120)
    else:
        csv_file = common.synthetic_lines(folder, 3 * common.SMOKE_LINES if args.smoke else 2000)
    params = common.default_params(folder / "output", args.smoke, **overrides)
    data = common.prepared(csv_file, params)
    n_batches = 2 if args.smoke else 40

    none = common.pipeline_lines_per_second(data, params, False, n_batches)
    default = common.pipeline_lines_per_second(data, params, True, n_batches)
    everything = Augmentation(elastic=1.0, perspective=0.05)
    everything_params = common.default_params(
        folder / "o", args.smoke, **overrides, augmentation=dataclasses.asdict(everything)
    )
    full = common.pipeline_lines_per_second(data, everything_params, True, n_batches)
    off = {f.name: 0 for f in dataclasses.fields(Augmentation)}
    costs = []
    for name, values in list(OPERATIONS.items())[: 1 if args.smoke else None]:
        section = {**off, **{k: v for k, v in values.items() if k in off}}
        geometry = {k: v for k, v in values.items() if k not in off}
        geometry = {"data_augmentation_max_rotation": 0.0, "data_augmentation_max_slant": 0.0, **geometry}
        single = common.default_params(folder / "o", args.smoke, **overrides, **geometry, augmentation=section)
        rate = common.pipeline_lines_per_second(data, single, True, n_batches // 2)
        costs.append([name, f"{rate:.0f}", f"{1000 / rate - 1000 / none:+.2f}"])

    keras.utils.set_random_seed(0)
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
    warmup, steps = (1, 1) if args.smoke else (4, 10)
    train = common.train_lines_per_second(
        model, common.training_batches(data, params), params.train_batch_size, steps, warmup
    )
    rows = [
        ["pipeline, no augmentation", f"{none:.0f}", f"{none / train:.1f}x"],
        ["pipeline, default augmentation", f"{default:.0f}", f"{default / train:.1f}x"],
        ["pipeline, every operation (+ elastic 1.0, perspective 0.05)", f"{full:.0f}", f"{full / train:.1f}x"],
        ["training (default model, same stream)", f"{train:.1f}", "1.0x"],
    ]
    body = common.table(["what", "lines/s", "vs training"], rows)
    if costs:
        body += "\n\nEach operation alone (its pipeline rate, and the time it adds per line to the pipeline without "
        body += "augmentation, over all cores):\n\n" + common.table(["operation", "lines/s", "ms per line"], costs)
    body += (
        f"\n\nData: {args.data} ({len(data)} lines, input_shape {list(params.input_shape)}), batch "
        f"{params.train_batch_size}, width buckets on; the pipeline runs on all cores (tf.data AUTOTUNE). "
        "Target: pipeline with augmentation >= 3x training.\n" + common.load_note()
    )
    figures = [
        common.Figure(f"input pipeline, default augmentation, {args.data}", round(default), "lines/s"),
        common.Figure(
            f"input pipeline with default augmentation over training, {args.data}", round(default / train, 1), "x"
        ),
    ]
    common.report(args, "Input pipeline vs training (bench/pipeline.py)", body, figures)


if __name__ == "__main__":
    main()
