"""The ``nablanet`` command.

Subcommands are registered in :data:`SUBCOMMANDS` (name -> module) and the chapter's
runnable jobs in :data:`EXPERIMENTS` (``nablanet run NAME``). Each registered module
defines ``add_arguments(parser)`` and ``main(args) -> int``; modules are imported only
when their command runs, so ``nablanet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import nablanet

#: ``nablanet NAME ...`` -> module implementing it.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "decompose": ("nablanet.commands.decompose",
                  "decompose a .npy tensor with CP, Tucker or tensor-train"),
}

#: ``nablanet run NAME ...`` -> module implementing the job.
EXPERIMENTS: dict[str, tuple[str, str]] = {  # in the chapter's order
    "depth": ("nablanet.experiments.depth",
              "why depth helps: linear regions of ReLU networks (§3)"),
    "activations": ("nablanet.experiments.activations",
                    "activations and initialisation in a deep MLP: vanishing and exploding "
                    "gradients, dead units (§4)"),
    "regularization": ("nablanet.experiments.regularization",
                       "L1/L2 weight decay, dropout, batch norm and early stopping on an "
                       "over-fitting MLP (§5)"),
    "cnn": ("nablanet.experiments.cnn", "the chapter's rock-paper-scissors CNN experiment (§7.4)"),
    "vec2seq": ("nablanet.experiments.vec2seq", "vector to sequence: curve from parameters (§8.1)"),
    "seq2vec": ("nablanet.experiments.seq2vec", "sequence to vector: classify waves (§8.2)"),
    "seq2seq": ("nablanet.experiments.seq2seq", "sequence to sequence: per-step denoising (§8.3)"),
    "encoder-decoder": ("nablanet.experiments.encoder_decoder",
                        "encoder-decoder: add two numbers written as text (§8.4)"),
    "memory": ("nablanet.experiments.memory", "long-term memory: SimpleRNN vs LSTM, GRU (§8.5)"),
    "gan": ("nablanet.experiments.gan",
            "a GAN on a 2-D Gaussian mixture and on 8x8 digits (§9.1)"),
    "autoencoder": ("nablanet.experiments.autoencoder",
                    "dense, convolutional and denoising autoencoders on 8x8 digits (§9.2)"),
    "vae": ("nablanet.experiments.vae", "a variational autoencoder on 8x8 digits (§9.2)"),
    "compress": ("nablanet.experiments.compress",
                 "the one-conv CNN's Dense layer as a TT-matrix: weights vs test accuracy (§2)"),
}


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows every option's default: ``(default: X)`` is appended to each help text
    that does not already state its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if ("default" in text or action.default is argparse.SUPPRESS or action.required
                or not action.option_strings):
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return text  # a flag: off unless given
        default = action.default
        if isinstance(default, (list, tuple)):
            default = " ".join(map(str, default))
        return f"{text} (default: {default})".lstrip()


def _build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nablanet",
        description="nablanet: a readable deep-learning framework on NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"nablanet {nablanet.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the module of the command actually asked for is imported.
    wanted = [a for a in argv if not a.startswith("-")]
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text,
                                  formatter_class=_DefaultsFormatter)
        if wanted[:1] == [name]:
            importlib.import_module(module).add_arguments(sub)
            sub.set_defaults(_module=module)
    run = commands.add_parser("run", help="run one of the chapter's experiments",
                              description="Run one of the chapter's experiments.")
    jobs = run.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    for name, (module, help_text) in EXPERIMENTS.items():
        sub = jobs.add_parser(name, help=help_text, description=help_text,
                              formatter_class=_DefaultsFormatter)
        if wanted[:2] == ["run", name]:
            importlib.import_module(module).add_arguments(sub)
            sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nablanet`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser(argv)
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help()
        return 0 if not argv else 2
    from nablanet.utils import keep_freed_memory

    keep_freed_memory()  # 10-25% faster training steps: see its docstring
    return int(importlib.import_module(module).main(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
