"""The optimizer contract: apply/apply_gradients, state, config, validation, get()."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nablanet as nb
from nablanet import optimizers
from nablanet.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    CosineDecay,
    ExponentialDecay,
    Nadam,
    RMSprop,
)

ALL = [
    lambda: SGD(learning_rate=0.1),
    lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    lambda: Adagrad(learning_rate=0.1),
    lambda: RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    lambda: Adadelta(learning_rate=1.0),
    lambda: Adam(learning_rate=0.01, amsgrad=True),
    lambda: AdamW(learning_rate=0.01),
    lambda: Nadam(learning_rate=0.01),
]
IDS = ["sgd", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam"]


def quadratic_grads(variables, targets):
    """Gradient of 0.5 * sum((v - t)^2 * scale) with per-element scales."""
    return [(v.data - t) * np.linspace(0.5, 2.0, v.data.size).reshape(v.shape).astype(
        v.dtype) for v, t in zip(variables, targets)]


def make_vars(seed=0):
    rng = np.random.default_rng(seed)
    variables = [nb.tensor(rng.normal(size=(3, 2)), requires_grad=True),
                 nb.tensor(rng.normal(size=(2,)), requires_grad=True)]
    targets = [rng.normal(size=(3, 2)).astype(np.float32),
               rng.normal(size=(2,)).astype(np.float32)]
    return variables, targets


def train(opt, variables, targets, steps):
    for _ in range(steps):
        opt.apply_gradients(zip(quadratic_grads(variables, targets), variables))


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_updates_in_place_and_reduces_loss(make):
    opt = make()
    variables, targets = make_vars()
    arrays = [v.data for v in variables]
    loss0 = sum(float(np.sum((v.data - t) ** 2)) for v, t in zip(variables, targets))
    train(opt, variables, targets, 30)
    assert all(v.data is a for v, a in zip(variables, arrays))  # references stay valid
    assert all(v.data.dtype == np.float32 for v in variables)
    assert opt.iterations == 30
    loss = sum(float(np.sum((v.data - t) ** 2)) for v, t in zip(variables, targets))
    assert loss < loss0


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_state_save_restore_continues_identically(make):
    variables, targets = make_vars()
    opt = make()
    train(opt, variables, targets, 7)
    state = opt.get_state()
    weights = [v.data.copy() for v in variables]
    assert state["iterations"] == 7
    assert all(isinstance(a, np.ndarray) for a in state.values())
    train(opt, variables, targets, 5)
    expected = [v.data.copy() for v in variables]

    # a fresh optimizer (rebuilt from config) on fresh variables with the saved weights;
    # the state is restored *before* the optimizer has seen the variables
    clone = type(opt).from_config(opt.get_config())
    clone.set_state(state)
    fresh = [nb.tensor(w, requires_grad=True) for w in weights]
    train(clone, fresh, targets, 5)
    for a, b in zip(fresh, expected):
        np.testing.assert_array_equal(a.data, b)
    assert clone.iterations == 12

    # and restoring into an already built optimizer
    clone2 = type(opt).from_config(opt.get_config())
    fresh2 = [nb.tensor(w, requires_grad=True) for w in weights]
    clone2.build(fresh2)
    clone2.set_state(state)
    train(clone2, fresh2, targets, 5)
    for a, b in zip(fresh2, expected):
        np.testing.assert_array_equal(a.data, b)


def test_state_names_and_variables_order():
    w, b = nb.tensor(np.ones((2, 2)), requires_grad=True), nb.tensor(np.ones(2),
                                                                      requires_grad=True)
    opt = Adam(amsgrad=True)
    opt.build([w, b])
    assert opt.trainable_variables == [w, b]
    state = opt.get_state()
    assert list(state) == ["iterations", "m/0", "v/0", "vhat/0", "m/1", "v/1", "vhat/1"]
    # Keras's order: iterations, learning rate, then the state arrays
    assert [a.shape for a in opt.variables] == [(), ()] + [(2, 2)] * 3 + [(2,)] * 3
    assert "u_product" in Nadam().get_state()
    assert "momentum/0" not in SGD().get_state()


def test_set_state_rejects_mismatch():
    w = nb.tensor(np.ones(3), requires_grad=True)
    opt = Adam()
    opt.build([w])
    with pytest.raises(ValueError, match="shape"):
        opt.set_state({"iterations": np.array(1), "m/0": np.zeros(4), "v/0": np.zeros(3)})
    with pytest.raises(ValueError, match="momentum/0"):
        opt.set_state({"iterations": np.array(1), "momentum/0": np.zeros(3)})
    with pytest.raises(ValueError, match="iterations"):
        opt.set_state({"m/0": np.zeros(3)})
    assert opt.iterations == 0  # nothing changed by a rejected state


def test_lazy_creation_build_and_apply_without_variables():
    w1 = nb.tensor(np.ones(2), requires_grad=True)
    w2 = nb.tensor(np.ones(3), requires_grad=True)
    opt = SGD(learning_rate=0.5, momentum=0.5)
    with pytest.raises(ValueError, match="build"):
        opt.apply([np.ones(2)])
    opt.apply_gradients([(np.ones(2), w1)])
    opt.apply_gradients([(np.ones(3), w2), (np.ones(2), w1)])  # w2 created lazily, index 1
    assert list(opt.get_state()) == ["iterations", "momentum/0", "momentum/1"]
    opt.apply([nb.tensor(np.ones(2)), np.ones(3)])  # Tensors as gradients, built order
    assert opt.iterations == 3
    np.testing.assert_allclose(w2.data, 1 - 0.5 - 0.75)
    with pytest.raises(ValueError, match="gradient shape"):
        opt.apply_gradients([(np.ones(4), w1)])


def test_none_gradient_skips_and_warns_once():
    w1 = nb.tensor(np.ones(2), requires_grad=True)
    w2 = nb.tensor(np.ones(2), requires_grad=True)
    opt = SGD(learning_rate=0.1)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(np.ones(2), w1), (None, w2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.apply_gradients([(np.ones(2), w1), (None, w2)])
    np.testing.assert_allclose(w1.data, 0.8)
    np.testing.assert_allclose(w2.data, 1.0)
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply_gradients([(None, w1)])


def test_gradient_is_not_modified_and_dtype_is_cast():
    w = nb.tensor(np.ones(3), requires_grad=True)
    g = np.array([3.0, -4.0, 12.0])  # float64
    g_copy = g.copy()
    Adam(learning_rate=0.1, clipnorm=1.0).apply_gradients([(g, w)])
    np.testing.assert_array_equal(g, g_copy)
    assert w.data.dtype == np.float32


def test_learning_rate_property_and_schedules():
    opt = SGD(learning_rate=ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5))
    w = nb.tensor(np.zeros(1), requires_grad=True)
    assert opt.learning_rate == 1.0
    opt.apply_gradients([(np.ones(1), w)])
    assert opt.learning_rate == 0.5
    opt.apply_gradients([(np.ones(1), w)])
    np.testing.assert_allclose(w.data, [-1.5])
    opt.learning_rate = 0.01  # a float replaces the schedule (ReduceLROnPlateau)
    assert opt.learning_rate == 0.01
    assert opt.get_config()["learning_rate"] == 0.01
    opt.learning_rate = lambda step: 0.1 * (step + 1)  # a callable step -> lr
    assert opt.learning_rate == pytest.approx(0.3)
    opt.learning_rate = lambda: 0.25  # Keras's no-argument callable
    assert opt.learning_rate == 0.25
    with pytest.raises(ValueError, match="learning_rate=-1"):
        opt.learning_rate = -1.0
    bad = SGD(learning_rate=lambda step: float("nan"))
    with pytest.raises(ValueError, match="learning_rate=nan"):
        bad.apply_gradients([(np.ones(1), w)])


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_config_round_trip(make):
    opt = make()
    config = opt.get_config()
    for key in ("name", "learning_rate", "weight_decay", "clipnorm", "clipvalue",
                "global_clipnorm"):
        assert key in config
    clone = type(opt).from_config(config)
    assert clone.get_config() == config
    restored = optimizers.deserialize(optimizers.serialize(opt))
    assert type(restored) is type(opt) and restored.get_config() == config


def test_config_with_schedule_and_keras_keys():
    schedule = CosineDecay(0.1, decay_steps=100, alpha=0.1, warmup_target=0.2, warmup_steps=5)
    opt = Adam(learning_rate=schedule, beta_1=0.8, amsgrad=True, clipvalue=0.5, name="opt")
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    clone = Adam.from_config(config)
    assert isinstance(clone._learning_rate, CosineDecay)
    assert [clone._learning_rate(s) for s in (0, 3, 50, 200)] == [
        schedule(s) for s in (0, 3, 50, 200)]
    assert clone.beta_1 == 0.8 and clone.amsgrad and clone.clipvalue == 0.5
    assert clone.name == "opt"
    # a config saved by Keras 3 carries the EMA / accumulation / loss-scale keys
    assert {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
            "loss_scale_factor": None, "gradient_accumulation_steps": None}.items() <= \
        config.items()
    assert Adam.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="loss_scale_factor=128"):  # mixed precision only
        Adam(loss_scale_factor=128.0)
    with pytest.raises(ValueError, match="not recognized"):
        Adam(foo=1)


def test_keras_defaults():
    nb.layers.clear_session()  # automatic names are numbered per session, as in Keras
    assert SGD().get_config() | {} == {
        "name": "sgd", "learning_rate": 0.01, "weight_decay": None, "clipnorm": None,
        "global_clipnorm": None, "clipvalue": None, "momentum": 0.0, "nesterov": False,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
        "loss_scale_factor": None, "gradient_accumulation_steps": None}
    adam = Adam().get_config()
    assert (adam["learning_rate"], adam["beta_1"], adam["beta_2"], adam["epsilon"],
            adam["amsgrad"]) == (0.001, 0.9, 0.999, 1e-7, False)
    rms = RMSprop().get_config()
    assert (rms["learning_rate"], rms["rho"], rms["momentum"], rms["epsilon"],
            rms["centered"]) == (0.001, 0.9, 0.0, 1e-7, False)
    ada = Adagrad().get_config()
    assert (ada["learning_rate"], ada["initial_accumulator_value"], ada["epsilon"]) == (
        0.001, 0.1, 1e-7)
    delta = Adadelta().get_config()
    assert (delta["learning_rate"], delta["rho"], delta["epsilon"]) == (0.001, 0.95, 1e-7)
    assert AdamW().weight_decay == 0.004
    nadam = Nadam().get_config()
    assert (nadam["learning_rate"], nadam["beta_1"], nadam["beta_2"], nadam["epsilon"]) == (
        0.001, 0.9, 0.999, 1e-7)
    nb.layers.clear_session()
    assert [o().name for o in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Nadam)] == [
        "sgd", "adam", "adam_w", "rm_sprop", "adagrad", "adadelta", "nadam"]


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: SGD(learning_rate=-0.1), "learning_rate=-0.1"),
        (lambda: SGD(learning_rate=float("nan")), "learning_rate=nan"),
        (lambda: SGD(momentum=1.5), "momentum=1.5"),
        (lambda: SGD(momentum=-0.1), "momentum=-0.1"),
        (lambda: Adam(beta_1=1.0), "beta_1=1.0"),
        (lambda: Adam(beta_2=-0.5), "beta_2=-0.5"),
        (lambda: Adam(epsilon=-1e-7), "epsilon=-1e-07"),
        (lambda: AdamW(weight_decay=None), "weight_decay=None"),
        (lambda: AdamW(weight_decay=-0.1), "weight_decay=-0.1"),
        (lambda: Nadam(beta_1=1.2), "beta_1=1.2"),
        (lambda: RMSprop(rho=1.0), "rho=1.0"),
        (lambda: RMSprop(momentum=2), "momentum=2"),
        (lambda: Adadelta(rho=-0.1), "rho=-0.1"),
        (lambda: Adagrad(initial_accumulator_value=-1), "initial_accumulator_value=-1"),
        (lambda: Adam(clipnorm=0), "clipnorm=0"),
        (lambda: Adam(clipvalue=-1.0), "clipvalue=-1.0"),
        (lambda: Adam(clipnorm=1.0, clipvalue=1.0), "clipnorm=1.0, clipvalue=1.0"),
        (lambda: ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5), "decay_steps=0"),
        (lambda: CosineDecay(0.1, 10, alpha=2.0), "alpha=2.0"),
        (lambda: optimizers.PiecewiseConstantDecay([1, 2], [0.1]), "boundaries=\\[1, 2\\]"),
    ],
)
def test_invalid_hyperparameters_raise_with_value(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_get():
    assert isinstance(optimizers.get("adam"), Adam)
    assert isinstance(optimizers.get("SGD"), SGD)
    assert isinstance(optimizers.get("RMSprop"), RMSprop)
    assert isinstance(optimizers.get("rmsprop"), RMSprop)
    assert isinstance(optimizers.get("AdamW"), AdamW)
    opt = Nadam(learning_rate=0.3)
    assert optimizers.get(opt) is opt
    from_dict = optimizers.get({"class_name": "Adagrad", "config": {"learning_rate": 0.2}})
    assert isinstance(from_dict, Adagrad) and from_dict.learning_rate == 0.2
    with pytest.raises(ValueError, match="'adadelta'.*'sgd'") as info:
        optimizers.get("adamax")
    assert "adamax" in str(info.value)
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(3)


def test_weight_decay_is_decoupled_and_excludable():
    w = nb.tensor(np.full(2, 2.0), requires_grad=True)
    b = nb.tensor(np.full(2, 2.0), requires_grad=True)
    opt = SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[b])
    opt.apply_gradients([(np.ones(2), w), (np.ones(2), b)])
    np.testing.assert_allclose(w.data, 2.0 - 0.1 * 0.5 * 2.0 - 0.1)
    np.testing.assert_allclose(b.data, 2.0 - 0.1)
    # Adam: the decay does not enter the moments (AdamW), unlike an L2 gradient term
    w = nb.tensor(np.full(2, 2.0), requires_grad=True)
    opt = Adam(learning_rate=0.1, weight_decay=0.5)
    opt.apply_gradients([(np.zeros(2), w)])
    np.testing.assert_allclose(w.data, 2.0 * (1 - 0.05))
    np.testing.assert_array_equal(opt.get_state()["m/0"], 0.0)


def test_clipping_rules():
    w1 = nb.tensor(np.zeros(2), requires_grad=True)
    w2 = nb.tensor(np.zeros(1), requires_grad=True)
    SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients(
        [(np.array([3.0, 4.0]), w1), (np.array([0.5]), w2)])
    np.testing.assert_allclose(w1.data, [-0.6, -0.8], rtol=1e-6)
    np.testing.assert_allclose(w2.data, [-0.5])  # under the norm: unchanged
    w1.data[:] = 0
    w2.data[:] = 0
    SGD(learning_rate=1.0, global_clipnorm=2.6).apply_gradients(
        [(np.array([3.0, 4.0]), w1), (np.array([12.0]), w2)])  # global norm 13
    np.testing.assert_allclose(w1.data, [-0.6, -0.8], rtol=1e-6)
    np.testing.assert_allclose(w2.data, [-2.4], rtol=1e-6)
    w1.data[:] = 0
    SGD(learning_rate=1.0, clipvalue=0.5).apply_gradients([(np.array([3.0, -0.25]), w1)])
    np.testing.assert_allclose(w1.data, [-0.5, 0.25])


def test_numpy_arrays_as_variables():
    w = np.ones(3, dtype=np.float32)
    SGD(learning_rate=0.5).apply_gradients([(np.ones(3), w)])
    np.testing.assert_allclose(w, 0.5)


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Nadam])
def test_scalar_variables_follow_the_same_rule(cls) -> None:
    """0-d variables (Keras's scalar weights) step exactly as 1-element vectors do."""
    scalar, vector = nb.Variable(1.5), nb.Variable([1.5])
    opt_s, opt_v = cls(learning_rate=0.1), cls(learning_rate=0.1)
    for g in (0.3, -1.2, 0.7):
        opt_s.apply_gradients([(np.array(g, np.float32), scalar)])
        opt_v.apply_gradients([(np.array([g], np.float32), vector)])
    assert scalar.shape == () and scalar.numpy() == vector.numpy()[0] != 1.5
    state = opt_s.get_state()
    clone = cls(learning_rate=0.1)
    clone.build([nb.Variable(0.0)])
    clone.set_state(state)
    assert clone.get_state().keys() == state.keys()


def test_ema_and_accumulator_state_is_saved() -> None:
    w = nb.Variable([1.0, 2.0])
    opt = Adam(use_ema=True, gradient_accumulation_steps=2)
    opt.apply_gradients([(np.ones(2, np.float32), w)])
    state = opt.get_state()
    assert {"ema_average/0", "grad_accumulator/0"} <= state.keys()
    clone = Adam(use_ema=True, gradient_accumulation_steps=2)
    clone.build([nb.Variable([0.0, 0.0])])
    clone.set_state(state)
    np.testing.assert_array_equal(clone._accumulated_gradients[0], [1.0, 1.0])
    assert clone.iterations == 0 and clone._iterations == 1
