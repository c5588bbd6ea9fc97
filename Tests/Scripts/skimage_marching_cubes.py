#!/usr/bin/env python3
"""Meshes random volumes the way point-e's pc_to_mesh does (skimage.measure.marching_cubes, Lewiner,
level 0, spacing = voxel size, allow_degenerate=False; mean recentring of a volume without a sign
change; the first two indices of each face swapped; the origin added) for MarchingCubesSkimageTests.

usage: skimage_marching_cubes.py OUT_DIR COUNT SEED

Writes OUT_DIR/meshes.npz (v<n>_volume, and where skimage found a surface v<n>_verts,
v<n>_faces, v<n>_normals) and OUT_DIR/volumes.json (per volume: kind, shape, spacing as a
Python float's repr, origin, whether there is a surface).
"""
import json
import sys

import numpy as np
from skimage.measure import marching_cubes

KINDS = [
    'gaussian',   # generic cells
    'integers',   # -2..2: many corners exactly at the level, many exact ties in the tests
    'mixed',      # Gaussian with a quarter of the corners exactly at the level
    'heavy',      # magnitudes over 8 decades: rare configurations
    'tiny',       # magnitudes down to 1e-30: skimage's 2^-52 tolerances decide the tests
    'small',      # +-1, 2, 3: exact ties, exact zeros inside the interior tests
    'smooth',     # a noisy sphere: what an SDF looks like
]


def random_volume(rng, kind):
    shape = tuple(int(n) for n in rng.integers(2, 8, 3))
    if kind == 'gaussian':
        v = rng.standard_normal(shape)
    elif kind == 'integers':
        v = rng.integers(-2, 3, shape).astype(float)
    elif kind == 'mixed':
        v = rng.standard_normal(shape)
        v[rng.random(shape) < 0.25] = 0.0
    elif kind == 'heavy':
        v = rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(-4, 4, shape)
    elif kind == 'tiny':
        v = rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(-30, 1, shape)
    elif kind == 'small':
        v = rng.choice([-1.0, 1.0], shape) * rng.integers(1, 4, shape)
    elif kind == 'smooth':
        shape = (8, 8, 8)
        axes = [np.linspace(-1, 1, n) for n in shape]
        x, y, z = np.meshgrid(*axes, indexing='ij')
        v = np.sqrt(x * x + y * y + z * z) - rng.uniform(0.3, 0.8) + 0.1 * rng.standard_normal(shape)
    return v.astype(np.float32)


def box(n, rotation):
    """A box's signed distance (positive inside) on n^3 points over [-0.5, 0.5]^3, off centre."""
    t = np.linspace(-0.5, 0.5, n)
    p = np.stack(np.meshgrid(t, t, t, indexing='ij'), -1) - np.array([0.013, -0.021, 0.008])
    if rotation:
        a, b = rotation
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        x, y = np.cos(a) * x - np.sin(a) * y, np.sin(a) * x + np.cos(a) * y
        y, z = np.cos(b) * y - np.sin(b) * z, np.sin(b) * y + np.cos(b) * z
        p = np.stack([x, y, z], -1)
    q = np.abs(p) - np.array([0.23, 0.31, 0.17])
    outside = np.linalg.norm(np.maximum(q, 0), axis=-1)
    return (-(outside + np.minimum(q.max(-1), 0))).astype(np.float32)


def pc_to_mesh(volume, side):
    """point_e.util.pc_to_mesh.marching_cubes_mesh after the SDF has been sampled."""
    voxel_size = side / (max(volume.shape) - 1)
    min_coord = -side / 2
    if np.all(volume < 0) or np.all(volume > 0):
        volume -= np.mean(volume)
    try:
        verts, faces, normals, _ = marching_cubes(volume=volume, level=0, allow_degenerate=False,
                                                  spacing=(voxel_size,) * 3)
    except RuntimeError:  # 'No surface found at the given iso value.'
        return voxel_size, min_coord, None
    old_f1 = faces[:, 0].copy()
    faces[:, 0] = faces[:, 1]
    faces[:, 1] = old_f1
    verts += min_coord
    return voxel_size, min_coord, (verts, faces, normals)


def main():
    out, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(seed)
    arrays, summary = {}, []
    cases = [(KINDS[n % len(KINDS)], None) for n in range(count)]
    cases += [('box', None), ('box', (0.5, 0.3))]
    for n, (kind, rotation) in enumerate(cases):
        volume = box(20, rotation) if kind == 'box' else random_volume(rng, kind)
        side = float(rng.uniform(0.5, 2.0))
        arrays[f'v{n}_volume'] = volume.copy()
        spacing, origin, mesh = pc_to_mesh(volume, side)
        if mesh is not None:
            verts, faces, normals = mesh
            assert verts.dtype == np.float32 and normals.dtype == np.float32
            arrays[f'v{n}_verts'] = verts
            arrays[f'v{n}_faces'] = faces.astype(np.int64)
            arrays[f'v{n}_normals'] = normals
        summary.append({'kind': kind, 'shape': list(volume.shape), 'spacing': repr(spacing),
                        'origin': float(np.float32(origin)), 'surface': mesh is not None})
    np.savez(f'{out}/meshes.npz', **arrays)
    with open(f'{out}/volumes.json', 'w') as f:
        json.dump(summary, f)


if __name__ == '__main__':
    main()
