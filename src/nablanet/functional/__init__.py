"""Composites: differentiable functions written with primitives, needing no backward.

Grouped by topic; everything is re-exported here (``nablanet.functional.relu``, ...).
The primitive ops themselves (``exp``, ``matmul``, ``softmax``, ...) are re-exported too,
so this is the one namespace a user needs for functional code.
"""

from nablanet.functional.activations import *  # noqa: F403
from nablanet.functional.conv import *  # noqa: F403
from nablanet.functional.losses import *  # noqa: F403
from nablanet.functional.regularization import *  # noqa: F403
from nablanet.ops import *  # noqa: F403
