"""``Tensor``: one NumPy array plus the node of the graph that produced it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

_FLOAT_KINDS = "fc"


def _as_array(data: Any, dtype: Any = None, copy: bool = False) -> np.ndarray:
    """Convert ``data`` to an ndarray, float32 unless ``dtype`` or the data says otherwise.

    Floating-point input (Python floats, float64 arrays and lists) becomes float32 unless a
    dtype is given; integer and boolean input keeps its kind (int64 / bool), as in PyTorch.
    A Tensor keeps its dtype. With ``copy`` the result never shares memory with ``data``.
    """
    if isinstance(data, Tensor):
        data = data.data
        if dtype is None:
            dtype = data.dtype
    if dtype is not None:
        return np.array(data, dtype=dtype, copy=True) if copy else np.asarray(data, dtype=dtype)
    array = np.array(data, copy=True) if copy else np.asarray(data)
    if array.dtype.kind == "f" and array.dtype != np.float32:
        return array.astype(np.float32)
    if array.dtype.kind in "OUSV":
        raise TypeError(
            f"tensor: cannot make a tensor from {type(data).__name__} data of dtype {array.dtype}"
        )
    return array


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array_like
        The values. Floating-point data is stored as float32 unless ``dtype`` says otherwise.
    dtype : numpy dtype, optional
    requires_grad : bool
        Whether ``backward`` should compute a gradient for this tensor (floating dtypes only).

    Examples
    --------
    >>> import nablanet as nb
    >>> x = nb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """

    # ``_keras_mask`` is set only by layers that produce a mask (Embedding(mask_zero=True),
    # Masking); read it with ``getattr(t, "_keras_mask", None)``.
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "_keras_mask",
                 "__weakref__")
    __array_priority__ = 1000  # ndarray op Tensor -> Tensor's reflected operator
    # Declared for the type checker only (a slot, unset until a layer assigns a mask: usually
    # a boolean ndarray, but a user-supplied ``mask=`` is passed through as given).
    _keras_mask: Any

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self._ctx: Any = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- attributes ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded op."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Any:
        """The Function node that produced this tensor, or None for a leaf."""
        return self._ctx

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy's name
        return ops.transpose(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place; only floating-point tensors can require grad."""
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(
                f"only tensors of floating point dtype can require gradients; "
                f"got dtype {self.data.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after ``backward``."""
        self._retains_grad = True

    # -- conversion -----------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted to Python scalars; "
                f"got shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data (same dtype), cut from the graph."""
        return Tensor(self.data, dtype=self.data.dtype)

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype`` (differentiable between floating dtypes)."""
        return ops.cast(self, dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(len(self.data)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):  # the defaults, as in torch
            extras += f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extras += f", grad_fn={self._ctx!r}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    # -- autograd -------------------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf it depends on.

        ``grad`` is required unless the tensor holds a single element. The graph is freed
        unless ``retain_graph`` is true.
        """
        function.backward(self, grad, retain_graph)

    # -- operators ------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _binary(_ew.Add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _binary(_ew.Add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _binary(_ew.Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _binary(_ew.Sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _binary(_ew.Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _binary(_ew.Mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _binary(_ew.Div, self, other, True)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary(_ew.Div, other, self, True)

    def __pow__(self, other: Any) -> Tensor:
        return _binary(_ew.Pow, self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _binary(_ew.Pow, other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    def __lt__(self, other: Any) -> Tensor:
        return ops.less(self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.less_equal(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.greater(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.greater_equal(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.equal(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.not_equal(self, other)

    __hash__ = object.__hash__

    # -- methods mirroring the functional ops -------------------------------------------------
    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return ops.clip(self, min, max)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.min(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return ops.var(self, axis, keepdims, ddof)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return ops.std(self, axis, keepdims, ddof)

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.argmax(self, axis, keepdims)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return ops.argmin(self, axis, keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def flatten(self) -> Tensor:
        return ops.reshape(self, (-1,))

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    def permute(self, *axes: Any) -> Tensor:
        return self.transpose(*axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None) -> Tensor:
        return ops.squeeze(self, axis)

    def expand_dims(self, axis: int) -> Tensor:
        return ops.expand_dims(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return ops.expand_dims(self, axis)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return ops.broadcast_to(self, tuple(shape))


from nablanet import ops  # noqa: E402  (the ops build on Tensor)
from nablanet.autograd import function  # noqa: E402
from nablanet.ops import elementwise as _ew  # noqa: E402
from nablanet.ops.elementwise import _binary  # noqa: E402
