"""Parameter trajectories of every optimizer against torch.optim (>= 50 steps, 1e-4 relative).

The problem: a small two-layer tanh network with softmax cross-entropy on generated data
(non-convex, four variables of different shapes). nablanet's gradients come from nablanet's
autograd, torch's from torch's; both start from the same float64 weights.

Adam and AdamW follow Keras's form (ε added to √v, bias corrections folded into the step
size); torch's ε' is added to the bias-corrected root, so the torch runs set
``eps' = ε / √(1-β₂ᵗ)`` before each step (:func:`keras_epsilon`), the exact mapping stated in
``Adam``'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import ops
from nablanet.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    ExponentialDecay,
    Nadam,
    RMSprop,
)

STEPS = 60


def make_problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(32, 5))
    labels = (x[:, 0] + x[:, 1] ** 2 > 1).astype(int) + (x[:, 2] > 0.5).astype(int)
    y = np.eye(3)[labels]
    params = [
        rng.normal(scale=0.5, size=(5, 4)),
        rng.normal(scale=0.1, size=(4,)),
        rng.normal(scale=0.5, size=(4, 3)),
        rng.normal(scale=0.1, size=(3,)),
    ]
    return x, y, params


def run_nablanet(opt, steps: int = STEPS, dtype=np.float64, seed: int = 0) -> list[np.ndarray]:
    x, y, init = make_problem(seed)
    xt = nb.Tensor(x, dtype=dtype)
    variables = [nb.Tensor(p, dtype=dtype, requires_grad=True) for p in init]
    w1, b1, w2, b2 = variables
    trajectory = []
    for _ in range(steps):
        for v in variables:
            v.grad = None
        logits = ops.tanh(xt @ w1 + b1) @ w2 + b2
        loss = -(ops.log_softmax(logits, axis=-1) * y).sum() / len(x)
        loss.backward()
        opt.apply_gradients(zip([v.grad for v in variables], variables))
        trajectory.append(np.concatenate([v.data.ravel() for v in variables]))
    return trajectory


def run_torch(
    make_opt: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int = STEPS,
    dtype=torch.float64,
    seed: int = 0,
    before_step: Callable[[torch.optim.Optimizer, list[torch.Tensor], int], None] | None = None,
) -> list[np.ndarray]:
    x, y, init = make_problem(seed)
    xt = torch.tensor(x, dtype=dtype)
    yt = torch.tensor(y, dtype=dtype)
    variables = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in init]
    w1, b1, w2, b2 = variables
    opt = make_opt(variables)
    trajectory = []
    for step in range(steps):
        opt.zero_grad()
        logits = torch.tanh(xt @ w1 + b1) @ w2 + b2
        loss = -(torch.log_softmax(logits, dim=-1) * yt).sum() / len(x)
        loss.backward()
        if before_step is not None:
            before_step(opt, variables, step)
        opt.step()
        trajectory.append(np.concatenate([v.detach().numpy().ravel() for v in variables]))
    return trajectory


def assert_same_trajectory(ours, theirs, rtol: float = 1e-4, atol: float = 1e-8) -> None:
    assert len(ours) == len(theirs) >= 50
    for step, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step + 1}")
    # the problem must actually move the weights (a test that cannot fail is no test)
    assert np.max(np.abs(ours[-1] - ours[0])) > 1e-3


def keras_epsilon(epsilon: float) -> Callable[[torch.optim.Optimizer, list, int], None]:
    """Before torch's step t: ε' = ε / √(1-β₂ᵗ), so torch.optim.Adam computes Keras's form."""
    def before(opt: torch.optim.Optimizer, _params: list, step: int) -> None:
        for group in opt.param_groups:
            group["eps"] = epsilon / math.sqrt(1.0 - group["betas"][1] ** (step + 1))
    return before


KERAS_EPS = {"adam": 1e-7, "adam_betas": 1e-5, "adam_amsgrad": 1e-7, "adamw": 1e-7,
             "adamw_amsgrad": 1e-7, "adam_decoupled_wd_is_adamw": 1e-7}

CASES = {
    "sgd": (lambda: SGD(learning_rate=0.2),
            lambda p: torch.optim.SGD(p, lr=0.2)),
    "sgd_momentum": (lambda: SGD(learning_rate=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "sgd_nesterov": (lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "adagrad_keras_init": (
        lambda: Adagrad(learning_rate=0.1, initial_accumulator_value=0.1, epsilon=1e-7),
        lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-7)),
    "adagrad_torch_init": (
        lambda: Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=1e-10),
        lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "rmsprop": (lambda: RMSprop(learning_rate=0.003, rho=0.9, epsilon=1e-7),
                lambda p: torch.optim.RMSprop(p, lr=0.003, alpha=0.9, eps=1e-7)),
    "rmsprop_momentum": (
        lambda: RMSprop(learning_rate=0.003, rho=0.9, momentum=0.5, epsilon=1e-7),
        lambda p: torch.optim.RMSprop(p, lr=0.003, alpha=0.9, momentum=0.5, eps=1e-7)),
    "rmsprop_centered": (
        lambda: RMSprop(learning_rate=0.003, rho=0.9, epsilon=1e-7, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.003, alpha=0.9, eps=1e-7, centered=True)),
    "rmsprop_centered_momentum": (
        lambda: RMSprop(learning_rate=0.005, rho=0.8, momentum=0.7, epsilon=1e-6,
                        centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.005, alpha=0.8, momentum=0.7, eps=1e-6,
                                      centered=True)),
    "adadelta_paper": (lambda: Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-6),
                       lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6)),
    "adadelta_scaled": (lambda: Adadelta(learning_rate=0.5, rho=0.95, epsilon=1e-7),
                        lambda p: torch.optim.Adadelta(p, lr=0.5, rho=0.95, eps=1e-7)),
    "adam": (lambda: Adam(learning_rate=0.01),
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7)),
    "adam_betas": (lambda: Adam(learning_rate=0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-5),
                   lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-5)),
    "adam_amsgrad": (
        lambda: Adam(learning_rate=0.02, beta_2=0.9, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.9, 0.9), eps=1e-7, amsgrad=True)),
    "adamw": (lambda: AdamW(learning_rate=0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.1)),
    "adamw_amsgrad": (
        lambda: AdamW(learning_rate=0.01, weight_decay=0.05, beta_2=0.9, amsgrad=True),
        lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.9, 0.9), eps=1e-7,
                                    weight_decay=0.05, amsgrad=True)),
    "adam_decoupled_wd_is_adamw": (
        lambda: Adam(learning_rate=0.01, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.1)),
    # Keras 3's Nadam momentum schedule 0.96**t is torch's with momentum_decay=1.
    "nadam": (lambda: Nadam(learning_rate=0.01),
              lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0)),
    "nadam_decoupled_wd": (
        lambda: Nadam(learning_rate=0.01, weight_decay=0.1),
        lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0,
                                    weight_decay=0.1, decoupled_weight_decay=True)),
    "sgd_decoupled_wd": (
        # torch's SGD weight decay is L2; decoupled decay with a constant lr equals torch's
        # SGD on θ with gradient g + λθ, because θ - ηλθ - ηg = θ - η(g + λθ).
        lambda: SGD(learning_rate=0.1, weight_decay=0.3),
        lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_torch(case: str) -> None:
    ours, theirs = CASES[case]
    before = keras_epsilon(KERAS_EPS[case]) if case in KERAS_EPS else None
    assert_same_trajectory(run_nablanet(ours()), run_torch(theirs, before_step=before))


def test_float32_adam_matches_torch() -> None:
    ours = run_nablanet(Adam(learning_rate=0.01), dtype=np.float32)
    theirs = run_torch(lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-7), dtype=torch.float32,
                       before_step=keras_epsilon(1e-7))
    assert ours[-1].dtype == np.float32
    assert_same_trajectory(ours, theirs, rtol=1e-4, atol=1e-5)


def test_nadam_differs_from_torch_default_momentum_decay() -> None:
    """torch's default ψ = 0.004 is the paper's schedule, not Keras 3's: a visible gap."""
    ours = run_nablanet(Nadam(learning_rate=0.01))
    theirs = run_torch(lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7))
    assert np.max(np.abs(ours[-1] - theirs[-1])) > 1e-3


def test_schedule_matches_torch_with_same_lr_sequence() -> None:
    schedule = ExponentialDecay(0.02, decay_steps=10, decay_rate=0.5)

    def set_lr(opt, params, step):
        for group in opt.param_groups:
            group["lr"] = schedule(step)
        keras_epsilon(1e-7)(opt, params, step)

    ours = run_nablanet(Adam(learning_rate=schedule))
    theirs = run_torch(lambda p: torch.optim.Adam(p, lr=0.02, eps=1e-7), before_step=set_lr)
    assert_same_trajectory(ours, theirs)


def _clip_case(clip_fn):
    def before(opt, params, step):
        clip_fn(params)
    return before


def _torch_clip_by_norm(grads: list[torch.Tensor], max_norm: float) -> None:
    """Keras's rule ``g * c / max(‖g‖, c)`` on torch gradients, in place.

    (``torch.nn.utils.clip_grad_norm_`` divides by ``‖g‖ + 1e-6``, a relative difference of
    ~1e-5 per step at these norms, which the trajectory would accumulate.)
    """
    norm = torch.sqrt(sum((g * g).sum() for g in grads))
    if norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)


@pytest.mark.parametrize(
    ("kwargs", "torch_clip"),
    [
        ({"clipnorm": 0.05},
         lambda ps: [_torch_clip_by_norm([p.grad], 0.05) for p in ps]),
        ({"global_clipnorm": 0.08},
         lambda ps: _torch_clip_by_norm([p.grad for p in ps], 0.08)),
        ({"clipvalue": 0.02},
         lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.02)),
    ],
    ids=["clipnorm", "global_clipnorm", "clipvalue"],
)
def test_clipping_matches_torch(kwargs, torch_clip) -> None:
    ours = run_nablanet(SGD(learning_rate=0.5, momentum=0.5, **kwargs))
    theirs = run_torch(lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
                       before_step=_clip_case(torch_clip))
    assert_same_trajectory(ours, theirs)
    unclipped = run_nablanet(SGD(learning_rate=0.5, momentum=0.5))
    assert np.max(np.abs(unclipped[-1] - ours[-1])) > 1e-3  # clipping was active


def test_clipnorm_close_to_torch_clip_grad_norm() -> None:
    """torch's own utility agrees to its 1e-6 norm offset."""
    ours = run_nablanet(SGD(learning_rate=0.5, momentum=0.5, global_clipnorm=0.08))
    theirs = run_torch(
        lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
        before_step=_clip_case(lambda ps: torch.nn.utils.clip_grad_norm_(ps, 0.08)))
    np.testing.assert_allclose(ours[-1], theirs[-1], rtol=1e-3, atol=1e-5)
