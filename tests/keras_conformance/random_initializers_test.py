"""Translated from Keras 3's ``keras/src/initializers/random_initializers_test.py``
(keras-team/keras).

Same shapes, seeds, statistics and tolerances; ``utils.set_random_seed`` is
``nb.set_random_seed`` and ``random.uniform(shape)`` is ``nb.rand(*shape)``.

Left out:

- in ``test_random_normal``, the two checks with ``seed=backend.random.SeedGenerator(1337)``,
  and ``test_serialization_with_seed_generator``: SeedGenerator internals (nablanet's seeds
  are integers; an unseeded initializer draws from the global generator, which the
  remaining checks cover).
- ``test_mha_query_projection_variance``: it tests the kernel of Keras's MultiHeadAttention
  layer, which nablanet does not have (``compute_fans`` and ``VarianceScaling`` with
  ``input_axes`` / ``output_axes``, what it relies on, are tested above).
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    assert_almost_equal,
    assert_equal,
    assert_is_instance,
    assert_not_all_close,
    assert_raises,
    assert_raises_regex,
    assert_true,
    run_class_serialization_test,
    to_numpy,
)

import nablanet as nb
from nablanet import initializers
from nablanet.initializers import compute_fans


def test_random_normal():
    nb.set_random_seed(1337)
    shape = (25, 20)
    mean = 0.0
    stddev = 1.0
    seed = 1234
    initializer = initializers.RandomNormal(
        mean=mean, stddev=stddev, seed=seed
    )
    values = initializer(shape=shape)
    assert_equal(initializer.mean, mean)
    assert_equal(initializer.stddev, stddev)
    assert_equal(initializer.seed, seed)
    assert_equal(values.shape, shape)
    assert_all_close(
        np.std(to_numpy(values)), stddev, atol=1e-1
    )

    run_class_serialization_test(initializer)

    # Test that a fixed seed yields the same results each call.
    initializer = initializers.RandomNormal(
        mean=mean, stddev=stddev, seed=1337
    )
    values = initializer(shape=shape)
    next_values = initializer(shape=shape)
    assert_all_close(values, next_values)

    # (the two SeedGenerator checks are left out: see the header)

    # Test that unseeded generator gets different results after cloning
    initializer = initializers.RandomNormal(
        mean=mean, stddev=stddev, seed=None
    )
    values = initializer(shape=shape)
    cloned_initializer = initializers.RandomNormal.from_config(
        initializer.get_config()
    )
    new_values = cloned_initializer(shape=shape)
    assert_not_all_close(values, new_values)

    # Test that seeded generator gets same results after cloning
    initializer = initializers.RandomNormal(
        mean=mean, stddev=stddev, seed=1337
    )
    values = initializer(shape=shape)
    cloned_initializer = initializers.RandomNormal.from_config(
        initializer.get_config()
    )
    new_values = cloned_initializer(shape=shape)
    assert_all_close(values, new_values)


def test_random_uniform():
    shape = (5, 5)
    minval = -1.0
    maxval = 1.0
    seed = 1234
    initializer = initializers.RandomUniform(
        minval=minval, maxval=maxval, seed=seed
    )
    values = initializer(shape=shape)
    assert_equal(initializer.minval, minval)
    assert_equal(initializer.maxval, maxval)
    assert_equal(initializer.seed, seed)
    assert_equal(values.shape, shape)
    values = to_numpy(values)
    assert np.min(values) >= minval
    assert np.max(values) < maxval

    run_class_serialization_test(initializer)


def test_variance_scaling():
    nb.set_random_seed(1337)
    shape = (25, 20)
    scale = 2.0
    seed = 1234
    initializer = initializers.VarianceScaling(
        scale=scale, seed=seed, mode="fan_in"
    )
    values = initializer(shape=shape)
    assert_equal(initializer.scale, scale)
    assert_equal(initializer.seed, seed)
    assert_equal(values.shape, shape)
    assert_all_close(
        np.std(to_numpy(values)),
        np.sqrt(scale / 25),
        atol=1e-1,
    )
    run_class_serialization_test(initializer)

    initializer = initializers.VarianceScaling(
        scale=scale, seed=seed, mode="fan_out"
    )
    values = initializer(shape=shape)
    assert_equal(initializer.scale, scale)
    assert_equal(initializer.seed, seed)
    assert_equal(values.shape, shape)
    assert_all_close(
        np.std(to_numpy(values)),
        np.sqrt(scale / 20),
        atol=1e-1,
    )
    run_class_serialization_test(initializer)


def test_orthogonal():
    shape = (5, 5)
    gain = 2.0
    seed = 1234
    initializer = initializers.Orthogonal(gain=gain, seed=seed)
    values = initializer(shape=shape)
    assert_equal(initializer.seed, seed)
    assert_equal(initializer.gain, gain)

    assert_equal(values.shape, shape)
    array = to_numpy(values)
    # Making sure that the columns have gain * unit norm value
    for column in array.T:
        assert_almost_equal(np.linalg.norm(column), gain * 1.0)

    # Making sure that each column is orthonormal to the other column
    for i in range(array.shape[-1]):
        for j in range(i + 1, array.shape[-1]):
            assert_almost_equal(
                np.dot(array[..., i], array[..., j]), 0.0
            )

    run_class_serialization_test(initializer)

    # Test compatible class_name
    initializer = initializers.get("OrthogonalInitializer")
    assert_is_instance(initializer, initializers.Orthogonal)


def test_get_method():
    obj = initializers.get("glorot_normal")
    assert_true(obj, initializers.GlorotNormal)

    obj = initializers.get(None)
    assert_equal(obj, None)

    with assert_raises(ValueError):
        initializers.get("typo")


def test_get_method_with_tensor():
    shape = (5, 5)

    # Test backend tensor
    tensor = nb.rand(*shape)
    initializer = initializers.get(tensor)
    values = initializer(shape=shape)
    assert_all_close(values, tensor)

    # Test numpy array
    tensor = np.random.uniform(size=shape).astype("float32")
    initializer = initializers.get(tensor)
    values = initializer(shape=shape)
    assert_all_close(values, tensor)

    # Test bad `shape` argument
    with assert_raises_regex(ValueError, r"Expected `shape` to be"):
        initializer(shape=(10, 10))


def test_variance_scaling_invalid_scale():
    seed = 1234

    with assert_raises_regex(
        ValueError, "Argument `scale` must be positive float."
    ):
        initializers.VarianceScaling(scale=-1.0, seed=seed, mode="fan_in")


def test_variance_scaling_invalid_mode():
    scale = 2.0
    seed = 1234

    with assert_raises_regex(ValueError, "Invalid `mode` argument:"):
        initializers.VarianceScaling(
            scale=scale, seed=seed, mode="invalid_mode"
        )


def test_variance_scaling_invalid_distribution():
    scale = 2.0
    seed = 1234

    with assert_raises_regex(
        ValueError, "Invalid `distribution` argument:"
    ):
        initializers.VarianceScaling(
            scale=scale,
            seed=seed,
            mode="fan_in",
            distribution="invalid_dist",
        )


def test_compute_fans_with_axes():
    shape = (512, 8, 64)

    # Test with explicit axes (e.g. Query projection)
    fan_in, fan_out = compute_fans(
        shape, input_axes=[0], output_axes=[1, 2]
    )
    assert_equal(fan_in, 512)
    assert_equal(fan_out, 512)

    # Test with another combination (e.g. Output projection)
    fan_in, fan_out = compute_fans(
        shape, input_axes=[0, 1], output_axes=[2]
    )
    assert_equal(fan_in, 512 * 8)
    assert_equal(fan_out, 64)


def test_variance_scaling_with_axes():
    nb.set_random_seed(1337)
    shape = (32, 4, 16)
    scale = 2.0
    seed = 1234

    # Testing standard deviation with given axes
    initializer = initializers.VarianceScaling(
        scale=scale,
        seed=seed,
        mode="fan_in",
        input_axes=[0],
        output_axes=[1, 2],
    )
    values = initializer(shape=shape)
    assert_equal(values.shape, shape)
    assert_all_close(
        np.std(to_numpy(values)),
        np.sqrt(scale / 32),
        atol=1e-1,
    )

    # Test output standard deviation without axes
    initializer = initializers.VarianceScaling(
        scale=scale, seed=seed, mode="fan_in"
    )
    values = initializer(shape=shape)
    assert_all_close(
        np.std(to_numpy(values)),
        np.sqrt(scale / 128),
        atol=1e-1,
    )


def test_variance_scaling_serialization_with_axes():
    initializer = initializers.VarianceScaling(
        input_axes=[0], output_axes=[1, 2]
    )
    run_class_serialization_test(initializer)
