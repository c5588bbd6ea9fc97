"""`train.py ground-truth`: reference clouds of the grammar's captions, for the quality tests and
P-FID / P-IS (issue 35).

Each cloud is `--points` surface samples of its caption's shape (uniform by area, canonical pose)
in the caption's colour, written as pointe / the reference write a PointCloud .npz
(Sources/PointECloud/PointCloudNPZ.swift): `coords` [N, 3] and channels `R`, `G`, `B` [N] in 0..1,
float32. Files are DIR/CAPTION_K.npz (spaces as underscores), and DIR/index.json lists every file
with its caption, shape, colour and scale. Cloud k of a caption is drawn from a generator seeded
by (seed, the caption's index in the grammar's enumeration, k), so a subset (--captions) gives
the same clouds as the full set.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import List

import numpy as np

from . import shapes


def file_stem(caption: str, k: int) -> str:
    return caption.replace(" ", "_") + f"_{k}"


def read_captions(path: str) -> List[str]:
    """One caption per non-empty line; each must be in the grammar."""
    with open(path) as f:
        captions = [line.strip() for line in f if line.strip()]
    known = set(shapes.all_captions())
    for number, caption in enumerate(captions, 1):
        if caption not in known:
            raise SystemExit(f"{path}:{number}: {caption!r} is not a caption of {shapes.GRAMMAR_PATH}")
    return captions


def write_ground_truth(out: str, captions: List[str], per_caption: int, points: int, seed: int) -> List[dict]:
    os.makedirs(out, exist_ok=True)
    order = {c: i for i, c in enumerate(shapes.all_captions())}
    entries = []
    for caption in captions:
        shape, rgb, scale = shapes.parse_caption(caption)
        for k in range(per_caption):
            rng = np.random.default_rng([seed, order[caption], k])
            cloud = shapes.sample_cloud(caption, points, rng)
            stem = file_stem(caption, k)
            np.savez(os.path.join(out, stem + ".npz"), coords=np.ascontiguousarray(cloud[:, :3]),
                     R=np.ascontiguousarray(cloud[:, 3]), G=np.ascontiguousarray(cloud[:, 4]), B=np.ascontiguousarray(cloud[:, 5]))
            entries.append({"file": stem + ".npz", "caption": caption, "shape": shape, "rgb": list(rgb), "scale": scale,
                            "points": points})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"seed": seed, "per_caption": per_caption, "points": points, "grammar": os.path.relpath(shapes.GRAMMAR_PATH, out),
                   "clouds": entries}, f, indent=1)
    return entries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory for the .npz clouds and index.json")
    parser.add_argument("--per-caption", type=int, default=1, help="clouds per caption")
    parser.add_argument("--points", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=35)
    parser.add_argument("--captions", default=None, help="a file of captions, one a line (default: every caption of the grammar)")
    parser.add_argument("--tiny", action="store_true", help="two captions, one cloud each, 64 points: proves the code runs")
    parser.add_argument("--steps", type=int, default=None, help="accepted for a uniform --tiny --steps N call; unused")


def run(args: argparse.Namespace) -> None:
    captions = read_captions(args.captions) if args.captions else shapes.all_captions()
    per_caption, points = args.per_caption, args.points
    if args.tiny:
        captions, per_caption, points = captions[:2], 1, 64
    entries = write_ground_truth(args.out, captions, per_caption, points, args.seed)
    print(f"ground-truth: {len(entries)} clouds ({len(captions)} captions x {per_caption}, {points} points, seed {args.seed}) -> {args.out}")
