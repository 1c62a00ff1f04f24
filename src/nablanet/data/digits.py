"""scikit-learn's bundled 8×8 handwritten digits, the real image data of the §9 examples.

The images ship inside scikit-learn (the optional ``examples`` extra), so nothing is
downloaded.
"""

from __future__ import annotations

import numpy as np


def load_digit_images(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The digits as ``(N, 8, 8, 1)`` float32 images in [0, 1] and int64 labels 0–9.

    Raises ImportError with the install command when scikit-learn is missing.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("the digits data set needs scikit-learn: "
                          "pip install '.[examples]' (from the nablanet folder)") from error
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int64)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def split_digits(limit: int | None, seed: int) -> tuple[np.ndarray, ...]:
    """A shuffled 80/20 split ``(x_train, y_train, x_test, y_test)`` of the digits."""
    images, labels = load_digit_images(limit)
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    cut = max(1, int(0.8 * len(images)))
    return images[:cut], labels[:cut], images[cut:], labels[cut:]
