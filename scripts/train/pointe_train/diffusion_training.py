"""The training loop shared by the base model and the upsampler (train_base.py, train_upsample.py):
AdamW with linear warm-up and cosine decay to --lr-end x lr, the diffusion loss of diffusion.py
(timesteps partly from the ones pointe's Karras sampler uses, eps MSE weighted towards x0
accuracy), an exponential moving average of the weights (what is saved), seeded throughout, and
a log line every few steps. Each step draws fresh clouds, so there is no data set and no epoch.

Why the LR ends near zero: the sampler needs eps to about 1e-3 at its noisiest steps (x0 error
= sigma x eps error, sigma up to 126), far below the noise of single Adam steps at full LR;
the last part of a run at a small LR (and the EMA over it) is what reaches that precision."""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch

from .diffusion import GaussianDiffusion
from .model_files import write_model
from .safetensors_io import load_file
from .transformer import PointDiffusionTransformer, model_from_config

# (clean clouds [B, 6, N] in data units, keyword arguments of the network's forward)
Batch = Tuple[torch.Tensor, Dict[str, torch.Tensor]]


@dataclass
class Settings:
    steps: int
    batch: int
    lr: float
    seed: int
    minutes: float  # wall-time cap (0: none); the LR schedule follows steps or time, whichever is further on
    threads: int
    warmup: int = 100
    ema_decay: float = 0.998
    weight_decay: float = 0.01
    log_every: int = 25
    sampler_share: float = 0.0  # share of timesteps drawn from the Karras sampler's (diffusion.sample_timesteps)
    weight_cap: float = 0.0  # eps-MSE weight min(1 + sigma_t^2, cap); <= 1: unweighted (diffusion.loss_weights)
    lr_end: float = 0.1  # final LR as a fraction of the peak
    lognormal_share: float = 0.0  # share of timesteps from EDM's log-normal sigma (diffusion.sample_timesteps)
    sigma_data: float = 1.0  # the eps-MSE weight is min(1 + sigma^2 / sigma_data^2, weight_cap)
    points: int = 0  # points per training cloud (0: the config's n_ctx)
    checkpoint_every: int = 0  # steps between EMA snapshots written mid-run (0: only at the end)
    stop_after: int = 0  # stop after this many steps, the LR schedule still spanning `steps` (0: at `steps`)


def add_common_arguments(parser: argparse.ArgumentParser, steps: int, batch: int, lr: float, sampler_share: float,
                         weight_cap: float, lr_end: float, ema: float, points: int = 0, lognormal_share: float = 0.0,
                         sigma_data: float = 1.0) -> None:
    parser.add_argument("--out", required=True, help="directory for NAME.json + NAME.safetensors")
    parser.add_argument("--seed", type=int, default=35)
    parser.add_argument("--steps", type=int, default=steps, help=f"optimizer steps (default {steps}); the LR schedule spans them")
    parser.add_argument("--minutes", type=float, default=0.0,
                        help="stop after this much wall time (0: no cap); the LR schedule then follows the step count or the "
                             "time, whichever is further on, so a run the cap stops has still decayed its LR (but is not "
                             "reproducible step for step: give --steps that fit in the time)")
    parser.add_argument("--batch", type=int, default=batch, help=f"clouds per step (default {batch})")
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--lr-end", type=float, default=lr_end, help=f"final LR as a fraction of --lr (default {lr_end})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 while the machine is shared)")
    parser.add_argument("--sampler-share", type=float, default=sampler_share,
                        help="share of each batch's timesteps drawn from those pointe's 64-step Karras sampler feeds the "
                             f"network, the rest uniform (0: the reference's uniform draws; default {sampler_share})")
    parser.add_argument("--weight-cap", type=float, default=weight_cap,
                        help="eps-MSE weight min(1 + sigma_t^2, cap), i.e. x0 + eps error (<= 1: the reference's "
                             f"unweighted MSE; default {weight_cap:g})")
    parser.add_argument("--lognormal-share", type=float, default=lognormal_share,
                        help="share of each batch's timesteps drawn from EDM's log-normal sigma (ln sigma ~ N(-1.2, 1.2^2)), "
                             f"the rest split by --sampler-share (0: none; default {lognormal_share})")
    parser.add_argument("--sigma-data", type=float, default=sigma_data,
                        help=f"eps-MSE weight min(1 + sigma^2 / sigma_data^2, --weight-cap): 0.5 is EDM's weighting (default {sigma_data})")
    parser.add_argument("--ema", type=float, default=ema, help=f"EMA decay of the saved weights (default {ema})")
    parser.add_argument("--init", help="continue from these weights (a NAME.safetensors this command wrote) instead of "
                                       "the reference's initialisation: a second training phase")
    parser.add_argument("--points", type=int, default=points,
                        help=f"points per training cloud (0: the network's n_ctx; default {points}). The networks have no "
                             "positional embedding and a cloud's points are independent given its caption, so fewer points and "
                             "more clouds per step (same cost) give each step more timesteps and captions: less gradient noise")
    parser.add_argument("--checkpoint-every", type=int, default=0,
                        help="also write the EMA weights every this many steps (0: only at the end), to sample a run mid-way")
    parser.add_argument("--stop-after", type=int, default=0,
                        help="stop after this many steps while the LR schedule still spans --steps (0: run them all): "
                             "a first phase that --init continues at another LR")
    parser.add_argument("--tiny", action="store_true", help="tiny network and batch: proves the code runs in seconds")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed, minutes=args.minutes,
                    threads=args.threads, warmup=min(100, max(1, args.steps // 10)), log_every=1 if args.tiny else 25,
                    sampler_share=args.sampler_share, weight_cap=args.weight_cap, lr_end=args.lr_end, ema_decay=args.ema,
                    lognormal_share=args.lognormal_share, sigma_data=args.sigma_data, points=args.points,
                    checkpoint_every=args.checkpoint_every, stop_after=args.stop_after)


def load_init(model: PointDiffusionTransformer, path: str, log: Callable[[str], None]) -> None:
    """Loads weights written by model_files.write_model (strict: same keys and shapes)."""
    tensors, metadata = load_file(path)
    try:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    except RuntimeError as e:
        raise ValueError(f"--init {path}: not weights of this network ({e})") from e
    log(f"continuing from {path} (metadata {metadata})")


def start(config: dict, args: argparse.Namespace, log: Callable[[str], None]) -> Tuple[Settings, PointDiffusionTransformer]:
    """The settings of a run and its network: seeded init, or the weights `--init` names."""
    s = settings_from(args)
    torch.manual_seed(args.seed)
    model = model_from_config(config)
    if args.init:
        load_init(model, args.init, log)
    return s, model


def lr_at(step: int, s: Settings, elapsed: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to lr_end x lr by the last step or the --minutes cap."""
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    progress = (step - s.warmup) / max(1, s.steps - s.warmup)
    if s.minutes:
        progress = max(progress, elapsed / (60 * s.minutes))
    return s.lr * (s.lr_end + (1 - s.lr_end) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train(model: PointDiffusionTransformer, diffusion: GaussianDiffusion, next_batch: Callable[[int], Batch],
          s: Settings, log: Callable[[str], None], sampler_t=None,
          checkpoint: Optional[Callable[[PointDiffusionTransformer, int], None]] = None) -> Tuple[PointDiffusionTransformer, Dict[str, float]]:
    """Trains `model` in place; returns the EMA copy (eval mode) and summary numbers.
    sampler_t: the timesteps the stage's Karras sampler uses (GaussianDiffusion.karras_timesteps).
    checkpoint(ema, step): called every s.checkpoint_every steps."""
    torch.set_num_threads(s.threads)
    gen = torch.Generator().manual_seed(s.seed + 1)  # noise, timesteps, conditioning dropout
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay, betas=(0.9, 0.999))
    params = sum(p.numel() for p in model.parameters())
    log(f"model {type(model).__name__}: {params} parameters; diffusion {diffusion.settings.schedule} "
        f"{diffusion.num_timesteps} steps; batch {s.batch}, steps {s.steps}, lr {s.lr} (warm-up {s.warmup}, cosine to {s.lr_end:g}x), "
        f"AdamW wd {s.weight_decay}, EMA {s.ema_decay}, timesteps {s.lognormal_share:.0%} log-normal sigma, "
        f"{(1 - s.lognormal_share) * s.sampler_share:.0%} the Karras sampler's ({0 if sampler_t is None else len(sampler_t)} calls), "
        f"{(1 - s.lognormal_share) * (1 - s.sampler_share):.0%} uniform, eps-MSE weight min(1 + sigma^2 / {s.sigma_data:g}^2, "
        f"{s.weight_cap:g}), points per cloud {s.points or 'n_ctx'}, "
        f"seed {s.seed}, torch threads {torch.get_num_threads()}")
    model.train()
    start = time.time()
    recent: List[Tuple[float, float, float]] = []
    step = 0
    stopped = "steps done"
    for step in range(s.steps):
        if s.minutes and time.time() - start > 60 * s.minutes:
            stopped = f"wall-time cap of {s.minutes} min"
            break
        if s.stop_after and step >= s.stop_after:
            stopped = f"--stop-after {s.stop_after}"
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(step, s, time.time() - start)
        data, kwargs = next_batch(step)
        t = diffusion.sample_timesteps(data.shape[0], gen, sampler_t=sampler_t, sampler_share=s.sampler_share,
                                       lognormal_share=s.lognormal_share)

        def network(x_t: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
            return model(x_t, ts, generator=gen, **kwargs)

        losses = diffusion.training_losses(network, data, t, generator=gen, weight_cap=s.weight_cap, sigma_data=s.sigma_data)
        loss = losses["loss"].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
        opt.step()
        decay = min(s.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        if checkpoint and s.checkpoint_every and (step + 1) % s.checkpoint_every == 0:
            checkpoint(ema, step + 1)
        recent.append((loss.item(), losses["mse"].mean().item(), losses["vb"].mean().item()))
        recent = recent[-100:]
        if (step + 1) % s.log_every == 0 or step == 0:
            elapsed = time.time() - start
            log(f"step {step + 1}/{s.steps} loss {recent[-1][0]:.4f} mse {recent[-1][1]:.4f} vb {recent[-1][2]:.4f} "
                f"(mean of last {len(recent)}: loss {_mean(recent, 0):.4f} mse {_mean(recent, 1):.4f} vb {_mean(recent, 2):.4f}) "
                f"grad {grad_norm:.3f} lr {opt.param_groups[0]['lr']:.2e} {elapsed:.0f}s {elapsed / (step + 1):.3f}s/step")
    else:
        step = s.steps
    wall = time.time() - start
    summary = {"steps": float(step), "wall_s": wall, "loss": _mean(recent, 0), "mse": _mean(recent, 1), "vb": _mean(recent, 2)}
    log(f"done ({stopped}): {step} steps in {wall:.0f}s ({wall / max(1, step):.3f}s/step); final losses (mean of last "
        f"{len(recent)} steps): loss {summary['loss']:.4f} mse {summary['mse']:.4f} vb {summary['vb']:.4f}")
    return ema, summary


def _mean(rows: List[Tuple[float, float, float]], i: int) -> float:
    return sum(r[i] for r in rows) / max(1, len(rows))


def train_and_write(model: PointDiffusionTransformer, diffusion: GaussianDiffusion, next_batch: Callable[[int], Batch],
                    s: Settings, log: Callable[[str], None], sampler_t, args: argparse.Namespace, name: str,
                    config: dict) -> Dict[str, float]:
    """train(), writing the EMA weights as args.out/NAME.json + .safetensors every
    s.checkpoint_every steps and at the end; logs the command that made them."""
    preset = "demo-tiny" if args.tiny else "demo"

    def checkpoint(ema: PointDiffusionTransformer, step: int) -> None:
        write_model(args.out, name, config, ema.state_dict(), preset=preset)
        log(f"step {step}: EMA weights written to {args.out}")

    ema, summary = train(model, diffusion, next_batch, s, log, sampler_t=sampler_t, checkpoint=checkpoint)
    paths = write_model(args.out, name, config, ema.state_dict(), preset=preset)
    log(f"wrote {paths['config']} and {paths['weights']} (EMA weights)")
    log("command: " + " ".join([os.path.basename(sys.executable), "scripts/train/train.py"] + sys.argv[1:]))
    return summary
