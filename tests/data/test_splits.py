"""TFDS split strings against hand-computed indices."""

import pytest

from nablanet.data import ReadSlice, parse_split, resolve_split

SIZES = {"train": 2520, "test": 372}


def spans(spec, sizes=SIZES):
    return [(s.split, s.start, s.stop) for s in resolve_split(spec, sizes)]


def test_plain_and_percent():
    assert spans("train") == [("train", 0, 2520)]
    assert spans("test") == [("test", 0, 372)]
    # the chapter's split: 70% of 2520 = 1764
    assert spans("train[:70%]") == [("train", 0, 1764)]
    assert spans("train[70%:]") == [("train", 1764, 2520)]
    # 'closest' rounding: 33% of 372 = 122.76 -> 123; 10% of 372 = 37.2 -> 37
    assert spans("test[:33%]") == [("test", 0, 123)]
    assert spans("test[10%:33%]") == [("test", 37, 123)]
    # Python round: 12.5 -> 12 (half to even), 37.5 -> 38
    assert spans("x[:50%]", {"x": 25}) == [("x", 0, 12)]
    assert spans("x[:50%]", {"x": 75}) == [("x", 0, 38)]
    assert spans("x[-25%:]", {"x": 10}) == [("x", 8, 10)]  # round(-2.5) = -2
    assert spans("train[:33.5%]") == [("train", 0, 844)]  # fractions allowed
    assert spans("train[:100%]") == [("train", 0, 2520)]


def test_absolute_and_negative():
    assert spans("train[:100]") == [("train", 0, 100)]
    assert spans("train[-10:]") == [("train", 2510, 2520)]
    assert spans("train[100:200]") == [("train", 100, 200)]
    assert spans("test[:-2]") == [("test", 0, 370)]
    assert spans("test[5:3]") == [("test", 5, 5)]
    assert resolve_split("test[5:3]", SIZES)[0].num_examples == 0


def test_unions_and_all():
    assert spans("train[:10%]+test") == [("train", 0, 252), ("test", 0, 372)]
    assert spans("train[:1] + test[-1:]") == [("train", 0, 1), ("test", 371, 372)]
    assert spans("all") == [("train", 0, 2520), ("test", 0, 372)]
    assert resolve_split("test", SIZES) == [ReadSlice("test", 0, 372)]


@pytest.mark.parametrize("bad", ["", "train[", "train[]", "train[:]", "train[1:2:3]",
                                 "train[a:b]", "train[:10%:]", "train[:1.5]", "train[:150%]",
                                 "tr ain", "train[:10%]++test", "train[:10%:20]",
                                 "all[:10]", "train[5]"])
def test_bad_strings_echo(bad):
    with pytest.raises(ValueError) as info:
        resolve_split(bad, SIZES)
    assert repr(bad) in str(info.value)


def test_unknown_split_and_out_of_range():
    with pytest.raises(ValueError, match="Unknown split 'validation'"):
        resolve_split("validation", SIZES)
    with pytest.raises(ValueError, match="incompatible with its 372 examples"):
        resolve_split("test[:400]", SIZES)
    with pytest.raises(ValueError, match="incompatible"):
        resolve_split("test[-373:]", SIZES)
    with pytest.raises(TypeError):
        parse_split(3)
