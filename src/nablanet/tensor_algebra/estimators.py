"""Estimator classes around the decompositions, as TensorLy's (``CP(rank=3).fit_transform(t)``).

Each class stores the arguments of its function (the function's defaults unless given),
and ``fit_transform(tensor)`` calls the function with all of them, keeps the result in
``decomposition_`` and the relative errors in ``errors_``, and returns the result;
``fit(tensor)`` does the same and returns the estimator.

Examples
--------
>>> import numpy as np
>>> t = np.random.default_rng(0).random((4, 5, 6))
>>> estimator = Tucker(rank=[2, 2, 2])
>>> estimator.fit_transform(t).ranks, len(estimator.errors_) > 0
((2, 2, 2), True)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from nablanet.tensor_algebra.cp import parafac, randomised_parafac
from nablanet.tensor_algebra.nn_cp import non_negative_parafac, non_negative_parafac_hals
from nablanet.tensor_algebra.nn_tucker import non_negative_tucker, non_negative_tucker_hals
from nablanet.tensor_algebra.tensor_train import tensor_train, tensor_train_matrix
from nablanet.tensor_algebra.tucker import tucker

#: The decomposition function of each estimator, by name (looked up when it is called).
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "parafac": parafac, "randomised_parafac": randomised_parafac,
    "non_negative_parafac": non_negative_parafac,
    "non_negative_parafac_hals": non_negative_parafac_hals, "tucker": tucker,
    "non_negative_tucker": non_negative_tucker,
    "non_negative_tucker_hals": non_negative_tucker_hals, "tensor_train": tensor_train,
    "tensor_train_matrix": tensor_train_matrix,
}

#: Each function's signature, read once: the estimator's parameters.
SIGNATURES = {name: inspect.signature(function) for name, function in FUNCTIONS.items()}

__all__ = ["CP", "CP_NN", "CP_NN_HALS", "RandomizedCP", "TensorTrain", "TensorTrainMatrix",
           "Tucker", "Tucker_NN", "Tucker_NN_HALS"]


class _Estimator:
    """Stores the function's arguments; ``fit_transform`` passes every one of them on."""

    #: The key of the decomposition function in :data:`FUNCTIONS`.
    function_name: ClassVar[str] = ""
    #: Arguments of the function that are not estimator parameters.
    excluded: ClassVar[frozenset[str]] = frozenset({"tensor", "return_errors", "ranks"})

    def __init__(self, rank: Any, **kwargs: Any) -> None:
        parameters = self._parameters()
        unknown = sorted(set(kwargs) - set(parameters))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {unknown}; "
                            f"accepted: {['rank', *parameters]}")
        self.rank = rank
        for name, default in parameters.items():
            setattr(self, name, kwargs.get(name, default))

    @classmethod
    def _function(cls) -> Callable[..., Any]:
        return FUNCTIONS[cls.function_name]

    @classmethod
    def _parameters(cls) -> dict[str, Any]:
        signature = SIGNATURES[cls.function_name]
        return {name: p.default for name, p in signature.parameters.items()
                if name not in cls.excluded and name != "rank"}

    def get_params(self) -> dict[str, Any]:
        """The arguments passed to the function (scikit-learn's name)."""
        return {"rank": self.rank, **{name: getattr(self, name) for name in self._parameters()}}

    def fit_transform(self, tensor: Any) -> Any:
        """Decompose ``tensor``; returns the decomposition (also in ``decomposition_``)."""
        function = self._function()
        kwargs = self.get_params()
        if "return_errors" in kwargs:  # an estimator parameter (Tucker's, as in TensorLy)
            output = function(tensor, **kwargs)
            result, errors = output if kwargs["return_errors"] is True else (
                output, list(getattr(output, "errors", [])))
        elif "return_errors" in SIGNATURES[self.function_name].parameters:
            result, errors = function(tensor, return_errors=True, **kwargs)
        else:
            result = function(tensor, **kwargs)
            errors = list(getattr(result, "errors", []))
        self.decomposition_ = result
        self.errors_ = errors
        return result

    def fit(self, tensor: Any) -> _Estimator:
        self.fit_transform(tensor)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__} decomposition of rank {self.rank}."


class CP(_Estimator):
    """:func:`~nablanet.tensor_algebra.parafac` as an estimator."""

    function_name = "parafac"


class RandomizedCP(_Estimator):
    """:func:`~nablanet.tensor_algebra.randomised_parafac` as an estimator."""

    function_name = "randomised_parafac"

    def __init__(self, rank: Any, n_samples: int, **kwargs: Any) -> None:
        super().__init__(rank, n_samples=n_samples, **kwargs)


class CP_NN(_Estimator):  # noqa: N801 - TensorLy's name
    """:func:`~nablanet.tensor_algebra.non_negative_parafac` as an estimator."""

    function_name = "non_negative_parafac"


class CP_NN_HALS(_Estimator):  # noqa: N801 - TensorLy's name
    """:func:`~nablanet.tensor_algebra.non_negative_parafac_hals` as an estimator."""

    function_name = "non_negative_parafac_hals"


class Tucker(_Estimator):
    """:func:`~nablanet.tensor_algebra.tucker` as an estimator."""

    function_name = "tucker"
    excluded = frozenset({"tensor", "ranks", "callback"})

    def __init__(self, rank: Any = None, **kwargs: Any) -> None:
        super().__init__(rank, **kwargs)


class Tucker_NN(_Estimator):  # noqa: N801 - TensorLy's name
    """:func:`~nablanet.tensor_algebra.non_negative_tucker` as an estimator."""

    function_name = "non_negative_tucker"


class Tucker_NN_HALS(_Estimator):  # noqa: N801 - TensorLy's name
    """:func:`~nablanet.tensor_algebra.non_negative_tucker_hals` as an estimator."""

    function_name = "non_negative_tucker_hals"


class TensorTrain(_Estimator):
    """:func:`~nablanet.tensor_algebra.tensor_train` as an estimator."""

    function_name = "tensor_train"


class TensorTrainMatrix(_Estimator):
    """:func:`~nablanet.tensor_algebra.tensor_train_matrix` as an estimator."""

    function_name = "tensor_train_matrix"
