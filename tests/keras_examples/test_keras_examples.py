"""Five scripts in the style of the official Keras examples, run with only their imports
changed to ``nablanet.compat`` and their downloads replaced by small generated data of the
same kind:

* a GAN with ``GradientTape`` train_steps (keras.io "DCGAN": ``keras.random`` with a
  ``SeedGenerator``, ``keras.ops``, two tapes, ``apply_gradients``, ``Mean`` trackers);
* a VAE with a ``GradientTape`` train_step (keras.io "Variational AutoEncoder": a ``Sampling``
  layer inside a functional encoder, ``ops.exp`` / ``ops.square`` / ``ops.sum`` in the loss);
* an IMDB-style binary classifier (keras.io "Bidirectional LSTM on IMDB": ``pad_sequences``,
  ``Embedding``, ``Bidirectional(LSTM)``, a ``(N, 1)`` sigmoid output and 1-D labels);
* a weather-style forecaster (keras.io "Timeseries forecasting for weather prediction":
  ``timeseries_dataset_from_array`` with ``sampling_rate``, an LSTM regressor);
* an imbalanced classifier (keras.io "Imbalanced classification: credit card fraud":
  ``class_weight`` and the TP/FP/TN/FN, ``Precision`` and ``Recall`` metrics).

Two forms are parameters: the example exactly as Keras writes it (a subclassed Model with
``train_step`` and no ``call``; 1-D labels against an ``(N, 1)`` output) and the same script
with a one-line difference (a ``call`` method; labels of shape ``(N, 1)``): both must train.
"""

from __future__ import annotations

import numpy as np
import pytest

import nablanet.compat.tensorflow as tf
from nablanet.compat import keras
from nablanet.compat.keras import layers, ops


# -- GAN ------------------------------------------------------------------------------------------
class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        # Sample random points in the latent space and decode them to fake images.
        batch_size = ops.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        generated_images = self.generator(random_latent_vectors)
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))],
                                 axis=0)
        # Add random noise to the labels - important trick!
        labels += 0.05 * tf.random.uniform(tf.shape(labels))
        # Train the discriminator.
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        # Train the generator (without updating the discriminator's weights).
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        misleading_labels = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


class GANWithCall(GAN):
    def call(self, inputs, training=False):
        return self.discriminator(inputs)


@pytest.mark.parametrize("model_class", [GAN, GANWithCall])
def test_gan_with_gradient_tape(model_class):
    keras.utils.set_random_seed(0)
    latent_dim = 4
    discriminator = keras.Sequential([
        keras.Input(shape=(2,)), layers.Dense(32), layers.LeakyReLU(negative_slope=0.2),
        layers.Dense(1)], name="discriminator")
    generator = keras.Sequential([
        keras.Input(shape=(latent_dim,)), layers.Dense(32), layers.LeakyReLU(negative_slope=0.2),
        layers.Dense(2)], name="generator")
    # "Real images": points of a narrow Gaussian away from where the generator starts.
    target = np.array([2.0, -1.0], np.float32)
    real = np.random.default_rng(0).normal(size=(512, 2)).astype(np.float32) * 0.2 + target
    gan = model_class(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.003),
                g_optimizer=keras.optimizers.Adam(learning_rate=0.003),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    start = np.linalg.norm(generator.predict(np.random.default_rng(1).normal(
        size=(256, latent_dim)).astype(np.float32), verbose=0).mean(0) - target)
    history = gan.fit(real, batch_size=64, epochs=40, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(history.history["d_loss"] + history.history["g_loss"]))
    fake = generator.predict(np.random.default_rng(1).normal(
        size=(256, latent_dim)).astype(np.float32), verbose=0)
    # The generator's samples moved most of the way to the real ones.
    assert np.linalg.norm(fake.mean(0) - target) < 0.3 * start


# -- VAE ------------------------------------------------------------------------------------------
class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(ops.sum(
                keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {"loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result()}


class VAEWithCall(VAE):
    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs)[2])


def _bar_images(n, rng):
    """8x8 "digits": a horizontal or a vertical bar at a random place."""
    images = np.zeros((n, 8, 8, 1), np.float32)
    for i, (vertical, where) in enumerate(zip(rng.random(n) < 0.5, rng.integers(1, 7, n))):
        if vertical:
            images[i, :, where - 1:where + 1] = 1.0
        else:
            images[i, where - 1:where + 1, :] = 1.0
    return images


@pytest.mark.parametrize("model_class", [VAE, VAEWithCall])
def test_vae_with_gradient_tape(model_class):
    keras.utils.set_random_seed(0)
    latent_dim = 2
    encoder_inputs = keras.Input(shape=(8, 8, 1))
    x = layers.Conv2D(16, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(4 * 4 * 16, activation="relu")(latent_inputs)
    x = layers.Reshape((4, 4, 16))(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")

    digits = _bar_images(192, np.random.default_rng(0))
    vae = model_class(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01))
    history = vae.fit(digits, epochs=6, batch_size=16, verbose=0)
    rec = history.history["reconstruction_loss"]
    assert set(history.history) == {"loss", "reconstruction_loss", "kl_loss"}
    # The reconstruction loss (summed over the 64 pixels) falls well below what predicting
    # the mean image would give (~ 64 * H(0.25) ~ 36 nats).
    assert rec[-1] < 0.6 * rec[0] and rec[-1] < 25.0
    assert history.history["kl_loss"][-1] > 0.1  # the code is used


# -- IMDB-style binary classifier ---------------------------------------------------------------
def _reviews(n, rng, max_features=200):
    """Token lists of random length; a review is positive when it holds more tokens of the
    "good" words (10-19) than of the "bad" words (20-29); the rest are neutral (30-199)."""
    reviews, labels = [], []
    for _ in range(n):
        length = int(rng.integers(8, 60))
        tokens = rng.integers(30, max_features, length)
        label = int(rng.random() < 0.5)
        strong = rng.integers(10, 20, 3) if label else rng.integers(20, 30, 3)
        weak = rng.integers(20, 30, 1) if label else rng.integers(10, 20, 1)
        where = rng.choice(length, 4, replace=False)
        tokens[where] = np.concatenate([strong, weak])
        reviews.append(tokens.tolist())
        labels.append(label)
    return reviews, np.asarray(labels)


@pytest.mark.parametrize("label_shape", ["1-D", "(N, 1)"])
def test_imdb_style_binary_classifier(label_shape):
    keras.utils.set_random_seed(0)
    max_features, maxlen = 200, 40
    rng = np.random.default_rng(0)
    x_train, y_train = _reviews(640, rng)
    x_val, y_val = _reviews(256, rng)
    x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.preprocessing.sequence.pad_sequences(x_val, maxlen=maxlen)
    assert x_train.shape == (640, maxlen) and x_train.dtype == np.int32
    if label_shape == "(N, 1)":
        y_train, y_val = y_train[:, None], y_val[:, None]

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 16)(inputs)
    x = layers.Bidirectional(layers.LSTM(8))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=3,
                        validation_data=(x_val, y_val), verbose=0)
    assert history.history["val_accuracy"][-1] > 0.85  # chance is 0.5


# -- weather-style forecaster -------------------------------------------------------------------
def test_weather_style_forecaster_with_timeseries_dataset():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # Ten-minute readings: temperature with a daily cycle, pressure, humidity (as the Jena
    # climate data), normalised as the example does.
    n = 3000
    t = np.arange(n)
    temperature = 10 + 8 * np.sin(2 * np.pi * t / 144) + rng.normal(0, 0.5, n)
    pressure = 1000 + 5 * np.cos(2 * np.pi * t / 720) + rng.normal(0, 0.3, n)
    humidity = 60 - 2 * (temperature - 10) + rng.normal(0, 1.0, n)
    features = np.stack([pressure, temperature, humidity], axis=1)
    train_split = int(0.715 * n)
    mean, std = features[:train_split].mean(0), features[:train_split].std(0)
    features = ((features - mean) / std).astype(np.float32)

    split_fraction, step, past, future = 0.715, 6, 120, 12
    learning_rate, batch_size, epochs = 0.01, 64, 4
    sequence_length = int(past / step)
    train_data, val_data = features[:train_split], features[train_split:]
    start = past + future
    end = start + train_split
    x_train = train_data
    y_train = features[start:end][:, [1]]  # the temperature `future` steps after the window
    dataset_train = keras.preprocessing.timeseries_dataset_from_array(
        x_train, y_train, sequence_length=sequence_length, sampling_rate=step,
        batch_size=batch_size)
    x_end = len(val_data) - past - future
    label_start = train_split + past + future
    x_val = val_data[:x_end]
    y_val = features[label_start:][:, [1]]
    dataset_val = keras.utils.timeseries_dataset_from_array(
        x_val, y_val, sequence_length=sequence_length, sampling_rate=step,
        batch_size=batch_size)
    for batch in dataset_train.take(1):
        inputs, targets = batch
    assert inputs.numpy().shape == (batch_size, sequence_length, 3)
    assert targets.numpy().shape == (batch_size, 1)

    inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
    lstm_out = keras.layers.LSTM(16)(inputs)
    outputs = keras.layers.Dense(1)(lstm_out)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
    history = model.fit(dataset_train, epochs=epochs, validation_data=dataset_val,
                        callbacks=[es_callback], verbose=0)
    # The normalised temperature has variance ~1; the forecast explains most of it.
    assert history.history["val_loss"][-1] < 0.15
    assert split_fraction == 0.715


# -- imbalanced classification ------------------------------------------------------------------
def test_imbalanced_classifier_reports_precision_and_recall():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n, fraud_rate = 2500, 0.03
    targets = (rng.random((n, 1)) < fraud_rate).astype(np.int64)
    features = rng.normal(size=(n, 12)).astype(np.float32)
    # Frauds differ from normal transactions in a few features (and overlap with them).
    features[targets[:, 0] == 1, :3] += 2.0
    num_val = int(len(features) * 0.2)
    train_features, train_targets = features[:-num_val], targets[:-num_val]
    val_features, val_targets = features[-num_val:], targets[-num_val:]
    counts = np.bincount(train_targets[:, 0])
    mean, std = np.mean(train_features, axis=0), np.std(train_features, axis=0)
    train_features = (train_features - mean) / std
    val_features = (val_features - mean) / std

    model = keras.Sequential([
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    metrics = [
        keras.metrics.FalseNegatives(name="fn"), keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"), keras.metrics.TruePositives(name="tp"),
        keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall"),
        keras.metrics.AUC(name="auc"),
    ]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=metrics)
    weight_for_0 = 1.0 / counts[0]
    weight_for_1 = 1.0 / counts[1]
    class_weight = {0: weight_for_0, 1: weight_for_1}
    history = model.fit(train_features, train_targets, batch_size=256, epochs=8, verbose=0,
                        validation_data=(val_features, val_targets), class_weight=class_weight)
    logs = history.history
    for name in ("fn", "fp", "tn", "tp", "precision", "recall", "auc"):
        assert name in logs and f"val_{name}" in logs
    positives = int(val_targets.sum())
    assert logs["val_tp"][-1] + logs["val_fn"][-1] == positives
    assert logs["val_tn"][-1] + logs["val_fp"][-1] == num_val - positives
    # Class weights make the rare class count: most frauds are caught...
    assert logs["val_recall"][-1] > 0.8
    # ... at the price of false alarms, so precision is low but above the base rate.
    assert fraud_rate < logs["val_precision"][-1] < 0.9
    assert logs["val_auc"][-1] > 0.9
    expected = logs["val_tp"][-1] / (logs["val_tp"][-1] + logs["val_fp"][-1])
    assert logs["val_precision"][-1] == pytest.approx(expected, rel=1e-6)
