# Chapter §5.1, "Weight Decay", exactly as printed (only the import line changed; the comments
# the PDF wrapped onto a second line are joined). It passes ``regularizer=`` to Dense, a
# misprint for ``kernel_regularizer`` (ERRATA 5.1): nablanet raises a TypeError that names the
# right argument. The corrected listing is s5_1_weight_decay.py.
import nablanet.compat.tensorflow as tf

n = 10 # desired number of units in layer

# dense layer with L2 weight decay
l2_regularizer=tf.keras.regularizers.L2(
    l2=0.01 # hyperparameter for l2 regularization, default is 0.01
)

layer = tf.keras.layers.Dense(n, regularizer=l2_regularizer)
