"""The demo set's procedural shapes (issue 35): the caption grammar (grammar.json of the demo set,
Sources/PointEDemoModels/DemoSet/, shipped with the models: `pointe models init-demo` installs it), surface
samples (the training data and the ground-truth clouds) and exact signed distances (the SDF
model's regression target). numpy only.

Coordinates are point-e's point cloud space: +z up, each shape in a fixed canonical pose with its
bounding box centred on the origin. Sign convention of `sdf`: POSITIVE INSIDE, negative outside,
as pointe's mesher reads the SDF model (Sources/PointEMesh/MarchingCubes.swift: the surface's
normals point away from the region above level 0; the reference's pc_to_mesh relies on the same
through skimage's default gradient direction). The magnitude is the exact Euclidean distance to the
surface (1-Lipschitz, which pointe's coarse-to-fine grid sampler assumes of the field).
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, NamedTuple, Tuple

import numpy as np

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GRAMMAR_PATH = os.path.join(_REPO_ROOT, "Sources", "PointEDemoModels", "DemoSet", "grammar.json")


class Grammar(NamedTuple):
    shapes: List[dict]  # in class order; each has "name", "kind" and its dimensions at scale 1
    colours: List[Tuple[str, Tuple[float, float, float]]]
    sizes: List[Tuple[str, float]]  # (word, scale); "" is the unmarked size
    max_abs_coordinate: float


def load_grammar(path: str = GRAMMAR_PATH) -> Grammar:
    try:
        with open(path) as f:
            raw = json.load(f)
        return Grammar(
            shapes=list(raw["shapes"]),
            colours=[(c["name"], tuple(float(v) for v in c["rgb"])) for c in raw["colours"]],
            sizes=[(s["word"], float(s["scale"])) for s in raw["sizes"]],
            max_abs_coordinate=float(raw["max_abs_coordinate"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a usable caption grammar ({e})") from e


GRAMMAR = load_grammar()
SHAPE_NAMES: List[str] = [s["name"] for s in GRAMMAR.shapes]
_SHAPES: Dict[str, dict] = {s["name"]: s for s in GRAMMAR.shapes}
_COLOURS: Dict[str, Tuple[float, float, float]] = dict(GRAMMAR.colours)
_SIZES: Dict[str, float] = dict(GRAMMAR.sizes)


class ParsedCaption(NamedTuple):
    shape: str
    rgb: Tuple[float, float, float]
    scale: float


def make_caption(shape: str, colour: str, size_word: str = "") -> str:
    return "a " + (size_word + " " if size_word else "") + colour + " " + shape


def all_captions() -> List[str]:
    """Every caption of the grammar, in a fixed order (shape, then colour, then size)."""
    return [
        make_caption(shape, colour, word)
        for shape in SHAPE_NAMES
        for colour, _ in GRAMMAR.colours
        for word, _ in GRAMMAR.sizes
    ]


def parse_caption(caption: str) -> ParsedCaption:
    words = caption.strip().split()
    if len(words) == 4 and words[0] == "a" and words[1] in _SIZES and words[1]:
        size_word, colour, shape = words[1:]
    elif len(words) == 3 and words[0] == "a":
        size_word, colour, shape = "", words[1], words[2]
    else:
        raise ValueError(f"caption {caption!r} is not 'a [SIZE] COLOUR SHAPE' of {GRAMMAR_PATH}")
    if colour not in _COLOURS or shape not in _SHAPES:
        raise ValueError(f"caption {caption!r}: unknown colour or shape (grammar: {GRAMMAR_PATH})")
    return ParsedCaption(shape, _COLOURS[colour], _SIZES[size_word])


def shape_index(shape: str) -> int:
    """The shape's class (PointNet logit) index."""
    return SHAPE_NAMES.index(shape)


def _spec(shape: str) -> dict:
    if shape not in _SHAPES:
        raise ValueError(f"unknown shape {shape!r} (grammar {GRAMMAR_PATH} has {SHAPE_NAMES})")
    return _SHAPES[shape]


# ---------------------------------------------------------------- surface samples (uniform by area)


def _triangle_samples(tris: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform by area on triangles [T, 3, 3]."""
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    areas = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=-1)
    which = rng.choice(len(tris), size=n, p=areas / areas.sum())
    u, v = rng.random(n), rng.random(n)
    su = np.sqrt(u)  # the square root makes the barycentric draw uniform over the area
    w0, w1, w2 = 1 - su, su * (1 - v), su * v
    return w0[:, None] * a[which] + w1[:, None] * b[which] + w2[:, None] * c[which]


def _pyramid_triangles(half_base: float, half_height: float) -> np.ndarray:
    b, h = half_base, half_height
    corners = np.array([[-b, -b, -h], [b, -b, -h], [b, b, -h], [-b, b, -h]])
    apex = np.array([0.0, 0.0, h])
    # Counter-clockwise seen from outside (normals outward; only areas and distances use them).
    sides = [[corners[i], corners[(i + 1) % 4], apex] for i in range(4)]
    base = [[corners[0], corners[2], corners[1]], [corners[0], corners[3], corners[2]]]
    return np.array(sides + base, dtype=np.float64)


def _pick_parts(areas: List[float], n: int, rng: np.random.Generator) -> np.ndarray:
    p = np.asarray(areas, dtype=np.float64)
    return rng.choice(len(areas), size=n, p=p / p.sum())


def sample_surface(shape: str, scale: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """float32 [n, 3]: points uniform by area on the shape's surface at `scale`."""
    s = _spec(shape)
    kind = s["kind"]
    if kind == "sphere":
        d = rng.standard_normal((n, 3))
        pts = s["radius"] * d / np.linalg.norm(d, axis=1, keepdims=True)
    elif kind == "box":
        e = s["half_extent"]
        face = rng.integers(0, 6, size=n)  # six faces of equal area
        pts = rng.uniform(-e, e, size=(n, 3))
        axis, sign = face // 2, np.where(face % 2 == 0, -1.0, 1.0)
        pts[np.arange(n), axis] = sign * e
    elif kind == "cylinder":
        r, h = s["radius"], s["half_height"]
        part = _pick_parts([2 * np.pi * r * 2 * h, np.pi * r * r, np.pi * r * r], n, rng)
        theta = rng.uniform(0, 2 * np.pi, n)
        rad = np.where(part == 0, r, r * np.sqrt(rng.random(n)))  # sqrt: uniform on a disc
        z = np.where(part == 0, rng.uniform(-h, h, n), np.where(part == 1, -h, h))
        pts = np.stack([rad * np.cos(theta), rad * np.sin(theta), z], axis=1)
    elif kind == "cone":
        r, h = s["radius"], s["half_height"]
        slant = np.hypot(r, 2 * h)
        part = _pick_parts([np.pi * r * slant, np.pi * r * r], n, rng)
        theta = rng.uniform(0, 2 * np.pi, n)
        t = np.sqrt(rng.random(n))  # lateral area grows linearly with the distance from the apex
        rad = np.where(part == 0, r * t, r * np.sqrt(rng.random(n)))
        z = np.where(part == 0, h - 2 * h * t, -h)
        pts = np.stack([rad * np.cos(theta), rad * np.sin(theta), z], axis=1)
    elif kind == "torus":
        big, small = s["major_radius"], s["minor_radius"]
        # Area density is proportional to the distance from the axis, big + small*cos(phi):
        # rejection sampling of phi, a few rounds at most.
        phis: List[np.ndarray] = []
        have = 0
        while have < n:
            phi = rng.uniform(0, 2 * np.pi, 2 * (n - have) + 16)
            keep = phi[rng.random(phi.shape[0]) * (big + small) < big + small * np.cos(phi)]
            phis.append(keep)
            have += keep.shape[0]
        phi = np.concatenate(phis)[:n]
        theta = rng.uniform(0, 2 * np.pi, n)
        rad = big + small * np.cos(phi)
        pts = np.stack([rad * np.cos(theta), rad * np.sin(theta), small * np.sin(phi)], axis=1)
    elif kind == "pyramid":
        pts = _triangle_samples(_pyramid_triangles(s["half_base"], s["half_height"]), n, rng)
    else:
        raise ValueError(f"{GRAMMAR_PATH}: shape {shape!r} has unknown kind {kind!r}")
    return (pts * scale).astype(np.float32)


def sample_cloud(caption: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """float32 [n, 6]: xyz on the caption's shape, then its colour's RGB in 0..1."""
    shape, rgb, scale = parse_caption(caption)
    xyz = sample_surface(shape, scale, n, rng)
    return np.concatenate([xyz, np.broadcast_to(np.asarray(rgb, np.float32), (n, 3))], axis=1)


# ---------------------------------------------------------------- signed distance (positive inside)


def _segment_distance_2d(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def _profile_distance(rz: np.ndarray, polyline: List[Tuple[float, float]]) -> np.ndarray:
    """Distance in the (r, z) half-plane to a solid of revolution's profile, given without its
    edge on the axis (interior to the solid, so no part of its surface)."""
    pts = [np.asarray(v, np.float64) for v in polyline]
    return np.min([_segment_distance_2d(rz, a, b) for a, b in zip(pts[:-1], pts[1:])], axis=0)


def _triangle_distance(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Distance from points [N, 3] to one triangle: the closest point by Voronoi regions of the
    triangle's vertices, edges and face (as in Ericson, Real-Time Collision Detection, 5.1.5)."""
    a, b, c = tri
    ab, ac = b - a, c - a
    ap, bp, cp = p - a, p - b, p - c
    d1, d2 = ap @ ab, ap @ ac
    d3, d4 = bp @ ab, bp @ ac
    d5, d6 = cp @ ab, cp @ ac
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v_face, w_face = vb / denom, vc / denom
        closest = a + v_face[:, None] * ab + w_face[:, None] * ac
        t_ab = d1 / (d1 - d3)
        t_ac = d2 / (d2 - d6)
        t_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
    # Ericson tests the regions a, b, ab, c, ac, bc, face in turn and takes the first that holds:
    # here each later np.where overrides, so they are applied in the reverse order.
    on_bc = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)
    on_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    on_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    closest = np.where(on_bc[:, None], b + t_bc[:, None] * (c - b), closest)
    closest = np.where(on_ac[:, None], a + t_ac[:, None] * ac, closest)
    at_c = (d6 >= 0) & (d5 <= d6)
    closest = np.where(at_c[:, None], c, closest)
    closest = np.where(on_ab[:, None], a + t_ab[:, None] * ab, closest)
    at_b = (d3 >= 0) & (d4 <= d3)
    at_a = (d1 <= 0) & (d2 <= 0)
    closest = np.where(at_b[:, None], b, closest)
    closest = np.where(at_a[:, None], a, closest)
    return np.linalg.norm(p - closest, axis=1)


def sdf(shape: str, scale: float, points: np.ndarray) -> np.ndarray:
    """Exact signed distance of points [N, 3] to the shape at `scale`: POSITIVE INSIDE (point-e's
    convention), float32 [N]."""
    s = _spec(shape)
    kind = s["kind"]
    # Distances scale linearly: evaluate the unit-scale shape at points / scale.
    p = np.asarray(points, np.float64).reshape(-1, 3) / scale
    r = np.hypot(p[:, 0], p[:, 1])
    z = p[:, 2]
    if kind == "sphere":
        d = s["radius"] - np.linalg.norm(p, axis=1)
    elif kind == "box":
        q = np.abs(p) - s["half_extent"]
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        inside = np.minimum(q.max(axis=1), 0.0)
        d = -(outside + inside)
    elif kind == "cylinder":
        rad, h = s["radius"], s["half_height"]
        dist = _profile_distance(np.stack([r, z], 1), [(0, -h), (rad, -h), (rad, h), (0, h)])
        d = np.where((r < rad) & (np.abs(z) < h), dist, -dist)
    elif kind == "cone":
        rad, h = s["radius"], s["half_height"]
        dist = _profile_distance(np.stack([r, z], 1), [(0, -h), (rad, -h), (0, h)])
        inside = (z > -h) & (z < h) & (r < rad * (h - z) / (2 * h))
        d = np.where(inside, dist, -dist)
    elif kind == "torus":
        d = s["minor_radius"] - np.hypot(r - s["major_radius"], z)
    elif kind == "pyramid":
        tris = _pyramid_triangles(s["half_base"], s["half_height"])
        dist = np.min([_triangle_distance(p, t) for t in tris], axis=0)
        # Convex: inside iff behind every face's plane (outward normals by the triangles' winding).
        normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        plane = np.einsum("nk,tk->nt", p, normals) - np.einsum("tk,tk->t", tris[:, 0], normals)[None]
        d = np.where((plane < 0).all(axis=1), dist, -dist)
    else:
        raise ValueError(f"{GRAMMAR_PATH}: shape {shape!r} has unknown kind {kind!r}")
    return (d * scale).astype(np.float32)
