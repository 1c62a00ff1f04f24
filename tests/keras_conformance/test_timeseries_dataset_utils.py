"""Translated from Keras 3: ``keras/src/utils/timeseries_dataset_utils_test.py``, run against
``nablanet.utils.timeseries_dataset_from_array``. Same inputs, expected values and tolerances.

Ported: the ``format="tf"`` case of test_basics, test_timeseries_regression, test_no_targets,
test_sampling_rate, test_sequence_stride, test_start_and_end_index and test_not_batched;
test_shuffle_tf, test_errors, test_invalid_format. Keras's ``dataset.take(1)`` is nablanet's
``Dataset.take(1)``.

Left out: the ``format="grain"`` cases and test_shuffle_grain (Grain datasets: nablanet has
its own Dataset; ``format="grain"`` raises a ValueError saying so).
"""

from __future__ import annotations

import numpy as np
import pytest

from nablanet.utils import timeseries_dataset_from_array


def assert_all_close(actual, desired):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(desired, np.float64),
                               atol=1e-6, rtol=1e-6)


def assert_not_all_close(actual, desired):
    with pytest.raises(AssertionError):
        assert_all_close(actual, desired)


def test_basics():
    data = np.arange(100)
    targets = data * 2
    dataset = timeseries_dataset_from_array(data, targets, sequence_length=9, batch_size=5,
                                            format="tf")
    for i, batch in enumerate(dataset):  # expect 19 batches
        assert len(batch) == 2
        inputs, targets = batch
        if i < 18:
            assert inputs.shape == (5, 9)
        if i == 18:
            assert inputs.shape == (2, 9)  # last batch: size 2
        assert_all_close(inputs[:, 0] * 2, targets)
        for j in range(min(5, len(inputs))):
            assert_all_close(inputs[j], np.arange(i * 5 + j, i * 5 + j + 9))


def test_timeseries_regression():
    data = np.arange(10)
    offset = 3
    targets = data[offset:]
    dataset = timeseries_dataset_from_array(data, targets, sequence_length=offset,
                                            batch_size=1, format="tf")
    i = 0
    for batch in dataset:
        assert len(batch) == 2
        inputs, targets = batch
        assert inputs.shape == (1, 3)
        assert_all_close(targets[0], data[offset + i])
        assert_all_close(inputs[0], data[i: i + offset])
        i += 1
    assert i == 7  # expect 7 batches


def test_no_targets():
    data = np.arange(50)
    dataset = timeseries_dataset_from_array(data, None, sequence_length=10, batch_size=5,
                                            format="tf")
    i = None
    for i, batch in enumerate(dataset):  # expect 9 batches
        if i < 8:
            assert batch.shape == (5, 10)
        elif i == 8:
            assert batch.shape == (1, 10)
        for j in range(min(5, len(batch))):
            assert_all_close(batch[j], np.arange(i * 5 + j, i * 5 + j + 10))
    assert i == 8


def test_shuffle_tf():
    data = np.arange(10)
    targets = data * 2
    dataset = timeseries_dataset_from_array(data, targets, sequence_length=5, batch_size=1,
                                            shuffle=True, seed=123, format="tf")
    first_seq = None
    for x, y in dataset.take(1):
        assert_not_all_close(x, np.arange(0, 5))
        assert_all_close(x[:, 0] * 2, y)
        first_seq = x
    # a new iteration over the same dataset gives different results
    for x, _ in dataset.take(1):
        assert_not_all_close(x, first_seq)
    # the same seed gives the same results
    dataset = timeseries_dataset_from_array(data, targets, sequence_length=5, batch_size=1,
                                            shuffle=True, seed=123, format="tf")
    for x, _ in dataset.take(1):
        assert_all_close(x, first_seq)


def test_sampling_rate():
    data = np.arange(100)
    targets = data * 2
    dataset = timeseries_dataset_from_array(data, targets, sequence_length=9, batch_size=5,
                                            sampling_rate=2, format="tf")
    for i, batch in enumerate(dataset):
        assert len(batch) == 2
        inputs, targets = batch
        if i < 16:
            assert inputs.shape == (5, 9)
        if i == 16:
            assert inputs.shape == (4, 9)  # last batch: size 4
        assert_all_close(inputs[:, 0] * 2, targets)
        for j in range(min(5, len(inputs))):
            start_index = i * 5 + j
            end_index = start_index + 9 * 2
            assert_all_close(inputs[j], np.arange(start_index, end_index, 2))


def test_sequence_stride():
    data = np.arange(100)
    targets = data * 2
    dataset = timeseries_dataset_from_array(data, targets, sequence_length=9, batch_size=5,
                                            sequence_stride=3, format="tf")
    for i, batch in enumerate(dataset):
        assert len(batch) == 2
        inputs, targets = batch
        if i < 6:
            assert inputs.shape == (5, 9)
        if i == 6:
            assert inputs.shape == (1, 9)  # last batch: size 1
        assert_all_close(inputs[:, 0] * 2, targets)
        for j in range(min(5, len(inputs))):
            start_index = i * 5 * 3 + j * 3
            end_index = start_index + 9
            assert_all_close(inputs[j], np.arange(start_index, end_index))


def test_start_and_end_index():
    data = np.arange(100)
    dataset = timeseries_dataset_from_array(data, None, sequence_length=9, batch_size=5,
                                            sequence_stride=3, sampling_rate=2, start_index=10,
                                            end_index=90, format="tf")
    for batch in dataset:
        assert np.max(np.array(batch[0])) < 90
        assert np.min(np.array(batch[0])) > 9


def test_errors():
    with pytest.raises(ValueError, match="`start_index` must be "):
        timeseries_dataset_from_array(np.arange(10), None, 3, start_index=-1)
    with pytest.raises(ValueError, match="`start_index` must be "):
        timeseries_dataset_from_array(np.arange(10), None, 3, start_index=11)
    with pytest.raises(ValueError, match="`end_index` must be "):
        timeseries_dataset_from_array(np.arange(10), None, 3, end_index=-1)
    with pytest.raises(ValueError, match="`end_index` must be "):
        timeseries_dataset_from_array(np.arange(10), None, 3, end_index=11)
    with pytest.raises(ValueError, match="`sampling_rate` must be "):
        timeseries_dataset_from_array(np.arange(10), None, 3, sampling_rate=0)
    with pytest.raises(ValueError, match="`sequence_stride` must be "):
        timeseries_dataset_from_array(np.arange(10), None, 3, sequence_stride=0)


def test_invalid_format():
    with pytest.raises(ValueError, match="`format` should be"):
        timeseries_dataset_from_array(np.arange(10), None, 3, format="invalid")


def test_not_batched():
    data = np.arange(100)
    dataset = timeseries_dataset_from_array(data, None, sequence_length=9, batch_size=None,
                                            shuffle=True, format="tf")
    sample = next(iter(dataset))
    assert len(sample.shape) == 1
