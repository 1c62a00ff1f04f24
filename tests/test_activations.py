"""Activations: forward values and gradients against PyTorch; names, get/serialize."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import activations

F = torch.nn.functional

CASES = {
    "relu": torch.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "abs_relu": torch.abs,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "linear": lambda x: x,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "silu": F.silu,
    "relu6": F.relu6,
    "hard_sigmoid": lambda x: F.relu6(x + 3) / 6,
    "exponential": torch.exp,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 7)) * 3).astype(np.float32)
    x[0, :3] = [30.0, -30.0, 90.0] if name != "exponential" else [3.0, -3.0, 1.0]
    g = rng.standard_normal(x.shape).astype(np.float32)
    xo, xr = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = activations.get(name)(xo), CASES[name](xr)
    (out * nb.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(xo.grad, xr.grad.numpy(), rtol=1e-4, atol=2e-6)
    assert np.all(np.isfinite(xo.grad))


def test_gelu_approximate_matches_torch_tanh() -> None:
    x = np.linspace(-5, 5, 41).astype(np.float32)
    out = activations.gelu(x, approximate=True)
    ref = F.gelu(torch.from_numpy(x), approximate="tanh")
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-5, atol=1e-6)


def test_generalized_rectifier_eq8() -> None:
    from nablanet.functional import generalized_relu

    z = np.array([-2.0, -0.5, 0.5, 2.0], np.float32)
    for alpha in (-1.0, 0.0, 0.01, 0.3):
        expected = np.maximum(0, z) + alpha * np.minimum(0, z)
        np.testing.assert_allclose(generalized_relu(z, alpha).data, expected)
    alpha = nb.tensor(np.full(4, 0.1, np.float32), requires_grad=True)
    generalized_relu(z, alpha).sum().backward()
    np.testing.assert_allclose(alpha.grad, np.minimum(0, z))


def test_relu_options_match_keras_semantics() -> None:
    x = np.array([-3.0, 0.5, 1.5, 8.0], np.float32)
    np.testing.assert_allclose(activations.relu(x, max_value=6.0).data, [0, 0.5, 1.5, 6.0])
    np.testing.assert_allclose(activations.relu(x, negative_slope=0.1, threshold=1.0).data,
                               [-0.4, -0.05, 1.5, 8.0], rtol=1e-6)


def test_get_and_serialize() -> None:
    for name in CASES:
        fn = activations.get(name)
        assert activations.get(activations.serialize(fn)) is fn or name == "silu"
    assert activations.get(None) is activations.linear
    assert activations.get("absolute") is activations.abs_relu
    custom = lambda x: x  # noqa: E731
    assert activations.get(custom) is custom
    with pytest.raises(ValueError, match="Unknown activation function: 'rellu'.*'relu'"):
        activations.get("rellu")
    with pytest.raises(ValueError, match="Cannot serialize"):
        activations.serialize(custom)


def test_functional_all_lists_public_names() -> None:
    from nablanet.functional import activations as fa
    from nablanet.functional import losses as fl
    from nablanet.functional import regularization as fr

    for module in (fa, fl, fr):
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
    assert {"relu", "leaky_relu", "elu", "gelu", "softplus", "swish"} <= set(fa.__all__)
    assert {"dropout", "l2_penalty"} <= set(fr.__all__)


def test_example_runs_tiny(tmp_path, capsys) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "activations_and_init.py"
    spec = importlib.util.spec_from_file_location("_example_activations_and_init", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths = module.main(["--out", str(tmp_path), "--depth", "4", "--width", "8", "--batch", "16"])
    assert [p.name for p in paths] == ["vanishing_gradients.png", "init_variance.png"]
    printed = capsys.readouterr().out
    for p in paths:
        assert p.stat().st_size > 1000 and str(p) in printed
