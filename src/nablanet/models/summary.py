"""``model.summary()``: the tf.keras table of layers, output shapes and parameter counts.

::

    Model: "sequential"
    _________________________________________________________________
     Layer (type)                Output Shape              Param #
    =================================================================
     conv2d (Conv2D)             (None, 126, 126, 16)      448
    ...
    =================================================================
    Total params: 8,129,155
    Trainable params: 8,129,155
    Non-trainable params: 0
    _________________________________________________________________

Functional models whose graph is not a simple chain get a fourth column, ``Connected to``.
Long cells wrap onto the next line, as in tf.keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["print_summary"]


def _shape_text(shape: Any) -> str:
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        if len(shape) == 1:
            return _shape_text(shape[0])
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _row_lines(fields: Sequence[str], positions: Sequence[int]) -> list[str]:
    """The fields laid out in columns ending at ``positions``; long fields wrap."""
    remaining = [str(f) for f in fields]
    lines = []
    while True:
        line = ""
        for col, text in enumerate(remaining):
            start = positions[col - 1] if col else 0
            space = 2 if col != len(positions) - 1 else 0
            width = max(positions[col] - start - space - (1 if col == 0 else 0), 1)
            piece = text[:width]
            if len(text) > width:
                # Prefer breaking after a separator, as tf.keras does.
                cut = max(piece.rfind(", "), piece.rfind(" "))
                if cut > 0:
                    piece = text[:cut + 1]
            if col == 0:
                line += " "
            line += piece
            remaining[col] = text[len(piece):].lstrip() if len(text) > len(piece) else ""
            line += " " * max(positions[col] - len(line), 0)
        lines.append(line.rstrip())
        if not any(remaining):
            return lines


def _layer_rows(model: Any) -> tuple[list[tuple[str, str, int, str]], bool]:
    """(name (type), output shape, params, connected-to) rows and whether to show links."""
    from nablanet.models.functional import Functional
    from nablanet.models.sequential import Sequential

    rows: list[tuple[str, str, int, str]] = []
    if isinstance(model, Sequential):
        shapes = model.layer_output_shapes()
        for layer, shape in zip(model.layers, shapes):
            rows.append((f"{layer.name} ({type(layer).__name__})", _shape_text(shape),
                         layer.count_params(), ""))
        return rows, False
    if isinstance(model, Functional):
        for t in model.inputs:
            rows.append((f"{t.name} (InputLayer)", _shape_text([tuple(t.shape)]), 0, ""))
        chain = True
        previous: Any = model.inputs[0] if len(model.inputs) == 1 else None
        seen: set[int] = set()
        for node in model.nodes:
            parents = node.parents
            if len(parents) != 1 or parents[0] is not previous or id(node.layer) in seen:
                chain = False
            previous = node.outputs[0] if len(node.outputs) == 1 else None
            seen.add(id(node.layer))
        for node in model.nodes:
            links = []
            for parent in node.parents:
                source = parent.node.layer.name if parent.node is not None else parent.name
                links.append(f"{source}[0][{parent.index}]")
            shapes = [tuple(o.shape) for o in node.outputs]
            rows.append((f"{node.layer.name} ({type(node.layer).__name__})",
                         _shape_text(shapes), node.layer.count_params(), ", ".join(links)))
        # A layer shared by several nodes is counted once in the totals, shown per node.
        return rows, not chain
    for layer in model.layers:
        rows.append((f"{layer.name} ({type(layer).__name__})",
                     "multiple" if layer.built else "? (unbuilt)", layer.count_params(), ""))
    return rows, False


def print_summary(model: Any, line_length: int | None = None,
                  positions: Sequence[float] | None = None, print_fn: Any = None,
                  expand_nested: bool = False, show_trainable: bool = False) -> None:
    """Print ``model``'s summary with ``print_fn`` (``print`` by default)."""
    print_fn = print_fn or print
    rows, connections = _layer_rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #"]
    if connections:
        headers.append("Connected to")
        line_length = line_length or 98
        fractions = positions or [0.33, 0.55, 0.67, 1.0]
    else:
        line_length = line_length or 65
        fractions = positions or [0.45, 0.85, 1.0]
    if show_trainable:
        headers.append("Trainable")
        line_length += 11
        fractions = [f * (line_length - 11) / line_length for f in fractions] + [1.0]
    cols = [int(line_length * f) if f <= 1 else int(f) for f in fractions]
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    for line in _row_lines(headers, cols):
        print_fn(line)
    print_fn("=" * line_length)
    layer_trainable = {}
    for layer in model.layers:
        layer_trainable[layer.name] = "Y" if layer.trainable else "N"
    for i, (name, shape, params, links) in enumerate(rows):
        fields = [name, shape, f"{params:,}"]
        if connections:
            fields.append(links)
        if show_trainable:
            fields.append(layer_trainable.get(name.split(" (")[0], ""))
        for line in _row_lines(fields, cols):
            print_fn(line)
        if i != len(rows) - 1:
            print_fn("")
    print_fn("=" * line_length)
    trainable = sum(w.size for w in model.trainable_weights)
    non_trainable = sum(w.size for w in model.non_trainable_weights)
    print_fn(f"Total params: {trainable + non_trainable:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {non_trainable:,}")
    print_fn("_" * line_length)
