"""Caption -> CLIP text embedding, computed by pointe itself (`pointe models embed-text`), so the
base model trains on exactly the vectors pointe feeds it at inference (the demo set's CLIP,
unit-normalised text features)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import List

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFAULT_POINTE = os.path.join(REPO_ROOT, ".build", "release", "pointe")
DEMO_SET_DIR = os.path.join(REPO_ROOT, "Sources", "PointEDemoModels", "DemoSet")


def embed_captions(captions: List[str], pointe: str, models_dir: str) -> np.ndarray:
    """float32 [len(captions), dim], one unit row per caption, from `pointe` with the CLIP in `models_dir`."""
    if not os.access(pointe, os.X_OK):
        raise FileNotFoundError(f"pointe binary {pointe} is missing or not executable (build it, or pass --pointe)")
    with tempfile.TemporaryDirectory(prefix="pointe-embed-") as tmp:
        captions_path = os.path.join(tmp, "captions.txt")
        out_path = os.path.join(tmp, "embeddings.npy")
        with open(captions_path, "w") as f:
            f.write("\n".join(captions) + "\n")
        cmd = [pointe, "models", "embed-text", "--models-dir", models_dir, "--captions", captions_path, "-o", out_path]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
        emb = np.load(out_path)
    if emb.shape[0] != len(captions) or emb.dtype != np.float32:
        raise ValueError(f"pointe models embed-text gave {emb.dtype} {emb.shape} for {len(captions)} captions")
    return emb
