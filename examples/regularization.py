"""Chapter §5, regularisation: L1/L2 weight decay, dropout, batch norm and early stopping.

Trains one over-fitting MLP six ways and saves train-vs-validation loss curves.
Run ``python examples/regularization.py`` (the same as ``nablanet run regularization``).
"""

import sys

from nablanet.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "regularization", *sys.argv[1:]]))
