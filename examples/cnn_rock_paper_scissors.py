"""Chapter §7.4: convolutional networks on rock-paper-scissors images, one to four conv layers.

A thin wrapper around the job :mod:`nablanet.experiments.cnn` (the same as
``nablanet run cnn``): it loads the Rock Paper Scissors data set when present (``--data-dir``)
and the generated stand-in otherwise, preprocesses as the chapter does, trains the chapter's four
models with early stopping, and saves learning curves, prediction grids, confusion matrices and
the models in ``--out`` (default ``runs/cnn``)::

    python examples/cnn_rock_paper_scissors.py
    python examples/cnn_rock_paper_scissors.py --depths 1 4 --epochs 5 --out runs/cnn-quick
"""

from __future__ import annotations

import argparse

from nablanet.experiments import cnn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cnn.add_arguments(parser)
    return cnn.main(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
