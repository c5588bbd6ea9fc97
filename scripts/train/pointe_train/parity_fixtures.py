"""Parity fixtures of the training code's diffusion transformers, in ../shared/parity's format
(NAME.json config + _fixture/_notes, NAME.pt state dict, NAME.io.safetensors inputs, expected
outputs and debug.* activations), for `pointe parity DIR/NAME`: the PyTorch networks trained
here must compute what pointe computes on the same weights.

The networks are the demo set's configs (demo_configs.py) with weights re-drawn so that no
layer is near an identity or zero (the reference's init zeroes output_proj): LayerNorm weight
N(1, 0.1), bias N(0, 0.1); Linear weight N(0, gain / sqrt(in)), gain 1.3 for c_qkv, else 1;
Linear bias N(0, 0.1) -- the randomisation ../shared/parity's fixtures use.

    python -m pointe_train.parity_fixtures OUT_DIR   (from scripts/train)
"""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import Callable, Dict, List

import torch
import torch.nn as nn

from . import demo_configs
from .safetensors_io import save_file
from .transformer import PointDiffusionTransformer, model_from_config


def randomize(model: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=g))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=g))
            elif isinstance(module, nn.Linear):
                gain = 1.3 if name.endswith("c_qkv") else 1.0
                std = gain / math.sqrt(module.in_features)
                module.weight.copy_(std * torch.randn(module.weight.shape, generator=g))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=g))


def record_debug(model: PointDiffusionTransformer, call: Callable[[], torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Runs `call` with forward hooks on the modules pointe's observer names (t_embed,
    clip_embed, cond_point_proj, input_proj, ln_pre, block{i}, ln_post)."""
    recorded: Dict[str, torch.Tensor] = {}
    modules = {"t_embed": model.time_embed, "input_proj": model.input_proj, "ln_pre": model.ln_pre, "ln_post": model.ln_post}
    if hasattr(model, "clip_embed"):
        modules["clip_embed"] = model.clip_embed
    if hasattr(model, "cond_point_proj"):
        modules["cond_point_proj"] = model.cond_point_proj
    for i, block in enumerate(model.backbone.resblocks):
        modules[f"block{i}"] = block
    handles = [m.register_forward_hook(lambda _m, _i, out, key=key: recorded.__setitem__("debug." + key, out.detach().clone()))
               for key, m in modules.items()]
    try:
        call()
    finally:
        for h in handles:
            h.remove()
    return recorded


def write_fixture(out_dir: str, name: str, config: dict, seeds: List[int], calls: str, notes: Dict[str, str],
                  make_io: Callable[[PointDiffusionTransformer, torch.Generator], Dict[str, torch.Tensor]]) -> str:
    construct_seed, randomize_seed, input_seed = seeds
    torch.manual_seed(construct_seed)
    model = model_from_config(config).eval()
    randomize(model, randomize_seed)
    with torch.no_grad():
        io = make_io(model, torch.Generator().manual_seed(input_seed))
    path = os.path.join(out_dir, name)
    torch.save(model.state_dict(), path + ".pt")
    save_file(io, path + ".io.safetensors")
    meta = dict(config)
    meta["_fixture"] = {
        "construct_seed": construct_seed, "randomize_seed": randomize_seed, "input_seed": input_seed,
        "io_file": name + ".io.safetensors", "io_tensors": {k: list(v.shape) for k, v in io.items()},
        "versions": {"torch": torch.__version__}, "written_by": "scripts/train/pointe_train/parity_fixtures.py",
    }
    meta["_notes"] = dict(notes, call=calls, fixture_randomization=__doc__.split("\n\n")[1].replace("\n", " "),
                          eval="model.eval(), torch.no_grad(), float32, CPU")
    with open(path + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    return path


def textvec_io(model, g: torch.Generator) -> Dict[str, torch.Tensor]:
    b, n, d = 2, model.n_ctx, model.clip_feature_dim
    x = torch.randn(b, 6, n, generator=g)
    t = torch.rand(b, generator=g) * 1023
    emb = torch.randn(b, d, generator=g)
    emb = emb / emb.norm(dim=1, keepdim=True)
    io = {"x": x, "t": t, "embeddings": emb}
    io.update(record_debug(model, lambda: io.__setitem__("out", model(x, t, embeddings=emb))))
    io["out_zero_emb"] = model(x, t, embeddings=torch.zeros_like(emb))
    return io


def upsample_io(model, g: torch.Generator) -> Dict[str, torch.Tensor]:
    b = 2
    x = torch.randn(b, 6, model.n_ctx, generator=g)
    t = torch.rand(b, generator=g) * 1023
    xyz = torch.rand(b, 3, model.cond_ctx, generator=g) - 0.5
    rgb = torch.rand(b, 3, model.cond_ctx, generator=g) * 255
    low_res = torch.cat([xyz, rgb], dim=1)
    grid = torch.randn(b, model.clip_grid_feature_dim, model.clip_grid_size ** 2, generator=g)
    io = {"x": x, "t": t, "low_res": low_res, "embeddings": grid}
    io.update(record_debug(model, lambda: io.__setitem__("out", model(x, t, low_res=low_res, embeddings=grid))))
    io["out_noemb"] = model(x, t, low_res=low_res)
    return io


def write_all(out_dir: str) -> List[str]:
    os.makedirs(out_dir, exist_ok=True)
    base = demo_configs.base_config()
    return [
        write_fixture(out_dir, "demo_textvec", base, [3501, 3502, 3503],
                      "out = model(x, t, embeddings=embeddings); out_zero_emb with zero embeddings (the guidance half)",
                      {"embeddings": "unit-norm [B, clip_feature_dim]; the model multiplies them by sqrt(dim)"}, textvec_io),
        write_fixture(out_dir, "demo_upsample", demo_configs.upsample_config(base=base), [3511, 3512, 3513],
                      "out = model(x, t, low_res=low_res, embeddings=embeddings); out_noemb = model(x, t, low_res=low_res) "
                      "(an all-zero grid, what text-to-cloud sampling gives the upsampler)",
                      {"low_res": "data units: xyz in [-0.5, 0.5], RGB 0..255 (the model applies its channel scales/biases)"},
                      upsample_io),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for path in write_all(args.out_dir):
        print(path)


if __name__ == "__main__":
    main()
