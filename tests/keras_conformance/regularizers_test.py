"""Translated from Keras 3's ``keras/src/regularizers/regularizers_test.py`` (keras-team/keras).

``backend.Variable`` is ``nb.Variable``; ``assertRaises(...) as context`` reads the error as
``context.value`` (pytest) where unittest has ``context.exception``; the TPU-only tolerances of
``test_orthogonal_regularizer`` are dropped (the default ones apply).

Left out: none.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    assert_almost_equal,
    assert_equal,
    assert_is_instance,
    assert_raises,
    assert_raises_regex,
    run_class_serialization_test,
    to_numpy,
)

import nablanet as nb
from nablanet import regularizers
from nablanet.regularizers import validate_float_arg


def test_config():
    reg = regularizers.L1(0.1)
    run_class_serialization_test(reg)

    reg = regularizers.L2(0.1)
    run_class_serialization_test(reg)

    reg = regularizers.L1L2(l1=0.1, l2=0.2)
    run_class_serialization_test(reg)

    reg = regularizers.OrthogonalRegularizer(factor=0.1, mode="rows")
    run_class_serialization_test(reg)


def test_l1():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y = regularizers.L1(0.1)(x)
    assert_all_close(y, 0.1 * np.sum(np.abs(value)))


def test_l2():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y = regularizers.L2(0.1)(x)
    assert_all_close(y, 0.1 * np.sum(np.square(value)))


def test_l1_l2():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y = regularizers.L1L2(l1=0.1, l2=0.2)(x)
    assert_all_close(
        y, 0.1 * np.sum(np.abs(value)) + 0.2 * np.sum(np.square(value))
    )


def test_orthogonal_regularizer():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y = regularizers.OrthogonalRegularizer(factor=0.1, mode="rows")(x)

    l2_norm = np.linalg.norm(value, axis=1, keepdims=True)
    inputs = value / l2_norm
    assert_all_close(
        y,
        0.1
        * 0.5
        * np.sum(
            np.abs(np.dot(inputs, np.transpose(inputs)) * (1.0 - np.eye(4)))
        )
        / (4.0 * (4.0 - 1.0) / 2.0),
    )


def test_get_method():
    obj = regularizers.get("l1l2")
    assert_is_instance(obj, regularizers.L1L2)

    obj = regularizers.get("l1")
    assert_is_instance(obj, regularizers.L1)

    obj = regularizers.get("l2")
    assert_is_instance(obj, regularizers.L2)

    obj = regularizers.get("orthogonal_regularizer")
    assert_is_instance(obj, regularizers.OrthogonalRegularizer)

    obj = regularizers.get(None)
    assert_equal(obj, None)

    with assert_raises(ValueError):
        regularizers.get("typo")


def test_l1l2_get_config():
    l1 = 0.01
    l2 = 0.02
    reg = regularizers.L1L2(l1=l1, l2=l2)
    config = reg.get_config()

    assert_all_close(config["l1"], l1)
    assert_all_close(config["l2"], l2)

    reg_from_config = regularizers.L1L2.from_config(config)
    config_from_config = reg_from_config.get_config()

    assert config == config_from_config
    assert_all_close(reg_from_config.l1, l1)
    assert_all_close(reg_from_config.l2, l2)


def test_orthogonal_regularizer_mode_validation():
    with assert_raises(ValueError) as context:
        regularizers.OrthogonalRegularizer(factor=0.01, mode="invalid_mode")

    expected_message = (
        'Invalid value for argument `mode`. Expected one of {"rows", '
        '"columns"}. Received: mode=invalid_mode'
    )
    assert_equal(str(context.value), expected_message)


def test_orthogonal_regularizer_input_rank_validation():
    with assert_raises(ValueError) as context:
        value = np.random.random((4, 4, 4)).astype(np.float32)
        x = nb.Variable(value)
        regularizers.OrthogonalRegularizer(factor=0.1)(x)

    expected_message = (
        "Inputs to OrthogonalRegularizer must have rank 2. "
        f"Received: inputs.shape={(4, 4, 4)}"
    )
    assert_equal(str(context.value), expected_message)


def test_orthogonal_regularizer_get_config():
    factor = 0.01
    mode = "columns"
    regularizer = regularizers.OrthogonalRegularizer(
        factor=factor, mode=mode
    )
    config = regularizer.get_config()

    assert_almost_equal(config["factor"], factor, 7)
    assert_equal(config["mode"], mode)

    reg_from_config = regularizers.OrthogonalRegularizer.from_config(config)
    config_from_config = reg_from_config.get_config()

    assert_almost_equal(config_from_config["factor"], factor, 7)
    assert_equal(config_from_config["mode"], mode)


def test_l1_with_zero_weights():
    value = np.zeros((4, 4), dtype=np.float32)
    x = nb.Variable(value)
    y = regularizers.L1(0.1)(x)
    assert_all_close(y, 0.0)


def test_l1_with_negative_weights():
    pos_value = np.ones((4, 4), dtype=np.float32)
    neg_value = -np.ones((4, 4), dtype=np.float32)
    x_pos = nb.Variable(pos_value)
    x_neg = nb.Variable(neg_value)
    y_pos = regularizers.L1(0.1)(x_pos)
    y_neg = regularizers.L1(0.1)(x_neg)
    assert_all_close(y_pos, y_neg)


def test_l1_zero_coefficient():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y = regularizers.L1(0.0)(x)
    assert_all_close(y, 0.0)


def test_l2_with_zero_weights():
    value = np.zeros((4, 4), dtype=np.float32)
    x = nb.Variable(value)
    y = regularizers.L2(0.1)(x)
    assert_all_close(y, 0.0)


def test_l2_zero_coefficient():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y = regularizers.L2(0.0)(x)
    assert_all_close(y, 0.0)


def test_l2_is_larger_than_l1_for_large_weights():
    value = np.ones((4, 4), dtype=np.float32) * 10.0
    x = nb.Variable(value)
    l1_val = float(to_numpy(regularizers.L1(1.0)(x)))
    l2_val = float(to_numpy(regularizers.L2(1.0)(x)))
    assert l2_val > l1_val


def test_l2_is_smaller_than_l1_for_small_weights():
    value = np.ones((4, 4), dtype=np.float32) * 0.1
    x = nb.Variable(value)
    l1_val = float(to_numpy(regularizers.L1(1.0)(x)))
    l2_val = float(to_numpy(regularizers.L2(1.0)(x)))
    assert l2_val < l1_val


def test_l1l2_zero_coefficients():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y = regularizers.L1L2(l1=0.0, l2=0.0)(x)
    assert_all_close(y, 0.0)


def test_l1l2_only_l1():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y_l1l2 = regularizers.L1L2(l1=0.1, l2=0.0)(x)
    y_l1 = regularizers.L1(0.1)(x)
    assert_all_close(y_l1l2, y_l1)


def test_l1l2_only_l2():
    value = np.random.random((4, 4)).astype(np.float32)
    x = nb.Variable(value)
    y_l1l2 = regularizers.L1L2(l1=0.0, l2=0.1)(x)
    y_l2 = regularizers.L2(0.1)(x)
    assert_all_close(y_l1l2, y_l2)


def test_l1l2_with_zero_weights():
    value = np.zeros((4, 4), dtype=np.float32)
    x = nb.Variable(value)
    y = regularizers.L1L2(l1=0.1, l2=0.2)(x)
    assert_all_close(y, 0.0)


def test_validate_float_with_valid_args():
    assert_equal(validate_float_arg(1, "test"), 1.0)
    assert_equal(validate_float_arg(1.0, "test"), 1.0)


def test_validate_float_with_invalid_types():
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg("not_a_number", "test")


def test_validate_float_with_nan():
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg(float("nan"), "test")


def test_validate_float_with_inf():
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg(float("inf"), "test")
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg(-float("inf"), "test")


def test_validate_float_with_negative_number():
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg(-1, "test")


def test_validate_float_with_zero():
    assert_equal(validate_float_arg(0, "test"), 0.0)
    assert_equal(validate_float_arg(0.0, "test"), 0.0)


def test_validate_float_with_very_small_positive():
    result = validate_float_arg(1e-10, "test")
    assert_almost_equal(result, 1e-10)


def test_validate_float_returns_float_type():
    result = validate_float_arg(1, "test")
    assert_is_instance(result, float)

    result = validate_float_arg(1.0, "test")
    assert_is_instance(result, float)


def test_validate_float_with_large_positive():
    result = validate_float_arg(1e6, "test")
    assert_almost_equal(result, 1e6)


def test_validate_float_with_negative_float():
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg(-0.001, "test")


def test_validate_float_with_none():
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg(None, "test")


def test_validate_float_with_list():
    with assert_raises_regex(
        ValueError, "expected a non-negative float"
    ):
        validate_float_arg([0.1], "test")
