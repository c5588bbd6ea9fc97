"""Parity fixture of the training code's SDF network, in ../shared/parity's format (NAME.json
config + _fixture/_notes, NAME.pt state dict, NAME.io.safetensors with point_clouds, queries,
latents, sdf and debug.* activations), for `pointe parity DIR/NAME`: the PyTorch network trained
here must compute what pointe's CrossAttentionPointCloudSDFModel computes on the same weights.

The network is the demo set's SDF config at full size with weights re-drawn as parity_fixtures.py
does (no layer near an identity or zero), or, with --weights, a trained sdf.safetensors; the cloud is a 1024-point sample of a grammar shape
(what the mesher is given), the queries uniform in the mesher's cube.

    python -m pointe_train.sdf_parity OUT_DIR [--weights sdf.safetensors] [--name NAME]   (from scripts/train)
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Dict, Optional

import numpy as np
import torch

from . import shapes
from .parity_fixtures import randomize
from .safetensors_io import load_file, save_file
from .sdf_model import sdf_model_from_config
from .train_sdf import MESH_HALF_SIDE, sdf_config

FIXTURE_NAME = "demo_sdf"
SEEDS = {"construct_seed": 3521, "randomize_seed": 3522, "input_seed": 3523}


def write_fixture(out_dir: str, name: str = FIXTURE_NAME, weights: Optional[str] = None) -> str:
    """With `weights` (a trained sdf.safetensors beside its sdf.json) the fixture holds those
    weights as they are; else the demo config with re-drawn weights."""
    if weights:
        with open(os.path.splitext(weights)[0] + ".json") as f:
            config = json.load(f)
    else:
        config = sdf_config()
    torch.manual_seed(SEEDS["construct_seed"])
    model = sdf_model_from_config(config).eval()
    if weights:
        tensors, _ = load_file(weights)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    else:
        randomize(model, SEEDS["randomize_seed"])
    rng = np.random.default_rng(SEEDS["input_seed"])
    cloud = shapes.sample_surface("torus", 1.0, config["n_ctx"], rng)
    queries = rng.uniform(-MESH_HALF_SIDE, MESH_HALF_SIDE, (50, 3)).astype(np.float32)
    io: Dict[str, torch.Tensor] = {
        "point_clouds": torch.from_numpy(np.ascontiguousarray(cloud.T))[None],
        "queries": torch.from_numpy(np.ascontiguousarray(queries.T))[None],
    }
    # Intermediate activations under the names pointe's observer gives them.
    modules = {"encoder_input_proj": model.encoder_input_proj, "decoder_input_proj": model.decoder_input_proj,
               "ln_post": model.ln_post}
    modules.update({f"encoder_block{i}": b for i, b in enumerate(model.encoder.resblocks)})
    modules.update({f"decoder_block{i}": b for i, b in enumerate(model.decoder.resblocks)})
    debug: Dict[str, torch.Tensor] = {}
    handles = [m.register_forward_hook(lambda _m, _i, out, key=key: debug.__setitem__("debug." + key, out.detach().clone()))
               for key, m in modules.items()]
    with torch.no_grad():
        io["latents"] = model.encode_point_clouds(io["point_clouds"])
        io["sdf"] = model.predict_sdf(io["queries"], io["latents"])
    for h in handles:
        h.remove()
    io.update(debug)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    torch.save(model.state_dict(), path + ".pt")
    save_file(io, path + ".io.safetensors")
    meta = dict(config)
    meta["_fixture"] = dict(SEEDS, weights=weights or "randomised (see _notes)", io_file=name + ".io.safetensors", io_tensors={k: list(v.shape) for k, v in io.items()},
                            versions={"torch": torch.__version__, "numpy": np.__version__},
                            written_by="scripts/train/pointe_train/sdf_parity.py")
    meta["_notes"] = {
        "call": "latents = model.encode_point_clouds(point_clouds) [1, N, W]; sdf = model.predict_sdf(queries, latents) [1, Q]",
        "point_clouds": f"{config['n_ctx']} surface samples of the grammar's torus, as [1, 3, N]",
        "queries": f"uniform in [-{MESH_HALF_SIDE}, {MESH_HALF_SIDE}]^3 (the mesher's cube)",
        "fixture_randomization": "parity_fixtures.randomize: LayerNorm weight N(1, 0.1), bias N(0, 0.1); Linear weight "
                                 "N(0, gain / sqrt(in)), gain 1.3 for c_qkv, else 1; Linear bias N(0, 0.1)",
        "eval": "model.eval(), torch.no_grad(), float32, CPU",
    }
    with open(path + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--weights", default=None, help="a trained sdf.safetensors (its sdf.json beside it) instead of random weights")
    parser.add_argument("--name", default=None, help="fixture name (default demo_sdf, or demo_sdf_trained with --weights)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(write_fixture(args.out_dir, args.name or (FIXTURE_NAME + "_trained" if args.weights else FIXTURE_NAME), args.weights))


if __name__ == "__main__":
    main()
