"""``import nablanet.compat.keras as keras``: the same modules as ``tf.keras``.

§5.2 and §5.3 write ``keras.models.Sequential``. ``nablanet.compat.keras.layers`` *is*
``nablanet.compat.tensorflow.keras.layers`` (and so on for each submodule): the submodules are
registered under this package's name too, so ``from nablanet.compat.keras.layers import Dense``
works, and nothing exists twice.
"""

import sys as _sys

from nablanet.compat.tensorflow import keras as _keras
from nablanet.compat.tensorflow.keras import *  # noqa: F403
from nablanet.compat.tensorflow.keras import __all__
from nablanet.compat.tensorflow.keras import __version__ as __version__

for _name in __all__:
    _value = getattr(_keras, _name)
    if type(_value) is type(_sys):  # a submodule: make ``nablanet.compat.keras.<name>`` import
        _sys.modules[f"{__name__}.{_name}"] = _value

for _name in ("sequence", "image"):  # keras.preprocessing.sequence, keras.preprocessing.image
    _sys.modules[f"{__name__}.preprocessing.{_name}"] = getattr(_keras.preprocessing, _name)
