r"""Sequence helpers with Keras's names: ``pad_sequences`` (``keras.utils`` and
``keras.preprocessing.sequence``) and ``timeseries_dataset_from_array``.

``timeseries_dataset_from_array`` makes sliding windows: window :math:`i` starts at
:math:`p_i = i \cdot \text{sequence\_stride}` (relative to ``start_index``) and holds

.. math::

    x_i = \bigl(d[s + p_i],\ d[s + p_i + r],\ \dots,\ d[s + p_i + (L - 1) r]\bigr),
    \qquad y_i = t[s + p_i]

for ``sequence_length`` :math:`L`, ``sampling_rate`` :math:`r` and ``start_index``
:math:`s`; only windows that end before ``end_index`` (and have a target) are made.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nablanet.data.dataset import Dataset

__all__ = ["pad_sequences", "timeseries_dataset_from_array"]


def pad_sequences(sequences: Sequence[Any], maxlen: int | None = None, dtype: Any = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad (or cut) sequences to one length: a ``(num_sequences, maxlen, ...)`` array.

    Parameters
    ----------
    sequences : list of sequences
        Each a list or array; the items may be scalars or equal-shaped arrays.
    maxlen : int, optional
        The common length (the longest sequence's length by default).
    dtype : dtype
        ``'int32'`` by default; use ``object`` or a string dtype for strings.
    padding : {'pre', 'post'}
        Pad before or after each sequence.
    truncating : {'pre', 'post'}
        Remove items from the start or the end of longer sequences.
    value : scalar
        The padding value.

    Examples
    --------
    >>> pad_sequences([[1], [1, 2], [1, 2, 3]], maxlen=2)
    array([[0, 1],
           [1, 2],
           [2, 3]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths = []
    sample_shape: tuple[int, ...] = ()
    found_shape = False
    for x in sequences:
        try:
            lengths.append(len(x))
        except TypeError as err:
            raise ValueError("`sequences` must be a list of iterables. Found non-iterable: "
                             f"{x!r}") from err
        if not found_shape and len(x):
            sample_shape = np.asarray(x).shape[1:]
            found_shape = True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    kind = np.dtype(dtype).kind
    if isinstance(value, str) and kind not in "OSU":
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: "
                         f"{type(value)}\nYou should set `dtype=object` for variable length "
                         "strings.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    out = np.full((len(sequences), maxlen, *sample_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {i} is "
                             f"different from expected shape {sample_shape}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out


def _check_positive_below(name: str, value: int, length: int) -> None:
    if value <= 0:
        raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
    if value >= length:
        raise ValueError(f"`{name}` must be lower than the length of the data. Received: "
                         f"{name}={value}, for data of length {length}")


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1,
                                  batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None, format: str = "tf") -> Dataset:  # noqa: A002
    """A :class:`~nablanet.data.Dataset` of sliding windows over a time series (Keras's).

    Parameters
    ----------
    data : array, shape ``(timesteps, ...)``
    targets : array or None
        ``targets[i]`` is the target of the window starting at ``data[i]`` (with
        ``start_index``: ``targets[start_index + i]``). None gives windows only.
    sequence_length : int
        Steps per window.
    sequence_stride : int
        Steps between the starts of consecutive windows.
    sampling_rate : int
        Steps between the samples within a window.
    batch_size : int or None
        Windows per batch (128); None gives single windows.
    shuffle : bool
        Shuffle the window order once (with ``seed``) and the batches' contents each epoch
        (a buffer of ``8 * batch_size`` windows, as Keras).
    seed : int, optional
    start_index, end_index : int, optional
        Use ``data[start_index:end_index]`` only.
    format : 'tf'
        Keras's other choice, ``'grain'``, is a Grain dataset; nablanet makes its own Dataset.

    Returns
    -------
    Dataset of ``(windows, targets)`` batches, or of windows when ``targets`` is None.

    Examples
    --------
    >>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(10) * 2, 3, batch_size=4)
    >>> x, y = next(iter(ds))
    >>> x.numpy().tolist(), y.numpy().tolist()
    ([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], [0, 2, 4, 6])
    """
    data = np.asarray(getattr(data, "data", data))
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError("`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError("`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
    if end_index is not None and end_index <= 0:
        raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    _check_positive_below("sampling_rate", sampling_rate, n)
    _check_positive_below("sequence_stride", sequence_stride, n)
    if format != "tf":
        if format == "grain":
            raise ValueError("timeseries_dataset_from_array: format='grain' makes a Grain "
                             "dataset, which nablanet does not have; use format='tf' (the "
                             "default), which gives nablanet's Dataset.")
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    start = start_index or 0
    stop = n if end_index is None else end_index
    target_array = None if targets is None else np.asarray(getattr(targets, "data", targets))
    num_seqs = stop - start - (sequence_length - 1) * sampling_rate
    if target_array is not None:
        num_seqs = min(num_seqs, len(target_array))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = int(np.random.randint(1_000_000))
        np.random.RandomState(seed).shuffle(positions)
    offsets = np.arange(sequence_length) * sampling_rate

    def make_iterator() -> Iterator[Any]:
        for p in positions:
            window = data[start + p + offsets]
            if target_array is None:
                yield window
            else:
                yield window, target_array[start + p]

    ds = Dataset(make_iterator, len(positions))
    if shuffle:
        ds = ds.shuffle(8 * batch_size if batch_size is not None else 1024, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    return ds
