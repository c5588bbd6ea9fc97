"""Point-E's SDF network, CrossAttentionPointCloudSDFModel, in PyTorch (issue 35's demo set).

The network pointe runs (Sources/PointEModels/SDFModel.swift, Perceiver.swift), written from the
reference's behaviour (openai/point-e point_e/models/sdf.py, perceiver.py): a transformer encodes
the cloud's coordinates [B, 3, N] into latents [B, N, W] (no positional input: the encoder sees a
set, so the point count is free); a cross-attention perceiver decodes query points [B, 3, Q]
against the latents into signed distances [B, Q], positive inside. Same module names as the
released sdf checkpoint, so `state_dict()` loads in pointe as is.
"""

from __future__ import annotations

import math
from typing import Any, Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .transformer import MLP, Transformer, _init_linear


class MultiheadCrossAttention(nn.Module):
    """Queries from x, keys/values from data. c_kv packs each head's key and value together:
    [k_h0 v_h0 | k_h1 v_h1 | ...] (pointe's MultiheadCrossAttention reads it that way)."""

    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        self.heads = heads
        self.c_q = nn.Linear(width, width)
        self.c_kv = nn.Linear(width, width * 2)
        self.c_proj = nn.Linear(width, width)
        for layer in (self.c_q, self.c_kv, self.c_proj):
            _init_linear(layer, init_scale)

    def forward(self, x: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
        b, n, w = x.shape
        m = data.shape[1]
        d = w // self.heads
        q = self.c_q(x).view(b, n, self.heads, d).transpose(1, 2)  # [B, H, N, d]
        k, v = self.c_kv(data).view(b, m, self.heads, 2 * d).transpose(1, 2).split(d, dim=-1)
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(d)) v
        return self.c_proj(out.transpose(1, 2).reshape(b, n, w))


class ResidualCrossAttentionBlock(nn.Module):
    """x + attn(ln_1(x), ln_2(data)), then + mlp(ln_3(x))."""

    def __init__(self, width: int, heads: int, init_scale: float):
        super().__init__()
        # Registration order = the released code's (attn, ln_1, ln_2, mlp, ln_3; as the parity
        # fixture's state dict lists it), so state dicts list alike.
        self.attn = MultiheadCrossAttention(width, heads, init_scale)
        self.ln_1 = nn.LayerNorm(width)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP(width, init_scale)
        self.ln_3 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), self.ln_2(data))
        return x + self.mlp(self.ln_3(x))


class SimplePerceiver(nn.Module):
    """Cross-attention blocks `resblocks.N`; weights drawn with std init_scale * sqrt(1 / width)."""

    def __init__(self, width: int, layers: int, heads: int, init_scale: float):
        super().__init__()
        std = init_scale * math.sqrt(1.0 / width)
        self.resblocks = nn.ModuleList([ResidualCrossAttentionBlock(width, heads, std) for _ in range(layers)])

    def forward(self, x: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, data)
        return x


class CrossAttentionPointCloudSDFModel(nn.Module):
    def __init__(self, *, n_ctx: int = 4096, width: int = 512, encoder_layers: int = 12, encoder_heads: int = 8,
                 decoder_layers: int = 4, decoder_heads: int = 8, init_scale: float = 0.25):
        super().__init__()
        self.n_ctx = n_ctx  # the training clouds' point count; the network itself takes any
        self.encoder_input_proj = nn.Linear(3, width)
        self.encoder = Transformer(width, encoder_layers, encoder_heads, init_scale)
        self.decoder_input_proj = nn.Linear(3, width)
        self.decoder = SimplePerceiver(width, decoder_layers, decoder_heads, init_scale)
        self.ln_post = nn.LayerNorm(width)
        self.output_proj = nn.Linear(width, 1)

    def encode_point_clouds(self, point_clouds: torch.Tensor) -> torch.Tensor:
        """[B, 3, N] coordinates -> latents [B, N, W]."""
        return self.encoder(self.encoder_input_proj(point_clouds.permute(0, 2, 1)))

    def predict_sdf(self, queries: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """[B, 3, Q] query points -> [B, Q] signed distances (positive inside)."""
        h = self.decoder(self.decoder_input_proj(queries.permute(0, 2, 1)), latents)
        return self.output_proj(self.ln_post(h))[..., 0]

    def forward(self, queries: torch.Tensor, point_clouds: torch.Tensor) -> torch.Tensor:
        return self.predict_sdf(queries, self.encode_point_clouds(point_clouds))


CONFIG_KEYS = ("n_ctx", "width", "encoder_layers", "encoder_heads", "decoder_layers", "decoder_heads", "init_scale")


def sdf_model_from_config(config: Dict[str, Any]) -> CrossAttentionPointCloudSDFModel:
    """From a pointe ModelConfig dict ("name" must be the class; "_" keys ignored)."""
    if config.get("name") != CrossAttentionPointCloudSDFModel.__name__:
        raise ValueError(f"model config: class {config.get('name')!r} is not {CrossAttentionPointCloudSDFModel.__name__}")
    unknown = [k for k in config if k != "name" and not k.startswith("_") and k not in CONFIG_KEYS]
    if unknown:
        raise ValueError(f"model config: keys {unknown} are not {CrossAttentionPointCloudSDFModel.__name__}'s")
    return CrossAttentionPointCloudSDFModel(**{k: config[k] for k in CONFIG_KEYS if k in config})
