"""Point-E's point diffusion transformers in PyTorch, for training the demo set (issue 35).

The networks pointe runs (Sources/PointEModels/PointDiffusionTransformer.swift, Layers.swift),
written from the papers' description and the reference's behaviour (openai/point-e
point_e/models/transformer.py): the same modules under the same names, so `state_dict()` has
the released checkpoints' keys and pointe loads what this trains with no conversion. Equality
with pointe on the same weights is checked by `parity_fixtures.py` (`pointe parity`).

Differences from the reference that do not change the function:
  * CLIP is not inside the model: the CLIP dimensions are constructor arguments (the demo set's
    tiny CLIP, not ViT-L/14) and the caller passes embeddings / grids, as pointe does.
  * Attention runs through `scaled_dot_product_attention` (one 1/sqrt(d) factor on q.k; the
    reference splits it as 1/d^(1/4) on q and on k: the same product up to rounding).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding [B, dim]: frequencies exp(-ln(max_period) i / half) in float32,
    cos half first, then sin (zero column if dim is odd) -- pointe's `timestepEmbedding`."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32)[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def _init_linear(layer: nn.Linear, std: float) -> None:
    nn.init.normal_(layer.weight, std=std)
    nn.init.zeros_(layer.bias)


class MLP(nn.Module):
    """c_fc (w -> 4w), exact GELU, c_proj."""

    def __init__(self, width: int, init_scale: float):
        super().__init__()
        self.c_fc = nn.Linear(width, width * 4)
        self.c_proj = nn.Linear(width * 4, width)
        _init_linear(self.c_fc, init_scale)
        _init_linear(self.c_proj, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x)))


class MultiheadAttention(nn.Module):
    """Self-attention whose c_qkv output packs each head's q, k, v together:
    [q_h0 k_h0 v_h0 | q_h1 k_h1 v_h1 | ...] (not torch's [q | k | v])."""

    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        self.heads = heads
        self.c_qkv = nn.Linear(width, width * 3)
        self.c_proj = nn.Linear(width, width)
        _init_linear(self.c_qkv, init_scale)
        _init_linear(self.c_proj, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, w = x.shape
        head_dim = w // self.heads
        qkv = self.c_qkv(x).view(b, n, self.heads, 3 * head_dim).transpose(1, 2)  # [B, H, N, 3d]
        q, k, v = qkv.split(head_dim, dim=-1)
        out = F.scaled_dot_product_attention(q, k, v)  # [B, H, N, d]
        return self.c_proj(out.transpose(1, 2).reshape(b, n, w))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        # Registration order = the reference's (attn, ln_1, mlp, ln_2), so state dicts list alike.
        self.attn = MultiheadAttention(width, heads, init_scale)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = MLP(width, init_scale)
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """`resblocks.N`; weights drawn with std init_scale * sqrt(1 / width)."""

    def __init__(self, width: int, layers: int, heads: int, init_scale: float):
        super().__init__()
        self.width = width
        std = init_scale * math.sqrt(1.0 / width)
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, std) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x)
        return x


class PointDiffusionTransformer(nn.Module):
    """x [B, C, N], t [B] -> [B, output_channels, N]; conditioning vectors/tokens precede the points."""

    # The CLIP dimensions a config of this class may carry and the constructor takes (pointe's
    # configs name the whole family's CLIP; each class uses only its own).
    clip_keys: Tuple[str, ...] = ()

    def __init__(self, *, input_channels: int = 3, output_channels: int = 3, n_ctx: int = 1024, width: int = 512,
                 layers: int = 12, heads: int = 8, init_scale: float = 0.25, time_token_cond: bool = False):
        super().__init__()
        self.input_channels = input_channels
        self.output_channels = output_channels
        self.n_ctx = n_ctx
        self.time_token_cond = time_token_cond
        self.time_embed = MLP(width, init_scale * math.sqrt(1.0 / width))
        self.ln_pre = nn.LayerNorm(width)
        self.backbone = Transformer(width, layers, heads, init_scale)
        self.ln_post = nn.LayerNorm(width)
        self.input_proj = nn.Linear(input_channels, width)
        self.output_proj = nn.Linear(width, output_channels)
        # The reference starts every network at output 0 (epsilon 0, variance fraction 0.5).
        with torch.no_grad():
            self.output_proj.weight.zero_()
            self.output_proj.bias.zero_()

    @property
    def width(self) -> int:
        return self.backbone.width

    def time_embedding(self, t: torch.Tensor) -> torch.Tensor:
        return self.time_embed(timestep_embedding(t, self.width))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.forward_with_cond(x, [(self.time_embedding(t), self.time_token_cond)])

    def forward_with_cond(self, x: torch.Tensor, cond: List[Tuple[torch.Tensor, bool]]) -> torch.Tensor:
        """cond: (embedding, as_token) in the class's order; [B, W] vectors not taken as tokens
        are added to every point, tokens ([B, W] -> one, [B, T, W] -> T) precede the points."""
        # No positional embedding and attention is a weighted mean, so a cloud may have any point
        # count: training uses fewer than n_ctx (--points), sampling exactly n_ctx.
        h = self.input_proj(x.permute(0, 2, 1))
        for emb, as_token in cond:
            if not as_token:
                h = h + emb[:, None]
        extra = [emb[:, None] if emb.dim() == 2 else emb for emb, as_token in cond if as_token]
        if extra:
            h = torch.cat(extra + [h], dim=1)
        h = self.ln_post(self.backbone(self.ln_pre(h)))
        skip = sum(e.shape[1] for e in extra)
        return self.output_proj(h[:, skip:]).permute(0, 2, 1)


def drop_conditioning(cond: torch.Tensor, prob: float, generator: Optional[torch.Generator]) -> torch.Tensor:
    """Zeroes each sample's conditioning with probability `prob` (training only): the zero
    embedding is what the guidance's unconditional half feeds at inference."""
    if prob <= 0:
        return cond
    keep = torch.rand(cond.shape[0], generator=generator) >= prob
    return cond * keep.to(cond).view(-1, *([1] * (cond.dim() - 1)))


class CLIPImagePointDiffusionTransformer(PointDiffusionTransformer):
    """Conditioned on a unit CLIP vector [B, clip_feature_dim] (text or image), rescaled by
    sqrt(dim) and projected by clip_embed; a token when token_cond, else added to every point."""

    clip_keys = ("clip_feature_dim",)

    def __init__(self, *, n_ctx: int = 1024, token_cond: bool = False, cond_drop_prob: float = 0.0,
                 clip_feature_dim: int = 768, **kwargs):
        super().__init__(n_ctx=n_ctx, **kwargs)
        self.token_cond = token_cond
        self.clip_feature_dim = clip_feature_dim
        self.clip_embed = nn.Linear(clip_feature_dim, self.width)
        self.cond_drop_prob = cond_drop_prob

    def forward(self, x: torch.Tensor, t: torch.Tensor, embeddings: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        if embeddings is None:  # pointe (and the reference's CLIP wrapper) use the zero embedding
            embeddings = torch.zeros(x.shape[0], self.clip_feature_dim, dtype=x.dtype)
        assert embeddings.shape == (x.shape[0], self.clip_feature_dim), f"embeddings {tuple(embeddings.shape)}"
        if self.training:
            embeddings = drop_conditioning(embeddings, self.cond_drop_prob, generator)
        clip_embed = self.clip_embed(math.sqrt(self.clip_feature_dim) * embeddings)
        cond = [(clip_embed, self.token_cond), (self.time_embedding(t), self.time_token_cond)]
        return self.forward_with_cond(x, cond)


class CLIPImageGridUpsamplePointDiffusionTransformer(PointDiffusionTransformer):
    """Adds n_ctx points to cond_ctx base points `low_res` [B, C, cond_ctx] given in data units
    (xyz, RGB 0..255; mapped to model units by the channel_scales/channel_biases buffers), and
    an optional CLIP latent grid [B, grid_feature_dim, grid_size^2] (all zeros when absent:
    text-to-cloud sampling gives the upsampler no grid)."""

    clip_keys = ("clip_grid_size", "clip_grid_feature_dim")

    def __init__(self, *, n_ctx: int = 3072, cond_ctx: int = 1024, cond_input_channels: Optional[int] = None,
                 channel_scales: Optional[Sequence[float]] = None, channel_biases: Optional[Sequence[float]] = None,
                 cond_drop_prob: float = 0.0, clip_grid_size: int = 16, clip_grid_feature_dim: int = 1024, **kwargs):
        super().__init__(n_ctx=n_ctx, **kwargs)
        self.cond_ctx = cond_ctx
        self.cond_point_proj = nn.Linear(cond_input_channels or self.input_channels, self.width)
        # The root's own buffers: state_dict lists them before every submodule's tensors, as the
        # released checkpoint does.
        self.register_buffer("channel_scales", None if channel_scales is None else torch.tensor(channel_scales, dtype=torch.float32))
        self.register_buffer("channel_biases", None if channel_biases is None else torch.tensor(channel_biases, dtype=torch.float32))
        self.clip_grid_size = clip_grid_size
        self.clip_grid_feature_dim = clip_grid_feature_dim
        self.clip_embed = nn.Sequential(nn.LayerNorm(clip_grid_feature_dim), nn.Linear(clip_grid_feature_dim, self.width))
        self.cond_drop_prob = cond_drop_prob

    def embed_low_res(self, low_res: torch.Tensor) -> torch.Tensor:
        if self.channel_scales is not None:
            low_res = low_res * self.channel_scales[None, :, None]
        if self.channel_biases is not None:
            low_res = low_res + self.channel_biases[None, :, None]
        return self.cond_point_proj(low_res.permute(0, 2, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, *, low_res: torch.Tensor, embeddings: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        low_res_embed = self.embed_low_res(low_res)
        if embeddings is None:
            embeddings = torch.zeros(x.shape[0], self.clip_grid_feature_dim, self.clip_grid_size ** 2, dtype=x.dtype)
        if self.training:
            embeddings = drop_conditioning(embeddings, self.cond_drop_prob, generator)
        clip_embed = self.clip_embed(embeddings.permute(0, 2, 1))
        cond = [(self.time_embedding(t), self.time_token_cond), (clip_embed, True), (low_res_embed, True)]
        return self.forward_with_cond(x, cond)


CLASSES = {cls.__name__: cls for cls in (PointDiffusionTransformer, CLIPImagePointDiffusionTransformer,
                                          CLIPImageGridUpsamplePointDiffusionTransformer)}


def model_from_config(config: Dict[str, Any]) -> PointDiffusionTransformer:
    """A network from a pointe ModelConfig dict (snake_case keys, "name" = class; "_" keys ignored)."""
    try:
        cls = CLASSES[config["name"]]
    except KeyError:
        raise ValueError(f"model config: class {config.get('name')!r} is not one of {sorted(CLASSES)}") from None
    all_clip_keys = {"clip_feature_dim", "clip_grid_size", "clip_grid_feature_dim"}
    kwargs = {k: v for k, v in config.items()
              if k != "name" and not k.startswith("_") and (k not in all_clip_keys or k in cls.clip_keys)}
    return cls(**kwargs)
