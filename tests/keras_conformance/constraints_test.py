"""Translated from Keras 3's ``keras/src/constraints/constraints_test.py`` (keras-team/keras).

Left out: none.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    assert_equal,
    assert_is_instance,
    assert_raises,
    assert_true,
    to_numpy,
)

from nablanet import constraints


def get_example_array():
    np.random.seed(3537)
    example_array = np.random.random((100, 100)) * 100.0 - 50.0
    example_array[0, 0] = 0.0
    return example_array


def test_max_norm():
    constraint_fn = constraints.MaxNorm(2.0)
    x = np.array([[0, 0, 0], [1.0, 0, 0], [3, 0, 0], [3, 3, 3]]).T
    target = np.array(
        [
            [0, 0, 0],
            [1.0, 0, 0],
            [2.0, 0, 0],
            [2.0 / np.sqrt(3), 2.0 / np.sqrt(3), 2.0 / np.sqrt(3)],
        ]
    ).T
    output = constraint_fn(x)
    assert_all_close(output, target)


def test_non_neg():
    constraint_fn = constraints.NonNeg()
    output = constraint_fn(get_example_array())
    output = to_numpy(output)
    assert_true((np.min(output, axis=1) >= 0.0).all())


def test_unit_norm():
    constraint_fn = constraints.UnitNorm()
    output = constraint_fn(get_example_array())
    output = to_numpy(output)
    l2 = np.sqrt(np.sum(np.square(output), axis=0))
    assert_all_close(l2, 1.0)


def test_min_max_norm():
    constraint_fn = constraints.MinMaxNorm(min_value=0.2, max_value=0.5)
    output = constraint_fn(get_example_array())
    output = to_numpy(output)
    l2 = np.sqrt(np.sum(np.square(output), axis=0))
    assert_true(np.all(l2 >= 0.2))
    assert_true(np.all(l2 <= 0.5 + 1e-6))


def test_get_method():
    obj = constraints.get("unit_norm")
    assert_true(obj, constraints.UnitNorm)

    obj = constraints.get(None)
    assert_equal(obj, None)

    with assert_raises(ValueError):
        constraints.get("typo")


def test_default_constraint_call():
    constraint_fn = constraints.Constraint()
    x = np.array([1.0, 2.0, 3.0])
    output = constraint_fn(x)
    assert_all_close(x, output)


def test_constraint_get_config():
    constraint_fn = constraints.Constraint()
    config = constraint_fn.get_config()
    assert_equal(config, {})


def test_constraint_from_config():
    constraint_fn = constraints.Constraint()
    config = constraint_fn.get_config()
    recreated_constraint_fn = constraints.Constraint.from_config(config)
    assert_is_instance(recreated_constraint_fn, constraints.Constraint)


def test_max_norm_get_config():
    constraint_fn = constraints.MaxNorm(max_value=3.0, axis=1)
    config = constraint_fn.get_config()
    expected_config = {"max_value": 3.0, "axis": 1}
    assert_equal(config, expected_config)
    restored = constraints.MaxNorm.from_config(config)
    assert_equal(restored.max_value, constraint_fn.max_value)
    assert_equal(restored.axis, constraint_fn.axis)
    x = get_example_array()
    assert_all_close(
        to_numpy(constraint_fn(x)),
        to_numpy(restored(x)),
    )


def test_unit_norm_get_config():
    constraint_fn = constraints.UnitNorm(axis=1)
    config = constraint_fn.get_config()
    expected_config = {"axis": 1}
    assert_equal(config, expected_config)
    restored = constraints.UnitNorm.from_config(config)
    assert_equal(restored.axis, constraint_fn.axis)
    x = get_example_array()
    assert_all_close(
        to_numpy(constraint_fn(x)),
        to_numpy(restored(x)),
    )


def test_min_max_norm_get_config():
    constraint_fn = constraints.MinMaxNorm(
        min_value=0.5, max_value=2.0, rate=0.7, axis=1
    )
    config = constraint_fn.get_config()
    expected_config = {
        "min_value": 0.5,
        "max_value": 2.0,
        "rate": 0.7,
        "axis": 1,
    }
    assert_equal(config, expected_config)
    restored = constraints.MinMaxNorm.from_config(config)
    assert_equal(restored.min_value, constraint_fn.min_value)
    assert_equal(restored.max_value, constraint_fn.max_value)
    assert_equal(restored.rate, constraint_fn.rate)
    assert_equal(restored.axis, constraint_fn.axis)
    x = get_example_array()
    assert_all_close(
        to_numpy(constraint_fn(x)),
        to_numpy(restored(x)),
    )


def test_non_neg_get_config():
    constraint_fn = constraints.NonNeg()
    config = constraint_fn.get_config()
    assert_equal(config, {})


def test_non_neg_from_config():
    constraint_fn = constraints.NonNeg()
    config = constraint_fn.get_config()
    recreated = constraints.NonNeg.from_config(config)
    assert_is_instance(recreated, constraints.NonNeg)


def test_non_neg_serialization_roundtrip():
    original = constraints.NonNeg()
    config = original.get_config()
    restored = constraints.NonNeg.from_config(config)
    x = get_example_array()
    out_original = to_numpy(original(x))
    out_restored = to_numpy(restored(x))
    assert_all_close(out_original, out_restored)


def test_non_neg_zeroes_negatives():
    constraint_fn = constraints.NonNeg()
    x = np.full((5, 5), -3.0)
    output = to_numpy(constraint_fn(x))
    assert_all_close(output, np.zeros((5, 5)))


def test_non_neg_preserves_positives():
    constraint_fn = constraints.NonNeg()
    x = np.full((5, 5), 3.0)
    output = to_numpy(constraint_fn(x))
    assert_all_close(output, x)


def test_non_neg_all_zeros_input():
    constraint_fn = constraints.NonNeg()
    x = np.zeros((5, 5))
    output = to_numpy(constraint_fn(x))
    assert_all_close(output, np.zeros((5, 5)))
