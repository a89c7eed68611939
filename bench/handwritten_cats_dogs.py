"""specs/cats_dogs_mobilenet.yaml written by hand in Keras and tf.data: the reference bench/end_to_end.py times.

Run: .venv/bin/python bench/handwritten_cats_dogs.py OUT_DIR   (needs ../shared/data)

What a careful Keras user writes for the same recipe, with the same seed: MobileNet (alpha 0.25, the
shared ImageNet weights) frozen in inference mode, global average pooling, dropout 0.2, a softmax
over the two classes; 10 epochs at 1e-3, then everything after conv_pw_9_relu trainable (BatchNorm
kept in inference mode) for 6 epochs at 1e-4; the best epoch by validation accuracy is kept, then
evaluated on the test split and saved. Decoded images are cached in memory, as tlspec does.
Writes OUT_DIR/metrics.json ({"test": {"accuracy": …}}) and OUT_DIR/model.keras.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
WEIGHTS = DATA / "keras" / "models" / "mobilenet_2_5_224_tf_no_top.h5"
SIZE, BATCH, SEED = 160, 32, 42


def main(out: Path) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    out.mkdir(parents=True, exist_ok=True)

    def split(name: str, shuffle: bool):
        data = keras.utils.image_dataset_from_directory(
            DATA / "cats_vs_dogs" / name, image_size=(SIZE, SIZE), batch_size=None, shuffle=False,
            label_mode="int", verbose=False).cache()
        if shuffle:
            data = data.shuffle(4096, seed=SEED, reshuffle_each_iteration=True)
        return data.batch(BATCH).prefetch(tf.data.AUTOTUNE)

    train, validation, test = split("train", True), split("validation", False), split("test", False)

    base = keras.applications.MobileNet(input_shape=(SIZE, SIZE, 3), alpha=0.25, include_top=False,
                                        weights=str(WEIGHTS))
    base.trainable = False
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)  # MobileNet's preprocess_input
    x = base(x, training=False)  # BatchNorm in inference mode, frozen or not
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)

    best = keras.callbacks.ModelCheckpoint(out / "model.keras", monitor="val_accuracy", save_best_only=True)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, validation_data=validation, epochs=10, callbacks=[best], verbose=2)

    base.trainable = True
    after = [layer.name for layer in base.layers].index("conv_pw_9_relu")
    for layer in base.layers[:after + 1]:
        layer.trainable = False
    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, validation_data=validation, initial_epoch=10, epochs=16, callbacks=[best], verbose=2)

    model = keras.saving.load_model(out / "model.keras")
    loss, accuracy = model.evaluate(test, verbose=0)
    (out / "metrics.json").write_text(json.dumps({"test": {"accuracy": accuracy, "loss": loss}}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
