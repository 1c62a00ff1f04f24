"""Models: ``Sequential``, subclassed ``Model``, the functional ``Model(inputs, outputs)``;
training (``compile``/``fit``/``evaluate``/``predict``) and safe saving (``load_model``)."""

from nablanet.models.functional import Functional
from nablanet.models.model import Model
from nablanet.models.saving import clone_model, load_model
from nablanet.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model"]
