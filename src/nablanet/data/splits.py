"""TFDS split strings: ``'train'``, ``'train[:70%]'``, ``'test[-10:]'``, ``'train[:10%]+test'``.

A split string is one or more *parts* joined by ``+``; each part is a split name optionally
followed by a slice in Python notation whose bounds are absolute example counts
(``'train[100:200]'``, negatives count from the end) or percentages (``'train[25%:75%]'``,
fractions allowed). ``'all'`` names the union of every split.

Percent bounds are converted to example indices with TFDS's default ``'closest'`` rounding,

.. math:: \\text{index} = \\operatorname{round}\\bigl(p \\cdot n / 100\\bigr)

(Python's ``round``, halves to even), and then behave like absolute bounds. Absolute bounds
outside ``[-n, n]`` and percentages outside ``[-100, 100]`` are errors, as in TFDS.

Examples
--------
>>> resolve_split("train[:70%]", {"train": 2520, "test": 372})
[ReadSlice(split='train', start=0, stop=1764)]
>>> resolve_split("train[-10:]+test[:1%]", {"train": 2520, "test": 372})
[ReadSlice(split='train', start=2510, stop=2520), ReadSlice(split='test', start=0, stop=4)]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ReadInstruction", "ReadSlice", "parse_split", "resolve_split"]

_PART_RE = re.compile(r"^(?P<name>[\w-]+)(\[(?P<selector>[^\]]*)\])?$")
_BOUND_RE = re.compile(r"^(?P<value>-?(\d+(\.\d*)?|\.\d+))(?P<unit>%)?$")


@dataclass(frozen=True)
class ReadInstruction:
    """One part of a split string before the split sizes are known.

    ``unit`` is ``'abs'`` (example counts) or ``'%'``; ``None`` bounds are open.
    """

    split: str
    start: float | None = None
    stop: float | None = None
    unit: str = "abs"


@dataclass(frozen=True)
class ReadSlice:
    """One part of a split string resolved to ``examples[start:stop]`` of ``split``."""

    split: str
    start: int
    stop: int

    @property
    def num_examples(self) -> int:
        return max(self.stop - self.start, 0)


def _error(spec: str, reason: str) -> ValueError:
    return ValueError(
        f"Unrecognized split format: {spec!r} ({reason}). Expected split names with optional "
        "slices joined by '+', e.g. 'train', 'train[:70%]', 'train[70%:]', 'test[-10:]', "
        "'train[:10%]+test'."
    )


def parse_split(spec: str) -> list[ReadInstruction]:
    """Parse a split string into its ``+``-joined parts.

    Examples
    --------
    >>> parse_split("train[:10%]+test")
    [ReadInstruction(split='train', start=None, stop=10.0, unit='%'), \
ReadInstruction(split='test', start=None, stop=None, unit='abs')]
    """
    if not isinstance(spec, str):
        raise TypeError(f"split must be a string or a list of strings. Received: split={spec!r}")
    if not spec.strip():
        raise _error(spec, "empty split")
    parts = []
    for raw in re.split(r"\s*\+\s*", spec.strip()):
        match = _PART_RE.match(raw)
        if match is None:
            raise _error(spec, f"cannot parse {raw!r}")
        name, selector = match.group("name"), match.group("selector")
        if selector is None:
            parts.append(ReadInstruction(name))
            continue
        if name == "all":
            raise _error(spec, "'all' cannot be sliced")
        bounds = selector.split(":")
        if len(bounds) != 2:
            raise _error(spec, f"a slice needs exactly one ':' in {raw!r}")
        matches = [_BOUND_RE.match(b.strip()) if b.strip() else None for b in bounds]
        for b, m in zip(bounds, matches):
            if b.strip() and m is None:
                raise _error(spec, f"bad slice bound {b!r}")
        if all(m is None for m in matches):
            raise _error(spec, f"empty slice in {raw!r}")
        units = {m.group("unit") for m in matches if m is not None}
        if len(units) > 1:
            raise _error(spec, f"cannot mix percent and absolute bounds in {raw!r}")
        unit = "%" if units == {"%"} else "abs"
        values: list[float | None] = []
        for m in matches:
            if m is None:
                values.append(None)
            elif unit == "%":
                values.append(float(m.group("value")))
            else:
                text = m.group("value")
                if "." in text:
                    raise _error(spec, f"absolute bounds must be integers, got {text!r}")
                values.append(int(text))
        if unit == "%" and any(v is not None and abs(v) > 100 for v in values):
            raise _error(spec, "percent bounds must lie in [-100%, 100%]")
        parts.append(ReadInstruction(name, values[0], values[1], unit))
    return parts


def _pct_to_abs(boundary: float, n: int) -> int:
    return int(round(boundary * n / 100.0))


def resolve_split(spec: str, num_examples: Mapping[str, int]) -> list[ReadSlice]:
    """Resolve a split string against the split sizes ``{'train': n_train, ...}``.

    Returns one :class:`ReadSlice` per part (``'all'`` expands to every split in order). Raises
    ``ValueError`` for an unknown split name or an out-of-range absolute bound.
    """
    slices = []
    for part in parse_split(spec):
        names = list(num_examples) if part.split == "all" else [part.split]
        for name in names:
            if name not in num_examples:
                raise ValueError(
                    f"Unknown split {name!r} in split={spec!r}. Available splits: "
                    f"{list(num_examples)}"
                )
            n = int(num_examples[name])
            if part.unit == "%":
                start = 0 if part.start is None else _pct_to_abs(part.start, n)
                stop = n if part.stop is None else _pct_to_abs(part.stop, n)
            else:
                start = 0 if part.start is None else int(part.start)
                stop = n if part.stop is None else int(part.stop)
            if abs(start) > n or abs(stop) > n:
                raise ValueError(
                    f"Requested slice [{start}:{stop}] of split {name!r} in split={spec!r} is "
                    f"incompatible with its {n} examples."
                )
            start = start + n if start < 0 else start
            stop = stop + n if stop < 0 else stop
            slices.append(ReadSlice(name, start, max(stop, start)))
    return slices
