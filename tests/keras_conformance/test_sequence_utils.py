"""Translated from Keras 3: ``keras/src/utils/sequence_utils_test.py`` (all of it), run against
``nablanet.utils.pad_sequences``. Same inputs, expected values and tolerances
(``assertAllClose``: atol = rtol = 1e-6). Left out: nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from nablanet.utils import pad_sequences


def assert_all_close(actual, desired):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(desired, np.float64),
                               atol=1e-6, rtol=1e-6)


def test_pad_sequences():
    a = [[1], [1, 2], [1, 2, 3]]
    # padding
    assert_all_close(pad_sequences(a, maxlen=3, padding="pre"), [[0, 0, 1], [0, 1, 2], [1, 2, 3]])
    assert_all_close(pad_sequences(a, maxlen=3, padding="post"),
                     [[1, 0, 0], [1, 2, 0], [1, 2, 3]])
    # truncating
    assert_all_close(pad_sequences(a, maxlen=2, truncating="pre"), [[0, 1], [1, 2], [2, 3]])
    assert_all_close(pad_sequences(a, maxlen=2, truncating="post"), [[0, 1], [1, 2], [1, 2]])
    # value
    assert_all_close(pad_sequences(a, maxlen=3, value=1), [[1, 1, 1], [1, 1, 2], [1, 2, 3]])


def test_pad_sequences_float():
    a = [[1.2], [1.2, 2.3], [1.2, 2.3, 3.4]]
    assert_all_close(pad_sequences(a, maxlen=3, padding="pre", dtype="float32"),
                     [[0, 0, 1.2], [0, 1.2, 2.3], [1.2, 2.3, 3.4]])
    assert_all_close(pad_sequences(a, maxlen=3, padding="post", dtype="float32"),
                     [[1.2, 0, 0], [1.2, 2.3, 0], [1.2, 2.3, 3.4]])
    assert_all_close(pad_sequences(a, maxlen=2, truncating="pre", dtype="float32"),
                     [[0, 1.2], [1.2, 2.3], [2.3, 3.4]])
    assert_all_close(pad_sequences(a, maxlen=2, truncating="post", dtype="float32"),
                     [[0, 1.2], [1.2, 2.3], [1.2, 2.3]])
    assert_all_close(pad_sequences(a, maxlen=3, value=1, dtype="float32"),
                     [[1, 1, 1.2], [1, 1.2, 2.3], [1.2, 2.3, 3.4]])


def test_pad_sequences_str():
    a = [["1"], ["1", "2"], ["1", "2", "3"]]
    np.testing.assert_array_equal(
        pad_sequences(a, maxlen=3, padding="pre", value="pad", dtype=object),
        [["pad", "pad", "1"], ["pad", "1", "2"], ["1", "2", "3"]])
    np.testing.assert_array_equal(
        pad_sequences(a, maxlen=3, padding="post", value="pad", dtype="<U3"),
        [["1", "pad", "pad"], ["1", "2", "pad"], ["1", "2", "3"]])
    np.testing.assert_array_equal(
        pad_sequences(a, maxlen=2, truncating="pre", value="pad", dtype=object),
        [["pad", "1"], ["1", "2"], ["2", "3"]])
    np.testing.assert_array_equal(
        pad_sequences(a, maxlen=2, truncating="post", value="pad", dtype="<U3"),
        [["pad", "1"], ["1", "2"], ["1", "2"]])
    with pytest.raises(ValueError, match="`dtype` int32 is not compatible with "):
        pad_sequences(a, maxlen=2, truncating="post", value="pad")


def test_pad_sequences_vector():
    a = [[[1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]]
    assert_all_close(pad_sequences(a, maxlen=3, padding="pre"),
                     [[[0, 0], [0, 0], [1, 1]], [[0, 0], [2, 1], [2, 2]],
                      [[3, 1], [3, 2], [3, 3]]])
    assert_all_close(pad_sequences(a, maxlen=3, padding="post"),
                     [[[1, 1], [0, 0], [0, 0]], [[2, 1], [2, 2], [0, 0]],
                      [[3, 1], [3, 2], [3, 3]]])
    assert_all_close(pad_sequences(a, maxlen=2, truncating="pre"),
                     [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 2], [3, 3]]])
    assert_all_close(pad_sequences(a, maxlen=2, truncating="post"),
                     [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2]]])
    assert_all_close(pad_sequences(a, maxlen=3, value=1),
                     [[[1, 1], [1, 1], [1, 1]], [[1, 1], [2, 1], [2, 2]],
                      [[3, 1], [3, 2], [3, 3]]])
