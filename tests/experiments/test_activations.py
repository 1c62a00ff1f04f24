"""``nablanet run activations`` (chapter §4) on small settings, and the claims it measures."""

from __future__ import annotations

import numpy as np
import pytest

from nablanet import cli
from nablanet.experiments import activations as act

pytestmark = pytest.mark.usefixtures("one_blas_thread")

FIGURES = ("gradient_norms.png", "dead_units.png", "learning_curves.png",
           "gradient_flow_sigmoid_fixed.png", "gradient_flow_relu_he.png")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, ...]:
    return act.make_data(n_train=256, n_val=128, seed=0)


def test_cli_run_writes_table_and_figures(tmp_path, capsys) -> None:
    args = ["run", "activations", "--depth", "4", "--units", "8", "--epochs", "2",
            "--train-samples", "128", "--activations", "sigmoid", "relu", "prelu",
            "--initializers", "he", "fixed", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("activation "))
    rows = [line.split() for line in lines[start + 1:start + 7]]
    assert [(r[0], r[1]) for r in rows] == [(a, i) for a in ("sigmoid", "relu", "prelu")
                                            for i in ("he", "fixed")]
    for name in FIGURES:
        path = tmp_path / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(path) in text
    assert "The chapter's claims, measured:" in text


def test_deep_sigmoid_gradient_vanishes_and_he_relu_keeps_it(data) -> None:
    sigmoid = act.train_run("sigmoid", "glorot", data, epochs=1, depth=10, units=32)
    relu_he = act.train_run("relu", "he", data, epochs=1, depth=10, units=32)
    # the first layer gets a tiny fraction of the output layer's gradient (§4.2) ...
    assert sigmoid.ratio_start < 1e-3
    # ... while He + ReLU keeps every layer's gradient within an order of magnitude (§4.3)
    assert 0.1 < relu_he.ratio_start < 10
    norms = np.asarray(relu_he.grad_start)
    assert norms.max() / norms.min() < 10


def test_fixed_variance_explodes_the_forward_pass(data) -> None:
    run = act.train_run("relu", "fixed", data, epochs=1, depth=10, units=32)
    scaled = act.train_run("relu", "he", data, epochs=1, depth=10, units=32)
    assert run.activation_std > 1e4 * scaled.activation_std
    majority = float(max(data[3].mean(), 1 - data[3].mean()))
    assert not act.trained(run, majority)


def test_dead_units_are_counted_for_rectifiers_only(data) -> None:
    relu = act.train_run("relu", "glorot", data, epochs=1, depth=3, units=8)
    tanh = act.train_run("tanh", "glorot", data, epochs=1, depth=3, units=8)
    assert set(relu.dead) == {"hidden_1", "hidden_2", "hidden_3"}
    assert 0.0 <= relu.dead_end <= 1.0
    assert tanh.dead == {} and np.isnan(tanh.dead_end) and 0 <= tanh.saturated_end <= 1


def test_check_claims_reports_disagreement() -> None:
    """A measurement against the chapter is printed as DISAGREES, not hidden."""
    def run(activation: str, init: str, start: list[float], dead: float) -> act.Run:
        return act.Run(activation, init, [0.9], start, start, [], {}, [], float("nan"), dead,
                       1.0, False, 1.0)

    lines = act.check_claims([run("sigmoid", "glorot", [1.0, 1.0], float("nan")),
                              run("relu", "he", [1.0, 1.0], 0.0),
                              run("leaky_relu", "he", [1.0, 1.0], 0.5)], majority=0.5)
    assert any(line.startswith("[DISAGREES] §4.2") for line in lines)
    assert any(line.startswith("[agrees] §4.3 He") for line in lines)
    assert any(line.startswith("[DISAGREES] §4.1") for line in lines)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="activation"):
        act.build_model("softplus", "he")
    with pytest.raises(ValueError, match="unknown name"):
        act.initializer("orthogonal")
    with pytest.raises(SystemExit):
        cli.main(["run", "activations", "--depth", "0"])
