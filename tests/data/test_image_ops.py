"""resize / cast against PyTorch (half-pixel bilinear == align_corners=False)."""

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet.data import cast, resize


def torch_resize(x, size, mode="bilinear", antialias=False):
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)
    kw = {"align_corners": False, "antialias": antialias} if mode == "bilinear" else {}
    return torch.nn.functional.interpolate(t, size=size, mode=mode, **kw).permute(
        0, 2, 3, 1).numpy()


SHAPES = [((300, 300), (128, 128)), ((7, 5), (13, 11)), ((10, 10), (3, 4)), ((5, 9), (5, 20)),
          ((1, 4), (3, 2)), ((6, 6), (6, 6))]


@pytest.mark.parametrize("src,dst", SHAPES)
def test_bilinear_matches_torch(src, dst):
    x = np.random.default_rng(0).random((2, *src, 3), dtype=np.float32) * 255
    out = resize(x, dst)
    assert isinstance(out, nb.Tensor) and out.dtype == np.float32 and out.shape == (2, *dst, 3)
    np.testing.assert_allclose(out.numpy(), torch_resize(x, dst), rtol=0, atol=2e-4)


@pytest.mark.parametrize("src,dst", SHAPES)
def test_nearest_and_antialias_match_torch(src, dst):
    x = np.random.default_rng(1).random((1, *src, 2), dtype=np.float32)
    np.testing.assert_array_equal(resize(x, dst, method="nearest").numpy(),
                                  torch_resize(x, dst, mode="nearest-exact"))
    np.testing.assert_allclose(resize(x, dst, antialias=True).numpy(),
                               torch_resize(x, dst, antialias=True), atol=2e-6)


def test_single_image_uint8_and_tensor_input():
    img = np.random.default_rng(2).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    out = resize(nb.tensor(img), [12, 8])
    assert out.shape == (12, 8, 3) and out.dtype == np.float32
    ref = torch_resize(img[None].astype(np.float32), (12, 8))[0]
    np.testing.assert_allclose(out.numpy(), ref, atol=2e-4)
    assert resize(img, (5, 5), method="nearest").dtype == np.uint8
    assert resize(img, (10, 10), preserve_aspect_ratio=True).shape == (10, 7, 3)


def test_resize_errors():
    with pytest.raises(ValueError, match="method"):
        resize(np.zeros((4, 4, 1)), (2, 2), method="bicubic")
    with pytest.raises(ValueError, match="3-D"):
        resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="size"):
        resize(np.zeros((4, 4, 1)), (2, 0))


def test_cast():
    x = np.array([0, 128, 255], np.uint8)
    y = cast(x, np.float32) / 255.0
    assert isinstance(y, nb.Tensor) and y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [0, 128 / 255, 1], rtol=1e-6)
    assert cast(nb.tensor([1.7, -1.7]), "int32").numpy().tolist() == [1, -1]
    t = nb.tensor([1.0, 2.0], requires_grad=True)
    cast(t, np.float64).sum().backward()
    assert t.grad.tolist() == [1.0, 1.0]
