#!/usr/bin/env python3
"""Derives the cell triangulations of skimage's Lewiner marching cubes by experiment and writes
Sources/PointEMesh/LewinerTriangulations.swift.

The reference mesher (point-e's pc_to_mesh) calls skimage.measure.marching_cubes(method='lewiner').
Within one cell its surface depends on the signs of the eight corners (the cube index), on a
test per ambiguous face (are the face's positive corners joined across it?) and, in some cells,
on one test of the cell's interior; each outcome has a fixed list of triangles over the twelve
cell edges and, sometimes, a vertex inside the cell (id 12). This script learns that map by
running skimage itself on many independent cells and recording what it returns; it reads none
of skimage's tables. The tests are evaluated here exactly as Sources/PointEMesh/LewinerCube.swift
evaluates them (same formulas, same double precision), so a cell's key means the same thing in
both places.

Cells are made independent by placing each in its own 2x2x2 block of a larger volume and masking
marching cubes to those blocks (skimage marches the cell whose far corner the mask marks), so one
skimage call measures many cells. Cells are drawn of every kind (Gaussian, magnitudes over 8 decades,
magnitudes down to 1e-30 where skimage's 2^-52 tolerances decide, small integers with exact ties,
corners exactly at the level) and, per cube index, chosen so that every outcome of every candidate
interior test is represented. The learning:
1. cells with no face whose first corner is exactly 0, whose vertex positions tell their ids
   apart: for each key (index, face outcomes; a face test at a tie joins, whatever the index) the
   triangles skimage returned. A key with two answers depends on an interior test: the one
   ('vertical', or the section through one of the 12 edges) whose outcome separates them; where
   several do, cells on which they disagree are run too, labelled by their vertex positions;
2. faces whose first corner is exactly 0 (skimage's face test then answers a fixed value per
   index and face) and 'vertical' tests that fall through skimage's switch: which way it goes;
3. cells with corners exactly at the level, which reach outcomes no other cell does, are learnt
   from as in 1, and the complementary cube (all signs flipped, face outcomes flipped: the same
   triangles wound the other way) completes an interior test seen with one outcome on one side
   only; the order skimage gives those triangles in is read off cells that produce them (where
   none did, the script says so: the order is then a guess, which matters only for how vertices
   are numbered);
then it predicts every cell of fresh batches of every kind and compares the triangles, position
for position and in order, with skimage's. Any disagreement stops it. (MC_TABLES_CACHE=FILE keeps
what was learnt between runs while developing.)

Run with the venv of Tests/Scripts/requirements-skimage.txt:
    python3 -m venv /tmp/skv && /tmp/skv/bin/pip install -r Tests/Scripts/requirements-skimage.txt
    /tmp/skv/bin/python scripts/derive_marching_cubes_tables.py
"""
import itertools
import os
import sys
from collections import Counter, defaultdict

import numpy as np
import skimage
from skimage.measure import marching_cubes

EPS = float(np.spacing(1.0))  # skimage's tolerance in its tests and vertex weights

# Lewiner's corner numbering, offsets (x, y, z) = (last, middle, first array axis).
CORNERS = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]
# Edges as (first corner, second corner); the direction matters only for the section test's t.
EDGES = [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7)]
# Faces as corner cycles (A, B, C, D); A and C are diagonal. The first corner matters when it is 0.
FACES = [(0, 4, 5, 1), (1, 5, 6, 2), (2, 6, 7, 3), (3, 7, 4, 0), (0, 3, 2, 1), (4, 7, 6, 5)]
CENTRE = 12
INTERIOR_TESTS = ['vertical'] + list(range(12))


def parallel_edges(e):
    """The three edges parallel to e, as corner pairs in e's direction: the neighbours across
    each perpendicular axis and the diagonal one (in the middle)."""
    s, q = EDGES[e]
    axis = next(i for i in range(3) if CORNERS[s][i] != CORNERS[q][i])
    u, w = [i for i in range(3) if i != axis]

    def moved(c, flips):
        o = list(CORNERS[c])
        for i in flips:
            o[i] ^= 1
        return CORNERS.index(tuple(o))
    return [(moved(s, f), moved(q, f)) for f in ([u], [u, w], [w])]


def ambiguous_faces(index):
    out = []
    for f, (a, b, c, d) in enumerate(FACES):
        s = [(index >> x) & 1 for x in (a, b, c, d)]
        if s[0] == s[2] and s[1] == s[3] and s[0] != s[1]:
            out.append(f)
    return out


def crossing(index, e):
    s, q = EDGES[e]
    return ((index >> s) & 1) != ((index >> q) & 1)


# ---- the tests, vectorised over cells V (n, 8), float64 values minus the level ----

def cube_index(V):
    return ((V > 0) * (1 << np.arange(8))).sum(axis=1)


def face_test(V, f):
    """(joined, tie, zero_first): joined when A * (AC - BD) > 0, i.e. the face's bilinear saddle
    is positive; a tie when |AC - BD| < EPS (skimage then joins); zero_first when A == 0."""
    a, b, c, d = FACES[f]
    A, B, C, D = V[:, a], V[:, b], V[:, c], V[:, d]
    acbd = A * C - B * D
    tie = (acbd > -EPS) & (acbd < EPS)
    return A * acbd > 0, tie, (~tie) & (A == 0)


def section_outcome(At, Bt, Ct, Dt):
    """(joined, fall): skimage's classification of a section's corner signs. 'fall' marks the
    two diagonal cases where its switch falls through without returning."""
    test = (At >= 0) * 1 + (Bt >= 0) * 2 + (Ct >= 0) * 4 + (Dt >= 0) * 8
    det = At * Ct - Bt * Dt
    joined = np.isin(test, [7, 11, 13, 14, 15])
    fall = ((test == 5) & ~(det < EPS)) | ((test == 10) & ~(det >= EPS))
    return joined, fall


def interior_test(V, which):
    v = [V[:, i] for i in range(8)]
    if which == 'vertical':
        a = (v[4] - v[0]) * (v[6] - v[2]) - (v[7] - v[3]) * (v[5] - v[1])
        b = v[2] * (v[4] - v[0]) + v[0] * (v[6] - v[2]) - v[1] * (v[7] - v[3]) - v[3] * (v[5] - v[1])
        with np.errstate(all='ignore'):
            t = -b / (2 * a + EPS)
        outside = (t < 0) | (t > 1)
        sec = [v[p] + (v[q] - v[p]) * t for p, q in ((0, 4), (3, 7), (2, 6), (1, 5))]
        joined, fall = section_outcome(*sec)
        return joined & ~outside, fall & ~outside
    s, q = EDGES[which]
    with np.errstate(all='ignore'):
        t = v[s] / (v[s] - v[q] + EPS)
        B, C, D = [v[p] + (v[r] - v[p]) * t for p, r in parallel_edges(which)]
    return section_outcome(np.zeros(len(V)), B, C, D)


# ---- vertex positions exactly as skimage computes them (float32 result) ----

def weight(x):
    return 1.0 / (EPS + abs(x))


def edge_position(v, e, origin):
    s, q = EDGES[e]
    w1, w2 = weight(v[s]), weight(v[q])
    return tuple(np.float32(origin[a] + (0.0 + CORNERS[s][a] * w1 + CORNERS[q][a] * w2) / (0.0 + w1 + w2))
                 for a in range(3))


def centre_position(v, origin):
    w = [weight(x) for x in v]
    out = []
    for a in range(3):
        f = ff = 0.0
        for L in range(8):
            f += CORNERS[L][a] * w[L]
            ff += w[L]
        out.append(np.float32(origin[a] + f / ff))
    return tuple(out)


def vertex_position(v, vid, origin):
    return centre_position(v, origin) if vid == CENTRE else edge_position(v, vid, origin)


# ---- running skimage on independent cells ----

def run_cells(cells):
    """cells (n, 8) float32 in Lewiner order -> origins and, per cell, skimage's triangles as
    position triples (x, y, z) in its own winding (before marching_cubes' 'descent' flip)."""
    n = len(cells)
    N = int(np.ceil(n ** (1 / 3)))
    vol = np.full((2 * N, 2 * N, 2 * N), -1.0, np.float32)
    origins = []
    for c in range(n):
        z0, y0, x0 = 2 * (c // (N * N)), 2 * ((c // N) % N), 2 * (c % N)
        origins.append((x0, y0, z0))
    origins_arr = np.array(origins)
    for L, (dx, dy, dz) in enumerate(CORNERS):
        vol[origins_arr[:, 2] + dz, origins_arr[:, 1] + dy, origins_arr[:, 0] + dx] = cells[:, L]
    mask = np.zeros(vol.shape, bool)
    mask[1::2, 1::2, 1::2] = True  # skimage marches cell (z, y, x) when mask[z+1, y+1, x+1]
    out = [[] for _ in range(n)]
    if not (vol.min() <= 0 <= vol.max()):
        return origins, out
    try:
        verts, faces, _, _ = marching_cubes(vol, 0, mask=mask)
    except RuntimeError:  # no surface at all
        return origins, out
    xyz = verts[:, ::-1]
    for f in faces:
        pts = [tuple(xyz[i]) for i in f[::-1]]  # undo the 'descent' flip
        lo = np.floor(np.min(np.array(pts), axis=0)).astype(int) // 2
        out[lo[2] * N * N + lo[1] * N + lo[0]].append(tuple(pts))
    return origins, out


def identify(v, origin, triangles):
    """skimage's triangles as vertex ids, or None where a position fits several ids."""
    index = sum(1 << L for L in range(8) if v[L] > 0)
    candidates = defaultdict(list)
    for e in range(12):
        if crossing(index, e):
            candidates[edge_position(v, e, origin)].append(e)
    candidates[centre_position(v, origin)].append(CENTRE)
    ids = []
    for tri in triangles:
        t = []
        for p in tri:
            c = candidates.get(tuple(np.float32(x) for x in p))
            if c is None or len(c) != 1:
                return None
            t.append(c[0])
        ids.append(tuple(t))
    return tuple(ids)


# ---- cell values of every kind ----

def sample_cells(rng, kind, n):
    if isinstance(kind, tuple):  # (index, kind): that cube index's signs, the kind's magnitudes
        index, kind = kind
        signs = np.array([1.0 if (index >> L) & 1 else -1.0 for L in range(8)])
        if kind == 'withzeros':  # corners below the level 0, -1 or -2, those above 1 or 2
            return (signs * rng.integers(0, 3, (n, 8)) + (signs > 0)).clip(-2, 2).astype(np.float32)
        magnitudes = np.maximum(np.abs(sample_cells(rng, kind, n)), np.float32(1e-30))
        return (signs * magnitudes).astype(np.float32)
    if kind == 'gaussian':
        x = rng.standard_normal((n, 8))
    elif kind == 'heavy':  # magnitudes over 8 decades: rare corners of the configuration space
        x = rng.choice([-1.0, 1.0], (n, 8)) * 10.0 ** rng.uniform(-4, 4, (n, 8))
    elif kind == 'tiny':  # products below skimage's EPS: its tie rules and EPS-shifted tests decide
        x = rng.choice([-1.0, 1.0], (n, 8)) * 10.0 ** rng.uniform(-30, 2, (n, 8))
    elif kind == 'integers':  # many corners exactly at the level, many exact ties
        x = rng.integers(-2, 3, (n, 8)).astype(float)
    elif kind == 'small':  # 1, 2 or 3 in size: exact ties and exact zeros inside the tests
        x = rng.choice([-1.0, 1.0], (n, 8)) * rng.integers(1, 4, (n, 8))
    elif kind == 'mixed':  # some corners 0, the rest Gaussian
        x = rng.standard_normal((n, 8))
        x[rng.random((n, 8)) < 0.2] = 0.0
    else:
        raise ValueError(kind)
    return x.astype(np.float32)


KINDS = ['gaussian', 'heavy', 'tiny', 'small', 'integers', 'mixed']
POOL_KINDS = ['gaussian', 'heavy', 'tiny', 'small']


class Evaluated:
    """Every test of every cell of a batch, computed once."""

    def __init__(self, cells):
        self.V = cells.astype(np.float64)
        self.index = cube_index(self.V)
        self.faces = [face_test(self.V, f) for f in range(6)]
        self.interior = {w: interior_test(self.V, w) for w in INTERIOR_TESTS}

    def face_bits(self, c, joins_when_zero=None):
        """Outcome bits over the cell's ambiguous faces (bit i: i-th ambiguous face joined), or
        None when a face has a zero first corner and joins_when_zero is not given."""
        bits = 0
        for i, f in enumerate(ambiguous_faces(self.index[c])):
            joined, tie, zero = (x[c] for x in self.faces[f])
            if zero:
                if joins_when_zero is None:
                    return None
                joined = joins_when_zero[self.index[c]][f]
            elif tie:
                joined = True
            bits |= int(joined) << i
        return bits

    def clean(self, c):
        """No ambiguous face has a zero first corner (its outcome then depends on the index)."""
        return all(not self.faces[f][2][c] for f in ambiguous_faces(self.index[c]))


def batch_face_bits(ev, index, joins_when_zero=None):
    """Per cell of a single-index batch: its face outcome bits (a tie joins), or -1 where a face
    has a zero first corner and joins_when_zero is not given."""
    bits = np.zeros(len(ev.V), np.int64)
    unknown = np.zeros(len(ev.V), bool)
    for i, f in enumerate(ambiguous_faces(index)):
        joined, tie, zero = ev.faces[f]
        if joins_when_zero is None:
            unknown |= zero
        else:
            joined = np.where(zero, joins_when_zero[index][f] if zero.any() else False, joined)
        bits |= (joined | tie).astype(np.int64) << i
    bits[unknown] = -1
    return bits


def targeted_cells(rng, index, n, joins_when_zero=None, per_outcome=40):
    """Cells of one cube index chosen so that every face outcome combination met, and within it
    each outcome of every interior test, is represented (the rare ones are what matter)."""
    cells = np.concatenate([sample_cells(rng, (index, k), n) for k in POOL_KINDS + ["withzeros"]])
    if joins_when_zero is not None:  # corners exactly at the level too, first corners included
        zeros = sample_cells(rng, (index, 'withzeros'), 4 * n)
        cells = np.concatenate([cells, zeros])
    ev = Evaluated(cells)
    bits = batch_face_bits(ev, index, joins_when_zero)
    chosen = set()
    for b in np.unique(bits[bits >= 0]):
        in_key = bits == b
        chosen.update(np.flatnonzero(in_key)[:per_outcome].tolist())
        for which in INTERIOR_TESTS:
            joined, fall = ev.interior[which]
            for pick in (in_key & joined & ~fall, in_key & ~joined & ~fall, in_key & fall):
                chosen.update(np.flatnonzero(pick)[:per_outcome].tolist())
    return cells[sorted(chosen)]


def batch_cells(rng, kind, n, joins_when_zero=None):
    if isinstance(kind, tuple) and kind[1] == 'targeted':
        return targeted_cells(rng, kind[0], n, joins_when_zero)
    if isinstance(kind, tuple) and kind[1] == 'zero':  # (index, 'zero', face): its first corner at 0
        index, _, f = kind
        cells = np.concatenate([sample_cells(rng, (index, k), n) for k in ['gaussian', 'heavy', 'integers']])
        cells[:, FACES[f][0]] = 0
        return cells
    return sample_cells(rng, kind, n)


def learn(rng, batches, joins_when_zero=None, triangulations=None, examples=None):
    """batches: (kind, n); cells of each kind (or the targeted cells of a cube index) are run
    through skimage, and the answer of each cell whose key is known is recorded under it."""
    triangulations = triangulations if triangulations is not None else defaultdict(Counter)  # key -> Counter(ids)
    examples = examples if examples is not None else defaultdict(list)  # (index, bits, ids) -> cells
    for kind, n in batches:
        cells = batch_cells(rng, kind, n, joins_when_zero)
        origins, tris = run_cells(cells)
        ev = Evaluated(cells)
        for c in range(len(cells)):
            index = ev.index[c]
            bits = ev.face_bits(c, joins_when_zero)
            if index in (0, 255) or bits is None:
                continue
            ids = identify([float(x) for x in cells[c]], origins[c], tris[c])
            if ids is None:
                continue
            key = (int(index), bits)
            triangulations[key][ids] += 1
            if len(examples[key + (ids,)]) < 5000:
                examples[key + (ids,)].append(cells[c])
    return triangulations, examples


def separating_tests(samples):
    """samples: {ids: cells}, two triangulations. The interior tests whose 'joined' outcome
    (ignoring fall-throughs) is constant on each and differs between them, as
    (test, separate ids, joined ids)."""
    (a, ca), (b, cb) = samples.items()
    fits = []
    for which in INTERIOR_TESTS:
        ja, fa = interior_test(np.array(ca, np.float64), which)
        jb, fb = interior_test(np.array(cb, np.float64), which)
        ja, jb = ja[~fa], jb[~fb]  # fall-throughs are learned later
        if ja.all() and not jb.any():
            fits.append((which, b, a))
        elif jb.all() and not ja.any():
            fits.append((which, a, b))
    return fits


def disagreeing_cells(rng, index, bits, tests, joins_when_zero, n=20000, rounds=20):
    """Cells of this key on which the candidate interior tests do not all agree."""
    found = []
    for _ in range(rounds):
        cells = np.concatenate([sample_cells(rng, (index, k), n) for k in POOL_KINDS + ['withzeros']])
        ev = Evaluated(cells)
        in_key = batch_face_bits(ev, index, joins_when_zero) == bits
        outcomes = np.stack([ev.interior[w][0] & ~ev.interior[w][1] for w in tests])
        pick = in_key & (outcomes.min(axis=0) != outcomes.max(axis=0))
        found.extend(cells[pick][:200])
        if len(found) >= 200:
            break
    return np.array(found, np.float32).reshape(-1, 8)


def choose_interior_tests(rng, triangulations, examples, joins_when_zero=None):
    """For keys with two answers: the interior test whose 'joined' outcome separates them. Where
    several do on the cells seen, cells on which they disagree are run through skimage too."""
    rules = {}
    for key, counts in sorted(triangulations.items()):
        if len(counts) == 1:
            rules[key] = ('fixed', next(iter(counts)))
            continue
        if len(counts) != 2:
            sys.exit(f"key {key}: {len(counts)} different triangulations: {counts}")
        samples = {ids: list(examples[key + (ids,)]) for ids in counts}
        fits = separating_tests(samples)
        while len(fits) > 1:
            extra = disagreeing_cells(rng, key[0], key[1], [f[0] for f in fits], joins_when_zero)
            if len(extra) == 0:
                print(f"note: key {key}: tests {[f[0] for f in fits]} agree on every cell tried; keeping {fits[0][0]}")
                break
            origins, tris = run_cells(extra)
            # Labelled by positions: corners at the level make vertices coincide, so ids
            # cannot always be read back, but the two answers still differ as positions.
            for c in range(len(extra)):
                v = [float(x) for x in extra[c]]
                got = Counter(tris[c])
                answers = {ids: Counter(positions(v, origins[c], ids)) for ids in samples}
                matching = [ids for ids, p in answers.items() if p == got]
                if len(matching) == 1 and len(set(map(lambda p: tuple(sorted(p.items())), answers.values()))) == 2:
                    samples[matching[0]].append(extra[c])
                elif not matching:
                    sys.exit(f"key {key}: cell {v}: skimage gave neither learned answer: {tris[c]}")
            fits = separating_tests(samples)
        if not fits:
            sys.exit(f"key {key}: no interior test separates its two triangulations {counts}")
        which, separate, joined = fits[0]
        rules[key] = ('interior', which, separate, joined)
    return rules


def reversed_ids(ids):
    return tuple(tuple(reversed(tri)) for tri in ids)


def canonical(ids):
    """Triangles as a set of oriented triangles: any order, any starting vertex, same winding."""
    return tuple(sorted(min(tri[i:] + tri[:i] for i in range(3)) for tri in ids))


def complete_by_complement(rules, examples):
    """skimage's answer for the complementary cube (every corner on the other side of the level)
    with every face outcome flipped is the same triangles wound the other way (each possibly
    starting at another vertex); where an interior test decides, the same test decides with its
    outcomes swapped. Where one side of a pair was seen with both outcomes of its interior test
    and the other side with one (some outcomes need corners exactly at the level on one side
    only), this completes the other side, and every pair seen on both sides is checked against
    it. Returns the rules and the triangulations taken this way (their order and starting
    vertices are guesses until settle_order has seen them)."""
    out = dict(rules)
    taken = set()
    for (index, bits), rule in rules.items():
        partner = (255 - index, ((1 << len(ambiguous_faces(index))) - 1) ^ bits)
        if rule[0] == 'fixed':
            mirrored = ('fixed', reversed_ids(rule[1]))
        else:
            mirrored = ('interior', rule[1], reversed_ids(rule[3]), reversed_ids(rule[2]))
        known = out.get(partner)
        same = lambda a, b: a[0] == b[0] and a[1:2] == b[1:2] if a[0] == 'interior' else a[0] == b[0]
        if known is None:
            print(f"note: key {partner} never seen; taking the complement of {(index, bits)}")
            out[partner] = mirrored
            taken.update((partner, ids) for ids in mirrored[1 if mirrored[0] == 'fixed' else 2:])
        elif known[0] == mirrored[0] and [canonical(x) for x in known[1:] if isinstance(x, tuple)] == \
                [canonical(x) for x in mirrored[1:] if isinstance(x, tuple)] and known[1:2] == mirrored[1:2] or \
                known[0] == 'fixed' and mirrored[0] == 'fixed' and canonical(known[1]) == canonical(mirrored[1]):
            continue
        elif known[0] == 'fixed' and mirrored[0] == 'interior' and canonical(known[1]) in map(canonical, mirrored[2:]):
            sep, joi = (known[1] if canonical(x) == canonical(known[1]) else x for x in mirrored[2:])
            # Only where every cell seen for the partner had the test's outcome that gives what
            # skimage answered: otherwise the test does not decide there.
            cells = np.array(examples[partner + (known[1],)], np.float64).reshape(-1, 8)
            joined, fall = interior_test(cells, mirrored[1])
            if (joined[~fall] == (joi == known[1])).all():
                out[partner] = ('interior', mirrored[1], sep, joi)
                taken.update((partner, ids) for ids in (sep, joi) if ids != known[1])
        elif known[0] == 'interior' and mirrored[0] == 'fixed' and canonical(mirrored[1]) in map(canonical, known[2:]):
            continue
        else:
            sys.exit(f"keys {(index, bits)} and {partner} are not complementary: {rule} vs {known}")
    return out, taken


def settle_order(rng, rules, taken, joins_when_zero, fall_joins):
    """Where a triangulation was taken from the complement, the order of its triangles and the
    vertex each starts at (which decide the order skimage numbers vertices in) are read off
    cells for which skimage gave it."""
    votes = defaultdict(Counter)  # (key, ids) -> Counter(ordered ids)
    for index in sorted({key[0] for key, _ in taken}):
        cells = targeted_cells(rng, index, 5000, joins_when_zero, per_outcome=200)
        origins, tris = run_cells(cells)
        ev = Evaluated(cells)
        for c in range(len(cells)):
            ids = predict(rules, joins_when_zero, fall_joins, ev, c)
            key = (index, ev.face_bits(c, joins_when_zero))
            if ids is None or (key, ids) not in taken or len(tris[c]) != len(ids):
                continue
            v = [float(x) for x in cells[c]]
            options = {}
            for tri in ids:
                for r in range(3):
                    rot = tri[r:] + tri[:r]
                    options.setdefault(tuple(vertex_position(v, i, origins[c]) for i in rot), set()).add(rot)
            ordered = []
            for got in tris[c]:
                fit = options.get(tuple(tuple(np.float32(x) for x in p) for p in got), set())
                if len(fit) != 1:
                    break
                ordered.append(next(iter(fit)))
            else:
                if canonical(ordered) == canonical(ids):
                    votes[(key, ids)][tuple(ordered)] += 1
    out = dict(rules)
    for key, ids in taken:
        seen = votes.get((key, ids))
        if not seen:
            print(f"note: key {key}: the complement's answer {ids} never seen from skimage; its order is a guess")
            continue
        if len(seen) != 1:
            sys.exit(f"key {key}: skimage gave the triangles of {ids} in different orders {seen}")
        ordered = next(iter(seen))
        rule = out[key]
        out[key] = ('fixed', ordered) if rule[0] == 'fixed' else \
            ('interior', rule[1], ordered if rule[2] == ids else rule[2], ordered if rule[3] == ids else rule[3])
    return out


def predict(rules, joins_when_zero, fall_joins, ev, c):
    """The ids skimage should give for cell c, or None if its key was never learned."""
    index = int(ev.index[c])
    if index in (0, 255):
        return ()
    bits = ev.face_bits(c, joins_when_zero)
    rule = rules.get((index, bits))
    if rule is None:
        return None
    if rule[0] == 'fixed':
        return rule[1]
    _, which, separate, joined = rule
    j, fall = (x[c] for x in ev.interior[which])
    if fall:
        if index not in fall_joins:
            return None
        j = fall_joins[index]
    return joined if j else separate


def positions(v, origin, ids):
    return tuple(tuple(vertex_position(v, i, origin) for i in tri) for tri in ids)


def learn_degenerate(rng, rules, batches):
    """Zero first corners and vertical fall-throughs: which way skimage goes, per cube index."""
    zero_votes = defaultdict(Counter)  # (index, face) -> Counter(joined?)
    fall_votes = defaultdict(Counter)
    for kind, n in batches:
        cells = batch_cells(rng, kind, n)
        origins, tris = run_cells(cells)
        ev = Evaluated(cells)
        for c in range(len(cells)):
            index = int(ev.index[c])
            if index in (0, 255):
                continue
            v = [float(x) for x in cells[c]]
            got = Counter(tris[c])
            amb = ambiguous_faces(index)
            zeros = [f for f in amb if ev.faces[f][2][c]]
            base = {index: {f: None for f in amb}}
            if len(zeros) == 1:
                options = {}
                for choice in (False, True):
                    table = {index: {f: choice for f in amb}}
                    ids = predict(rules, table, {}, ev, c)
                    if ids is not None:
                        options[choice] = Counter(positions(v, origins[c], ids))
                hits = [ch for ch, p in options.items() if p == got]
                if len(hits) == 1 and len(options) == 2 and options[True] != options[False]:
                    zero_votes[(index, zeros[0])][hits[0]] += 1
            elif not zeros:
                bits = ev.face_bits(c, base)
                rule = rules.get((index, bits))
                if rule and rule[0] == 'interior' and rule[1] == 'vertical' and ev.interior['vertical'][1][c]:
                    sep, joi = (Counter(positions(v, origins[c], ids)) for ids in (rule[2], rule[3]))
                    if sep != joi and got in (sep, joi):
                        fall_votes[index][got == joi] += 1
    joins_when_zero = defaultdict(dict)
    for (index, f), votes in zero_votes.items():
        if len(votes) != 1:
            sys.exit(f"index {index} face {f}: zero first corner answered both ways {votes}")
        joins_when_zero[index][f] = next(iter(votes))
    fall_joins = {}
    for index, votes in fall_votes.items():
        if len(votes) != 1:
            sys.exit(f"index {index}: vertical fall-through answered both ways {votes}")
        fall_joins[index] = next(iter(votes))
    return joins_when_zero, fall_joins


def verify(rng, rules, joins_when_zero, fall_joins, batches):
    checked = Counter()
    for kind, n in batches:
        cells = sample_cells(rng, kind, n)
        origins, tris = run_cells(cells)
        ev = Evaluated(cells)
        for c in range(n):
            ids = predict(rules, joins_when_zero, fall_joins, ev, c)
            v = [float(x) for x in cells[c]]
            if ids is None:
                sys.exit(f"{kind} cell {v}: key never learned (index {ev.index[c]}); skimage gave {tris[c]}")
            if Counter(positions(v, origins[c], ids)) != Counter(tris[c]):
                sys.exit(f"{kind} cell {v}: predicted {ids}, skimage gave {tris[c]}")
            checked[kind] += 1
    return checked


def swift_ids(ids):
    return ' '.join(''.join('0123456789abc'[i] for i in tri) for tri in ids)


def write_swift(path, rules, joins_when_zero, fall_joins, stats):
    lines = []
    for index in range(256):
        amb = ambiguous_faces(index)
        zero = ''.join('1' if joins_when_zero.get(index, {}).get(f, False) else '0' for f in amb)
        head = f"{index}"
        if amb:
            head += f" zero:{zero}"
        if index in fall_joins:
            head += f" fall:{int(fall_joins[index])}"
        entries = []
        for bits in range(1 << len(amb)):
            rule = rules.get((index, bits))
            if rule is None:
                entries.append('-')
            elif rule[0] == 'fixed':
                entries.append(swift_ids(rule[1]))
            else:
                which = 'v' if rule[1] == 'vertical' else 'e' + '0123456789ab'[rule[1]]
                entries.append(f"{which}? {swift_ids(rule[2])} ! {swift_ids(rule[3])}")
        if index in (0, 255):
            entries = ['']
        lines.append(f'        "{head} | ' + ' | '.join(entries) + '",')
    text = f'''// Generated by scripts/derive_marching_cubes_tables.py from what scikit-image {skimage.__version__}'s
// marching_cubes(method='lewiner') returned on {sum(stats.values()):,} probe cells; do not edit by hand.
// Verified there on {', '.join(f"{n:,} {k}" for k, n in stats.items())} cells.

/// One line per cube index (bit L set when Lewiner corner L is above the level):
/// `INDEX [zero:BITS] [fall:0|1] | ENTRY | ENTRY ...` with one ENTRY per combination of the
/// outcomes of the index's ambiguous faces (in increasing face number; bit i of the entry's
/// position set when the i-th ambiguous face joins its positive corners). `zero:` gives, per
/// ambiguous face, the outcome skimage takes when that face's first corner is exactly at the
/// level; `fall:` the interior outcome it takes when the vertical test falls through its switch.
/// An ENTRY is the cell's triangles, three hex vertex ids each (edges 0-b, c the cell's inner
/// vertex), in skimage's order and winding; `TEST? SEPARATE ! JOINED` where an interior test
/// decides (`v` the vertical test, `eN` the section through edge N); `-` where skimage never
/// gave an answer (no cell can have those outcomes; it would print 'Impossible case 13?' and
/// add nothing).
enum LewinerTriangulations {{
    static let lines: [String] = [
{chr(10).join(lines)}
    ]
}}
'''
    with open(path, 'w') as f:
        f.write(text)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.join(root, 'Sources', 'PointEMesh', 'LewinerTriangulations.swift')
    rng = np.random.default_rng(20240611)
    size = 30000
    cache = os.environ.get('MC_TABLES_CACHE')  # while developing: reuse what was learned
    if cache and os.path.exists(cache):
        import pickle
        with open(cache, 'rb') as f:
            rules, joins_when_zero, fall_joins = pickle.load(f)
    else:
        learn_batches = [(k, size) for k in ['gaussian', 'heavy', 'tiny'] * 4]
        # every cube index on its own too, so that rare outcomes of rare indices are seen
        learn_batches += [((index, 'targeted'), 20000) for index in range(1, 255)]
        triangulations, examples = learn(rng, learn_batches)
        rules, _ = complete_by_complement(choose_interior_tests(rng, triangulations, examples), examples)
        print(f"learned {len(rules)} keys, {sum(r[0] == 'interior' for r in rules.values())} with an interior test")
        zero_faces = [(index, f) for index in range(1, 255) for f in ambiguous_faces(index) if not (index >> FACES[f][0]) & 1]
        for round in range(2):
            vertical = sorted({key[0] for key, rule in rules.items() if rule[0] == 'interior' and rule[1] == 'vertical'})
            joins_when_zero, fall_joins = learn_degenerate(
                rng, rules, [((index, 'zero', f), 100) for index, f in zero_faces] + [((index, 'targeted'), 20000) for index in vertical])
            missing = [p for p in zero_faces if p[1] not in joins_when_zero.get(p[0], {})]
            if missing:
                sys.exit(f"no cell told which way a zero first corner goes for (index, face) {missing}")
            print(f"zero first corner: {sum(len(v) for v in joins_when_zero.values())} (index, face) pairs; "
                  f"vertical fall-through: {len(fall_joins)} indices")
            if round == 1:
                rules = settle_order(rng, rules, taken, joins_when_zero, fall_joins)
            if round == 0:
                # Corners exactly at the level reach outcomes no other cell does: learn from them too.
                learn(rng, [((index, 'targeted'), 5000) for index in range(1, 255)] + [(k, size) for k in ['integers', 'mixed']],
                      joins_when_zero, triangulations, examples)
                rules, taken = complete_by_complement(choose_interior_tests(rng, triangulations, examples, joins_when_zero), examples)
                print(f"learned {len(rules)} keys, {sum(r[0] == 'interior' for r in rules.values())} with an interior test")
    if cache and not os.path.exists(cache):
        import pickle
        with open(cache, 'wb') as f:
            pickle.dump((rules, dict(joins_when_zero), fall_joins), f)
    stats = verify(rng, rules, joins_when_zero, fall_joins, [(k, size) for k in KINDS * 2])
    print("verified", dict(stats))
    write_swift(out, rules, joins_when_zero, fall_joins, stats)
    print("wrote", out)


if __name__ == '__main__':
    main()
