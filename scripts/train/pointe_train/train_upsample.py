"""`train.py upsample`: the demo set's upsampler (the released upsample class at a small size):
cond_ctx base points in, n_ctx more points of the same object out.

Each step: random captions, one fresh cloud of cond_ctx + n_ctx surface points per caption in
data units (xyz, RGB 0..255); the first cond_ctx are `low_res`, the rest are what the upsampler
learns to add. That is what pointe's sampler gives it after the base stage: the base's cloud in
data units (clipped to the model range, colours as floats) and, for text prompts, no CLIP grid
(the network uses an all-zero grid) and no guidance. The linear diffusion of the released
upsampler; timesteps and loss weights as diffusion.py says (mostly EDM's log-normal noise
levels; some of those pointe's upsampler stage samples at: 64 Heun steps, sigma_max 160, no
churn). By default (--points 128) a training cloud is 128 low_res points and 384 to add, 16
clouds a step; pointe samples 256 and 768.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from . import demo_configs
from .diffusion import UPSAMPLE, GaussianDiffusion
from .diffusion_training import add_common_arguments, start, train_and_write
from .shapes import all_captions
from .train_base import clouds

NAME = demo_configs.UPSAMPLE_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, steps=9000, batch=16, lr=1.5e-3, sampler_share=0.5, weight_cap=10, lr_end=0.02, ema=0.999,
                         points=128, lognormal_share=0.7, sigma_data=0.5)
    parser.add_argument("--width", type=int, default=demo_configs.UPSAMPLE_WIDTH,
                        help=f"transformer width (default {demo_configs.UPSAMPLE_WIDTH}; ignored with --tiny)")
    parser.add_argument("--layers", type=int, default=demo_configs.UPSAMPLE_LAYERS,
                        help=f"transformer layers (default {demo_configs.UPSAMPLE_LAYERS}; ignored with --tiny)")


def run(args: argparse.Namespace, log=print) -> dict:
    config = demo_configs.upsample_config(tiny=args.tiny, width=args.width, layers=args.layers)
    s, model = start(config, args, log)
    captions = all_captions()
    rng = np.random.default_rng(args.seed)
    # --points: low-res points per training cloud, with n_ctx / cond_ctx times as many to add
    cond_ctx = s.points or config["cond_ctx"]
    n_ctx = cond_ctx * config["n_ctx"] // config["cond_ctx"]

    def next_batch(_step: int):
        idx = rng.integers(0, len(captions), size=s.batch)
        both = clouds([captions[i] for i in idx], cond_ctx + n_ctx, rng)
        return both[:, :, cond_ctx:].contiguous(), {"low_res": both[:, :, :cond_ctx].contiguous()}

    diffusion = GaussianDiffusion(UPSAMPLE)
    # pointe's upsampler stage: KarrasOptions.upsamplerStage (Sources/PointEDiffusion/KarrasSampler.swift)
    sampler_t = diffusion.karras_timesteps(sigma_max=160, s_churn=0)
    return train_and_write(model, diffusion, next_batch, s, log, sampler_t, args, NAME, config)
