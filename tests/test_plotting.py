"""The figures are written as real PNG files with the expected content."""

import numpy as np
import pytest
from PIL import Image

from nablanet import plotting


def _is_png(path):
    with Image.open(path) as image:
        return image.format == "PNG" and image.size[0] > 100


def test_learning_curves_from_history_dict(tmp_path):
    history = {"loss": [1.0, 0.5, 0.2], "accuracy": [0.5, 0.8, 0.9],
               "val_loss": [1.1, 0.7, 0.4], "val_accuracy": [0.4, 0.7, 0.85]}
    path = plotting.plot_learning_curves(history, tmp_path / "curves.png")
    assert _is_png(path)


def test_learning_curves_reject_empty_history(tmp_path):
    with pytest.raises(ValueError, match="no metrics"):
        plotting.plot_learning_curves({}, tmp_path / "x.png")


def test_confusion_matrix_counts_and_label_checks():
    matrix = plotting.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert matrix.sum() == 6
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        plotting.confusion_matrix([0, 3], [0, 1], 3)


def test_prediction_grid_and_confusion_plot(tmp_path):
    images = np.random.default_rng(0).random((6, 16, 16, 3)).astype(np.float32)
    true, pred = np.array([0, 1, 2, 0, 1, 2]), np.array([0, 1, 1, 0, 2, 2])
    wrong = np.where(true != pred)[0]
    grid = plotting.plot_predictions(images, true, pred, wrong, "Incorrect Predictions",
                                     tmp_path / "wrong.png", ["rock", "paper", "scissors"])
    assert _is_png(grid)
    empty = plotting.plot_predictions(images, true, pred, [], "none", tmp_path / "none.png")
    assert _is_png(empty)
    cm = plotting.plot_confusion_matrix(plotting.confusion_matrix(true, pred, 3),
                                        tmp_path / "cm.png", ["rock", "paper", "scissors"])
    assert _is_png(cm)


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "curves.png"
    plotting.plot_series({"a": [3, 2, 1]}, target, "first")
    before = target.read_bytes()
    import matplotlib.figure

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(OSError):
        plotting.plot_series({"a": [1, 2, 3]}, target, "second")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


@pytest.fixture
def kept_figures(monkeypatch):
    """The figures the plotting functions draw, drawn on their canvas before being saved."""
    figures = []
    save = plotting.save_figure

    def keep(fig, path, dpi=100):
        fig.canvas.draw()
        figures.append(fig)
        renderer = fig.canvas.get_renderer()
        fig._kept_title_boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes
                                 if ax.get_title()]
        return save(fig, path, dpi)

    monkeypatch.setattr(plotting, "save_figure", keep)
    return figures


def test_series_at_given_x_values(tmp_path, kept_figures):
    plotting.plot_series({"regions": [45.0, 44.0, 44.0, 39.0, 36.0]}, tmp_path / "r.png",
                         "random networks", xlabel="layers", ylabel="regions", x=[1, 2, 3, 4, 6])
    ax = kept_figures[0].axes[0]
    assert ax.lines[0].get_xdata().tolist() == [1, 2, 3, 4, 6]
    assert ax.get_xticks().tolist() == [1, 2, 3, 4, 6]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("layers", "regions")
    with pytest.raises(ValueError, match="3 x values for the 2 values of 'a'"):
        plotting.plot_series({"a": [1, 2]}, tmp_path / "x.png", "t", x=[1, 2, 3])


def test_learning_curves_have_axis_labels(tmp_path, kept_figures):
    plotting.plot_learning_curves({"loss": [1.0, 0.5], "accuracy": [0.5, 0.8],
                                   "val_loss": [1.1, 0.7], "val_accuracy": [0.4, 0.7]},
                                  tmp_path / "c.png")
    labels = [(ax.get_xlabel(), ax.get_ylabel()) for ax in kept_figures[0].axes]
    assert labels == [("epoch", "loss"), ("epoch", "accuracy")]


def test_prediction_captions_do_not_run_together(tmp_path, kept_figures):
    images = np.random.default_rng(0).random((25, 32, 32, 3))
    true = [i % 3 for i in range(25)]
    predicted = [(i + 1) % 3 for i in range(25)]
    plotting.plot_predictions(images, true, predicted, range(25), "Incorrect", tmp_path / "p.png",
                              class_names=["scissors", "scissors", "scissors"])
    fig = kept_figures[0]
    assert fig.axes[0].get_title() == "true: scissors\npredicted: scissors"
    boxes = fig._kept_title_boxes
    assert len(boxes) == 25
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
