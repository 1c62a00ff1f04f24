# Chapter §5.3, "Dropout": the listing with its import lines changed (the chapter uses
# ``keras`` without importing it, so one import line is added). The ``# ...`` placeholders are
# comments, so the model is just the dropout layer. Wrapped comments are joined.
import nablanet.compat.keras as keras
import nablanet.compat.tensorflow as tf

my_dropout = tf.keras.layers.Dropout(
    rate=0.1 # the proportion of units to be randomly dropped out at each iteration
)

model = keras.models.Sequential([
    # ...
    my_dropout,
    # ...
])
