"""TTDense, CPConv2D, TuckerConv2D, compress_layer and ``nablanet run compress`` (tiny)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nablanet as nb
from nablanet import cli, layers, models
from nablanet.layers.decomposed import (
    balanced_factors,
    compress_layer,
    cp_conv2d,
    tt_matmul,
    tucker_conv2d,
)
from nablanet.ops.conv import conv2d
from nablanet.tensor_algebra import TTMatrix, tensor_train_matrix
from nablanet.testing import check_layer, gradcheck

RNG = np.random.default_rng(0)


# --- the layer contract -----------------------------------------------------------------------
def test_tt_dense_contract_and_equivalence_with_dense() -> None:
    layer = check_layer(layers.TTDense, {"units": 12, "tt_rank": 3, "input_factors": [3, 4, 5],
                                         "output_factors": [2, 3, 2], "activation": "relu"},
                        (4, 60), (4, 12), expected_num_weights=4)
    assert layer.tt_ranks == (1, 3, 3, 1)
    x = RNG.standard_normal((4, 60)).astype(np.float32)
    expected = np.maximum(x @ layer.dense_kernel() + layer.bias.data, 0)
    np.testing.assert_allclose(layer(x).data, expected, atol=1e-5)
    # Glorot's variance for the kernel entries, on average over draws
    big = layers.TTDense(64, tt_rank=4, input_factors=(8, 8, 8), output_factors=(4, 4, 4))
    big.build((None, 512))
    assert np.var(big.dense_kernel()) == pytest.approx(2 / (512 + 64), rel=0.5)


def test_tt_dense_default_factors_and_bad_arguments() -> None:
    layer = layers.TTDense(128, tt_rank=2)
    layer.build((None, 63504))
    assert [tuple(c.shape[1:3]) for c in layer.cores] == [(42, 8), (42, 4), (36, 4)]
    assert balanced_factors(12, 2) == (4, 3)
    with pytest.raises(ValueError, match=r"units=0"):
        layers.TTDense(0)
    with pytest.raises(ValueError, match=r"output_factors=\(2, 2\)"):
        layers.TTDense(8, output_factors=(2, 2))
    with pytest.raises(ValueError, match=r"input_factors=\(3, 3\)"):
        layers.TTDense(4, input_factors=(3, 3), output_factors=(2, 2)).build((None, 10))


@pytest.mark.parametrize("strides,padding", [((1, 1), "valid"), ((2, 2), "same"),
                                             ((2, 1), "valid")])
def test_cp_conv2d_contract_and_equivalence_with_conv2d(strides, padding) -> None:  # noqa: ANN001
    kwargs = {"filters": 6, "kernel_size": [3, 3], "rank": 4, "strides": list(strides),
              "padding": padding}
    x = RNG.standard_normal((2, 9, 8, 5)).astype(np.float32)
    layer = layers.CPConv2D(**kwargs)
    out = layer(x).data
    reference = conv2d(x, layer.dense_kernel().astype(np.float32), layer.bias.data,
                       strides=strides, padding=padding).data
    np.testing.assert_allclose(out, reference, atol=1e-5)
    check_layer(layers.CPConv2D, kwargs, (2, 9, 8, 5), reference.shape, expected_num_weights=5)


@pytest.mark.parametrize("strides,padding", [((1, 1), "valid"), ((2, 2), "same")])
def test_tucker_conv2d_contract_and_equivalence_with_conv2d(strides, padding) -> None:  # noqa: ANN001
    kwargs = {"filters": 6, "kernel_size": [3, 2], "ranks": [2, 3], "strides": list(strides),
              "padding": padding, "activation": "relu"}
    x = RNG.standard_normal((2, 9, 8, 5)).astype(np.float32)
    layer = layers.TuckerConv2D(**kwargs)
    out = layer(x).data
    reference = conv2d(x, layer.dense_kernel().astype(np.float32), layer.bias.data,
                       strides=strides, padding=padding, activation="relu").data
    np.testing.assert_allclose(out, reference, atol=1e-5)
    check_layer(layers.TuckerConv2D, kwargs, (2, 9, 8, 5), reference.shape,
                expected_num_weights=4)


def test_bad_conv_arguments() -> None:
    with pytest.raises(ValueError, match=r"rank=0"):
        layers.CPConv2D(4, 3, rank=0)
    with pytest.raises(ValueError, match=r"padding='full'"):
        layers.TuckerConv2D(4, 3, ranks=2, padding="full")


# --- gradients ---------------------------------------------------------------------------------
def test_tt_matmul_gradients() -> None:
    cores = [RNG.standard_normal(s) for s in [(1, 3, 2, 2), (2, 2, 3, 3), (3, 2, 2, 1)]]
    x = RNG.standard_normal((3, 12))
    assert gradcheck(tt_matmul_of, x, *cores)
    expected = x @ TTMatrix(cores).to_matrix()
    np.testing.assert_allclose(tt_matmul(x, cores).data, expected, atol=1e-12)


def tt_matmul_of(x, *cores):  # noqa: ANN001, ANN201
    return tt_matmul(x, list(cores))


def test_cp_and_tucker_conv_gradients() -> None:
    x = RNG.standard_normal((2, 6, 5, 3))
    cp_factors = [RNG.standard_normal(s) for s in [(3, 2), (3, 2), (2, 2), (2, 4)]]
    bias = RNG.standard_normal(4)
    assert gradcheck(lambda *a: cp_conv2d(*a, strides=(2, 1), padding="same"), x, *cp_factors,
                     bias)
    tucker_factors = [RNG.standard_normal(s) for s in [(3, 2), (3, 3, 2, 3), (3, 4)]]
    assert gradcheck(lambda *a: tucker_conv2d(*a, strides=(1, 2)), x, *tucker_factors, bias)


# --- saving and loading -------------------------------------------------------------------------
def test_model_with_decomposed_layers_saves_and_loads(tmp_path: Path) -> None:
    nb.set_random_seed(1)
    model = models.Sequential([
        layers.Input((8, 8, 3)),
        layers.CPConv2D(4, 3, rank=3, padding="same", activation="relu"),
        layers.TuckerConv2D(6, 3, ranks=(2, 3), strides=2),
        layers.Flatten(),
        layers.TTDense(6, tt_rank=2, input_factors=(3, 3, 6), output_factors=(1, 2, 3)),
    ])
    model.compile(optimizer="adam", loss="mse")
    x = RNG.standard_normal((4, 8, 8, 3)).astype(np.float32)
    y = RNG.standard_normal((4, 6)).astype(np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "decomposed.safetensors"
    model.save(path)
    loaded = models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        ["CPConv2D", "TuckerConv2D", "Flatten", "TTDense"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


# --- compress_layer -----------------------------------------------------------------------------
def _trained_model() -> models.Sequential:
    nb.set_random_seed(2)
    model = models.Sequential([
        layers.Input((10, 10, 3)), layers.Conv2D(8, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(16, activation="relu"),
        layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(RNG.standard_normal((8, 10, 10, 3)).astype(np.float32),
              RNG.standard_normal((8, 3)).astype(np.float32), epochs=1, verbose=0)
    return model


def test_compress_layer_at_full_rank_computes_the_same_model() -> None:
    model = _trained_model()
    x = RNG.standard_normal((4, 10, 10, 3)).astype(np.float32)
    reference = model.predict(x, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    for layer, kwargs in [(model.layers[0], {"rank": 27 * 8}),
                          (model.layers[0], {"method": "tucker", "rank": (3, 8)}),
                          (model.layers[3], {"rank": 1000})]:
        compressed = compress_layer(model, layer, **kwargs)
        np.testing.assert_allclose(compressed.predict(x, verbose=0), reference, atol=1e-4)
        compressed.compile(optimizer="adam", loss="mse")
        compressed.fit(x, reference, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):  # the original is untouched
        np.testing.assert_array_equal(a, b)


def test_compress_layer_chooses_the_rank() -> None:
    model = _trained_model()
    dense, conv = model.layers[3], model.layers[0]
    by_ratio = compress_layer(model, dense, compression=10.0).layers[3]
    assert isinstance(by_ratio, layers.TTDense)
    assert by_ratio.count_params() - 16 <= dense.kernel.data.size / 10
    kernel = dense.kernel.data.astype(np.float64)
    by_error = compress_layer(model, dense, error=0.5).layers[3]
    assert np.linalg.norm(by_error.dense_kernel() - kernel) <= 0.5 * np.linalg.norm(kernel) + 1e-6
    cp = compress_layer(model, conv, compression=2.0).layers[0]
    assert isinstance(cp, layers.CPConv2D) and cp.rank == 216 // 2 // (3 + 3 + 3 + 8)
    conv_kernel = conv.kernel.data.astype(np.float64)
    for method in ("cp", "tucker"):
        small = compress_layer(model, conv, method=method, error=0.3).layers[0]
        assert np.linalg.norm(small.dense_kernel() - conv_kernel) \
            <= 0.3 * np.linalg.norm(conv_kernel) + 1e-6


def test_compress_layer_bad_input() -> None:
    model = _trained_model()
    with pytest.raises(ValueError, match="exactly one of rank, compression or error"):
        compress_layer(model, model.layers[3], rank=2, error=0.1)
    with pytest.raises(ValueError, match="MaxPooling2D"):
        compress_layer(model, model.layers[1], rank=2)
    with pytest.raises(ValueError, match="method='cp'"):
        compress_layer(model, model.layers[3], method="cp", rank=2)
    with pytest.raises(ValueError, match="compression=0.5"):
        compress_layer(model, model.layers[3], compression=0.5)


def test_tensor_train_matrix_of_a_kernel_round_trip() -> None:
    w = RNG.standard_normal((6, 8))
    ttm = tensor_train_matrix(w.reshape(2, 3, 2, 4), 100)
    np.testing.assert_allclose(ttm.to_matrix(), w, atol=1e-12)


# --- nablanet run compress ----------------------------------------------------------------------
def test_run_compress_tiny(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("NABLANET_DATA_DIR", str(empty))
    monkeypatch.setattr(Path, "home", lambda: empty)
    out = tmp_path / "run"
    code = cli.main(["run", "compress", "--ranks", "1", "3", "--image-size", "16",
                     "--epochs", "1", "--max-train", "12", "--max-test", "6",
                     "--timing-steps", "1", "--verbose", "0", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "TT r=1" in printed and "TT r=3" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["input_factors"] == [7, 7, 16]
    dense_weights = 7 * 7 * 16 * 128
    assert results["uncompressed"]["layer_weights"] == dense_weights + 128
    assert [r["tt_ranks"] for r in results["compressed"]] == [[1, 1, 1, 1], [1, 3, 3, 1]]
    for r in results["compressed"]:
        assert 0 <= r["test_accuracy"] <= 1 and r["step_seconds"] > 0
        assert r["compression"] > 50
    assert (out / "compression.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="--ranks"):
        cli.main(["run", "compress", "--ranks", "0"])
