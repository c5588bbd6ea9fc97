"""Parity fixture of the training code's PointNet++ classifier, in ../shared/parity's pointnet
format (NAME.json with "name": "get_model", NAME.pt = {"model_state_dict": ...}, NAME.io.safetensors
with point_clouds_raw, point_clouds, fps_start_idx, features, probs, log_probs, l3_points, the
FPS / ball-query indices and debug.* set-abstraction outputs), for `pointe parity DIR/NAME`.

Weights: re-drawn so nothing is near an identity (conv/linear weights N(0, gain / sqrt(fan_in)),
gain sqrt(2), biases N(0, 0.1), BatchNorm weight N(1, 0.1), bias N(0, 0.1), running mean N(0, 0.1),
running var U(0.5, 1.5)), or, with --weights, a trained pointnet.safetensors as is. Inputs: two
1024-point clouds of grammar shapes, run in eval mode (FPS starts at each cloud's batch position).

    python -m pointe_train.pointnet_parity OUT_DIR [--weights FILE] [--name NAME]   (from scripts/train)
"""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn

from . import shapes
from .pointnet_model import NUM_CLASSES, WIDTH_MULT, PointNet2Classifier, normalize_clouds
from .safetensors_io import load_file, save_file

SEEDS = {"construct_seed": 3531, "randomize_seed": 3532, "input_seed": 3533}


def randomize(model: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(math.sqrt(2) / math.sqrt(fan_in) * torch.randn(module.weight.shape, generator=g))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=g))
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=g))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=g))
                module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=g))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=g))


def write_fixture(out_dir: str, name: str, weights: Optional[str] = None) -> str:
    torch.manual_seed(SEEDS["construct_seed"])
    model = PointNet2Classifier(NUM_CLASSES, WIDTH_MULT)
    if weights:
        tensors, _ = load_file(weights)
        prefix = "model_state_dict."
        model.load_state_dict({k[len(prefix):]: torch.from_numpy(v) for k, v in tensors.items()})
    else:
        randomize(model, SEEDS["randomize_seed"])
    model.eval()
    rng = np.random.default_rng(SEEDS["input_seed"])
    raw = np.stack([shapes.sample_surface("cube", 1.0, 1024, rng), shapes.sample_surface("torus", 0.6, 1024, rng) + 0.05])
    io: Dict[str, torch.Tensor] = {"point_clouds_raw": torch.from_numpy(raw)}
    io["point_clouds"] = normalize_clouds(io["point_clouds_raw"]).transpose(1, 2).contiguous()
    debug: Dict[str, torch.Tensor] = {}
    hooks = [sa.register_forward_hook(lambda _m, _i, out, key=key: debug.update({
        f"debug.{key}.xyz": out[0].transpose(1, 2).contiguous(), f"debug.{key}.points": out[1].transpose(1, 2).contiguous()}))
        for key, sa in (("sa1", model.sa1), ("sa2", model.sa2), ("sa3", model.sa3))]
    with torch.no_grad():
        log_probs, l3, features = model(io["point_clouds"])
    for h in hooks:
        h.remove()
    io.update(features=features, probs=log_probs.exp(), log_probs=log_probs, l3_points=l3,
              fps_start_idx=torch.stack(model.fps_starts))
    io["sa1.fps_idx"], io["sa1.ball_idx"] = model.sa1.last_fps, model.sa1.last_ball
    io["sa2.fps_idx"], io["sa2.ball_idx"] = model.sa2.last_fps, model.sa2.last_ball
    io.update(debug)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    torch.save({"model_state_dict": model.state_dict()}, path + ".pt")
    save_file(io, path + ".io.safetensors")
    meta = {"name": "get_model", "num_class": NUM_CLASSES, "normal_channel": False, "width_mult": WIDTH_MULT}
    meta["_fixture"] = dict(SEEDS, weights=weights or "randomised (see _notes)", io_file=name + ".io.safetensors",
                            io_tensors={k: list(v.shape) for k, v in io.items()},
                            versions={"torch": torch.__version__, "numpy": np.__version__},
                            written_by="scripts/train/pointe_train/pointnet_parity.py")
    meta["_notes"] = {"weights": __doc__.split("\n\n")[1].replace("\n", " "),
                      "inputs": "raw: a cube (scale 1) and a small torus shifted by 0.05, 1024 points each; "
                                "point_clouds = the evaluator's normalisation of them, [B, 3, N]",
                      "eval": "model.eval(), torch.no_grad(), float32, CPU"}
    with open(path + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--weights", default=None, help="a pointnet.safetensors to use instead of random weights")
    parser.add_argument("--name", default=None, help="fixture name (default demo_pointnet, or demo_pointnet_trained with --weights)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(write_fixture(args.out_dir, args.name or ("demo_pointnet_trained" if args.weights else "demo_pointnet"), args.weights))


if __name__ == "__main__":
    main()
