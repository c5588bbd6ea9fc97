"""Reads a pointe job's files with the libraries users load them with (RealClientFileTests).

    python read_job_files.py OUT.json JOBDIR            # every file of every manifest line
    python read_job_files.py OUT.json --file KIND PATH  # one file, KIND as in the manifest (mesh_glb, ...)

Writes one JSON object to OUT.json (not stdout: open3d prints its own messages there): for each file, what each library read (counts, coordinates, colours in
0..1, faces, finiteness, trimesh's winding check) or the error it raised. Exits 1 when any
library failed on any file, naming the file and the library. The comparison with pointe's own
readers is done by the Swift test, which reads the same files.
"""
import json
import sys

import numpy as np
import open3d
import plyfile
import pygltflib
import pymeshlab
import trimesh
from pxr import Usd, UsdGeom


def finite(*arrays):
    return all(bool(np.isfinite(np.asarray(a, dtype=np.float64)).all()) for a in arrays)


def flat(array, dtype=float):
    return [dtype(v) for v in np.asarray(array).reshape(-1)]


def cloud_plyfile(path):
    vertex = plyfile.PlyData.read(path)["vertex"]
    xyz = np.stack([vertex["x"], vertex["y"], vertex["z"]], axis=1)
    rgb = np.stack([vertex["red"], vertex["green"], vertex["blue"]], axis=1) / 255.0
    return {"points": len(vertex), "xyz": flat(xyz), "rgb": flat(rgb), "finite": finite(xyz)}


def cloud_open3d(path):
    cloud = open3d.io.read_point_cloud(path, format="ply")
    points, colors = np.asarray(cloud.points), np.asarray(cloud.colors)
    if len(points) == 0:
        raise ValueError("open3d read no points")
    return {"points": len(points), "xyz": flat(points), "rgb": flat(colors), "finite": finite(points, colors)}


def cloud_numpy(path):
    with np.load(path) as npz:
        coords = npz["coords"]
        rgb = np.stack([npz["R"], npz["G"], npz["B"]], axis=1)
    return {"points": int(coords.shape[0]), "xyz": flat(coords), "rgb": flat(rgb), "finite": finite(coords, rgb)}


def mesh_trimesh(path, file_type):
    # process=False: the vertices and faces as stored, not merged or reordered. A GLB loads as a
    # scene: its one geometry, whose material (a PBR material: TextureVisuals) keeps COLOR_0 as
    # the float vertex attribute "color" (force="mesh" would drop it).
    loaded = trimesh.load(path, file_type=file_type, process=False)
    if isinstance(loaded, trimesh.Scene):
        if len(loaded.geometry) != 1:
            raise ValueError(f"trimesh read {len(loaded.geometry)} geometries")
        loaded = next(iter(loaded.geometry.values()))
    mesh = loaded
    if len(mesh.faces) == 0:
        raise ValueError("trimesh read no faces")
    if mesh.visual.kind == "texture":
        colors = np.asarray(mesh.visual.vertex_attributes["color"], dtype=np.float64)[:, :3]
    else:
        colors = np.asarray(mesh.visual.vertex_colors)[:, :3] / 255.0
    return {"vertices": len(mesh.vertices), "faces": len(mesh.faces), "xyz": flat(mesh.vertices), "rgb": flat(colors),
            "indices": flat(mesh.faces, int), "finite": finite(mesh.vertices), "winding_consistent": bool(mesh.is_winding_consistent)}


def mesh_pygltflib(path):
    gltf = pygltflib.GLTF2().load_binary(path)
    blob = gltf.binary_blob()
    primitive = gltf.meshes[0].primitives[0]

    def accessor_array(index, components):
        accessor = gltf.accessors[index]
        view = gltf.bufferViews[accessor.bufferView]
        dtype = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}[accessor.componentType]
        start = view.byteOffset + (accessor.byteOffset or 0)
        size = accessor.count * components * np.dtype(dtype).itemsize
        if blob is None or start + size > len(blob):
            raise ValueError(f"accessor {index} needs bytes {start}..{start + size} of a {0 if blob is None else len(blob)}-byte buffer")
        values = np.frombuffer(blob[start:start + size], dtype=dtype).reshape(-1, components) if components > 1 else \
            np.frombuffer(blob[start:start + size], dtype=dtype)
        return values / 255.0 if accessor.normalized and dtype == np.uint8 else values

    xyz = accessor_array(primitive.attributes.POSITION, 3)
    indices = accessor_array(primitive.indices, 1)
    rgb = accessor_array(primitive.attributes.COLOR_0, 3)[:, :3] if primitive.attributes.COLOR_0 is not None else np.zeros((0, 3))
    return {"vertices": len(xyz), "faces": len(indices) // 3, "xyz": flat(xyz), "rgb": flat(rgb), "indices": flat(indices, int),
            "finite": finite(xyz, rgb)}


def mesh_plyfile(path):
    data = plyfile.PlyData.read(path)
    vertex, face = data["vertex"], data["face"]
    xyz = np.stack([vertex["x"], vertex["y"], vertex["z"]], axis=1)
    rgb = np.stack([vertex["red"], vertex["green"], vertex["blue"]], axis=1) / 255.0
    faces = np.stack(face["vertex_indices"])
    return {"vertices": len(vertex), "faces": len(face), "xyz": flat(xyz), "rgb": flat(rgb), "indices": flat(faces, int),
            "finite": finite(xyz)}


def mesh_open3d(path):
    mesh = open3d.io.read_triangle_mesh(path)
    vertices, triangles, colors = np.asarray(mesh.vertices), np.asarray(mesh.triangles), np.asarray(mesh.vertex_colors)
    if len(triangles) == 0:
        raise ValueError("open3d read no triangles")
    return {"vertices": len(vertices), "faces": len(triangles), "xyz": flat(vertices), "rgb": flat(colors),
            "indices": flat(triangles, int), "finite": finite(vertices, colors)}


def mesh_pymeshlab(path):
    meshes = pymeshlab.MeshSet()
    meshes.load_new_mesh(path)
    mesh = meshes.current_mesh()
    vertices, faces = mesh.vertex_matrix(), mesh.face_matrix()
    result = {"vertices": mesh.vertex_number(), "faces": mesh.face_number(), "xyz": flat(vertices), "indices": flat(faces, int),
              "finite": finite(vertices)}
    if mesh.has_vertex_color():
        result["rgb"] = flat(mesh.vertex_color_matrix()[:, :3])
    return result


def mesh_usd(path):
    stage = Usd.Stage.Open(path)
    meshes = [UsdGeom.Mesh(prim) for prim in stage.Traverse() if prim.IsA(UsdGeom.Mesh)]
    if len(meshes) != 1:
        raise ValueError(f"USD found {len(meshes)} meshes")
    mesh = meshes[0]
    xyz = np.asarray(mesh.GetPointsAttr().Get(), dtype=np.float64)
    counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get())
    indices = np.asarray(mesh.GetFaceVertexIndicesAttr().Get())
    if not (counts == 3).all():
        raise ValueError("USD mesh has faces that are not triangles")
    rgb = np.asarray(UsdGeom.PrimvarsAPI(mesh.GetPrim()).GetPrimvar("displayColor").Get(), dtype=np.float64)
    return {"vertices": len(xyz), "faces": len(counts), "xyz": flat(xyz), "rgb": flat(rgb), "indices": flat(indices, int),
            "finite": finite(xyz, rgb)}


def preview_open3d(path):
    image = np.asarray(open3d.io.read_image(path))
    if image.size == 0:
        raise ValueError("open3d read an empty image")
    return {"width": int(image.shape[1]), "height": int(image.shape[0]), "channels": int(image.shape[2]) if image.ndim == 3 else 1}


READERS = {
    "cloud_ply": {"plyfile": cloud_plyfile, "open3d": cloud_open3d},
    "cloud_npz": {"numpy": cloud_numpy},
    "mesh_glb": {"trimesh": lambda p: mesh_trimesh(p, "glb"), "pygltflib": mesh_pygltflib},
    "mesh_ply": {"plyfile": mesh_plyfile, "open3d": mesh_open3d, "pymeshlab": mesh_pymeshlab, "trimesh": lambda p: mesh_trimesh(p, "ply")},
    "mesh_obj": {"pymeshlab": mesh_pymeshlab, "open3d": mesh_open3d, "trimesh": lambda p: mesh_trimesh(p, "obj")},
    "mesh_usda": {"usd": mesh_usd},
    "preview_png": {"open3d": preview_open3d},
}


def read(kind, path):
    readers, failures = {}, []
    for name, reader in READERS[kind].items():
        try:
            readers[name] = reader(path)
        except Exception as error:  # every library's own complaint, reported per library
            readers[name] = {"error": f"{type(error).__name__}: {error}"}
            failures.append(f"{path}: {name} failed: {type(error).__name__}: {error}")
    return readers, failures


def main():
    files, failures = [], []
    out, arguments = sys.argv[1], sys.argv[2:]
    if arguments[0] == "--file":
        kind, path = arguments[1], arguments[2]
        readers, failed = read(kind, path)
        files.append({"kind": kind, "path": path, "readers": readers})
        failures += failed
    else:
        job = arguments[0]
        with open(f"{job}/manifest.jsonl") as lines:
            for line in lines:
                entry = json.loads(line)
                for kind, info in sorted(entry.get("files", {}).items()):
                    if kind not in READERS:
                        failures.append(f"{job}: no reader for file kind {kind} ({info['path']})")
                        continue
                    readers, failed = read(kind, f"{job}/{info['path']}")
                    files.append({"id": entry["id"], "kind": kind, "path": info["path"], "readers": readers})
                    failures += failed
    with open(out, "w") as result:
        json.dump({"files": files, "failures": failures}, result)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
