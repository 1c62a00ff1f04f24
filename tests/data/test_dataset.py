"""Semantics of the Dataset pipeline (tf.data behaviour)."""

import numpy as np
import pytest

import nablanet as nb
from nablanet.data import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, TensorSpec


def ints(ds):
    return [int(x) for x in ds]


def test_from_tensor_slices_structures_and_tensors():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([0, 1, 2, 0])
    ds = Dataset.from_tensor_slices((nb.tensor(x), y))
    elements = list(ds)
    assert len(elements) == 4 and isinstance(elements[0], tuple)
    a, b = elements[2]
    assert isinstance(a, nb.Tensor) and isinstance(b, nb.Tensor)
    np.testing.assert_array_equal(a.numpy(), x[2])
    assert int(b) == 2
    d = list(Dataset.from_tensor_slices({"image": x, "label": y}))[1]
    assert set(d) == {"image", "label"} and int(d["label"]) == 1
    assert ints(Dataset.from_tensor_slices([5, 6, 7])) == [5, 6, 7]  # a list is one array
    with pytest.raises(ValueError, match="same size in their first dimension"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))


def test_map_receives_tensors_and_keeps_structure():
    seen = []

    def fn(image, label):
        seen.append((type(image), type(label)))
        return image * 2.0, label

    ds = Dataset.from_tensor_slices((np.ones((3, 2), np.uint8), np.arange(3))).map(
        lambda im, lab: (nb.data.cast(im, np.float32), lab)).map(fn)
    out = list(ds.as_numpy_iterator())
    assert all(t == (nb.Tensor, nb.Tensor) for t in seen)
    assert out[0][0].dtype == np.float32 and out[0][0].tolist() == [2.0, 2.0]
    assert [int(o[1]) for o in out] == [0, 1, 2]
    # dict elements are passed as one argument
    dd = Dataset.from_tensor_slices({"a": np.arange(3)}).map(lambda d: {"a": d["a"] + 1})
    assert [int(e["a"]) for e in dd] == [1, 2, 3]
    assert dd.cardinality() == 3


def test_batch_stacks_and_remainder():
    ds = Dataset.from_tensor_slices((np.arange(10.0).reshape(5, 2), np.arange(5))).batch(2)
    batches = list(ds.as_numpy_iterator())
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    assert batches[2][1].tolist() == [4]
    assert ds.cardinality() == 3 and len(ds) == 3
    dropped = Dataset.range(5).batch(2, drop_remainder=True)
    assert [b.tolist() for b in dropped.as_numpy_iterator()] == [[0, 1], [2, 3]]
    assert dropped.cardinality() == 2
    assert ints(Dataset.range(5).batch(2).unbatch()) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="batch_size"):
        Dataset.range(3).batch(0)
    ragged = Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)])).batch(2)
    with pytest.raises(ValueError, match="different shapes"):
        list(ragged)


def test_take_skip_repeat_concatenate_cardinality():
    ds = Dataset.range(5)
    assert ints(ds.take(2)) == [0, 1] and ds.take(2).cardinality() == 2
    assert ints(ds.take(-1)) == [0, 1, 2, 3, 4]
    assert ints(ds.skip(3)) == [3, 4] and ds.skip(3).cardinality() == 2
    assert ds.skip(9).cardinality() == 0 and ints(ds.skip(-1)) == []
    assert ints(ds.take(2).repeat(3)) == [0, 1] * 3 and ds.take(2).repeat(3).cardinality() == 6
    forever = ds.repeat()
    assert forever.cardinality() == INFINITE_CARDINALITY
    assert ints(forever.take(12)) == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert forever.take(12).cardinality() == 12
    with pytest.raises(TypeError, match="infinite"):
        len(forever)
    both = ds.concatenate(Dataset.range(10, 12))
    assert ints(both) == [0, 1, 2, 3, 4, 10, 11] and both.cardinality() == 7
    gen = Dataset.from_generator(lambda: iter(range(3)))
    assert gen.cardinality() == UNKNOWN_CARDINALITY
    with pytest.raises(TypeError, match="unknown"):
        len(gen)
    assert ds.concatenate(gen).cardinality() == UNKNOWN_CARDINALITY
    assert ds.filter(lambda x: x > 1).cardinality() == UNKNOWN_CARDINALITY
    assert ints(ds.prefetch(2)) == ints(ds) and ds.prefetch(1).cardinality() == 5


def test_reiterable_and_generator_restarts():
    calls = []

    def gen():
        calls.append(1)
        yield from range(3)

    ds = Dataset.from_generator(gen, output_signature=TensorSpec((), np.int32))
    assert ints(ds) == [0, 1, 2] and ints(ds) == [0, 1, 2] and len(calls) == 2
    assert next(iter(ds)).numpy().dtype == np.int32
    bad = Dataset.from_generator(lambda: iter([np.zeros(3)]),
                                 output_signature=TensorSpec((2,), np.float32))
    with pytest.raises(ValueError, match="not compatible"):
        list(bad)


def test_shuffle_buffer_semantics():
    n = 50
    # buffer 1 is the identity; a full buffer gives a permutation
    assert ints(Dataset.range(n).shuffle(1, seed=3)) == list(range(n))
    full = ints(Dataset.range(n).shuffle(n, seed=3))
    assert sorted(full) == list(range(n)) and full != list(range(n))
    # a buffer of size b can only emit element k at position >= k - b + 1
    b = 5
    out = ints(Dataset.range(n).shuffle(b, seed=0))
    assert sorted(out) == list(range(n))
    assert out[0] < b and all(out[i] <= i + b - 1 for i in range(n))


def test_shuffle_reshuffle_and_seeds():
    ds = Dataset.range(30).shuffle(30, seed=7)
    first, second = ints(ds), ints(ds)
    assert first != second  # a new order each pass
    assert ints(Dataset.range(30).shuffle(30, seed=7)) == first  # same seed, same sequence
    fixed = Dataset.range(30).shuffle(30, seed=7, reshuffle_each_iteration=False)
    assert ints(fixed) == ints(fixed)
    nb.set_random_seed(42)
    a = ints(Dataset.range(30).shuffle(30))
    nb.set_random_seed(42)
    b = ints(Dataset.range(30).shuffle(30))
    nb.set_random_seed(43)
    c = ints(Dataset.range(30).shuffle(30))
    assert a == b and a != c
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).shuffle(0)


def test_cache_replays_only_complete_passes():
    calls = []

    def record(x):
        calls.append(int(x))
        return x

    ds = Dataset.range(4).map(record).cache()
    assert ints(ds.take(2)) == [0, 1]  # partial pass: not cached
    assert ints(ds) == [0, 1, 2, 3]
    n = len(calls)
    assert ints(ds) == [0, 1, 2, 3] and len(calls) == n
    with pytest.raises(ValueError, match="memory"):
        Dataset.range(2).cache("file.cache")


def test_chapter_pipeline_shapes():
    images = np.random.default_rng(0).integers(0, 255, (10, 40, 30, 3), dtype=np.uint8)
    labels = np.arange(10) % 3

    def preprocess(image, label):
        image = nb.data.cast(image, np.float32) / 255.0
        image = nb.data.resize(image, [16, 16])
        return image, label

    ds = Dataset.from_tensor_slices((images, labels)).map(preprocess).shuffle(8).batch(4)
    batches = list(ds)
    assert [tuple(b[0].shape) for b in batches] == [(4, 16, 16, 3), (4, 16, 16, 3),
                                                    (2, 16, 16, 3)]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    assert 0.0 <= float(batches[0][0].numpy().min()) and float(batches[0][0].numpy().max()) <= 1
    assert sorted(np.concatenate([b[1].numpy() for b in batches]).tolist()) == sorted(labels)
    assert ds.cardinality() == 3


def test_zip_enumerate_element_spec():
    z = Dataset.zip(Dataset.range(3), Dataset.range(10, 20))
    assert [(int(a), int(b)) for a, b in z] == [(0, 10), (1, 11), (2, 12)]
    assert z.cardinality() == 3
    assert [int(i) for i, _ in Dataset.range(5, 7).enumerate()] == [0, 1]
    spec = Dataset.from_tensor_slices((np.zeros((4, 2, 3), np.float32), np.zeros(4))).batch(2)
    assert spec.element_spec[0] == TensorSpec((None, 2, 3), np.float32)
