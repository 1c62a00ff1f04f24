"""Translated from Keras 3: ``keras/src/utils/text_dataset_utils_test.py``, run against
``nablanet.utils.text_dataset_from_directory``. Same inputs and expected values.

Ported: the ``format="tf"`` case of every test (standalone, binary, sample_count, multiclass,
validation_split, manual_labels, follow_links, no_files, errors, not_batched). Texts are NumPy
string arrays where Keras has ``tf.string`` tensors, so Keras's
``assertDType(batch, "string")`` / ``batch.dtype.name == "string"`` are checked as a NumPy
string dtype (``dtype.kind == "U"``), and ``len(batch[0].numpy()[0])`` as
``len(batch[0][0])``. The temporary directory is pytest's ``tmp_path``.

Left out: the ``format="grain"`` cases (Grain datasets: nablanet has its own Dataset;
``format="grain"`` raises a ValueError saying so).
"""

from __future__ import annotations

import os
import random
import string

import numpy as np
import pytest

from nablanet.utils import text_dataset_from_directory


@pytest.fixture
def prepare_directory(tmp_path):
    counter = iter(range(1000))

    def prepare(num_classes=2, nested_dirs=False, count=16, length=20):
        temp_dir = os.path.join(tmp_path, f"dir_{next(counter)}")
        os.mkdir(temp_dir)
        paths = []
        for class_index in range(num_classes):
            class_directory = f"class_{class_index}"
            if nested_dirs:
                class_paths = [
                    class_directory,
                    os.path.join(class_directory, "subfolder_1"),
                    os.path.join(class_directory, "subfolder_2"),
                    os.path.join(class_directory, "subfolder_1", "sub-subfolder"),
                ]
            else:
                class_paths = [class_directory]
            for path in class_paths:
                os.mkdir(os.path.join(temp_dir, path))
            paths += class_paths
        for i in range(count):
            path = paths[i % len(paths)]
            filename = os.path.join(path, f"text_{i}.txt")
            with open(os.path.join(temp_dir, filename), "w") as f:
                f.write("".join([random.choice(string.printable) for _ in range(length)]))
        return temp_dir

    return prepare


def _is_string(x):
    return np.asarray(x).dtype.kind == "U"


def test_text_dataset_from_directory_standalone(prepare_directory):
    directory = prepare_directory(count=7, num_classes=2)
    for i in range(3):
        with open(os.path.join(directory, f"text_{i}.txt"), "w") as f:
            f.write("".join([random.choice(string.printable) for _ in range(20)]))
    dataset = text_dataset_from_directory(directory, batch_size=5, label_mode=None,
                                          max_length=10, format="tf")
    batch = next(iter(dataset))
    assert list(batch.shape) == [5]  # just the texts, no labels
    assert _is_string(batch)
    batch_count = 0
    sample_count = 0
    for batch in dataset:
        batch_count += 1
        sample_count += len(batch)
    assert batch_count == 2
    assert sample_count == 10


def test_text_dataset_from_directory_binary(prepare_directory):
    directory = prepare_directory(num_classes=2)
    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode="int",
                                          max_length=10, format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    assert batch[0].shape == (8,)
    assert _is_string(batch[0])
    assert len(batch[0][0]) == 10  # max_length
    assert list(batch[1].shape) == [8]
    assert batch[1].dtype == np.int32

    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode="binary",
                                          format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    assert list(batch[0].shape) == [8]
    assert _is_string(batch[0])
    assert list(batch[1].shape) == [8, 1]
    assert batch[1].dtype == np.float32

    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode="categorical",
                                          format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    assert list(batch[0].shape) == [8]
    assert _is_string(batch[0])
    assert list(batch[1].shape) == [8, 2]
    assert batch[1].dtype == np.float32


def test_sample_count(prepare_directory):
    directory = prepare_directory(num_classes=4, count=15)
    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode=None, format="tf")
    sample_count = 0
    for batch in dataset:
        sample_count += len(batch)
    assert sample_count == 15


def test_text_dataset_from_directory_multiclass(prepare_directory):
    directory = prepare_directory(num_classes=4, count=15)
    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode=None, format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 8

    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode=None, format="tf")
    sample_count = 0
    iterator = iter(dataset)
    for _ in dataset:
        sample_count += len(next(iterator))
    assert sample_count == 15

    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode="int", format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    assert list(batch[0].shape) == [8]
    assert _is_string(batch[0])
    assert list(batch[1].shape) == [8]
    assert batch[1].dtype == np.int32

    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode="categorical",
                                          format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    assert list(batch[0].shape) == [8]
    assert _is_string(batch[0])
    assert list(batch[1].shape) == [8, 4]
    assert batch[1].dtype == np.float32


def test_text_dataset_from_directory_validation_split(prepare_directory):
    directory = prepare_directory(num_classes=2, count=10)
    dataset = text_dataset_from_directory(directory, batch_size=10, validation_split=0.2,
                                          subset="training", seed=1337, format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    assert len(batch[0]) == 8
    dataset = text_dataset_from_directory(directory, batch_size=10, validation_split=0.2,
                                          subset="validation", seed=1337, format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    assert len(batch[0]) == 2
    train_dataset, val_dataset = text_dataset_from_directory(
        directory, batch_size=10, validation_split=0.2, subset="both", seed=1337, format="tf")
    batch = next(iter(train_dataset))
    assert len(batch) == 2
    assert len(batch[0]) == 8
    batch = next(iter(val_dataset))
    assert len(batch) == 2
    assert len(batch[0]) == 2


def test_text_dataset_from_directory_manual_labels(prepare_directory):
    directory = prepare_directory(num_classes=2, count=2)
    dataset = text_dataset_from_directory(directory, batch_size=8, labels=[0, 1],
                                          shuffle=False, format="tf")
    batch = next(iter(dataset))
    assert len(batch) == 2
    np.testing.assert_allclose(np.asarray(batch[1]), [0, 1], atol=1e-6, rtol=1e-6)


def test_text_dataset_from_directory_follow_links(prepare_directory):
    directory = prepare_directory(num_classes=2, count=25, nested_dirs=True)
    dataset = text_dataset_from_directory(directory, batch_size=8, label_mode=None,
                                          follow_links=True, format="tf")
    sample_count = 0
    for batch in dataset:
        sample_count += len(batch)
    assert sample_count == 25


def test_text_dataset_from_directory_no_files(prepare_directory):
    directory = prepare_directory(num_classes=2, count=0)
    with pytest.raises(ValueError, match="No text files found"):
        text_dataset_from_directory(directory, format="tf")


def test_text_dataset_from_directory_errors(prepare_directory):
    directory = prepare_directory(num_classes=3, count=5)
    with pytest.raises(ValueError, match="`labels` argument should be"):
        text_dataset_from_directory(directory, labels="other", format="tf")
    with pytest.raises(ValueError, match="`label_mode` argument must be"):
        text_dataset_from_directory(directory, label_mode="other", format="tf")
    with pytest.raises(ValueError, match='only pass `class_names` if `labels="inferred"`'):
        text_dataset_from_directory(directory, labels=[0, 0, 1, 1, 1],
                                    class_names=["class_0", "class_1", "class_2"], format="tf")
    with pytest.raises(ValueError,
                       match="Expected the lengths of `labels` to match the number of files"):
        text_dataset_from_directory(directory, labels=[0, 0, 1, 1], format="tf")
    with pytest.raises(ValueError, match="`class_names` passed did not match"):
        text_dataset_from_directory(directory, class_names=["class_0", "wrong_class"],
                                    format="tf")
    with pytest.raises(ValueError, match="there must be exactly 2"):
        text_dataset_from_directory(directory, label_mode="binary", format="tf")
    with pytest.raises(ValueError, match="`validation_split` must be between 0 and 1"):
        text_dataset_from_directory(directory, validation_split=2, format="tf")
    with pytest.raises(ValueError,
                       match='`subset` must be either "training", "validation" or "both"'):
        text_dataset_from_directory(directory, validation_split=0.2, subset="other",
                                    format="tf")
    with pytest.raises(ValueError, match="`validation_split` must be set"):
        text_dataset_from_directory(directory, validation_split=0.0, subset="training",
                                    format="tf")
    with pytest.raises(ValueError, match="must provide a `seed`"):
        text_dataset_from_directory(directory, validation_split=0.2, subset="training",
                                    format="tf")


def test_text_dataset_from_directory_not_batched(prepare_directory):
    directory = prepare_directory()
    dataset = text_dataset_from_directory(directory, batch_size=None, label_mode=None,
                                          follow_links=True, format="tf")
    sample = next(iter(dataset))
    assert len(sample.shape) == 0
