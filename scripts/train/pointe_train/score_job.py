"""`train.py score-job JOB_DIR`: how a finished `pointe run` job of grammar captions came out, one
line a prompt and a summary (the numbers of docs/DEMO-MODELS.md's sampling tables): the nearest
of the grammar's shapes by Chamfer distance at the caption's size, the nearest colour by mean
RGB, the Chamfer distance to the caption's own shape, and the share of points over 0.05 from its
surface (shapes.sdf). Against fresh perfect samples of 1024 points (seeded), so a quick look at a
training run; the tests' checks are Tests/PointEClusterTests/DemoShapeChecks.swift, against the
committed ground truth.

    pointe run prompts.txt -o JOB --models-dir DIR && train.py score-job JOB [--low-res 256]

With --low-res N it also says which shape the first N points (the base model's: pointe's
upsampler stage keeps them first) and the rest (the upsampler's) are each nearest to, so a
fault can be put on the stage that made it.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from . import shapes

FAR = 0.05  # data units: "off the surface"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="a finished `pointe run` job directory (manifest.jsonl, clouds/*.npz)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the perfect samples compared against")
    parser.add_argument("--low-res", type=int, default=0,
                        help="the base model's point count (256 in the demo set): also score its points and the "
                             "upsampler's apart (0: the whole cloud only)")


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric mean nearest-point distance, as DemoShapeChecks.chamfer."""
    d = np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0)
    return 0.5 * float(np.sqrt(d.min(1)).mean() + np.sqrt(d.min(0)).mean())


def run(args: argparse.Namespace, log=print) -> dict:
    manifest = os.path.join(args.job, "manifest.jsonl")
    with open(manifest) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    colours = dict(shapes.GRAMMAR.colours)
    references = {}

    def nearest_shape(xyz: np.ndarray, scale: float) -> tuple:
        """(the shape nearest xyz by Chamfer at this scale, the distances to each)."""
        distances = {}
        for name in shapes.SHAPE_NAMES:
            if (name, scale) not in references:
                references[(name, scale)] = shapes.sample_surface(name, scale, 1024, np.random.default_rng(args.seed))
            distances[name] = chamfer(xyz, references[(name, scale)])
        return min(distances, key=distances.get), distances

    right_shape = right_colour = 0
    stage_right = {"base": 0, "upsampler": 0}
    own, far = [], []
    for row in rows:
        caption = row.get("prompt", "")
        try:
            p = shapes.parse_caption(caption)
            npz = np.load(os.path.join(args.job, row["files"]["cloud_npz"]["path"]))
        except (KeyError, ValueError, OSError) as e:
            raise SystemExit(f"{manifest}: prompt {row.get('id')} ({caption!r}): {e}")
        xyz = npz["coords"]
        pick = np.random.default_rng(args.seed).choice(len(xyz), min(1024, len(xyz)), replace=False)
        nearest, distances = nearest_shape(xyz[pick], p.scale)
        stages = ""
        if args.low_res and len(xyz) > args.low_res:
            for stage, part in (("base", xyz[:args.low_res]), ("upsampler", xyz[args.low_res:])):
                part_nearest = nearest_shape(part, p.scale)[0]
                stage_right[stage] += part_nearest == p.shape
                stages += f" {stage} {part_nearest}"
        rgb = np.array([npz[c].mean() for c in "RGB"])  # point-e channels: 0..1
        colour = min(colours, key=lambda c: float(((np.array(colours[c]) - rgb) ** 2).sum()))
        off = float((np.abs(shapes.sdf(p.shape, p.scale, xyz)) > FAR).mean())
        right_shape += nearest == p.shape
        right_colour += np.allclose(colours[colour], p.rgb)
        own.append(distances[p.shape])
        far.append(off)
        log(f"{row['id']} {caption:26s} nearest {nearest:8s} Chamfer to own {distances[p.shape]:.4f} colour {colour:6s} off surface {off:.1%}{stages}")
    n = len(rows)
    log(f"{n} prompts: shape right {right_shape}/{n}, colour right {right_colour}/{n}, mean Chamfer to own shape "
        f"{np.mean(own):.4f}, points over {FAR} from the surface {np.mean(far):.1%}")
    if args.low_res:
        log(f"nearest the caption's shape: the base's {args.low_res} points {stage_right['base']}/{n}, "
            f"the upsampler's {stage_right['upsampler']}/{n}")
    return {"shape_right": right_shape, "colour_right": right_colour, "chamfer": float(np.mean(own)), "far": float(np.mean(far)),
            "base_shape_right": stage_right["base"], "upsampler_shape_right": stage_right["upsampler"]}
