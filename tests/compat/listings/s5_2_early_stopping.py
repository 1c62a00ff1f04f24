# ruff: noqa: E501 - the chapter's comments, joined onto one line each
# Chapter §5.2, "Early Stopping": the listing with its import lines changed (the chapter uses
# ``keras`` without importing it, so one import line is added). The listing is a skeleton with
# three placeholders (``# define your model here``, ``# ...``); they are filled in below with a
# tiny regression problem, each filled-in line marked ``# filled in``. Comments the PDF wrapped
# onto a second line are joined.
import numpy as np  # filled in: data for the placeholders

import nablanet.compat.keras as keras
import nablanet.compat.tensorflow as tf

x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)  # filled in
y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)  # filled in

callback = tf.keras.callbacks.EarlyStopping(
    monitor='val_loss', # how improvement is quantified'
    min_delta=0, # decrease in monitored metric required to be considered an "improvement"
    patience=3, # number of epochs without improvement after which the model will stop training
    restore_best_weights=True, # whether to restore weights from the best epoch (True) or last epoch (False); should be set to True
    start_from_epoch=0 # how many epochs to wait before checking for early stop
)

model = keras.models.Sequential([
    # define your model here
    keras.layers.Input(shape=(3,)),  # filled in
    keras.layers.Dense(1),  # filled in
])

model.compile(
    # ...
    optimizer='sgd', loss='mse',  # filled in
)

history = model.fit(
    # ...
    x, y, validation_split=0.25, epochs=5, verbose=0,  # filled in
    callbacks=[callback]
)
