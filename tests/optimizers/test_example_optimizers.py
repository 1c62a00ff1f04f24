"""examples/optimizers.py runs on tiny settings, writes its figures, and Adam makes progress."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "optimizers.py"


def load_example():
    spec = importlib.util.spec_from_file_location("example_optimizers", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_runs_and_adam_reduces_loss(tmp_path, capsys):
    example = load_example()
    out = tmp_path / "figs"
    results = example.main(["--out", str(out), "--steps", "40"])
    for name in ("network_loss.png", "rosenbrock_loss.png", "rosenbrock_paths.png"):
        path = out / name
        assert path.exists() and path.stat().st_size > 1000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(results["network"]) == {"SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp",
                                       "Adadelta", "Adam"}
    adam_net = results["network"]["Adam"]
    adam_rosen = results["rosenbrock"]["Adam"]
    assert len(adam_net) == 41 and adam_net[-1] < 0.9 * adam_net[0]
    assert adam_rosen[-1] < 0.5 * adam_rosen[0]
    printed = capsys.readouterr().out
    assert "Adam" in printed and "Adadelta" in printed
