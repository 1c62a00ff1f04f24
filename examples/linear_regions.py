"""Chapter §3, why deep networks: exponential growth of linear regions with depth.

Run ``python examples/linear_regions.py`` (the same as ``nablanet run depth``).
"""

import sys

from nablanet.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "depth", *sys.argv[1:]]))
