"""``Variable``: a named, trainable Tensor (Keras 3's ``keras.Variable``).

A layer's weights are Variables: Tensors that also carry a ``name`` (``"kernel"``), a
``path`` (``"dense/kernel"``: the owning layer's name, then the weight's), whether they are
``trainable``, and an optional ``constraint`` that the optimizer applies after each update.
Optimizers read ``name`` for :meth:`~nablanet.optimizers.Optimizer.exclude_from_weight_decay`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor

__all__ = ["Variable"]


class Variable(Tensor):
    """A Tensor with a name, a path, a trainable flag and an optional constraint.

    Parameters
    ----------
    initializer : array_like, Tensor, initializer or str
        The initial value, or an initializer (a callable ``(shape, dtype) -> array`` or its
        Keras name, such as ``"zeros"``) called with ``shape``. ``initial_value=`` is
        accepted as TensorFlow's name for it.
    shape : tuple, optional
        Needed when ``initializer`` is an initializer rather than a value.
    dtype : str or numpy dtype, optional
        Defaults to float32 for floating-point values (the value's own dtype otherwise).
    trainable : bool
        Whether gradient descent updates it (it then requires grad). Default True.
    name : str, optional
        Defaults to ``"variable"``; ``path`` defaults to the name.
    constraint : callable, optional
        Applied by optimizers after each update: ``value <- constraint(value)``.

    Examples
    --------
    >>> v = Variable([1.0, 2.0], name="bias")
    >>> v.name, v.path, v.trainable
    ('bias', 'bias', True)
    >>> v.assign([3.0, 4.0]).numpy()
    array([3., 4.], dtype=float32)
    """

    __slots__ = ("name", "path", "_trainable", "constraint", "overwrite_with_gradient")

    def __init__(self, initializer: Any = None, shape: Sequence[int] | None = None,
                 dtype: Any = None, trainable: bool = True, name: str | None = None,
                 constraint: Any = None, path: str | None = None, **kwargs: Any) -> None:
        if "initial_value" in kwargs:  # TensorFlow's name for it (tf.Variable)
            initializer = kwargs.pop("initial_value")
        if kwargs:
            raise TypeError(f"Variable: unexpected keyword argument(s) {sorted(kwargs)}")
        if initializer is None:
            raise ValueError("Variable: an initial value or an initializer is required. "
                             "Received: initializer=None")
        if isinstance(initializer, str) or (
                callable(initializer) and not isinstance(initializer, (Tensor, np.ndarray))):
            if shape is None:
                raise ValueError(
                    "Variable: when `initializer` is an initializer (not a value), `shape` "
                    f"must be given. Received: initializer={initializer!r}, shape=None")
            from nablanet import initializers

            init = initializers.get(initializer)
            assert init is not None  # (a name or a callable resolves to one)
            value = np.asarray(init(tuple(int(n) for n in shape), dtype=dtype or "float32"))
        else:
            value = initializer.data if isinstance(initializer, Tensor) else initializer
            if shape is not None and tuple(np.shape(value)) != tuple(shape):
                raise ValueError(
                    f"Variable: the initial value has shape {np.shape(value)}, which does not "
                    f"match `shape`={tuple(shape)}")
        # a private C-ordered copy, so that assigning to the variable never writes into the
        # caller's array, and the kernels (which take C-contiguous arrays) take every weight and
        # its optimizer slots (an orthogonal initializer's QR factor is Fortran-ordered)
        super().__init__(np.array(value, dtype=dtype, copy=True, order="C"), dtype=dtype)
        self.name = "variable" if name is None else str(name)
        self.path = self.name if path is None else str(path)
        self.constraint = constraint
        self.overwrite_with_gradient = False
        self._trainable = False
        self.trainable = trainable

    @property
    def trainable(self) -> bool:
        """Whether gradient descent updates this variable (it requires grad when True)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        self.requires_grad = self._trainable and self.data.dtype.kind in "fc"

    @property
    def value(self) -> Tensor:
        """The variable itself (Keras's ``variable.value``)."""
        return self

    def assign(self, value: Any) -> Variable:
        """Overwrite the values in place (the shape must match); returns the variable."""
        new = np.asarray(value.data if isinstance(value, Tensor) else value)
        if new.shape != self.data.shape:
            raise ValueError(
                f"Variable {self.path!r}: cannot assign a value of shape {new.shape} to a "
                f"variable of shape {self.data.shape}")
        self.data[...] = new
        return self

    def assign_add(self, value: Any) -> Variable:
        """``variable += value`` in place."""
        return self.assign(self.data + np.asarray(getattr(value, "data", value)))

    def assign_sub(self, value: Any) -> Variable:
        """``variable -= value`` in place."""
        return self.assign(self.data - np.asarray(getattr(value, "data", value)))

    def __repr__(self) -> str:
        return (f"<Variable path={self.path}, shape={self.data.shape}, "
                f"dtype={self.data.dtype.name}, value={self.data!r}>")
