"""Exact counting of linear regions (chapter §3) and Montúfar's zig-zag construction."""

import numpy as np
import pytest

from nablanet import layers, models
from nablanet import linear_regions as lr
from nablanet.cli import main


@pytest.mark.parametrize("units, depth", [(2, 1), (3, 2), (4, 3), (10, 5)])
def test_zigzag_has_units_to_the_depth_regions(units, depth):
    assert lr.count_linear_regions(lr.zigzag_network(units, depth)) == units ** depth


def test_count_matches_dense_sampling_of_activation_patterns():
    network = lr.random_network([6, 5, 4], seed=3)
    x = np.linspace(-3, 3, 400_001)
    h, patterns = x[:, None], []
    for kernel, bias in network[:-1]:
        pre = h @ kernel + bias
        patterns.append(pre > 0)
        h = np.maximum(pre, 0)
    pattern = np.concatenate(patterns, axis=1)
    changes = np.any(pattern[1:] != pattern[:-1], axis=1).sum()
    assert lr.count_linear_regions(network, -3, 3) == changes + 1


def test_single_hidden_layer_never_exceeds_units_plus_one():
    for seed in range(20):
        network = lr.random_network([7], seed=seed)
        assert lr.count_linear_regions(network, -10, 10) <= lr.shallow_max_regions(7)


def test_zigzag_layer_folds_unit_interval_onto_itself():
    network = lr.zigzag_network(4, 1)
    x = np.linspace(0, 1, 9)  # the four pieces' ends and midpoints
    expected = [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5, 0]
    np.testing.assert_allclose(lr.evaluate(network, x), expected, atol=1e-12)


def test_counts_regions_of_a_nablanet_sequential_model():
    model = models.Sequential([layers.Input(shape=(1,)), layers.Dense(3, activation="relu"),
                               layers.Dense(3, activation="relu"), layers.Dense(1)])
    weights = [w for pair in lr.zigzag_network(3, 2) for w in pair]
    model.set_weights([w.astype(np.float32) for w in weights])
    assert lr.count_linear_regions(model) == 9


def test_bad_networks_are_refused():
    with pytest.raises(ValueError, match="one input"):
        lr.count_linear_regions([(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))])
    with pytest.raises(ValueError, match="low < high"):
        lr.count_linear_regions(lr.zigzag_network(2, 1), 1.0, 0.0)
    tanh_model = models.Sequential([layers.Input(shape=(1,)), layers.Dense(3, activation="tanh"),
                                    layers.Dense(1)])
    with pytest.raises(ValueError, match="ReLU"):
        lr.count_linear_regions(tanh_model)


def test_depth_command_prints_table_and_saves_figures(tmp_path, capsys):
    assert main(["run", "depth", "--units", "4", "--max-depth", "3", "--budget", "12",
                 "--seeds", "2", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "    3     12              64" in printed
    assert (tmp_path / "linear_regions.png").stat().st_size > 1000
    assert (tmp_path / "random_networks.png").stat().st_size > 1000
