"""nablanet.data's Keras data utilities beyond Keras's own tests: image round trips, targets
with start_index, split_dataset options and errors, text through a Dataset."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nablanet.data import (
    Dataset,
    array_to_img,
    img_to_array,
    load_img,
    pad_sequences,
    save_img,
    split_dataset,
    timeseries_dataset_from_array,
)


def test_array_to_img_scales_and_round_trips(tmp_path):
    x = np.linspace(-1.0, 1.0, 4 * 6 * 3).reshape(4, 6, 3)
    img = array_to_img(x)
    back = img_to_array(img)
    assert img.mode == "RGB" and img.size == (6, 4)
    expected = ((x - x.min()) / (x.max() - x.min()) * 255).astype(np.uint8)
    np.testing.assert_array_equal(back, expected)
    assert array_to_img(np.zeros((2, 2, 1))).mode == "L"
    assert array_to_img(np.full((2, 2, 1), 300.0), scale=False).mode == "I"
    first = img_to_array(array_to_img(np.ones((3, 2, 2)) * 9, data_format="channels_first",
                                      scale=False), data_format="channels_first")
    assert first.shape == (3, 2, 2) and (first == 9).all()
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="channel number"):
        array_to_img(np.zeros((2, 2, 2)))
    path = tmp_path / "a.png"
    save_img(path, expected, scale=False)
    np.testing.assert_array_equal(img_to_array(load_img(path)), expected)


def test_load_img_modes_sizes_and_bytes():
    buf = io.BytesIO()
    Image.fromarray(np.arange(8 * 12 * 3, dtype=np.uint8).reshape(8, 12, 3)).save(buf, "PNG")
    buf.seek(0)
    assert img_to_array(load_img(buf, color_mode="grayscale")).shape == (8, 12, 1)
    buf.seek(0)
    assert load_img(buf, color_mode="rgba").mode == "RGBA"
    buf.seek(0)
    assert load_img(buf, target_size=(4, 5), interpolation="bilinear").size == (5, 4)
    buf.seek(0)
    square = load_img(buf, target_size=(4, 4), keep_aspect_ratio=True)
    buf.seek(0)
    centre = Image.open(buf).convert("RGB").crop((2, 0, 10, 8)).resize((4, 4),
                                                                       Image.Resampling.NEAREST)
    np.testing.assert_array_equal(np.asarray(square), np.asarray(centre))
    with pytest.raises(ValueError, match="color_mode"):
        load_img(buf, color_mode="cmyk")
    with pytest.raises(TypeError, match="path should be path-like"):
        load_img(3)


def test_pad_sequences_defaults_and_errors():
    out = pad_sequences([[1, 2, 3], [4]])
    assert out.dtype == np.int32 and out.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert pad_sequences([[], [1]]).tolist() == [[0], [1]]
    with pytest.raises(ValueError, match="Padding type"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([1, 2])


def test_timeseries_targets_follow_start_index():
    data = np.arange(30, dtype=np.float32).reshape(15, 2)
    targets = np.arange(15) * 10
    ds = timeseries_dataset_from_array(data, targets, sequence_length=3, sampling_rate=2,
                                       start_index=4, batch_size=None)
    windows = list(ds.as_numpy_iterator())
    assert len(windows) == 15 - 4 - 4
    x0, y0 = windows[0]
    np.testing.assert_array_equal(x0, data[[4, 6, 8]])
    assert y0 == targets[4]
    with pytest.raises(ValueError, match="grain"):
        timeseries_dataset_from_array(data, None, 3, format="grain")


def test_split_dataset_shuffle_batched_and_errors():
    x = np.arange(20)
    left, right = split_dataset(x, left_size=5, shuffle=True, seed=1)
    values = sorted(int(v) for v in left) + sorted(int(v) for v in right)
    assert sorted(values) == list(range(20)) and int(left.cardinality()) == 5
    again, _ = split_dataset(x, left_size=5, shuffle=True, seed=1)
    assert [int(v) for v in again] == [int(v) for v in left]
    batched = Dataset.from_tensor_slices((x, x * 2)).batch(4).prefetch(2)
    bl, br = split_dataset(batched, right_size=0.25)
    assert [b[0].shape[0] for b in bl] == [4, 4, 4, 3] and int(br.cardinality()) == 2
    with pytest.raises(ValueError, match="At least one"):
        split_dataset(x)
    with pytest.raises(ValueError, match="`left_size` should be"):
        split_dataset(x, left_size=1.5)
    with pytest.raises(ValueError, match="sum of `left_size` and `right_size`"):
        split_dataset(x, left_size=0.6, right_size=0.6)
    with pytest.raises(TypeError, match="left_size"):
        split_dataset(x, left_size="half")


def test_strings_pass_through_a_dataset():
    ds = Dataset.from_tensor_slices((np.array(["a", "bb", "ccc"]), np.arange(3))).batch(2)
    texts, labels = next(iter(ds))
    assert isinstance(texts, np.ndarray) and texts.tolist() == ["a", "bb"]
    assert labels.numpy().tolist() == [0, 1]
