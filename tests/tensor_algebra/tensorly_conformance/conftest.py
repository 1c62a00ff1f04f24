"""Shared helper of the TensorLy conformance tests (translated from TensorLy's test suite).

TensorLy's tests call its backend ``tl`` / ``T``; here the arrays are NumPy arrays and the
functions under test are nablanet's. TensorLy itself is used only to generate the same inputs
(``tl.random.random_cp`` etc. with ``tl.check_random_state``) and for its congruence metric.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from nablanet.tensor_algebra import estimators

SENTINEL = "this_is_used_to_test_correct_passing_of_arguments"


def _check(monkeypatch: pytest.MonkeyPatch, function_name: str, estimator: type,
           ignore_args: set[str] | None = None, **extra_args: Any) -> None:
    """nablanet's version of TensorLy's ``assert_class_wrapper_correctly_passes_arguments``.

    Every argument of the function that TensorLy has (the positional-or-keyword ones; the
    keyword-only ones are nablanet's additions) is set to a sentinel on the estimator, the
    function is replaced by a recorder, and ``fit_transform`` must pass every sentinel on.
    """
    ignore = set(ignore_args or ()) | {"tensor", "input_tensor"} | set(extra_args)
    function = estimators.FUNCTIONS[function_name]
    names = [name for name, p in inspect.signature(function).parameters.items()
             if p.kind is p.POSITIONAL_OR_KEYWORD and name not in ignore and name != "rank"]
    received: dict[str, Any] = {}

    def recorder(tensor: Any, **kwargs: Any) -> Any:
        received.update(kwargs)
        return (object(), []) if kwargs.get("return_errors") else object()

    monkeypatch.setitem(estimators.FUNCTIONS, function_name, recorder)
    instance = estimator(**extra_args, **{name: SENTINEL for name in names})
    instance.fit_transform(None)
    for name in names:
        assert received.get(name) == SENTINEL, f"{estimator.__name__} did not pass {name}"


@pytest.fixture
def class_wrapper_check(monkeypatch: pytest.MonkeyPatch) -> Any:
    def check(function_name: str, estimator: type, ignore_args: set[str] | None = None,
              **extra_args: Any) -> None:
        _check(monkeypatch, function_name, estimator, ignore_args, **extra_args)
    return check
