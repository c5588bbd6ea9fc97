#!/usr/bin/env python3
"""PyTorch side of scripts/bench/side-by-side.sh.

Our own PyTorch versions of the Point-E networks at the released sizes (random weights): the
point diffusion transformer (text-vector, image-grid and upsampler conditioning) and the SDF
model (self-attention encoder, cross-attention decoder). Attention is written as Point-E's
reference does it (packed per-head QKV, q and k each scaled by head_dim ** -0.25, einsum
products, softmax in float32), so the timings are what a PyTorch user of Point-E gets.

Prints one line `seconds S` (median of --runs after a warm-up) for the case given.
"""
import argparse
import math
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn as nn


class Attention(nn.Module):
    """Self- or cross-attention with Point-E's packed per-head layout."""

    def __init__(self, width, heads, cross=False):
        super().__init__()
        self.heads = heads
        self.cross = cross
        if cross:
            self.c_q = nn.Linear(width, width)
            self.c_kv = nn.Linear(width, 2 * width)
        else:
            self.c_qkv = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)

    def forward(self, x, data=None):
        b, n, w = x.shape
        d = w // self.heads
        scale = 1 / math.sqrt(math.sqrt(d))
        if self.cross:
            q = self.c_q(x).view(b, n, self.heads, d)
            kv = self.c_kv(data).view(b, data.shape[1], self.heads, 2 * d)
            k, v = kv.split(d, dim=-1)
        else:
            qkv = self.c_qkv(x).view(b, n, self.heads, 3 * d)
            q, k, v = qkv.split(d, dim=-1)
        weight = torch.einsum("bthc,bshc->bhts", q * scale, k * scale)
        weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
        out = torch.einsum("bhts,bshc->bthc", weight, v).reshape(b, n, w)
        return self.c_proj(out)


class MLP(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)
        self.gelu = nn.GELU()

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP(width)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class CrossBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.ln_2 = nn.LayerNorm(width)
        self.attn = Attention(width, heads, cross=True)
        self.ln_3 = nn.LayerNorm(width)
        self.mlp = MLP(width)

    def forward(self, x, data):
        x = x + self.attn(self.ln_1(x), self.ln_2(data))
        return x + self.mlp(self.ln_3(x))


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class PointDiffusion(nn.Module):
    """conditioning: 'textvec' (a CLIP vector token), 'grid' (256 CLIP grid tokens) or
    'upsample' (grid tokens + the 1024 low-resolution points as tokens)."""

    def __init__(self, conditioning, width=512, layers=12, heads=8, in_channels=6, out_channels=12):
        super().__init__()
        self.conditioning = conditioning
        self.width = width
        self.time_embed = MLP(width)
        self.input_proj = nn.Linear(in_channels, width)
        self.ln_pre = nn.LayerNorm(width)
        self.backbone = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.output_proj = nn.Linear(width, out_channels)
        if conditioning == "textvec":
            self.clip_embed = nn.Linear(768, width)
        else:
            self.clip_embed = nn.Sequential(nn.LayerNorm(1024), nn.Linear(1024, width))
        if conditioning == "upsample":
            self.cond_point_proj = nn.Linear(in_channels, width)

    def forward(self, x, t, cond):
        tokens = [self.time_embed(timestep_embedding(t, self.width))[:, None]]
        if self.conditioning == "textvec":
            tokens.insert(0, self.clip_embed(cond["clip"])[:, None])
        else:
            tokens.append(self.clip_embed(cond["grid"].permute(0, 2, 1)))
        if self.conditioning == "upsample":
            tokens.append(self.cond_point_proj(cond["low_res"].permute(0, 2, 1)))
        h = self.input_proj(x.permute(0, 2, 1))
        prefix = sum(tok.shape[1] for tok in tokens)
        h = self.ln_pre(torch.cat(tokens + [h], dim=1))
        for block in self.backbone:
            h = block(h)
        h = self.ln_post(h)[:, prefix:]
        return self.output_proj(h).permute(0, 2, 1)


class SDFModel(nn.Module):
    def __init__(self, width=256, encoder_layers=8, encoder_heads=4, decoder_layers=4, decoder_heads=4):
        super().__init__()
        self.encoder_input_proj = nn.Linear(3, width)
        self.encoder = nn.ModuleList([Block(width, encoder_heads) for _ in range(encoder_layers)])
        self.decoder_input_proj = nn.Linear(3, width)
        self.decoder = nn.ModuleList([CrossBlock(width, decoder_heads) for _ in range(decoder_layers)])
        self.ln_post = nn.LayerNorm(width)
        self.output_proj = nn.Linear(width, 1)

    def encode(self, points):
        h = self.encoder_input_proj(points.permute(0, 2, 1))
        for block in self.encoder:
            h = block(h)
        return h

    def predict_sdf(self, queries, latents):
        # As the reference: the decoder's keys/values are recomputed for every query batch.
        h = self.decoder_input_proj(queries.permute(0, 2, 1))
        for block in self.decoder:
            h = block(h, latents)
        return self.output_proj(self.ln_post(h))[..., 0]


def diffusion_inputs(conditioning, batch, n):
    cond = {"clip": torch.randn(batch, 768) / math.sqrt(768), "grid": torch.randn(batch, 1024, 256),
            "low_res": torch.randn(batch, 6, 1024) * 0.5}
    return torch.randn(batch, 6, n), torch.tensor([100.0 + 300 * i for i in range(batch)]), cond


def karras_sigmas(steps, sigma_min, sigma_max, rho=7.0):
    ramp = np.linspace(0, 1, steps)
    inv = sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    return np.append(inv ** rho, 0.0)


def heun_sample(model, shape, cond, steps, sigma_min, sigma_max, guidance, churn):
    """Karras Heun sampling with churn and classifier-free guidance (doubled batch with zeroed
    conditioning), counting network evaluations like pointe's sampler."""
    sigmas = karras_sigmas(steps, sigma_min, sigma_max)
    x = torch.randn(*shape) * sigmas[0]
    guided = guidance not in (0.0, 1.0)

    def denoise(x, sigma):
        c_in = 1 / math.sqrt(sigma ** 2 + 1)
        # The timestep's value does not change the cost: a monotone stand-in for the
        # reference's sigma -> t interpolation.
        t = torch.full((x.shape[0],), min(1023.0, max(0.0, 1000 * math.atan(sigma) * 2 / math.pi)))
        if guided:
            zero = {k: torch.zeros_like(v) if k != "low_res" else v for k, v in cond.items()}
            both = {k: torch.cat([cond[k], zero[k]]) for k in cond}
            out = model(torch.cat([x, x]) * c_in, torch.cat([t, t]), both)[:, :6]
            eps_c, eps_u = out.chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)
        else:
            eps = model(x * c_in, t, cond)[:, :6]
        return (x - sigma * eps).clamp(-1, 1)

    evaluations = 0
    for i in range(len(sigmas) - 1):
        gamma = min(churn / steps, math.sqrt(2) - 1)
        sigma_hat = sigmas[i] * (gamma + 1)
        if gamma > 0:
            x = x + torch.randn_like(x) * math.sqrt(sigma_hat ** 2 - sigmas[i] ** 2)
        d = (x - denoise(x, sigma_hat)) / sigma_hat
        evaluations += 1
        dt = sigmas[i + 1] - sigma_hat
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x2 = x + d * dt
            d2 = (x2 - denoise(x2, sigmas[i + 1])) / sigmas[i + 1]
            evaluations += 1
            x = x + (d + d2) / 2 * dt
    return x, evaluations


def marching_cubes_mesh(model, cloud, grid, batch):
    """The reference's meshing path: encode once, evaluate every grid point in batches (decoder
    keys/values recomputed per batch), then marching cubes on the volume (scikit-image)."""
    from skimage import measure
    latents = model.encode(cloud)
    axis = torch.linspace(-0.51, 0.51, grid)
    points = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)
    values = []
    for start in range(0, points.shape[0], batch):
        values.append(model.predict_sdf(points[start:start + batch].T[None], latents)[0])
    volume = torch.cat(values).reshape(grid, grid, grid).numpy()
    if volume.min() > 0 or volume.max() < 0:
        volume = volume - volume.mean()
    return measure.marching_cubes(volume, 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=["base40M-textvec", "base40M", "upsample", "sdf-encode", "sdf-decode", "sample", "mesh"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="sample: Karras steps per stage")
    parser.add_argument("--batch", type=int, default=1, help="sample: samples drawn together")
    parser.add_argument("--grid", type=int, default=128, help="mesh: grid samples per axis")
    parser.add_argument("--cloud", help="mesh: a Point-E .npz cloud (coords); default: a random sphere")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    with torch.inference_mode():
        if args.case in ("base40M-textvec", "base40M", "upsample"):
            conditioning = {"base40M-textvec": "textvec", "base40M": "grid", "upsample": "upsample"}[args.case]
            batch, n = (1, 3072) if args.case == "upsample" else (2, 1024)
            model = PointDiffusion(conditioning).eval()
            x, t, cond = diffusion_inputs(conditioning, batch, n)
            run = lambda: model(x, t, cond)
        elif args.case in ("sdf-encode", "sdf-decode"):
            model = SDFModel().eval()
            cloud = torch.randn(1, 3, 4096) * 0.3
            queries = torch.randn(1, 3, 4096) * 0.3
            latents = model.encode(cloud)
            run = (lambda: model.encode(cloud)) if args.case == "sdf-encode" else (lambda: model.predict_sdf(queries, latents))
        elif args.case == "sample":
            base, up = PointDiffusion("textvec").eval(), PointDiffusion("upsample").eval()
            n = args.batch
            clip = torch.randn(n, 768) / math.sqrt(768)

            def run():
                low, e1 = heun_sample(base, (n, 6, 1024), {"clip": clip}, args.steps, 1e-3, 120, 3.0, 3.0)
                cond = {"grid": torch.zeros(n, 1024, 256), "low_res": low}
                _, e2 = heun_sample(up, (n, 6, 3072), cond, args.steps, 1e-3, 160, 0.0, 0.0)
                return e1, e2
        else:
            model = SDFModel().eval()
            if args.cloud:
                coords = np.load(args.cloud)["coords"].astype(np.float32)
                cloud = torch.from_numpy(coords).T[None]
            else:
                cloud = torch.randn(1, 3, 4096) * 0.3
            run = lambda: marching_cubes_mesh(model, cloud, args.grid, 4096)

        if args.case not in ("sample", "mesh"):
            run()  # warm-up
        times = []
        for _ in range(1 if args.case in ("sample", "mesh") else args.runs):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        print(f"seconds {statistics.median(times):.3f}")
        # Peak resident memory of the process (weights included), kilobytes on Linux.
        print(f"peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
