"""Learning-rate schedules against their formulas, and the chapter's (corrected) §6 forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nablanet as nb
from nablanet.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    CosineDecay,
    ExponentialDecay,
    Nadam,
    PiecewiseConstantDecay,
    RMSprop,
    adam_update,
    schedules,
    sgd_update,
)

# -- schedules --------------------------------------------------------------------------------


def test_exponential_decay_formula():
    s = ExponentialDecay(0.3, decay_steps=7, decay_rate=0.8)
    for step in (0, 1, 6, 7, 20, 100):
        assert s(step) == pytest.approx(0.3 * 0.8 ** (step / 7), rel=1e-12)
    st = ExponentialDecay(0.3, decay_steps=7, decay_rate=0.8, staircase=True)
    for step in (0, 6, 7, 13, 14, 100):
        assert st(step) == pytest.approx(0.3 * 0.8 ** (step // 7), rel=1e-12)


def test_piecewise_constant_formula():
    s = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.25])
    assert [s(t) for t in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_cosine_decay_formula():
    s = CosineDecay(0.4, decay_steps=50, alpha=0.1)
    for step in (0, 10, 25, 49, 50, 80):
        tau = min(step, 50)
        expected = 0.4 * (0.9 * 0.5 * (1 + math.cos(math.pi * tau / 50)) + 0.1)
        assert s(step) == pytest.approx(expected, rel=1e-12)
    w = CosineDecay(0.0, decay_steps=20, warmup_target=1.0, warmup_steps=10)
    assert [w(t) for t in (0, 5, 9)] == pytest.approx([0.0, 0.5, 0.9])
    assert w(10) == pytest.approx(1.0)
    assert w(20) == pytest.approx(0.5)
    assert w(30) == pytest.approx(0.0, abs=1e-12)
    assert w(1000) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("schedule", [
    ExponentialDecay(0.1, 3, 0.9, staircase=True),
    PiecewiseConstantDecay([5], [0.1, 0.01]),
    CosineDecay(0.1, 10, alpha=0.2, warmup_target=0.3, warmup_steps=2),
])
def test_schedule_serialization_round_trip(schedule):
    config = schedules.serialize(schedule)
    assert config["class_name"] == type(schedule).__name__
    clone = schedules.deserialize(config)
    assert type(clone) is type(schedule)
    assert [clone(t) for t in range(15)] == [schedule(t) for t in range(15)]
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        schedules.deserialize({"class_name": "os.system", "config": {}})


def test_optimizer_uses_schedule_at_iterations():
    """The k-th update (k = 0, 1, ...) uses schedule(k), as Keras."""
    s = PiecewiseConstantDecay([1], [1.0, 0.1])
    w = nb.tensor(np.zeros(1), requires_grad=True)
    opt = SGD(learning_rate=s)
    for _ in range(3):
        opt.apply_gradients([(np.ones(1), w)])
    np.testing.assert_allclose(w.data, [-(1.0 + 1.0 + 0.1)], rtol=1e-6)  # steps 0, 1 <= 1


# -- chapter §6 forms (ERRATA rows 6.1-6.6) -----------------------------------------------------

def _grad(theta):
    """Gradient of the ill-conditioned quadratic 0.5 * (10 x^2 + y^2) + x y / 2."""
    return np.array([10 * theta[0] + 0.5 * theta[1], theta[1] + 0.5 * theta[0]])


def _run(opt, steps=60, theta0=(1.0, 1.0)):
    w = nb.Tensor(np.array(theta0), dtype=np.float64, requires_grad=True)
    path = []
    for _ in range(steps):
        opt.apply_gradients([(_grad(w.data), w)])
        path.append(w.data.copy())
    return np.array(path)


def test_momentum_sutskever_equals_pytorch_form_at_constant_lr():
    """ERRATA 6.1: m_t = βm - ηg_t, θ += m_t equals b_t = βb + g_t, θ -= ηb_t."""
    eta, beta = 0.05, 0.9
    ours = _run(SGD(learning_rate=eta, momentum=beta))
    theta, b = np.array([1.0, 1.0]), np.zeros(2)
    ref = []
    for _ in range(60):
        b = beta * b + _grad(theta)
        theta = theta - eta * b
        ref.append(theta)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_momentum_forms_differ_when_lr_changes():
    """With a changing η the two forms differ: the new η scales only new gradients here."""
    lrs = [0.05] * 10 + [0.005] * 10
    ours = _run(SGD(learning_rate=lambda step: lrs[step], momentum=0.9), steps=20)
    theta, b = np.array([1.0, 1.0]), np.zeros(2)
    for t in range(20):
        b = 0.9 * b + _grad(theta)
        theta = theta - lrs[t] * b
    assert np.max(np.abs(ours[-1] - theta)) > 1e-3


def test_nesterov_equals_lookahead_gradient_form():
    """ERRATA 6.2: the framework form equals the chapter's look-ahead form in the shifted
    variable φ = θ + βm: g = ∇L(θ + βm), m' = βm - ηg, θ' = θ + m'."""
    eta, beta = 0.05, 0.9
    ours = _run(SGD(learning_rate=eta, momentum=beta, nesterov=True))
    theta, m = np.array([1.0, 1.0]), np.zeros(2)
    ref = []
    for _ in range(60):
        g = _grad(theta + beta * m)
        m = beta * m - eta * g
        theta = theta + m
        ref.append(theta + beta * m)  # the point where the next gradient is taken
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_adagrad_corrected_form():
    """ERRATA 6.3: s += g⊙g (no Kronecker, no root); Δθ = -η g / (ε + √s)."""
    eta, eps = 0.3, 1e-7
    ours = _run(Adagrad(learning_rate=eta, initial_accumulator_value=0.0, epsilon=eps))
    theta, s = np.array([1.0, 1.0]), np.zeros(2)
    for step in range(60):
        g = _grad(theta)
        s = s + g * g
        theta = theta - eta * g / (eps + np.sqrt(s))
        np.testing.assert_allclose(ours[step], theta, rtol=1e-10, atol=1e-12)


def test_rmsprop_corrected_form():
    """ERRATA 6.4: s = βs + (1-β)g⊙g; Δθ = -η g / (ε + √s)."""
    eta, beta, eps = 0.01, 0.9, 1e-7
    ours = _run(RMSprop(learning_rate=eta, rho=beta, epsilon=eps))
    theta, s = np.array([1.0, 1.0]), np.zeros(2)
    for step in range(60):
        g = _grad(theta)
        s = beta * s + (1 - beta) * g * g
        theta = theta - eta * g / (eps + np.sqrt(s))
        np.testing.assert_allclose(ours[step], theta, rtol=1e-10, atol=1e-12)


def test_adadelta_zeiler_form():
    """ERRATA 6.5 at η = 1 (the paper): Δθ = -√(δ+ε)/√(s+ε) g; δ = ρδ + (1-ρ)Δθ²."""
    rho, eps = 0.9, 1e-4
    ours = _run(Adadelta(learning_rate=1.0, rho=rho, epsilon=eps))
    theta, s, delta = np.array([1.0, 1.0]), np.zeros(2), np.zeros(2)
    for step in range(60):
        g = _grad(theta)
        s = rho * s + (1 - rho) * g * g
        d = -np.sqrt(delta + eps) / np.sqrt(s + eps) * g
        delta = rho * delta + (1 - rho) * d * d
        theta = theta + d
        np.testing.assert_allclose(ours[step], theta, rtol=1e-10, atol=1e-12)


def test_adam_corrected_form_and_keras_epsilon_hat_mapping():
    """ERRATA 6.6 in Keras's form (ε̂ added to √v, the bias corrections in the step size), and
    the paper's Algorithm 1 (torch's, ε' added to √ŝ) is one step of it with ε = ε'√(1-β₂ᵗ)."""
    eta, b1, b2, eps = 0.05, 0.9, 0.999, 1e-3
    ours = _run(Adam(learning_rate=eta, beta_1=b1, beta_2=b2, epsilon=eps))
    theta, m, s = np.array([1.0, 1.0]), np.zeros(2), np.zeros(2)
    paper_theta = theta.copy()
    pm, ps = np.zeros(2), np.zeros(2)
    for t in range(1, 61):
        g = _grad(theta)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        theta = theta - eta * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(s) + eps)
        np.testing.assert_allclose(ours[t - 1], theta, rtol=1e-10, atol=1e-12)
        # the paper's Algorithm 1 with ε' ...
        pg = _grad(paper_theta)
        probe_m, probe_v, probe = pm.copy(), ps.copy(), paper_theta.copy()
        pm = b1 * pm + (1 - b1) * pg
        ps = b2 * ps + (1 - b2) * pg * pg
        paper_theta = paper_theta - eta * (pm / (1 - b1**t)) / (
            np.sqrt(ps / (1 - b2**t)) + eps)
        # ... is one step of our rule from the same state with ε = ε' √(1-β₂ᵗ)
        adam_update(probe, pg, probe_m, probe_v, None, learning_rate=eta, beta_1=b1,
                    beta_2=b2, epsilon=eps * math.sqrt(1 - b2**t), step=t)
        np.testing.assert_allclose(probe, paper_theta, rtol=1e-9, atol=1e-12)
    assert np.max(np.abs(theta - paper_theta)) > 1e-6  # the two forms do differ


def test_nadam_matches_keras_formula():
    """Keras 3's Nadam written out directly (the u_t schedule with 0.96**t)."""
    eta, b1, b2, eps = 0.05, 0.9, 0.999, 1e-7
    ours = _run(Nadam(learning_rate=eta, beta_1=b1, beta_2=b2, epsilon=eps))
    theta, m, v, u_product = np.array([1.0, 1.0]), np.zeros(2), np.zeros(2), 1.0
    for t in range(1, 61):
        g = _grad(theta)
        u_t = b1 * (1 - 0.5 * 0.96**t)
        u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product *= u_t
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - b2**t)
        theta = theta - m_hat * eta / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(ours[t - 1], theta, rtol=1e-10, atol=1e-12)


def test_update_functions_work_on_plain_arrays():
    param = np.ones(3, dtype=np.float32)
    velocity = np.zeros(3, dtype=np.float32)
    sgd_update(param, np.ones(3, dtype=np.float32), velocity, learning_rate=0.1, momentum=0.9)
    np.testing.assert_allclose(param, 0.9)
    np.testing.assert_allclose(velocity, -0.1)
    assert param.dtype == np.float32 and velocity.dtype == np.float32
