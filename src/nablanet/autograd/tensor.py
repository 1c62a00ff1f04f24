"""``Tensor``: one NumPy array plus the node of the graph that produced it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

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
    def __pos__(self) -> Tensor:
        return self

    __hash__ = object.__hash__

    # -- operators and methods: bound by nablanet.ops (ops/tensor_methods.py) on import, so that
    #    autograd imports nothing above it; declared here for type checkers
    if TYPE_CHECKING:
        @property
        def T(self) -> Tensor: ...  # noqa: N802 - numpy's name
        def astype(self, dtype: Any) -> Tensor: ...
        def __add__(self, other: Any) -> Tensor: ...
        def __radd__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __rsub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __rmul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...
        def __rtruediv__(self, other: Any) -> Tensor: ...
        def __pow__(self, other: Any) -> Tensor: ...
        def __rpow__(self, other: Any) -> Tensor: ...
        def __matmul__(self, other: Any) -> Tensor: ...
        def __rmatmul__(self, other: Any) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __getitem__(self, index: Any) -> Tensor: ...
        def __lt__(self, other: Any) -> Tensor: ...
        def __le__(self, other: Any) -> Tensor: ...
        def __gt__(self, other: Any) -> Tensor: ...
        def __ge__(self, other: Any) -> Tensor: ...
        def __eq__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def exp(self) -> Tensor: ...
        def log(self) -> Tensor: ...
        def sqrt(self) -> Tensor: ...
        def tanh(self) -> Tensor: ...
        def sigmoid(self) -> Tensor: ...
        def relu(self) -> Tensor: ...
        def abs(self) -> Tensor: ...
        def clip(self, min: Any = None, max: Any = None) -> Tensor: ...  # noqa: A002
        def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def max(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def min(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor: ...
        def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor: ...
        def argmax(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def argmin(self, axis: Any = None, keepdims: bool = False) -> Tensor: ...
        def reshape(self, *shape: Any) -> Tensor: ...
        def flatten(self) -> Tensor: ...
        def transpose(self, *axes: Any) -> Tensor: ...
        def swapaxes(self, axis1: int, axis2: int) -> Tensor: ...
        def squeeze(self, axis: Any = None) -> Tensor: ...
        def expand_dims(self, axis: int) -> Tensor: ...
        def unsqueeze(self, axis: int) -> Tensor: ...
        def broadcast_to(self, shape: Sequence[int]) -> Tensor: ...

    # -- methods mirroring the functional ops -------------------------------------------------
    def permute(self, *axes: Any) -> Tensor:
        return self.transpose(*axes)


from nablanet.autograd import function  # noqa: E402
