"""`train.py base`: the demo set's text-vector base model (base40M-textvec's class at a small
size), trained on the grammar's procedural shapes.

Each step: random captions of the grammar, a fresh cloud of n_ctx (or --points) surface points per caption
(xyz, RGB 0..255: the data units pointe's sampler returns), the caption's CLIP text embedding
as pointe computes it (`pointe models embed-text`, once per run for every caption), dropped to
the zero vector with probability cond_drop_prob (the unconditional half of guidance at
inference), the cosine diffusion of the released base models. Timesteps and loss weights as
diffusion.py says (mostly EDM's log-normal noise levels; some of those pointe's base stage
samples at: 64 Heun steps, sigma_max 120, s_churn 3). 64 points a cloud and 64 clouds a step by
default (--points): the network takes any point count and samples 256.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from . import demo_configs
from .diffusion import BASE, GaussianDiffusion
from .diffusion_training import add_common_arguments, start, train_and_write
from .shapes import all_captions, sample_cloud
from .text_embeddings import DEFAULT_POINTE, DEMO_SET_DIR, embed_captions

NAME = demo_configs.BASE_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, steps=6400, batch=64, lr=1.5e-3, sampler_share=0.5, weight_cap=10, lr_end=0.02, ema=0.999,
                         points=64, lognormal_share=0.7, sigma_data=0.5)
    add_pointe_arguments(parser)


def add_pointe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pointe", default=DEFAULT_POINTE, help="pointe binary that embeds the captions")
    parser.add_argument("--clip-dir", default=DEMO_SET_DIR, help="models directory holding the set's CLIP (clip.json + clip.safetensors)")


def clouds(captions, n: int, rng: np.random.Generator) -> torch.Tensor:
    """[B, 6, n] surface clouds in data units: xyz, RGB 0..255."""
    out = np.stack([sample_cloud(c, n, rng) for c in captions])  # [B, n, 6], RGB 0..1
    out[:, :, 3:] *= 255.0
    return torch.from_numpy(np.ascontiguousarray(out.transpose(0, 2, 1)))


def run(args: argparse.Namespace, log=print) -> dict:
    config = demo_configs.base_config(tiny=args.tiny)
    s, model = start(config, args, log)
    captions = all_captions()
    t0 = time.time()
    embeddings = torch.from_numpy(embed_captions(captions, args.pointe, args.clip_dir))
    log(f"{len(captions)} captions embedded by {args.pointe} with the CLIP in {args.clip_dir} in {time.time() - t0:.1f}s")
    rng = np.random.default_rng(args.seed)
    points = s.points or config["n_ctx"]

    def next_batch(_step: int):
        idx = rng.integers(0, len(captions), size=s.batch)
        data = clouds([captions[i] for i in idx], points, rng)
        return data, {"embeddings": embeddings[torch.from_numpy(idx)]}

    diffusion = GaussianDiffusion(BASE)
    # pointe's base stage: KarrasOptions.baseStage (Sources/PointEDiffusion/KarrasSampler.swift)
    sampler_t = diffusion.karras_timesteps(sigma_max=120, s_churn=3)
    return train_and_write(model, diffusion, next_batch, s, log, sampler_t, args, NAME, config)
