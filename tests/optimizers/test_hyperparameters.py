"""The optimizers' constructor arguments: the common ones declared once (Optimizer.__init__),
each class's own ones listed in ``_hyperparameters`` and written by ``get_config``."""

from __future__ import annotations

import inspect

import pytest

from nablanet import optimizers
from nablanet.optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop
from nablanet.optimizers.base import Optimizer

CLASSES = [SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Nadam]
COMMON = {"name", "learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
          "use_ema", "ema_momentum", "ema_overwrite_frequency", "gradient_accumulation_steps"}
CONFIG_ONLY = {"loss_scale_factor"}  # Keras's, accepted at its default only


def _own_arguments(cls: type) -> set[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {p.name for p in parameters
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in ("self", "learning_rate")}


@pytest.mark.parametrize("cls", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_config_holds_the_common_and_every_own_argument(cls: type) -> None:
    own = _own_arguments(cls) - {"weight_decay"}  # (AdamW names it for its default 0.004)
    assert set(cls._hyperparameters) == own
    config = cls().get_config()
    assert set(config) == COMMON | CONFIG_ONLY | own
    assert type(cls.from_config(config).get_config()) is dict
    assert cls.from_config(config).get_config() | {"name": None} == config | {"name": None}


def test_common_arguments_are_declared_only_in_the_base_class() -> None:
    base = set(inspect.signature(Optimizer.__init__).parameters) - {"self", "kwargs"}
    assert base == COMMON
    for cls in CLASSES:
        assert not (_own_arguments(cls) & (COMMON - {"weight_decay"})), cls


def test_keras_positional_order_kept() -> None:
    assert list(inspect.signature(Adam.__init__).parameters)[1:6] == [
        "learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"]
    assert list(inspect.signature(AdamW.__init__).parameters)[1:3] == [
        "learning_rate", "weight_decay"]
    assert AdamW(0.01, 0.5).weight_decay == 0.5


@pytest.mark.parametrize("cls", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_common_arguments_reach_the_base_class(cls: type) -> None:
    opt = cls(learning_rate=0.5, weight_decay=0.25, global_clipnorm=2.0, use_ema=True,
              ema_momentum=0.5, gradient_accumulation_steps=3, name="mine")
    config = opt.get_config()
    assert (config["learning_rate"], config["weight_decay"], config["global_clipnorm"],
            config["use_ema"], config["ema_momentum"], config["gradient_accumulation_steps"],
            config["name"]) == (0.5, 0.25, 2.0, True, 0.5, 3, "mine")
    with pytest.raises(ValueError, match="clipvalue=-1"):
        cls(clipvalue=-1)
    with pytest.raises(ValueError, match="ema_momentum=2"):
        cls(ema_momentum=2)
    with pytest.raises(ValueError, match="not recognized"):
        cls(beta_3=0.5)
    assert type(optimizers.deserialize(optimizers.serialize(opt))) is cls
