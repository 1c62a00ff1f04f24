"""load('rock_paper_scissors') on a tiny fake data set in the published layout, and
load('rock_paper_scissors_generated')."""

import zipfile

import numpy as np
import pytest
from PIL import Image

import nablanet as nb
from nablanet.data import Dataset, load
from nablanet.data.generated import cache_path, generate_split

CLASSES = ("rock", "paper", "scissors")
PER_CLASS = {"rps": 5, "rps-test-set": 2}


def write_fake_rps(root, size=24):
    """rps/<class>/*.png and rps-test-set/<class>/*.png; pixel value encodes class and index."""
    for folder, n in PER_CLASS.items():
        for label, cls in enumerate(CLASSES):
            (root / folder / cls).mkdir(parents=True)
            for i in range(n):
                pixels = np.zeros((size, size, 4), np.uint8)
                pixels[..., 0] = label * 50
                pixels[..., 1] = i
                pixels[..., 2] = 3 if folder == "rps" else 4
                pixels[..., 3] = 255 if i % 2 else 128  # RGBA, like the published PNGs
                Image.fromarray(pixels, "RGBA").save(root / folder / cls / f"{cls}{i:02d}.png")
    return root


def zip_fake_rps(src, dst):
    dst.mkdir()
    for folder in PER_CLASS:
        with zipfile.ZipFile(dst / f"{folder}.zip", "w") as zf:
            for path in sorted((src / folder).rglob("*.png")):
                zf.write(path, path.relative_to(src).as_posix())
    return dst


def collect(ds):
    images, labels = [], []
    for image, label in ds:
        images.append(image.numpy())
        labels.append(int(label))
    return np.stack(images), np.array(labels)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    folder = write_fake_rps(tmp_path_factory.mktemp("folder"))
    archive = zip_fake_rps(folder, tmp_path_factory.mktemp("zip") / "d")
    return folder, archive


def test_folder_and_zip_forms_agree(fake):
    folder, archive = fake
    results = []
    for root in fake:
        train, val, test = load("rock_paper_scissors", split=["train[:70%]", "train[70%:]", "test"],
                                as_supervised=True, data_dir=root)
        assert (len(train), len(val), len(test)) == (10, 5, 6)  # round(0.7 * 15) = 10 (10.5 -> 10)
        results.append([collect(d) for d in (train, val, test)])
    for (a_img, a_lab), (b_img, b_lab) in zip(*results):
        np.testing.assert_array_equal(a_img, b_img)
        np.testing.assert_array_equal(a_lab, b_lab)
    (ti, tl), (vi, vl), (si, sl) = results[0]
    assert ti.shape == (10, 24, 24, 3) and ti.dtype == np.uint8  # alpha dropped
    # the label matches the class folder the image came from (red = 50 * label)
    for imgs, labs in ((ti, tl), (vi, vl), (si, sl)):
        np.testing.assert_array_equal(imgs[:, 0, 0, 0], labs * 50)
    assert set(ti[:, 0, 0, 2]) == {3} and set(si[:, 0, 0, 2]) == {4}
    # train[:70%] + train[70%:] is the whole split, without overlap
    whole = {(int(r), int(g)) for r, g in np.concatenate([ti, vi])[:, 0, 0, :2]}
    assert len(whole) == 15
    assert sorted(np.bincount(sl).tolist()) == [2, 2, 2]


def test_dict_elements_info_and_batch(fake):
    folder, _ = fake
    ds, info = load("rock_paper_scissors", split="test", data_dir=folder, with_info=True)
    element = next(iter(ds))
    assert set(element) == {"image", "label"} and isinstance(element["image"], nb.Tensor)
    assert element["label"].dtype == np.int64
    assert info.features["label"].names == CLASSES and info.features["label"].num_classes == 3
    assert info.splits["train"].num_examples == 15 and info.splits["test"].num_examples == 6
    everything = load("rock_paper_scissors", data_dir=folder)
    assert set(everything) == {"train", "test"} and isinstance(everything["train"], Dataset)
    images, labels = load("rock_paper_scissors", split="train[:4]+test[-2:]", as_supervised=True,
                          data_dir=folder, batch_size=-1)
    assert images.shape == (6, 24, 24, 3) and labels.shape == (6,)
    batched = load("rock_paper_scissors", split="test", data_dir=folder, batch_size=4)
    assert [b["image"].shape[0] for b in batched] == [4, 2]


def test_shuffle_files_same_examples_new_order(fake):
    folder, _ = fake
    plain = collect(load("rock_paper_scissors", split="train", as_supervised=True,
                         data_dir=folder))[0][:, 0, 0, :2].tolist()
    nb.set_random_seed(42)
    ds = load("rock_paper_scissors", split="train", as_supervised=True, data_dir=folder,
              shuffle_files=True)
    first = collect(ds)[0][:, 0, 0, :2].tolist()
    second = collect(ds)[0][:, 0, 0, :2].tolist()
    nb.set_random_seed(42)
    again = collect(load("rock_paper_scissors", split="train", as_supervised=True,
                         data_dir=folder, shuffle_files=True))[0][:, 0, 0, :2].tolist()
    assert sorted(first) == sorted(plain) and first != plain and first != second
    assert again == first


def test_missing_data_message(tmp_path, monkeypatch):
    monkeypatch.setenv("NABLANET_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError) as info:
        load("rock_paper_scissors", split="train", download=False)
    message = str(info.value)
    for text in ("rps.zip", "rps-test-set.zip", "Laurence Moroney", str(tmp_path / "env"),
                 "rock_paper_scissors_generated", ".nablanet", "download=True"):
        assert text in message
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing")):
        load("rock_paper_scissors", split="test", data_dir=tmp_path / "nothing", download=False)
    with pytest.raises(ValueError, match="unknown data set"):
        load("mnist")


def test_offline_gives_one_clear_line(tmp_path, monkeypatch):
    from nablanet.data.download import DownloadError

    monkeypatch.setenv("NABLANET_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DownloadError) as info:  # the conftest points downloads at a closed port
        load("rock_paper_scissors", split="train")
    message = str(info.value)
    assert "\n" not in message
    for text in ("could not download rps.zip (201 MB)", "cannot connect", "rps-test-set.zip",
                 str(tmp_path / "env" / "rock_paper_scissors"), "data_dir=",
                 "rock_paper_scissors_generated", "Nothing was saved"):
        assert text in message
    assert not (tmp_path / "env" / "rock_paper_scissors").exists() or not any(
        (tmp_path / "env" / "rock_paper_scissors").iterdir())


def test_corrupt_member_raises_or_skips(tmp_path):
    root = write_fake_rps(tmp_path / "d")
    (root / "rps-test-set" / "paper" / "paper99.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="paper99.png"):
        load("rock_paper_scissors", split="test", data_dir=root)
    with pytest.warns(RuntimeWarning, match="skipped 1 of 7"):
        ds = load("rock_paper_scissors", split="test", data_dir=root, on_error="skip")
    assert len(ds) == 6


def test_generated_determinism_counts_balance(tmp_path):
    a = generate_split("test", image_size=32, seed=3)
    b = generate_split("test", image_size=32, seed=3)
    c = generate_split("test", image_size=32, seed=4, num_examples=30)
    assert a["image"].shape == (372, 32, 32, 3) and a["image"].dtype == np.uint8
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["label"], b["label"])
    assert not np.array_equal(a["image"][:30], c["image"])
    assert np.bincount(a["label"]).tolist() == [124, 124, 124]
    assert len(set(a["label"][:30].tolist())) == 3  # classes interleaved
    # images differ from one another and are not blank
    assert a["image"].std() > 20 and len({im.tobytes() for im in a["image"][:20]}) == 20


def test_generated_load_cache_and_splits(tmp_path, monkeypatch, capsys):
    from nablanet.data import generated

    # small and quick: the shipped set (2,520 + 372 images at 300x300) takes ~15 s to draw
    monkeypatch.setattr(generated, "CANONICAL_SIZE", 24)
    monkeypatch.setattr(generated, "SPLIT_SIZES", {"train": 60, "test": 21})
    monkeypatch.setattr(generated, "_CHUNK", 16)  # several chunks per split
    (tmp_path / "1.0.0-160-0.npz").write_bytes(b"an old version's cache")
    train, val, test = load("rock_paper_scissors_generated",
                            split=["train[:70%]", "train[70%:]", "test"], as_supervised=True,
                            data_dir=tmp_path, image_size=20, seed=1)
    assert (len(train), len(val), len(test)) == (42, 18, 21)
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 2 and str(cache_path(1, tmp_path)) in printed[0]
    assert printed[0].endswith(" MB)")
    removed = printed[1]
    assert removed.endswith("removed the old cache " + str(tmp_path / "1.0.0-160-0.npz")
                            + " (0 MB)")
    path = cache_path(1, tmp_path)
    assert path.name == "2.0.0-24-1.npz" and path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    # one line said where the cache went and how big it is (before the old one was removed)
    image, label = next(iter(test))
    assert image.shape == (20, 20, 3) and image.dtype == np.uint8
    # resized on load from the images drawn at the canonical size
    drawn = generate_split("test", 24, 1, num_examples=21)["image"][0]
    resized = np.asarray(Image.fromarray(drawn).resize((20, 20), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(image.numpy(), resized)
    train_labels = np.concatenate([b[1].numpy() for b in train.batch(512)])
    assert np.bincount(train_labels).min() >= 10
    # a second load reads the cache (no line printed), at any size
    again = load("rock_paper_scissors_generated", split="test", data_dir=tmp_path, image_size=20,
                 seed=1, batch_size=-1)
    np.testing.assert_array_equal(again["image"].numpy()[0], image.numpy())
    assert again["label"].shape == (21,)
    full = load("rock_paper_scissors_generated", split="test[:3]", data_dir=tmp_path,
                image_size=24, seed=1, batch_size=-1)
    np.testing.assert_array_equal(full["image"].numpy()[0], drawn)
    assert capsys.readouterr().out == ""
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    # an unreadable cache is drawn again
    path.write_bytes(b"garbage")
    again = load("rock_paper_scissors_generated", split="test[:2]", data_dir=tmp_path,
                 image_size=24, seed=1, batch_size=-1)
    np.testing.assert_array_equal(again["image"].numpy()[0], drawn)


def test_generated_test_hands_differ_from_training_hands():
    """The two splits are drawn from different domains: the test split has other skin tones
    and other backgrounds than the training split ever shows."""
    from nablanet.data.generated import DOMAINS

    train, test = DOMAINS["train"], DOMAINS["test"]
    assert not set(train.skin_tones) & set(test.skin_tones)
    assert set(test.backgrounds) - set(train.backgrounds)
    assert test.finger_width[0] < train.finger_width[0] < train.finger_width[1] < \
        test.finger_width[1]
    a = generate_split("train", 32, 0, num_examples=60)["image"].astype(float)
    b = generate_split("test", 32, 0, num_examples=60)["image"].astype(float)
    # the training backgrounds (corners) are near-white; the test split's often are not
    corners = [(0, 0), (0, -1), (-1, 0), (-1, -1)]
    a_corner = np.mean([a[:, i, j].mean(axis=1) for i, j in corners])
    b_corner = np.mean([b[:, i, j].mean(axis=1) for i, j in corners])
    assert a_corner > 200 > b_corner


def test_only_requested_splits_must_exist(tmp_path):
    root = write_fake_rps(tmp_path / "d")
    import shutil

    shutil.rmtree(root / "rps-test-set")
    assert len(load("rock_paper_scissors", split="train[:3]", data_dir=root)) == 3
    with pytest.raises(FileNotFoundError, match="'test' split"):
        load("rock_paper_scissors", split=["train", "test"], data_dir=root, download=False)
