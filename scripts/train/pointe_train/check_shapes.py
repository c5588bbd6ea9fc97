"""Self-check of shapes.py (the training data and the SDF model's target): for every shape and size

  * surface samples stay within the grammar's max_abs_coordinate and lie on the surface (|sdf| ~ 0);
  * |sdf| at random points of the mesher's cube equals the distance to the nearest of many surface
    samples (brute force; the samples' spacing bounds the difference) and is never larger than it;
  * the sign is positive inside: the fraction of the cube's points with sdf > 0 matches the shape's
    analytic volume (a Monte Carlo estimate);
  * the sampler is uniform by area: the share of samples on each part (e.g. a cylinder's caps)
    matches the parts' analytic areas.

    python -m pointe_train.check_shapes   (from scripts/train; exits 1 on a failure)
"""

from __future__ import annotations

import math
import sys
from typing import Callable, Dict, List

import numpy as np

from . import shapes


def volume(spec: dict, scale: float) -> float:
    kind, s = spec["kind"], scale
    if kind == "sphere":
        return 4 / 3 * math.pi * (spec["radius"] * s) ** 3
    if kind == "box":
        return (2 * spec["half_extent"] * s) ** 3
    if kind == "cylinder":
        return math.pi * (spec["radius"] * s) ** 2 * 2 * spec["half_height"] * s
    if kind == "cone":
        return math.pi * (spec["radius"] * s) ** 2 * 2 * spec["half_height"] * s / 3
    if kind == "torus":
        return 2 * math.pi ** 2 * spec["major_radius"] * spec["minor_radius"] ** 2 * s ** 3
    if kind == "pyramid":
        return (2 * spec["half_base"] * s) ** 2 * 2 * spec["half_height"] * s / 3
    raise ValueError(kind)


def part_shares(spec: dict) -> Dict[str, tuple]:
    """(predicate on unit-scale samples, analytic area share) for a part of the surface."""
    kind = spec["kind"]
    if kind == "cylinder":
        r, h = spec["radius"], spec["half_height"]
        side, cap = 2 * math.pi * r * 2 * h, math.pi * r * r
        return {"bottom cap": (lambda p: np.isclose(p[:, 2], -h), cap / (side + 2 * cap))}
    if kind == "cone":
        r, h = spec["radius"], spec["half_height"]
        lateral, base = math.pi * r * math.hypot(r, 2 * h), math.pi * r * r
        return {"base": (lambda p: np.isclose(p[:, 2], -h), base / (lateral + base))}
    if kind == "pyramid":
        b, h = spec["half_base"], spec["half_height"]
        side = 0.5 * 2 * b * math.hypot(b, 2 * h)
        return {"base": (lambda p: np.isclose(p[:, 2], -h), (2 * b) ** 2 / ((2 * b) ** 2 + 4 * side))}
    if kind == "torus":
        big, small = spec["major_radius"], spec["minor_radius"]
        # outer half (distance from the axis > big): area share (pi * big + 2 * small) / (2 * pi * big)
        return {"outer half": (lambda p: np.hypot(p[:, 0], p[:, 1]) > big, (math.pi * big + 2 * small) / (2 * math.pi * big))}
    return {}


def run() -> List[str]:
    failures: List[str] = []
    rng = np.random.default_rng(0)

    def check(ok: bool, what: str) -> None:
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    for spec in shapes.GRAMMAR.shapes:
        name = spec["name"]
        for _, scale in shapes.GRAMMAR.sizes:
            surface = shapes.sample_surface(name, scale, 60000, rng)
            check(np.abs(surface).max() <= shapes.GRAMMAR.max_abs_coordinate, f"{name} x{scale}: within max_abs_coordinate")
            on = np.abs(shapes.sdf(name, scale, surface)).max()
            check(on < 1e-5, f"{name} x{scale}: surface samples have |sdf| {on:.1e} < 1e-5")
            q = rng.uniform(-0.51, 0.51, (300, 3))
            d = shapes.sdf(name, scale, q)
            nearest = np.sqrt(((q[:, None, :] - surface[None]) ** 2).sum(-1)).min(1)
            gap = nearest - np.abs(d)
            check(gap.min() > -1e-5 and gap.max() < 0.01,
                  f"{name} x{scale}: |sdf| vs nearest surface sample: {gap.min():.1e} .. {gap.max():.1e} (within 0 .. 0.01)")
            cube = rng.uniform(-0.51, 0.51, (200000, 3))
            inside = (shapes.sdf(name, scale, cube) > 0).mean() * 1.02 ** 3
            expected = volume(spec, scale)
            sigma = math.sqrt(expected * 1.02 ** 3 / 200000)
            check(abs(inside - expected) < 5 * sigma + 1e-4, f"{name} x{scale}: volume inside {inside:.5f} vs {expected:.5f}")
        unit = shapes.sample_surface(name, 1.0, 200000, rng)
        for part, (predicate, share) in part_shares(spec).items():
            got = predicate(unit).mean()
            check(abs(got - share) < 0.01, f"{name}: share of samples on the {part} {got:.4f} vs area share {share:.4f}")
    return failures


def main() -> None:
    failures = run()
    print(f"check_shapes: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
