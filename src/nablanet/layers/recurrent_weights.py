"""Convert recurrent-layer weights between PyTorch's and Keras's (nablanet's) layouts.

=============  =========================================  ==========================================
cell           PyTorch (``torch.nn.LSTM`` / ``GRU`` /      Keras / nablanet
               ``RNN``, one layer, one direction)
=============  =========================================  ==========================================
LSTM           ``weight_ih (4u, D)``, ``weight_hh (4u,    ``kernel (D, 4u)``, ``recurrent_kernel
               u)``, ``bias_ih (4u,)``, ``bias_hh``;      (u, 4u)``, ``bias (4u,)``; gates i, f,
               gates i, f, g, o                           c, o (the same order)
GRU            gates r, z, n; PyTorch's GRU is the        gates z, r, h; ``reset_after=True``
               ``reset_after`` form                       bias ``(2, 3u)``: row 0 input, row 1
                                                          recurrent
SimpleRNN      ``weight_ih (u, D)``, ``weight_hh (u,      ``kernel (D, u)``, ``recurrent_kernel
               u)``, ``bias_ih``, ``bias_hh``             (u, u)``, ``bias (u,)``
=============  =========================================  ==========================================

PyTorch keeps two biases for LSTM and SimpleRNN where Keras keeps one: converting from PyTorch
adds them; converting to PyTorch puts the whole bias in ``bias_ih`` and zeros in ``bias_hh``.

Pure NumPy: arguments may be ndarrays or anything exposing ``detach().cpu().numpy()``
(PyTorch tensors, parameters included). Results are new C-contiguous ndarrays with the input's
dtype.

Examples
--------
>>> import numpy as np
>>> w_ih, w_hh = np.ones((8, 3)), np.ones((8, 2))
>>> kernel, recurrent_kernel, bias = lstm_weights_from_torch(w_ih, w_hh, np.ones(8), np.ones(8))
>>> kernel.shape, recurrent_kernel.shape, bias[:2]
((3, 8), (2, 8), array([2., 2.]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "gru_weights_from_torch",
    "gru_weights_to_torch",
    "lstm_weights_from_torch",
    "lstm_weights_to_torch",
    "simple_rnn_weights_from_torch",
    "simple_rnn_weights_to_torch",
]

Arrays3 = tuple[np.ndarray, np.ndarray, np.ndarray]
Arrays4 = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor or parameter, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _check_torch(cell: str, gates: int, weight_ih: np.ndarray, weight_hh: np.ndarray,
                 bias_ih: np.ndarray | None, bias_hh: np.ndarray | None) -> int:
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ValueError(
            f"{cell}: expected weight_hh of shape ({gates} * hidden_size, hidden_size). "
            f"Received: weight_hh.shape={weight_hh.shape}"
        )
    u = weight_hh.shape[1]
    if weight_ih.ndim != 2 or weight_ih.shape[0] != gates * u:
        raise ValueError(
            f"{cell}: expected weight_ih of shape ({gates * u}, input_size). "
            f"Received: weight_ih.shape={weight_ih.shape}"
        )
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None and b.shape != (gates * u,):
            raise ValueError(
                f"{cell}: expected {name} of shape ({gates * u},). Received: {name}.shape={b.shape}"
            )
    return u


def _check_keras(cell: str, gates: int, kernel: np.ndarray,
                 recurrent_kernel: np.ndarray) -> int:
    if recurrent_kernel.ndim != 2 or recurrent_kernel.shape[1] != gates * recurrent_kernel.shape[0]:
        raise ValueError(
            f"{cell}: expected recurrent_kernel of shape (units, {gates} * units). "
            f"Received: recurrent_kernel.shape={recurrent_kernel.shape}"
        )
    u = recurrent_kernel.shape[0]
    if kernel.ndim != 2 or kernel.shape[1] != gates * u:
        raise ValueError(
            f"{cell}: expected kernel of shape (input_dim, {gates * u}). "
            f"Received: kernel.shape={kernel.shape}"
        )
    return u


def _summed_bias(bias_ih: np.ndarray | None, bias_hh: np.ndarray | None,
                 size: int, dtype: np.dtype) -> np.ndarray:
    bias = np.zeros(size, dtype=dtype)
    for b in (bias_ih, bias_hh):
        if b is not None:
            bias += b
    return bias


def _cell_from_torch(cell: str, gates: int, weight_ih: Any, weight_hh: Any, bias_ih: Any,
                     bias_hh: Any) -> Arrays3:
    w_ih, w_hh = _array(weight_ih), _array(weight_hh)
    b_ih = None if bias_ih is None else _array(bias_ih)
    b_hh = None if bias_hh is None else _array(bias_hh)
    u = _check_torch(cell, gates, w_ih, w_hh, b_ih, b_hh)
    return (np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T),
            _summed_bias(b_ih, b_hh, gates * u, np.result_type(w_ih, w_hh)))


def _cell_to_torch(cell: str, gates: int, kernel: Any, recurrent_kernel: Any,
                   bias: Any) -> Arrays4:
    k, rk = _array(kernel), _array(recurrent_kernel)
    u = _check_keras(cell, gates, k, rk)
    dtype = np.result_type(k, rk)
    b = np.zeros(gates * u, dtype=dtype) if bias is None else _array(bias)
    if b.shape != (gates * u,):
        raise ValueError(f"{cell}: expected bias of shape ({gates * u},). "
                         f"Received: bias.shape={b.shape}")
    return (np.ascontiguousarray(k.T), np.ascontiguousarray(rk.T), np.array(b, copy=True),
            np.zeros(gates * u, dtype=b.dtype))


def lstm_weights_from_torch(weight_ih: Any, weight_hh: Any, bias_ih: Any = None,
                            bias_hh: Any = None) -> Arrays3:
    """PyTorch LSTM weights to Keras's ``(kernel, recurrent_kernel, bias)``.

    Both use the gate order i, f, c (PyTorch's g), o, so ``kernel = weight_ih.T``,
    ``recurrent_kernel = weight_hh.T`` and ``bias = bias_ih + bias_hh`` (a missing bias counts
    as zero).

    Parameters
    ----------
    weight_ih : array of shape (4u, input_dim)
        ``lstm.weight_ih_l0``.
    weight_hh : array of shape (4u, u)
        ``lstm.weight_hh_l0``.
    bias_ih, bias_hh : array of shape (4u,) or None
        ``lstm.bias_ih_l0``, ``lstm.bias_hh_l0``.

    Returns
    -------
    kernel : ndarray of shape (input_dim, 4u)
    recurrent_kernel : ndarray of shape (u, 4u)
    bias : ndarray of shape (4u,)
    """
    return _cell_from_torch("lstm_weights_from_torch", 4, weight_ih, weight_hh, bias_ih, bias_hh)


def lstm_weights_to_torch(kernel: Any, recurrent_kernel: Any, bias: Any = None) -> Arrays4:
    """Keras LSTM weights to PyTorch's ``(weight_ih, weight_hh, bias_ih, bias_hh)``.

    The inverse of :func:`lstm_weights_from_torch` up to the split of the bias: the whole bias
    goes to ``bias_ih`` and ``bias_hh`` is zero (their sum is what both frameworks use).

    Parameters
    ----------
    kernel : array of shape (input_dim, 4u)
    recurrent_kernel : array of shape (u, 4u)
    bias : array of shape (4u,) or None
        None (``use_bias=False``) gives zero biases.

    Returns
    -------
    weight_ih : ndarray of shape (4u, input_dim)
    weight_hh : ndarray of shape (4u, u)
    bias_ih, bias_hh : ndarray of shape (4u,)
    """
    return _cell_to_torch("lstm_weights_to_torch", 4, kernel, recurrent_kernel, bias)


def _swap_first_two_blocks(a: np.ndarray, u: int, axis: int) -> np.ndarray:
    """Reorder gate blocks (r, z, n) <-> (z, r, h) along ``axis`` (the swap is its own inverse)."""
    order = np.r_[u : 2 * u, 0:u, 2 * u : 3 * u]
    return np.ascontiguousarray(np.take(a, order, axis=axis))


def gru_weights_from_torch(weight_ih: Any, weight_hh: Any, bias_ih: Any = None,
                           bias_hh: Any = None) -> Arrays3:
    """PyTorch GRU weights to Keras's ``reset_after=True`` ``(kernel, recurrent_kernel, bias)``.

    PyTorch orders the gates r, z, n and Keras z, r, h; PyTorch's GRU computes
    :math:`n = \\tanh(W_{in} x + b_{in} + r \\odot (W_{hn} h + b_{hn}))`, which is Keras's
    ``reset_after=True`` cell, so the biases map to the ``(2, 3u)`` layout: row 0 from
    ``bias_ih`` (input bias), row 1 from ``bias_hh`` (recurrent bias).

    Parameters
    ----------
    weight_ih : array of shape (3u, input_dim)
    weight_hh : array of shape (3u, u)
    bias_ih, bias_hh : array of shape (3u,) or None
        A missing bias gives a zero row.

    Returns
    -------
    kernel : ndarray of shape (input_dim, 3u)
    recurrent_kernel : ndarray of shape (u, 3u)
    bias : ndarray of shape (2, 3u)
    """
    w_ih, w_hh = _array(weight_ih), _array(weight_hh)
    b_ih = None if bias_ih is None else _array(bias_ih)
    b_hh = None if bias_hh is None else _array(bias_hh)
    u = _check_torch("gru_weights_from_torch", 3, w_ih, w_hh, b_ih, b_hh)
    dtype = np.result_type(w_ih, w_hh)
    bias = np.zeros((2, 3 * u), dtype=dtype)
    if b_ih is not None:
        bias[0] = _swap_first_two_blocks(b_ih, u, 0)
    if b_hh is not None:
        bias[1] = _swap_first_two_blocks(b_hh, u, 0)
    return (_swap_first_two_blocks(w_ih.T, u, 1), _swap_first_two_blocks(w_hh.T, u, 1), bias)


def gru_weights_to_torch(kernel: Any, recurrent_kernel: Any, bias: Any = None) -> Arrays4:
    """Keras ``reset_after=True`` GRU weights to PyTorch's ``(weight_ih, weight_hh, bias_ih,
    bias_hh)``.

    The exact inverse of :func:`gru_weights_from_torch`. A ``reset_after=False`` GRU (bias of
    shape ``(3u,)``) has no PyTorch equivalent and raises ``ValueError``.

    Parameters
    ----------
    kernel : array of shape (input_dim, 3u)
    recurrent_kernel : array of shape (u, 3u)
    bias : array of shape (2, 3u) or None

    Returns
    -------
    weight_ih : ndarray of shape (3u, input_dim)
    weight_hh : ndarray of shape (3u, u)
    bias_ih, bias_hh : ndarray of shape (3u,)
    """
    k, rk = _array(kernel), _array(recurrent_kernel)
    u = _check_keras("gru_weights_to_torch", 3, k, rk)
    dtype = np.result_type(k, rk)
    b = np.zeros((2, 3 * u), dtype=dtype) if bias is None else _array(bias)
    if b.shape != (2, 3 * u):
        raise ValueError(
            f"gru_weights_to_torch: expected bias of shape (2, {3 * u}) (reset_after=True; "
            f"PyTorch has no reset_after=False GRU). Received: bias.shape={b.shape}"
        )
    return (_swap_first_two_blocks(k, u, 1).T.copy(), _swap_first_two_blocks(rk, u, 1).T.copy(),
            _swap_first_two_blocks(b[0], u, 0), _swap_first_two_blocks(b[1], u, 0))


def simple_rnn_weights_from_torch(weight_ih: Any, weight_hh: Any, bias_ih: Any = None,
                                  bias_hh: Any = None) -> Arrays3:
    """PyTorch ``RNN`` weights to Keras's SimpleRNN ``(kernel, recurrent_kernel, bias)``.

    ``kernel = weight_ih.T``, ``recurrent_kernel = weight_hh.T``, ``bias = bias_ih + bias_hh``.

    Parameters
    ----------
    weight_ih : array of shape (u, input_dim)
    weight_hh : array of shape (u, u)
    bias_ih, bias_hh : array of shape (u,) or None

    Returns
    -------
    kernel : ndarray of shape (input_dim, u)
    recurrent_kernel : ndarray of shape (u, u)
    bias : ndarray of shape (u,)
    """
    return _cell_from_torch("simple_rnn_weights_from_torch", 1, weight_ih, weight_hh, bias_ih,
                            bias_hh)


def simple_rnn_weights_to_torch(kernel: Any, recurrent_kernel: Any, bias: Any = None) -> Arrays4:
    """Keras SimpleRNN weights to PyTorch's ``(weight_ih, weight_hh, bias_ih, bias_hh)``.

    The whole bias goes to ``bias_ih``; ``bias_hh`` is zero.

    Parameters
    ----------
    kernel : array of shape (input_dim, u)
    recurrent_kernel : array of shape (u, u)
    bias : array of shape (u,) or None

    Returns
    -------
    weight_ih : ndarray of shape (u, input_dim)
    weight_hh : ndarray of shape (u, u)
    bias_ih, bias_hh : ndarray of shape (u,)
    """
    return _cell_to_torch("simple_rnn_weights_to_torch", 1, kernel, recurrent_kernel, bias)
