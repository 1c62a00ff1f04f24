"""The names the chapter's TensorFlow / Keras listings use, mapped onto nablanet.

Nothing is implemented here: every module is a table of names pointing at the framework's
own objects. To run a listing, change only its import lines, each as follows:

* ``import tensorflow as tf`` → ``import nablanet.compat.tensorflow as tf``
* ``from tensorflow.keras import layers, models, Input`` →
  ``from nablanet.compat.tensorflow.keras import layers, models, Input``
* ``from tensorflow.keras.callbacks import EarlyStopping`` →
  ``from nablanet.compat.tensorflow.keras.callbacks import EarlyStopping``
* ``import keras`` (§5.2 and §5.3 use ``keras`` without importing it) →
  ``import nablanet.compat.keras as keras``
* ``import tensorflow_datasets as tfds`` → ``import nablanet.compat.tensorflow_datasets as tfds``

Modules: :mod:`nablanet.compat.tensorflow` (``tf.keras``, ``tf.cast``, ``tf.float32``,
``tf.image.resize``, ``tf.data.Dataset``, ``tf.random.set_seed``, ...),
:mod:`nablanet.compat.tensorflow.keras` (``layers``, ``models``, ``callbacks``,
``regularizers``, ``losses``, ``metrics``, ``optimizers``, ``initializers``, ``activations``,
``utils``, ``backend``, ``Input``, ``Sequential``, ``Model``), :mod:`nablanet.compat.keras`
(the same modules under the name ``keras``) and :mod:`nablanet.compat.tensorflow_datasets`
(``tfds.load``, ``tfds.list_builders``). Code in the style of the official Keras examples
finds ``keras.ops`` / ``keras.random`` (:mod:`nablanet.keras_ops`), the TensorFlow tensor
functions (``tf.reduce_mean``, ``tf.nn.relu``, ...), ``tf.GradientTape``, ``keras.utils``'s data
utilities and the classification metrics; ``docs/keras-code.md`` lists them and what is not
there.

The misprint of §5.1 (ERRATA): ``tf.keras.layers.Dense(n, regularizer=...)`` is not accepted.
Keras's argument is ``kernel_regularizer`` (also ``bias_regularizer`` and
``activity_regularizer``); as Keras does, nablanet raises a ``TypeError``, and its message names
the right argument: ``Dense: unexpected keyword argument 'regularizer'; did you mean
'kernel_regularizer' ...?``. Accepting the misprint silently would hide which weight is
penalised, so the listing must be corrected (``tests/compat/listings/s5_1_weight_decay.py``).
"""
