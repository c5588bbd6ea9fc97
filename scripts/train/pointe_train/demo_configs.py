"""Network configs of the demo set's two diffusion models (issue 35), in pointe's ModelConfig
JSON shape (Sources/PointEModels/ModelConfig.swift: snake_case, "name" = class), and the
tiny variants `train.py ... --tiny` uses to prove the training code runs.

The released classes and, but for the size and one switch, the released config
(ReleasedModelConfig.swift): 6 channels in (xyz RGB), 12 out (epsilon + variance), init_scale
0.25, cond_drop_prob 0.1, the upsampler's channel scales/biases. CLIP dimensions are the demo
set's tiny CLIP's (`pointe models init-random --preset tiny --only clip`): vector 32, grid 4x4
of 64.

The switch: time_token_cond (and the base model's token_cond) false, the reference
constructor's default, where the released models set true. The timestep and caption
embeddings are then added to every point's features instead of standing as tokens the points
must learn to attend to. Given its caption a cloud's points are independent, so the denoiser is
a per-point function of (point, t, caption); with the embeddings in each point's features the
MLPs learn it directly, which a training of half an hour on one core needs (measured with
the same steps and learning rate: closer to the exact posterior mean at every noise level, and
the caption read at the noisiest steps; with tokens, whole runs gave shapeless blobs).
"""

from __future__ import annotations

from typing import Any, Dict

from .diffusion import POINT_BIASES, POINT_SCALES

CLIP_FEATURE_DIM = 32
CLIP_GRID_SIZE = 4
CLIP_GRID_FEATURE_DIM = 64

BASE_NAME = "base40M-textvec"
UPSAMPLE_NAME = "upsample"


def _common(width: int, layers: int, heads: int, n_ctx: int) -> Dict[str, Any]:
    return {
        "width": width, "layers": layers, "heads": heads, "n_ctx": n_ctx,
        "input_channels": 6, "output_channels": 12, "init_scale": 0.25,
        "time_token_cond": False, "cond_drop_prob": 0.1,
        "clip_feature_dim": CLIP_FEATURE_DIM, "clip_grid_size": CLIP_GRID_SIZE,
        "clip_grid_feature_dim": CLIP_GRID_FEATURE_DIM,
    }


def base_config(tiny: bool = False) -> Dict[str, Any]:
    """Text-vector base model: 256 points (64 tiny)."""
    c = _common(width=32, layers=1, heads=2, n_ctx=32) if tiny else _common(width=128, layers=4, heads=4, n_ctx=256)
    c.update(name="CLIPImagePointDiffusionTransformer", token_cond=False)
    return c


UPSAMPLE_WIDTH = 64
UPSAMPLE_LAYERS = 4


def upsample_config(tiny: bool = False, base: Dict[str, Any] | None = None, width: int = UPSAMPLE_WIDTH,
                    layers: int = UPSAMPLE_LAYERS) -> Dict[str, Any]:
    """Upsampler: 3 x the base's points more (256 -> 1024 in all), conditioned on the base's."""
    base = base or base_config(tiny)
    cond_ctx = base["n_ctx"]
    c = _common(width=32, layers=1, heads=2, n_ctx=3 * cond_ctx) if tiny else _common(width=width, layers=layers, heads=4, n_ctx=3 * cond_ctx)
    c.update(name="CLIPImageGridUpsamplePointDiffusionTransformer", cond_ctx=cond_ctx,
             channel_scales=list(POINT_SCALES), channel_biases=list(POINT_BIASES))
    return c
