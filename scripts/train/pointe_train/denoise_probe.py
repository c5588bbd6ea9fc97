"""`train.py denoise-probe`: how well a trained base model denoises, noise level by noise level,
against the best any network could do.

For a few grammar captions, true clouds are noised to each sigma (the diffusion's own timestep
nearest it), the network predicts x0 (clipped, as pointe's sampler does), and the line shows the
mean distance of the predicted points to the caption's surface (shapes.sdf), of the noisy points
(x_t / sqrt(alpha_bar), what no denoising gives) and of the exact posterior mean (a Monte Carlo
mean over many surface samples: the ideal denoiser). Where the network is near the noisy input
and far from the ideal, sampling leaves that much noise on the cloud: this is how the third
session found that its networks did not denoise at sigma <= 0.1 (docs/DEMO-MODELS.md).

    train.py denoise-probe --models-dir DIR    (DIR holds base40M-textvec.json/.safetensors)
"""

from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np
import torch

from . import demo_configs, shapes
from .diffusion import BASE, GaussianDiffusion
from .diffusion_training import load_init
from .text_embeddings import DEFAULT_POINTE, DEMO_SET_DIR, embed_captions
from .transformer import model_from_config

SIGMAS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 3.0)
CAPTIONS = ("a red cube", "a orange torus", "a yellow cone", "a blue cylinder")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-dir", required=True, help="directory holding base40M-textvec.json + .safetensors")
    parser.add_argument("--pointe", default=DEFAULT_POINTE, help="pointe binary that embeds the captions")
    parser.add_argument("--clip-dir", default=DEMO_SET_DIR, help="models directory holding the set's CLIP")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--points", type=int, default=256, help="points per probe cloud")
    parser.add_argument("--surface-samples", type=int, default=20000, help="surface samples of the ideal posterior mean")


def ideal_x0(noisy: np.ndarray, surface: np.ndarray, sigma: float) -> np.ndarray:
    """E[x0 | x0 + sigma z = noisy] for x0 uniform over `surface` samples (model units, [N, 3])."""
    d2 = ((noisy[:, None, :] - surface[None]) ** 2).sum(-1)
    w = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * sigma * sigma))
    return (w / w.sum(1, keepdims=True)) @ surface


def run(args: argparse.Namespace, log=print) -> dict:
    name = demo_configs.BASE_NAME
    with open(os.path.join(args.models_dir, name + ".json")) as f:
        model = model_from_config(json.load(f))
    load_init(model, os.path.join(args.models_dir, name + ".safetensors"), log=lambda _: None)
    model.eval()
    diffusion = GaussianDiffusion(BASE)
    all_sigmas = diffusion.sigma(np.arange(diffusion.num_timesteps))
    embeddings = embed_captions(list(CAPTIONS), args.pointe, args.clip_dir)
    rng = np.random.default_rng(args.seed)
    log("mean distance to the surface (data units) of: network's x0 / noisy input / ideal x0")
    table = {}
    for i, caption in enumerate(CAPTIONS):
        p = shapes.parse_caption(caption)
        data = torch.from_numpy(shapes.sample_cloud(caption, args.points, rng).T[None] * np.array([1, 1, 1, 255, 255, 255])[:, None])
        x_start = diffusion.scale_channels(data.float())
        surface = shapes.sample_surface(p.shape, p.scale, args.surface_samples, rng) * 2  # model units
        cells = []
        for sigma in SIGMAS:
            t = int(diffusion.timestep_of_sigma(np.array([sigma]))[0])
            s, a = float(all_sigmas[t]), float(diffusion.alphas_cumprod[t])
            noise = torch.randn(x_start.shape, generator=torch.Generator().manual_seed(args.seed + t))
            x_t = math.sqrt(a) * x_start + math.sqrt(1 - a) * noise
            with torch.no_grad():
                eps = model(x_t, torch.tensor([t]), embeddings=torch.from_numpy(embeddings[i:i + 1]))[:, :6]
            x0 = ((x_t - math.sqrt(1 - a) * eps) / math.sqrt(a)).clamp(-1, 1)[0, :3].T.numpy()
            noisy = (x_t / math.sqrt(a))[0, :3].T.numpy()
            ideal = ideal_x0(noisy, surface, s)
            dist = [float(np.abs(shapes.sdf(p.shape, p.scale, pts / 2)).mean()) for pts in (x0, noisy, ideal)]
            cells.append(f"s{sigma:g}: {dist[0]:.3f}/{dist[1]:.3f}/{dist[2]:.3f}")
            table[(caption, sigma)] = dist
        log(f"{caption:18s} " + "  ".join(cells))
    return {"table": table}
