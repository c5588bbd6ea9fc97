"""Writes a trained network in the form pointe loads offline (`pointe models init-random`'s):
NAME.json (the ModelConfig, pretty, sorted keys) + NAME.safetensors (float32 state dict under
the released checkpoint's keys, metadata naming the model and the preset, which
`pointe models list` shows as the files' origin)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping

from .safetensors_io import save_file


def write_model(out_dir: str, name: str, config: Dict[str, Any], state_dict: Mapping[str, Any], preset: str) -> Dict[str, str]:
    """Writes out_dir/NAME.json and out_dir/NAME.safetensors; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    config_path = os.path.join(out_dir, name + ".json")
    weights_path = os.path.join(out_dir, name + ".safetensors")
    with open(config_path, "w") as f:
        json.dump({k: v for k, v in config.items() if not k.startswith("_")}, f, indent=2, sort_keys=True)
        f.write("\n")
    tensors = {k: v.detach().float().contiguous() for k, v in state_dict.items()}
    save_file(tensors, weights_path, metadata={"format": "pt", "pointe.model": name, "pointe.preset": preset})
    return {"config": config_path, "weights": weights_path}
