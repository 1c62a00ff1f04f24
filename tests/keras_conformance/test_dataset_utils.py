"""Translated from Keras 3: ``keras/src/utils/dataset_utils_test.py``, run against
``nablanet.utils.split_dataset`` and ``nablanet.data.dataset_utils``. Same inputs and expected
values.

Ported: test_split_dataset (every combination of dataset_type, features_shape and
preferred_backend; Keras's ``"tensorflow"`` dataset type is nablanet's
``Dataset.from_tensor_slices``, whose cardinality is ``Dataset.cardinality``),
test_split_dataset_nested_structures (the same substitution),
test_get_training_or_validation_split_small_validation_split,
test_get_training_or_validation_split_regular. The torch dataset class is the test's own,
as in Keras. Left out: nothing.
"""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset as TorchDataset

from nablanet.data import Dataset
from nablanet.data.dataset_utils import get_training_or_validation_split
from nablanet.utils import split_dataset


class MyTorchDataset(TorchDataset):
    def __init__(self, x, y=None):
        def to_tensor(v):
            if isinstance(v, torch.Tensor):
                return v
            if hasattr(v, "shape"):
                return torch.as_tensor(v, dtype=torch.float32)
            return v

        def map_structure(obj):
            if isinstance(obj, (dict, collections.OrderedDict)):
                return {k: map_structure(v) for k, v in obj.items()}
            if isinstance(obj, (tuple, list)):
                return type(obj)(map_structure(v) for v in obj)
            return to_tensor(obj)

        self.x = map_structure(x)
        self.y = None if y is None else map_structure(y)

        def first_tensor(obj):
            if isinstance(obj, (dict, collections.OrderedDict)):
                return first_tensor(next(iter(obj.values())))
            if isinstance(obj, (tuple, list)):
                return first_tensor(obj[0])
            return obj

        self.length = len(first_tensor(self.x))

    def __len__(self):
        return self.length

    def __getitem__(self, idx):
        def index_structure(obj):
            if isinstance(obj, (dict, collections.OrderedDict)):
                return obj.__class__((k, index_structure(v)) for k, v in obj.items())
            if isinstance(obj, (tuple, list)):
                return type(obj)(index_structure(v) for v in obj)
            return obj[idx]

        if self.y is None:
            return index_structure(self.x)
        return index_structure(self.x), index_structure(self.y)


def _cardinality(dataset):
    return int(dataset.cardinality())


@pytest.mark.parametrize("dataset_type", ["list", "tuple", "tensorflow", "torch"])
@pytest.mark.parametrize("features_shape", [(2,), (100, 2), (10, 10, 2)])
@pytest.mark.parametrize("preferred_backend", [None, "tensorflow", "torch"])
def test_split_dataset(dataset_type, features_shape, preferred_backend):
    n_sample, left_size, right_size = 100, 0.2, 0.8
    features = np.random.sample((n_sample,) + features_shape)
    labels = np.random.sample((n_sample, 1))
    if dataset_type == "list":
        dataset = [features, labels]
    elif dataset_type == "tuple":
        dataset = (features, labels)
    elif dataset_type == "tensorflow":
        dataset = Dataset.from_tensor_slices((features, labels))
    else:
        dataset = MyTorchDataset(features, labels)
    dataset_left, dataset_right = split_dataset(dataset, left_size=left_size,
                                                right_size=right_size,
                                                preferred_backend=preferred_backend)
    assert _cardinality(dataset_left) == int(n_sample * left_size)
    assert _cardinality(dataset_right) == int(n_sample * right_size)
    for sample in itertools.chain(dataset_left, dataset_right):
        assert sample[0].shape == features_shape
        assert sample[1].shape == (1,)


@pytest.mark.parametrize("structure_type", ["tuple", "dict", "OrderedDict"])
def test_split_dataset_nested_structures(structure_type):
    n_sample, left_size, right_size = 100, 0.2, 0.8
    features1 = np.random.sample((n_sample, 2))
    features2 = np.random.sample((n_sample, 10, 2))
    labels = np.random.sample((n_sample, 1))
    create = Dataset.from_tensor_slices
    if structure_type == "tuple":
        dataset = create(((features1, features2), labels))
    if structure_type == "dict":
        dataset = create({"y": features2, "x": features1, "labels": labels})
    if structure_type == "OrderedDict":
        dataset = create(collections.OrderedDict(
            [("y", features2), ("x", features1), ("labels", labels)]))
    dataset_left, dataset_right = split_dataset(dataset, left_size=left_size,
                                                right_size=right_size)
    assert _cardinality(dataset_left) == int(n_sample * left_size)
    assert _cardinality(dataset_right) == int(n_sample * right_size)
    for sample in itertools.chain(dataset_left, dataset_right):
        if structure_type in ("dict", "OrderedDict"):
            x, y, labels = sample["x"], sample["y"], sample["labels"]
        elif structure_type == "tuple":
            (x, y), labels = sample
        assert x.shape == (2,)
        assert y.shape == (10, 2)
        assert labels.shape == (1,)


def test_get_training_or_validation_split_small_validation_split():
    samples = list(range(10))
    train, _ = get_training_or_validation_split(samples, None, validation_split=0.05,
                                                subset="training")
    val, _ = get_training_or_validation_split(samples, None, validation_split=0.05,
                                              subset="validation")
    assert train == samples
    assert val == []


def test_get_training_or_validation_split_regular():
    samples = list(range(10))
    labels = list(range(10))
    train_s, train_l = get_training_or_validation_split(samples, labels, validation_split=0.2,
                                                        subset="training")
    val_s, val_l = get_training_or_validation_split(samples, labels, validation_split=0.2,
                                                    subset="validation")
    assert train_s == list(range(8))
    assert train_l == list(range(8))
    assert val_s == [8, 9]
    assert val_l == [8, 9]
