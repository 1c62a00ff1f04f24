"""Shared data for the model tests: a small, separable 3-class problem."""

import numpy as np
import pytest


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    y = rng.integers(0, 3, size=300)
    x = (centers[y] + rng.normal(scale=0.5, size=(300, 4))).astype(np.float32)
    return x, y
