"""What Keras's ``testing.TestCase`` checks, for the translated Keras tests in this folder.

Keras's tests call ``self.assertAllClose`` (default ``atol = rtol = 1e-6``),
``self.run_class_serialization_test(obj)`` and ``self.run_layer_test(...)``; the functions
here check the same things on nablanet objects, so a translated test reads call for call like
its Keras original:

* :func:`run_class_serialization_test`: ``get_config`` -> ``from_config`` gives the same
  config (compared as JSON) and the same public attributes; so does the module's
  ``serialize`` -> ``deserialize`` round trip when the object has one (layers through
  ``nablanet.models.saving``, optimizers, initializers, regularizers, constraints).
* :func:`run_layer_test`: the serialization test; ``supports_masking``; the numbers of
  trainable and non-trainable weights after ``build`` and after a symbolic call; the output
  shape of a symbolic (``Input``) call and of an eager call (and the values, when
  ``expected_output`` is given); ``compute_mask`` on symbolic inputs; the number of losses;
  and one ``fit`` step of a model wrapping the layer with loss ``sum(y_pred)`` and SGD.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

import nablanet as nb
from nablanet import layers
from nablanet.autograd.tensor import Tensor


def to_numpy(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [to_numpy(v) for v in x]
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def assert_all_close(actual: Any, desired: Any, atol: float = 1e-6, rtol: float = 1e-6,
                     msg: str = "") -> None:
    """Keras's ``assertAllClose`` (same default tolerances)."""
    np.testing.assert_allclose(to_numpy(actual), to_numpy(desired), atol=atol, rtol=rtol,
                               err_msg=msg)


def assert_almost_equal(actual: Any, desired: Any, decimal: int = 3) -> None:
    """Keras's ``assertAlmostEqual`` (``decimal=3`` by default)."""
    np.testing.assert_almost_equal(to_numpy(actual), to_numpy(desired), decimal=decimal)


def _json(config: Any) -> str:
    return json.dumps(config, sort_keys=True, default=lambda o: repr(o))


def _module_round_trip(instance: Any) -> Any | None:
    """``serialize`` -> JSON -> ``deserialize`` through the object's own module."""
    from nablanet import constraints, initializers, optimizers, regularizers
    from nablanet.layers.base import Layer
    from nablanet.models import saving

    if isinstance(instance, Layer):
        data = saving.serialize_layer(instance)
        return saving.deserialize_layer(json.loads(json.dumps(data)))
    for module, base in ((optimizers, optimizers.Optimizer),
                         (initializers, initializers.Initializer),
                         (regularizers, regularizers.Regularizer),
                         (constraints, constraints.Constraint)):
        if isinstance(instance, base):
            return module.deserialize(json.loads(json.dumps(module.serialize(instance))))
    return None


def _public_dir(obj: Any) -> set[str]:
    return {name for name in dir(obj) if name != "__annotations__"}


def run_class_serialization_test(instance: Any) -> Any:
    cls = type(instance)
    config = instance.get_config()
    ref_dir = _public_dir(instance)
    revived = cls.from_config(config)
    assert _json(config) == _json(revived.get_config())
    assert ref_dir == _public_dir(revived)
    revived = _module_round_trip(instance)
    if revived is not None:
        assert _json(config) == _json(revived.get_config())
        assert ref_dir == _public_dir(revived)
    return revived


def _random_inputs(shape: Any, dtype: Any) -> Any:
    if isinstance(shape, list):
        dtypes = dtype if isinstance(dtype, list) else [dtype] * len(shape)
        return [_random_inputs(s, d) for s, d in zip(shape, dtypes)]
    rng = np.random.default_rng(0)
    dtype = dtype or "float32"
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 4, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _shape_matches(expected: Any, actual: tuple[Any, ...]) -> bool:
    return len(expected) == len(actual) and all(
        e is None or e == a for e, a in zip(expected, actual))


def _outputs(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _symbolic_inputs(shape: Any, dtype: Any) -> Any:
    if isinstance(shape, list):
        dtypes = dtype if isinstance(dtype, list) else [dtype] * len(shape)
        return [_symbolic_inputs(s, d) for s, d in zip(shape, dtypes)]
    return layers.Input(batch_shape=tuple(shape), dtype=dtype or "float32")


def run_layer_test(layer_cls: type, init_kwargs: dict[str, Any] | None = None,
                   input_shape: Any = None, input_dtype: Any = None, input_data: Any = None,
                   call_kwargs: dict[str, Any] | None = None,
                   expected_output_shape: Any = None, expected_output_dtype: Any = None,
                   expected_output: Any = None,
                   expected_num_trainable_weights: int | None = None,
                   expected_num_non_trainable_weights: int | None = None,
                   expected_num_non_trainable_variables: int | None = None,
                   expected_num_seed_generators: int | None = None,
                   expected_num_losses: int | None = None,
                   supports_masking: bool | None = None, expected_mask_shape: Any = None,
                   run_training_check: bool = True,
                   assert_built_after_instantiation: bool = False, atol: float = 1e-6,
                   rtol: float = 1e-6, **_backend_only: Any) -> None:
    """Keras's ``run_layer_test``; arguments that only concern Keras's backends
    (``run_mixed_precision_check``, ``input_sparse``, ...) are accepted and ignored.

    ``expected_num_seed_generators`` is accepted and not checked: nablanet layers draw from
    NumPy generators, not SeedGenerator variables (see the left-out lists).
    ``expected_num_non_trainable_variables`` is checked against the non-trainable weights
    (nablanet has no other non-trainable variables).
    """
    init_kwargs = init_kwargs or {}
    call_kwargs = call_kwargs or {}
    assert input_shape is None or input_data is None
    if expected_num_non_trainable_variables is not None and \
            expected_num_non_trainable_weights is None:
        expected_num_non_trainable_weights = expected_num_non_trainable_variables

    layer = layer_cls(**init_kwargs)
    run_class_serialization_test(layer)
    if assert_built_after_instantiation:
        assert layer_cls(**init_kwargs).built, \
            f"{layer_cls} is stateless, so it should be built after instantiation."

        class ModifiedBuildLayer(layer_cls):  # type: ignore[valid-type, misc]
            def build(self, *args: Any, **kwargs: Any) -> None:
                pass

        assert not ModifiedBuildLayer(**init_kwargs).built, \
            f"The `build` of {layer_cls} is overridden, so it should not be built after " \
            "instantiation."
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking, "Unexpected supports_masking value"

    def build_asserts(layer: Any) -> None:
        assert layer.built
        if expected_num_trainable_weights is not None:
            assert len(layer.trainable_weights) == expected_num_trainable_weights, \
                f"Unexpected number of trainable_weights: {len(layer.trainable_weights)}"
        if expected_num_non_trainable_weights is not None:
            assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, \
                f"Unexpected number of non_trainable_weights: " \
                f"{len(layer.non_trainable_weights)}"

    def output_asserts(output: Any, eager: bool) -> None:
        if expected_output_shape is not None:
            expected = expected_output_shape
            shapes = [tuple(o.shape) for o in _outputs(output)]
            wanted = expected if isinstance(expected, list) else [expected]
            assert all(_shape_matches(e, s) for e, s in zip(wanted, shapes)), \
                f"Expected output shapes {expected} but received {shapes}"
        if expected_output_dtype is not None:
            for o in _outputs(output):
                assert np.dtype(o.dtype).name == expected_output_dtype, o.dtype
        if eager and expected_output is not None:
            for ref, value in zip(_outputs(expected_output), _outputs(output)):
                assert_all_close(value, ref, atol=atol, rtol=rtol,
                                 msg="Unexpected output value")
        if eager and expected_num_losses is not None:
            assert len(layer.losses) == expected_num_losses

    if input_data is None and input_shape is None:
        return
    if input_shape is None:
        shapes = [tuple(np.shape(to_numpy(x))) for x in _outputs(input_data)]
        build_shape: Any = shapes if isinstance(input_data, (list, tuple)) else shapes[0]
        dtypes: Any = [str(to_numpy(x).dtype) for x in _outputs(input_data)]
        if not isinstance(input_data, (list, tuple)):
            dtypes = dtypes[0]
    else:
        build_shape, dtypes = input_shape, input_dtype

    # build() creates the weights
    layer = layer_cls(**init_kwargs)
    layer.build(build_shape)
    layer.built = True
    build_asserts(layer)

    # a symbolic call: shapes, and the mask of symbolic inputs
    layer = layer_cls(**init_kwargs)
    symbolic = _symbolic_inputs(build_shape, dtypes)
    out = layer(symbolic, **call_kwargs)
    build_asserts(layer)
    output_asserts(out, eager=False)
    if expected_mask_shape is not None:
        mask = layer.compute_mask(symbolic)
        assert tuple(mask.shape) == tuple(expected_mask_shape)

    # an eager call
    data = input_data if input_data is not None else _random_inputs(input_shape, input_dtype)
    layer = layer_cls(**init_kwargs)
    output = layer(data, **call_kwargs)
    output_asserts(output, eager=True)

    if run_training_check and layer.trainable_weights is not None:
        _training_step(layer_cls(**init_kwargs), data, output)


def _training_step(layer: Any, input_data: Any, output_data: Any) -> None:
    """``fit`` one step of a model that wraps ``layer``, with loss ``sum(y_pred)``."""
    from nablanet import losses, models

    class TestModel(models.Model):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def call(self, x: Any, training: bool = False) -> Any:
            return self.inner(x, training=training)

    class TestLoss(losses.Loss):
        def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
            return nb.ops.sum(y_pred)

    model = TestModel(layer)
    model.compile(optimizer="sgd", loss=TestLoss())
    x = to_numpy(input_data)
    y = to_numpy(output_data)

    def generator() -> Any:
        while True:
            yield (x, y)

    model.fit(generator(), steps_per_epoch=1, verbose=0)


# -- the rest of unittest's / Keras's assertions, as functions ------------------------------
def assert_all_equal(actual: Any, desired: Any, msg: str = "") -> None:
    np.testing.assert_array_equal(to_numpy(actual), to_numpy(desired), err_msg=msg)


def assert_not_all_close(actual: Any, desired: Any, atol: float = 1e-6, rtol: float = 1e-6,
                         msg: str = "") -> None:
    assert not np.allclose(to_numpy(actual), to_numpy(desired), atol=atol, rtol=rtol), msg


def assert_equal(first: Any, second: Any, msg: str = "") -> None:
    assert first == second, msg or f"{first!r} != {second!r}"


def assert_true(value: Any, msg: str = "") -> None:
    assert value, msg


def assert_false(value: Any, msg: str = "") -> None:
    assert not value, msg


def assert_len(container: Any, expected_len: int, msg: str = "") -> None:
    assert len(container) == expected_len, msg or f"len {len(container)} != {expected_len}"


def assert_is_none(value: Any) -> None:
    assert value is None, f"{value!r} is not None"


def assert_is_instance(value: Any, cls: Any) -> None:
    assert isinstance(value, cls), f"{value!r} is not an instance of {cls}"


def assert_in(member: Any, container: Any) -> None:
    assert member in container, f"{member!r} not in {container!r}"


def assert_raises(exception: Any) -> Any:
    import pytest

    return pytest.raises(exception)


def assert_raises_regex(exception: Any, pattern: str) -> Any:
    import pytest

    return pytest.raises(exception, match=pattern)


# -- absl's parameterized decorators, on pytest ----------------------------------------------
def _argnames(fn: Any) -> list[str]:
    import inspect

    return [name for name in inspect.signature(fn).parameters if name != "self"]


def parameters(*cases: Any) -> Any:
    """``@parameterized.parameters(...)``: dicts of arguments, or tuples in signature order."""
    import pytest

    if len(cases) == 1 and isinstance(cases[0], list):  # parameters([1, 2]): one list
        cases = tuple(cases[0])

    def decorate(fn: Any) -> Any:
        names = _argnames(fn)
        if cases and isinstance(cases[0], dict):
            rows = [tuple(case[n] for n in names) for case in cases]
        else:
            rows = [case if isinstance(case, tuple) else (case,) for case in cases]
            names = names[:len(rows[0])]
        if len(names) == 1:
            return pytest.mark.parametrize(names[0], [row[0] for row in rows])(fn)
        return pytest.mark.parametrize(",".join(names), rows)(fn)

    return decorate


def named_parameters(*cases: Any) -> Any:
    """``@parameterized.named_parameters(...)``: ``(name, *values)`` tuples or dicts with a
    ``testcase_name``; the names become the pytest ids."""
    import pytest

    def decorate(fn: Any) -> Any:
        names = _argnames(fn)
        ids, rows = [], []
        for case in cases:
            if isinstance(case, dict):
                case = dict(case)
                ids.append(case.pop("testcase_name"))
                rows.append(tuple(case[n] for n in names if n in case))
                used = [n for n in names if n in case]
            else:
                ids.append(case[0])
                rows.append(tuple(case[1:]))
                used = names[:len(case) - 1]
        return pytest.mark.parametrize(",".join(used), rows, ids=ids)(fn)

    return decorate


def product(**axes: Any) -> Any:
    """``@parameterized.product(a=(...), b=(...))``: every combination."""
    import pytest

    def decorate(fn: Any) -> Any:
        for name, values in reversed(list(axes.items())):
            fn = pytest.mark.parametrize(name, list(values))(fn)
        return fn

    return decorate
