"""The training objective of Point-E's diffusion models (issue 35): the Gaussian diffusion the
reference's `GaussianDiffusion` defines (improved DDPM, Nichol & Dhariwal 2021) with the settings
of its `diffusion_from_config`: mean type epsilon, variance type learned_range, loss type "mse".

For one batch that is, per sample (the reference's `training_losses`):
  x_start = data * channel_scales + channel_biases          (data: xyz, RGB 0..255)
  x_t     = sqrt(alpha_bar_t) x_start + sqrt(1 - alpha_bar_t) noise
  mse     = mean over channels and points of (noise - eps_pred)^2
  vb      = KL(q(x_{t-1} | x_t, x_start) || p(x_{t-1} | x_t)) in bits, mean over channels and
            points, with the model mean built from a DETACHED eps_pred (the variance output
            learns from the bound without pulling the mean); 0 at t = 0 (no discretised
            decoder term for point clouds); NOT rescaled by T/1000 (loss type "mse", not
            "rescaled_mse")
  loss    = w(t) * mse + vb
Two documented departures from the reference's uniform t and w = 1, both choices the papers
leave open (importance sampling of t, weighting of the terms); the objective's minimiser, the
exact epsilon at every t, is unchanged. The defaults are EDM's (Karras et al. 2022, the paper of
the Heun sampler pointe runs):
- WHICH t (sample_timesteps): 70% of each batch from ln sigma ~ N(-1.2, 1.2^2) (median sigma
  0.3, 18% below 0.1, 0.2% above 10), the rest half from the integer timesteps pointe's Karras
  sampler feeds the network (karras_timesteps, with their frequencies: 37% of its calls are at
  sigma > 10) and half uniform (every t stays trained).
- HOW MUCH (w(t) = min(1 + sigma_t^2 / sigma_data^2, cap), sigma_data 0.5, cap 10): EDM's
  lambda(sigma) on the x0 error, moved to the eps error (x0 error = sigma x eps error), so each
  noise level's loss is of one size at its optimum.
Why (measured 2026-12-07, third session): with 70% of the batch at the sampler's timesteps and
w = min(1 + sigma^2, 100), a quarter of the batch sat at sigma > 10 with weight 100 and took the
gradient; the networks then did not denoise at sigma <= 0.1 at all (the predicted x0 as far from
the surface as the noisy input), the part of sampling that puts points on the surface, so
samples were fuzzy blobs. An x0 error at sigma > 10 moves the final cloud by only about
data scale / sigma of itself. After 1,000 steps with these defaults the base network denoised
at sigma 0.05 as well as the old one after 6,800.
The network's second half of output channels, v in [-1, 1], interpolates the log variance
between the posterior's (clipped) and beta_t: frac = (v + 1) / 2.

Schedules and channel scales are those pointe samples with (Sources/PointEDiffusion/
BetaSchedule.swift, ReleasedDiffusionConfig.swift): a model trained here is sampled by pointe
with exactly the diffusion it was trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

# ReleasedDiffusionConfig.swift's pointScales / pointBiases: xyz x2, colours 0..255 -> [-1, 1].
POINT_SCALES = (2.0, 2.0, 2.0, 0.007843137255, 0.007843137255, 0.007843137255)
POINT_BIASES = (0.0, 0.0, 0.0, -1.0, -1.0, -1.0)
TIMESTEPS = 1024


def beta_schedule(name: str, timesteps: int) -> np.ndarray:
    """float64 betas of the named schedule (BetaSchedule.swift)."""
    if name == "linear":
        scale = 1000.0 / timesteps  # Ho et al.'s 1e-4 .. 2e-2 over 1000 steps, rescaled
        return np.linspace(scale * 0.0001, scale * 0.02, timesteps, dtype=np.float64)
    if name == "cosine":
        def alpha_bar(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        return np.array([min(1 - alpha_bar((i + 1) / timesteps) / alpha_bar(i / timesteps), 0.999)
                         for i in range(timesteps)], dtype=np.float64)
    raise ValueError(f"unknown beta schedule {name!r} (linear, cosine)")


@dataclass(frozen=True)
class DiffusionSettings:
    schedule: str
    timesteps: int = TIMESTEPS
    channel_scales: Sequence[float] = POINT_SCALES
    channel_biases: Sequence[float] = POINT_BIASES


# The released models' diffusions by stage (the reference's DIFFUSION_CONFIGS).
BASE = DiffusionSettings(schedule="cosine")
UPSAMPLE = DiffusionSettings(schedule="linear")


def normal_kl(mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor) -> torch.Tensor:
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) elementwise, in nats."""
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)


class GaussianDiffusion:
    """The schedule's tables (computed in float64, used as float32 per batch) and the loss."""

    def __init__(self, settings: DiffusionSettings):
        self.settings = settings
        betas = beta_schedule(settings.schedule, settings.timesteps)
        self.num_timesteps = len(betas)
        alphas_cumprod = np.cumprod(1.0 - betas)
        alphas_cumprod_prev = np.append(1.0, alphas_cumprod[:-1])
        posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        tables = {
            "sqrt_alphas_cumprod": np.sqrt(alphas_cumprod),
            "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - alphas_cumprod),
            "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / alphas_cumprod),
            "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / alphas_cumprod - 1),
            # log clipped: the posterior variance is 0 at t = 0, so t = 0 borrows t = 1's.
            "posterior_log_variance_clipped": np.log(np.append(posterior_variance[1], posterior_variance[1:])),
            "log_betas": np.log(betas),
            "posterior_mean_coef1": betas * np.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod),
            "posterior_mean_coef2": (1.0 - alphas_cumprod_prev) * np.sqrt(1.0 - betas) / (1.0 - alphas_cumprod),
        }
        self.alphas_cumprod = alphas_cumprod
        self._ln_sigmas = 0.5 * np.log(1.0 / alphas_cumprod - 1.0)  # ln sigma_t, increasing in t (timestep_of_sigma)
        self._tables = {k: torch.from_numpy(v) for k, v in tables.items()}
        self._scales = torch.tensor(settings.channel_scales, dtype=torch.float32)
        self._biases = torch.tensor(settings.channel_biases, dtype=torch.float32)

    def _at(self, name: str, t: torch.Tensor, ndim: int) -> torch.Tensor:
        """table[t] as float32 [B, 1, ...] for broadcasting over an ndim-dimensional batch.
        Looked up in float64 and rounded once, like the reference's float64 extraction."""
        return self._tables[name][t].to(torch.float32).view(-1, *([1] * (ndim - 1)))

    def scale_channels(self, data: torch.Tensor) -> torch.Tensor:
        """Data units [B, C, N] -> model units."""
        return data * self._scales.view(1, -1, 1) + self._biases.view(1, -1, 1)

    def unscale_channels(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self._biases.view(1, -1, 1)) / self._scales.view(1, -1, 1)

    def q_sample(self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        n = x_start.dim()
        return self._at("sqrt_alphas_cumprod", t, n) * x_start + self._at("sqrt_one_minus_alphas_cumprod", t, n) * noise

    def sigma(self, t: np.ndarray) -> np.ndarray:
        """The Karras noise level of integer timesteps: sqrt(1 / alpha_bar_t - 1)."""
        return np.sqrt(1.0 / self.alphas_cumprod[t] - 1.0)

    def karras_timesteps(self, sigma_max: float, s_churn: float, steps: int = 64, sigma_min: float = 1e-3,
                         rho: float = 7.0) -> np.ndarray:
        """The integer timesteps pointe's Karras Heun sampler feeds the network in one run
        (Sources/PointEDiffusion: KarrasSchedule, KarrasSampler, GaussianToKarras), repeats
        included: at step i it evaluates at sigma_hat_i = sigma_i (1 + min(s_churn / steps,
        sqrt 2 - 1)) and, but on the last step, at sigma_{i+1}; a sigma maps to t by linear
        interpolation of alpha_bar = 1 / (sigma^2 + 1) in the table, truncated to an integer."""
        ramp = np.linspace(0, 1, steps)
        sigmas = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
        gamma = min(s_churn / steps, math.sqrt(2) - 1)
        evals = [s * (1 + gamma) for s in sigmas] + list(sigmas[1:])
        alpha = 1.0 / (np.array(evals) ** 2 + 1.0)
        order = np.argsort(self.alphas_cumprod, kind="stable")  # alpha_bar ascending
        t = np.interp(alpha, self.alphas_cumprod[order], order.astype(np.float64))  # clamps at both ends
        return np.sort(t.astype(np.int64))

    def sample_timesteps(self, batch: int, generator: torch.Generator, sampler_t: Optional[np.ndarray] = None,
                         sampler_share: float = 0.0, lognormal_share: float = 0.0,
                         log_sigma: Tuple[float, float] = (-1.2, 1.2)) -> torch.Tensor:
        """Training timesteps: uniform over [0, T) (the reference's UniformSampler), but that a
        `sampler_share` of the batch is drawn from `sampler_t` (karras_timesteps: each of its
        entries equally likely, so a timestep the sampler visits twice is drawn twice as often).
        The sampler visits about 100 distinct timesteps; the uniform rest keeps every other t
        trained (other step counts, DDPM sampling) and the network smooth in t.
        A `lognormal_share` (drawn last, so it takes precedence) comes from ln sigma ~
        N(log_sigma) mapped to the timestep of nearest ln sigma: EDM's training distribution
        (Karras et al. 2022, the paper of the sampler pointe runs; (-1.2, 1.2) is theirs). It
        spends the batch where a sample's shape is decided (sigma 0.05..3) instead of at
        sigma > 10, where an error moves the final cloud by about data scale / sigma of itself."""
        t = torch.randint(0, self.num_timesteps, (batch,), generator=generator)
        if sampler_t is not None and sampler_share > 0:
            table = torch.from_numpy(np.asarray(sampler_t, dtype=np.int64))
            picked = table[torch.randint(0, len(table), (batch,), generator=generator)]
            t = torch.where(torch.rand(batch, generator=generator) < sampler_share, picked, t)
        if lognormal_share > 0:
            ln_sigma = log_sigma[0] + log_sigma[1] * torch.randn(batch, generator=generator, dtype=torch.float64)
            drawn = self.timestep_of_sigma(ln_sigma.exp().numpy())
            t = torch.where(torch.rand(batch, generator=generator) < lognormal_share, torch.from_numpy(drawn), t)
        return t

    def timestep_of_sigma(self, sigma: np.ndarray) -> np.ndarray:
        """The integer timestep whose sigma is nearest in log (clamped to [0, T))."""
        ln_table = self._ln_sigmas
        idx = np.clip(np.searchsorted(ln_table, np.log(sigma)), 1, self.num_timesteps - 1)
        lower_nearer = np.log(sigma) - ln_table[idx - 1] < ln_table[idx] - np.log(sigma)
        return np.where(lower_nearer, idx - 1, idx).astype(np.int64)

    def loss_weights(self, t: torch.Tensor, cap: float, sigma_data: float = 1.0) -> torch.Tensor:
        """w(t) = min(1 + sigma_t^2 / sigma_data^2, cap) on the eps MSE (module docstring; with
        sigma_data 1 that is 1 / alpha_bar_t; with 0.5 it is EDM's lambda(sigma) moved from the x0
        error to the eps error); cap <= 1 gives the reference's w = 1. Measured (demo set, 2026-12-07): a cap
        of 2e4 (x0 weighting at every sampler sigma) starves the low-noise steps, whose
        gradients are sqrt(w) times smaller for the same loss: after 3200 steps neither network
        denoised at t < 60 and the upsampler ignored low_res; continuing with cap 100 (full
        weight up to sigma 10) fixed the colours. Cosine sigma reaches 2e4 at t = 1023."""
        if cap <= 1:
            return torch.ones(t.shape, dtype=torch.float32)
        sigma = self.sigma(t.numpy())
        return torch.from_numpy(np.minimum(1.0 + (sigma / sigma_data) ** 2, cap)).to(torch.float32)

    def training_losses(self, model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], data: torch.Tensor,
                        t: torch.Tensor, noise: Optional[torch.Tensor] = None,
                        generator: Optional[torch.Generator] = None, weight_cap: float = 0.0,
                        sigma_data: float = 1.0) -> Dict[str, torch.Tensor]:
        """Per-sample losses [B] ("loss" = w mse + vb, "mse" unweighted, "vb") for clean data
        [B, C, N] in data units; w = loss_weights(t, weight_cap, sigma_data). `model(x_t, t)` returns
        [B, 2C, N]: epsilon, then the variance interpolation v."""
        x_start = self.scale_channels(data)
        if noise is None:
            noise = torch.randn(x_start.shape, generator=generator)
        x_t = self.q_sample(x_start, t, noise)
        out = model(x_t, t)
        c = x_start.shape[1]
        assert out.shape == (x_start.shape[0], 2 * c, *x_start.shape[2:]), f"model output {tuple(out.shape)}"
        eps, var_values = out[:, :c], out[:, c:]
        vb = self._vb_bits(eps.detach(), var_values, x_start, x_t, t)
        mse = mean_flat((noise - eps) ** 2)
        return {"loss": self.loss_weights(t, weight_cap, sigma_data) * mse + vb, "mse": mse, "vb": vb}

    def _vb_bits(self, eps: torch.Tensor, var_values: torch.Tensor, x_start: torch.Tensor, x_t: torch.Tensor,
                 t: torch.Tensor) -> torch.Tensor:
        n = x_t.dim()
        true_mean = self._posterior_mean(x_start, x_t, t)
        true_log_var = self._at("posterior_log_variance_clipped", t, n)
        pred_xstart = self._at("sqrt_recip_alphas_cumprod", t, n) * x_t - self._at("sqrt_recipm1_alphas_cumprod", t, n) * eps
        model_mean = self._posterior_mean(pred_xstart, x_t, t)
        frac = (var_values + 1) / 2
        model_log_var = frac * self._at("log_betas", t, n) + (1 - frac) * true_log_var
        kl = mean_flat(normal_kl(true_mean, true_log_var, model_mean, model_log_var)) / math.log(2.0)
        # t = 0 would be the decoder's discretised likelihood, which point clouds do not use (0).
        return torch.where(t == 0, torch.zeros_like(kl), kl)

    def _posterior_mean(self, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n = x_t.dim()
        return self._at("posterior_mean_coef1", t, n) * x_start + self._at("posterior_mean_coef2", t, n) * x_t
