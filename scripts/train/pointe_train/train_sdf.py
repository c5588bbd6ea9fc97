"""`train.py sdf`: trains the demo set's SDF network (CrossAttentionPointCloudSDFModel) by
regression of the exact signed distance of the grammar's shapes (issue 35).

What the network sees matches what pointe's mesher gives it (Sources/PointEMesh/SDFGridSampler.swift):
the coordinates only of the final cloud -- 1024 points, the demo upsampler's output -- as
[1, 3, N], and query points in the mesher's cube [-0.51, 0.51]^3 (pc_to_mesh's side 1.02).
Generated clouds are not perfect surface samples, so the training clouds are perturbed: a
continuous scale around the grammar's sizes, a small shift (the target moves with it) and
Gaussian jitter of the points (the target stays the clean surface's).

Queries: half near the surface (surface samples moved by N(0, sigma), sigma 0.01 or 0.04), half
uniform in the mesher's cube. Loss: mean |predicted - exact| (positive inside, pointe's sign).

Measured on this 2-core machine (logs/sdf.log; validation on 1024-point clouds): at equal compute,
the number of optimizer steps matters far more than the batch (2 clouds x 2400 steps beat 16 x 600
by a third in L1), so the steps are small: 2 clouds of 512 queries. The encoder attends over every
pair of points, so most steps use 256-point clouds (the attention is a weighted mean over the set,
and a network trained on 256 points was as good on 1024-point validation clouds); the last
--early-fraction of the steps use the 1024 points of inference.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from typing import Any, Dict, List, Tuple

import numpy as np
import torch

from . import shapes
from .model_files import write_model
from .sdf_model import CrossAttentionPointCloudSDFModel, sdf_model_from_config

NAME = "sdf"
MESH_HALF_SIDE = 0.51  # the mesher's grid: side 1.02 centred on the origin


def sdf_config(tiny: bool = False) -> Dict[str, Any]:
    """The demo SDF network: width 64, 2 encoder / 2 decoder layers, clouds of 1024 points."""
    c: Dict[str, Any] = {"name": "CrossAttentionPointCloudSDFModel", "init_scale": 0.25}
    if tiny:
        c.update(width=16, n_ctx=64, encoder_layers=1, encoder_heads=2, decoder_layers=1, decoder_heads=2)
    else:
        c.update(width=64, n_ctx=1024, encoder_layers=2, encoder_heads=4, decoder_layers=2, decoder_heads=4)
    return c


class Augment:
    """Perturbations of the training clouds (all drawn from the batch's numpy generator)."""
    scale_range = (0.5, 1.4)   # continuous, covering the grammar's 0.6 / 1.0 / 1.3 with margin
    max_shift = 0.02           # per axis; the query targets are shifted alike
    max_jitter = 0.012         # per-cloud sigma of the points' Gaussian noise, drawn in [0, max]


def make_batch(rng: np.random.Generator, batch: int, points: int, queries: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """clouds [B, 3, points], queries [B, 3, queries], exact SDF targets [B, queries]."""
    clouds = np.empty((batch, 3, points), np.float32)
    qs = np.empty((batch, 3, queries), np.float32)
    targets = np.empty((batch, queries), np.float32)
    for b in range(batch):
        shape = shapes.SHAPE_NAMES[rng.integers(len(shapes.SHAPE_NAMES))]
        scale = rng.uniform(*Augment.scale_range)
        shift = rng.uniform(-Augment.max_shift, Augment.max_shift, 3)
        cloud = shapes.sample_surface(shape, scale, points, rng) + shift
        cloud += rng.normal(0, rng.uniform(0, Augment.max_jitter), cloud.shape)
        near = queries // 2
        sigma = np.where(rng.random(near) < 0.5, 0.01, 0.04)[:, None]
        q_near = shapes.sample_surface(shape, scale, near, rng) + rng.normal(0, 1, (near, 3)) * sigma
        q_far = rng.uniform(-MESH_HALF_SIDE, MESH_HALF_SIDE, (queries - near, 3))
        q = np.clip(np.concatenate([q_near + shift, q_far]), -MESH_HALF_SIDE, MESH_HALF_SIDE)
        clouds[b] = cloud.T
        qs[b] = q.T
        targets[b] = shapes.sdf(shape, scale, q - shift)
    return clouds, qs, targets


def evaluate(model: CrossAttentionPointCloudSDFModel, batch: Tuple[np.ndarray, ...]) -> Dict[str, float]:
    clouds, qs, targets = (torch.from_numpy(a) for a in batch)
    model.eval()
    with torch.no_grad():
        pred = model(qs, clouds)
    model.train()
    err = (pred - targets).abs()
    near = targets.abs() < 0.03
    return {"l1": err.mean().item(), "l1_near": err[near].mean().item(),
            "sign_acc_near": ((pred > 0) == (targets > 0))[near].float().mean().item()}


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def train(args: argparse.Namespace) -> Dict[str, Any]:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    config = sdf_config(args.tiny)
    points = config["n_ctx"]
    early_points = min(points, args.early_points) if args.early_points else points
    queries = 64 if args.tiny else args.queries
    batch = 2 if args.tiny else args.batch
    model = sdf_model_from_config(config)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    # A fixed validation batch from its own generator, so it does not depend on the step count.
    val = make_batch(np.random.default_rng(args.seed + 1), 4 if args.tiny else 16, points, 256 if args.tiny else 2048)
    log_lines: List[str] = []

    def log(line: str) -> None:
        print(line, flush=True)
        log_lines.append(line)

    log(f"sdf: config {json.dumps(config, sort_keys=True)}; seed {args.seed}; batch {batch} clouds, {queries} queries each; "
        f"clouds of {early_points} points for the first {args.early_fraction:.0%} of the steps, then {points}; "
        f"lr {args.lr}; steps {args.steps}; minutes {args.minutes}; threads {args.threads}")
    start = time.time()
    step, losses = 0, []
    total = args.steps
    while step < total:
        if args.minutes and time.time() - start > args.minutes * 60:
            log(f"time limit reached at step {step}")
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, args.lr, warmup=min(100, total // 10 + 1))
        n = early_points if step < args.early_fraction * total else points
        clouds, qs, targets = (torch.from_numpy(a) for a in make_batch(rng, batch, n, queries))
        loss = (model(qs, clouds) - targets).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % args.log_every == 0 or step == total:
            log(f"step {step} loss {np.mean(losses[-args.log_every:]):.5f} elapsed {time.time() - start:.0f}s")
    wall = time.time() - start
    metrics = evaluate(model, val)
    log(f"done: {step} steps in {wall:.1f}s; final train loss (mean of last {min(len(losses), args.log_every)}) "
        f"{np.mean(losses[-args.log_every:]):.5f}; validation {json.dumps({k: round(v, 5) for k, v in metrics.items()})}")
    paths = write_model(args.out, NAME, config, model.state_dict(), preset="demo")
    log(f"wrote {paths['config']} and {paths['weights']}")
    if args.log:
        os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
        with open(args.log, "w") as f:
            f.write("\n".join(log_lines) + "\n")
    return {"steps": step, "wall_s": wall, **metrics}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory for sdf.json + sdf.safetensors")
    parser.add_argument("--seed", type=int, default=35)
    parser.add_argument("--steps", type=int, default=20000, help="optimizer steps (the learning-rate schedule's length)")
    parser.add_argument("--minutes", type=float, default=0, help="stop after this many minutes even if steps remain (0: no limit)")
    parser.add_argument("--tiny", action="store_true", help="a tiny network and batch: proves the code runs, in seconds")
    parser.add_argument("--batch", type=int, default=2, help="clouds per step")
    parser.add_argument("--queries", type=int, default=512, help="query points per cloud per step")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (warm-up, then cosine decay to 0)")
    parser.add_argument("--early-points", type=int, default=256,
                        help="points per cloud for the first --early-fraction of the steps (0: the config's n_ctx throughout)")
    parser.add_argument("--early-fraction", type=float, default=0.97)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-every", type=int, default=1000)
    parser.add_argument("--log", default=None, help="also write the log to this file")


def run(args: argparse.Namespace) -> None:
    train(args)
