#!/usr/bin/env python3
"""Trains the demo model set (issue 35): `train.py SUBCOMMAND --out DIR [--seed N] [--steps N]
[--minutes M] [--tiny]`. Development time only (PyTorch); pointe runs the results without Python.

Each subcommand lives in its own module of pointe_train/, which provides
`add_arguments(parser)` and `run(args)`; this file only dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# subcommand -> (module of pointe_train, one-line help)
SUBCOMMANDS = {
    "base": ("train_base", "text-vector base diffusion model (base40M-textvec)"),
    "upsample": ("train_upsample", "upsampler diffusion model (upsample)"),
    "sdf": ("train_sdf", "SDF network of the mesher (sdf)"),
    "pointnet": ("train_pointnet", "PointNet++ classifier of P-FID / P-IS (pointnet)"),
    "ground-truth": ("ground_truth", "reference clouds of the grammar's captions (quality tests, P-FID)"),
    "score-job": ("score_job", "how a finished pointe run job of grammar captions came out (shape, colour, Chamfer)"),
    "denoise-probe": ("denoise_probe", "a trained base model's denoising at each noise level against the ideal"),
}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    module = None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        # Only the chosen subcommand's module is imported: one module's imports (or a
        # missing one) cannot break another subcommand.
        if name == chosen:
            module = importlib.import_module("pointe_train." + module_name)
            sub_parser.description = module.__doc__
            sub_parser.formatter_class = argparse.RawDescriptionHelpFormatter
            module.add_arguments(sub_parser)
    args = parser.parse_args(argv)
    module.run(args)


if __name__ == "__main__":
    main()
