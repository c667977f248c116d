import dataclasses
import json
from pathlib import Path

import tensorflow as tf

from tf_crnn.train.trainer import train


def scalar_tags(folder: Path) -> set[str]:
    tags = set()
    for event_file in folder.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_checkpoints_are_bounded_best_is_kept_and_logs_are_written(tiny_experiment):
    params = dataclasses.replace(
        tiny_experiment, n_epochs=3, save_interval=1, keep_max_models=2, tensorboard=True, evaluate_every_epoch=2
    )
    result = train(params)
    output = Path(params.output_model_dir)
    checkpoints = tf.train.get_checkpoint_state(output / "checkpoints").all_model_checkpoint_paths
    assert [Path(p).name for p in checkpoints] == ["ckpt-2", "ckpt-3"]
    assert tf.train.latest_checkpoint(output / "checkpoints" / "best") is not None

    # evaluation every 2 epochs, and always at the last one
    assert sorted(p.name for p in (output / "predictions").glob("epoch_*.csv")) == ["epoch_002.csv", "epoch_003.csv"]
    state = json.loads((output / "training_state.json").read_text())
    assert state["epoch"] == 3 and state["best_cer"] <= 1.0
    assert {"epoch_learning_rate", "epoch_loss", "epoch_cer"} <= scalar_tags(output / "tensorboard")
    assert result["epochs"] == 3


def test_time_budget_stops_after_the_epoch_that_leaves_no_room_for_another():
    import keras

    from tf_crnn.train.callbacks import TimeBudget

    now = [0.0]
    budget = TimeBudget(10, clock=lambda: now[0])  # 600 s
    budget.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    budget.model.stop_training = False
    budget.on_train_begin()
    for epoch, seconds in enumerate([200, 150, 100]):
        budget.on_epoch_begin(epoch)
        now[0] += seconds
        budget.on_epoch_end(epoch)
        if budget.model.stop_training:
            break
    # after epoch 2, 350 s + the longest epoch (200 s) fit in 600 s; after epoch 3, 450 s + 200 s do not
    assert budget.stopped_epoch == 3
