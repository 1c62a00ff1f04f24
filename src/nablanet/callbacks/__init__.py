"""Callbacks: objects whose hooks ``fit``/``evaluate``/``predict`` call (Keras 3 names)."""

from nablanet.callbacks.base import Callback, CallbackList, MonitorCallback
from nablanet.callbacks.checkpoint import BackupAndRestore, ModelCheckpoint
from nablanet.callbacks.early_stopping import EarlyStopping
from nablanet.callbacks.history import History
from nablanet.callbacks.instruments import ActivationStats, DeadUnits, GradientFlow
from nablanet.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from nablanet.callbacks.misc import CSVLogger, LambdaCallback, TerminateOnNaN
from nablanet.callbacks.progbar import Progbar, ProgbarLogger
from nablanet.callbacks.tensorboard import TensorBoard

__all__ = [
    "ActivationStats",
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "DeadUnits",
    "EarlyStopping",
    "GradientFlow",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "Progbar",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
