"""Pillow decoding and image_dataset_from_directory (Keras semantics)."""

import warnings

import numpy as np
import pytest
from PIL import Image

import nablanet as nb
from nablanet.data import ImageDecodeError, decode_image, image_dataset_from_directory

CLASSES = ["cats", "dogs", "zebras"]


def write_tree(root, per_class=(3, 2, 4), size=(12, 10)):
    rng = np.random.default_rng(0)
    for cls, n in zip(CLASSES, per_class):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            # the class shows in the brightness: 100 * class + noise in [0, 20)
            pixels = rng.integers(0, 20, (size[0], size[1], 3), dtype=np.uint8)
            pixels += np.uint8(CLASSES.index(cls) * 100)
            fmt = "png" if i % 2 == 0 else "jpg"
            Image.fromarray(pixels).save(root / cls / f"img{i}.{fmt}", quality=100)
        (root / cls / "notes.txt").write_text("not an image")
    return root


def test_decode_modes(tmp_path):
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = decode_image(tmp_path / "a.png")
    assert out.shape == (4, 6, 3) and out.dtype == np.uint8 and out[0, 0].tolist() == [200, 0, 0]
    assert decode_image(tmp_path / "a.png", color_mode="grayscale").shape == (4, 6, 1)
    assert decode_image(str(tmp_path / "a.png"), color_mode="rgba")[0, 0, 3] == 10


def test_directory_dataset_labels_and_shapes(tmp_path, capsys):
    root = write_tree(tmp_path / "data")
    ds = image_dataset_from_directory(root, batch_size=4, image_size=(8, 6), shuffle=False)
    assert "Found 9 files belonging to 3 classes." in capsys.readouterr().out
    assert ds.class_names == CLASSES and ds.cardinality() == 3
    batches = list(ds)
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert isinstance(batches[0][0], nb.Tensor)
    assert images.shape == (9, 8, 6, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]
    assert 0 <= images.min() and images.max() <= 255
    # first file resized equals resize of the decoded file
    first = decode_image(root / "cats" / "img0.png")
    np.testing.assert_allclose(images[0], nb.data.resize(first, (8, 6)).numpy(), atol=1e-4)


def test_directory_label_modes_and_class_names(tmp_path):
    root = write_tree(tmp_path / "data")
    kw = {"image_size": (4, 4), "verbose": False}
    cat = image_dataset_from_directory(root, label_mode="categorical", shuffle=False, **kw)
    onehot = next(iter(cat))[1].numpy()
    assert onehot.dtype == np.float32 and onehot.shape == (9, 3)
    assert onehot.argmax(1).tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]
    order = ["zebras", "cats", "dogs"]
    ds = image_dataset_from_directory(root, class_names=order, shuffle=False, **kw)
    assert ds.class_names == order
    assert next(iter(ds))[1].numpy().tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2]
    nolab = image_dataset_from_directory(root, labels=None, shuffle=False, **kw)
    assert next(iter(nolab)).shape == (9, 4, 4, 3)
    with pytest.raises(ValueError, match="class_names"):
        image_dataset_from_directory(root, class_names=["a", "b", "c"], **kw)
    with pytest.raises(ValueError, match="exactly 2"):
        image_dataset_from_directory(root, label_mode="binary", **kw)
    with pytest.raises(ValueError, match="label_mode"):
        image_dataset_from_directory(root, label_mode="sparse", **kw)


def test_directory_shuffle_and_validation_split(tmp_path):
    root = write_tree(tmp_path / "data", per_class=(10, 10, 10))
    kw = {"image_size": (4, 4), "verbose": False, "batch_size": None}
    with pytest.raises(ValueError, match="seed"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training", **kw)
    train, val = image_dataset_from_directory(root, validation_split=0.2, subset="both",
                                              seed=5, **kw)
    assert train.cardinality() == 24 and val.cardinality() == 6
    assert not set(train.file_paths) & set(val.file_paths)
    only_val = image_dataset_from_directory(root, validation_split=0.2, subset="validation",
                                            seed=5, **kw)
    assert only_val.file_paths == val.file_paths
    # labels follow their files through the shuffle
    same_size = image_dataset_from_directory(root, validation_split=0.2, subset="validation",
                                             seed=5, image_size=(12, 10), verbose=False,
                                             batch_size=None)
    for image, label in same_size:
        assert abs(float(image.numpy().mean()) - 100 * int(label) - 10) < 10
    epoch1 = [int(lab) for _, lab in train]
    epoch2 = [int(lab) for _, lab in train]
    assert sorted(epoch1) == sorted(epoch2)


def test_corrupt_image_raises_or_skips_with_one_warning(tmp_path):
    root = write_tree(tmp_path / "data")
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    good = tmp_path / "good.png"
    noise = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    Image.fromarray(noise).save(good)
    (root / "cats" / "truncated.png").write_bytes(good.read_bytes()[:400])
    kw = {"image_size": (4, 4), "verbose": False, "shuffle": False}
    with pytest.raises(ImageDecodeError, match="broken.png|truncated.png"):
        image_dataset_from_directory(root, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = image_dataset_from_directory(root, on_error="skip", **kw)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "skipped 2 of 11" in messages[0]
    assert "broken.png" in messages[0] and "truncated.png" in messages[0]
    assert ds.cardinality() == 1 and next(iter(ds))[0].shape == (9, 4, 4, 3)
