"""Initialisers: empirical moments against the Keras formulas (incl. conv-kernel fans)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nablanet as nb
from nablanet import initializers

# (name, scale, mode) of the variance-scaling presets.
PRESETS = {
    "glorot_uniform": (1.0, "fan_avg"), "glorot_normal": (1.0, "fan_avg"),
    "lecun_uniform": (1.0, "fan_in"), "lecun_normal": (1.0, "fan_in"),
    "he_uniform": (2.0, "fan_in"), "he_normal": (2.0, "fan_in"),
}


def _target_variance(shape, scale, mode):
    fan_in, fan_out = initializers.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return scale / n


def test_fans_for_dense_and_conv_kernels() -> None:
    assert initializers.compute_fans((7, 5)) == (7.0, 5.0)
    assert initializers.compute_fans((3, 3, 16, 32)) == (144.0, 288.0)  # receptive × channels
    assert initializers.compute_fans((5, 4, 8)) == (20.0, 40.0)  # Conv1D kernel
    assert initializers.compute_fans((6,)) == (6.0, 6.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("shape", [(300, 200), (3, 3, 40, 60)])
def test_variance_scaling_presets(name, shape) -> None:
    scale, mode = PRESETS[name]
    values = initializers.get(name)(shape).astype(np.float64)
    var = _target_variance(shape, scale, mode)
    assert abs(values.mean()) < 4 * math.sqrt(var / values.size) + 1e-4
    np.testing.assert_allclose(values.var(), var, rtol=0.03)
    if name.endswith("uniform"):
        assert np.abs(values).max() <= math.sqrt(3 * var) + 1e-7
    else:  # Keras's truncated normal: sigma = sqrt(var)/0.8796, cut at 2 sigma
        sigma = math.sqrt(var) / 0.87962566103423978
        assert np.abs(values).max() <= 2 * sigma + 1e-6
        assert np.abs(values).max() > 1.9 * sigma


def test_random_normal_uniform_truncated_constant() -> None:
    shape = (400, 300)
    normal = initializers.RandomNormal(mean=1.0, stddev=0.2, seed=1)(shape)
    np.testing.assert_allclose([normal.mean(), normal.std()], [1.0, 0.2], rtol=0.02)
    uniform = initializers.RandomUniform(-0.3, 0.1, seed=1)(shape)
    np.testing.assert_allclose([uniform.mean(), uniform.var()], [-0.1, 0.4 ** 2 / 12], rtol=0.03)
    trunc = initializers.TruncatedNormal(stddev=0.5, seed=1)(shape)
    assert np.abs(trunc).max() <= 1.0
    np.testing.assert_allclose(trunc.std(), 0.5 * 0.87962566103423978, rtol=0.02)
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 2)), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(initializers.get("zeros")((3,)), np.zeros(3))
    np.testing.assert_array_equal(initializers.get("ones")((3,)), np.ones(3))
    assert initializers.get("zeros")((2,)).dtype == np.float32


def test_variance_scaling_modes_and_distributions() -> None:
    shape = (3, 3, 30, 50)
    for mode in ("fan_in", "fan_out", "fan_avg"):
        for dist in ("truncated_normal", "untruncated_normal", "uniform"):
            init = initializers.VarianceScaling(scale=3.0, mode=mode, distribution=dist, seed=0)
            np.testing.assert_allclose(init(shape).var(), _target_variance(shape, 3.0, mode),
                                       rtol=0.05)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sum")


def test_orthogonal() -> None:
    w = initializers.Orthogonal(gain=2.0, seed=0)((6, 4))
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(4), atol=1e-5)
    w = initializers.Orthogonal(seed=0)((3, 7))
    np.testing.assert_allclose(w @ w.T, np.eye(3), atol=1e-5)
    w = initializers.get("orthogonal")((2, 3, 5))
    flat = w.reshape(6, 5)
    np.testing.assert_allclose(flat.T @ flat, np.eye(5), atol=1e-5)


def test_seeds_and_global_generator() -> None:
    a = initializers.HeNormal(seed=3)((4, 4))
    np.testing.assert_array_equal(a, initializers.HeNormal(seed=3)((4, 4)))
    nb.set_random_seed(5)
    b = initializers.GlorotUniform()((4, 4))
    nb.set_random_seed(5)
    np.testing.assert_array_equal(b, initializers.GlorotUniform()((4, 4)))
    assert not np.array_equal(b, initializers.GlorotUniform()((4, 4)))


def test_get_serialize_and_errors() -> None:
    init = initializers.get("he_uniform")
    assert isinstance(init, initializers.HeUniform)
    config = initializers.serialize(initializers.VarianceScaling(2.0, "fan_out", seed=4))
    again = initializers.get(config)
    assert isinstance(again, initializers.VarianceScaling)
    assert again.get_config() == {"scale": 2.0, "mode": "fan_out",
                                  "distribution": "truncated_normal", "seed": 4,
                                  "input_axes": None, "output_axes": None}
    assert initializers.get(initializers.Zeros) is not None
    with pytest.raises(ValueError, match="Unknown initializer: 'he_norml'.*'he_normal'"):
        initializers.get("he_norml")
    with pytest.raises(ValueError, match="Unknown initializer class"):
        initializers.get({"class_name": "os.system", "config": {}})


@pytest.mark.parametrize("name, cls", [
    ("glorot_uniform", "GlorotUniform"), ("GlorotUniform", "GlorotUniform"),
    ("he_normal", "HeNormal"), ("random_normal", "RandomNormal"), ("zeros", "Zeros"),
    ("Zeros", "Zeros"), ("ones", "Ones"), ("orthogonal", "Orthogonal"),
    ("OrthogonalInitializer", "Orthogonal"), ("IdentityInitializer", "Identity"),
    ("variance_scaling", "VarianceScaling"), ("truncated_normal", "TruncatedNormal"),
    ("normal", "RandomNormal"), ("uniform", "RandomUniform"), ("one", "Ones"), ("zero", "Zeros"),
])
def test_keras_names_and_aliases(name: str, cls: str) -> None:
    assert type(initializers.get(name)).__name__ == cls


def test_constant_array_value_and_direct_values() -> None:
    value = np.arange(6.0).reshape(2, 3)
    init = initializers.Constant(value)
    np.testing.assert_array_equal(init((2, 3)), value)
    np.testing.assert_array_equal(init((4, 2, 3))[3], value)  # broadcast as Keras
    assert initializers.Constant.from_config(init.get_config()).get_config() == init.get_config()
    with pytest.raises(ValueError, match="cannot be broadcast"):
        init((3, 2))
    direct = initializers.get(value.astype(np.float32))
    np.testing.assert_array_equal(direct((2, 3)), value)
    with pytest.raises(ValueError, match="Expected `shape` to be"):
        direct((3, 2))
