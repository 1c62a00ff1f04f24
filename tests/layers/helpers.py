"""Shared checks for layers (used by the tests of every layer module).

``check_layer(layer_cls, kwargs, input_shape, expected_output_shape, expected_num_weights)``:

* an eager call on random data of ``input_shape`` gives ``expected_output_shape``;
* ``compute_output_shape`` on ``input_shape`` with an unknown (None) batch axis gives
  ``expected_output_shape`` with None for the batch axis;
* the layer has ``expected_num_weights`` weights;
* ``get_config`` → ``from_config`` gives a layer with the same config which, given the same
  weights through ``set_weights``, produces the same output (inference mode).

``input_shape`` may be a list of shapes for multi-input layers; ``expected_output_shape``
then is the single output's shape. Returns the built layer for further checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import nablanet as nb


def _random_inputs(shape: Any, rng: np.random.Generator) -> Any:
    if isinstance(shape, list):
        return [_random_inputs(s, rng) for s in shape]
    return rng.standard_normal(tuple(shape)).astype(np.float32)


def _with_none_batch(shape: Any) -> Any:
    if isinstance(shape, list):
        return [_with_none_batch(s) for s in shape]
    return (None, *tuple(shape)[1:])


def _outputs(x: Any) -> list[np.ndarray]:
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _outputs(item)]
    return [np.asarray(x.data if isinstance(x, nb.Tensor) else x)]


def check_layer(layer_cls: type, kwargs: dict[str, Any], input_shape: Any,
                expected_output_shape: tuple[int | None, ...], expected_num_weights: int,
                *, seed: int = 0, atol: float = 1e-6) -> Any:
    """Run the generic layer checks (see the module docstring); return the built layer."""
    rng = np.random.default_rng(seed)
    nb.set_random_seed(seed)
    layer = layer_cls(**kwargs)
    inputs = _random_inputs(input_shape, rng)
    out = layer(inputs)
    shapes = [o.shape for o in _outputs(out)]
    assert shapes[0] == tuple(expected_output_shape), (
        f"{layer_cls.__name__}: eager output shape {shapes[0]}, expected "
        f"{tuple(expected_output_shape)}")

    fresh = layer_cls(**kwargs)
    symbolic = fresh.compute_output_shape(_with_none_batch(input_shape))
    if isinstance(symbolic, list):
        symbolic = symbolic[0]
    expected_symbolic = (None, *tuple(expected_output_shape)[1:])
    assert tuple(symbolic) == expected_symbolic, (
        f"{layer_cls.__name__}: compute_output_shape gave {tuple(symbolic)}, expected "
        f"{expected_symbolic}")

    assert len(layer.weights) == expected_num_weights, (
        f"{layer_cls.__name__}: {len(layer.weights)} weights, expected {expected_num_weights}")
    assert len(layer.get_weights()) == expected_num_weights
    assert layer.count_params() == sum(w.size for w in layer.get_weights())

    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config, (
        f"{layer_cls.__name__}: config changed in the round trip:\n{config}\n"
        f"{clone.get_config()}")
    reference = _outputs(layer(inputs, training=False))
    clone(inputs, training=False)  # build
    clone.set_weights(layer.get_weights())
    for a, b in zip(reference, _outputs(clone(inputs, training=False))):
        np.testing.assert_allclose(b, a, atol=atol, rtol=1e-6,
                                   err_msg=f"{layer_cls.__name__}: clone output differs")
    return layer
