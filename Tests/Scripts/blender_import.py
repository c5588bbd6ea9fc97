"""Imports pointe's mesh files into Blender (bpy from PyPI) the way an artist does: File >
Import with the importer's default options (BlenderImportTests).

    python blender_import.py OUT.json RENDERS_DIR FILE...

For each file (.glb, .ply, .obj or .usda) in a fresh empty scene: what Blender and its importer
printed (warnings and errors are caught at the file descriptors: the importers print them
there, not through Python), the mesh objects made, their vertex and face counts, every vertex's
position in world space (after the importer's axis conversion: Blender is +Z up), the colour
attribute's name, domain and type and every vertex's colour as Blender's colour management
gives it (sRGB-encoded, `color_srgb`), the material's metallic and roughness, and a Workbench
render of the object from the front (film transparent, view transform Standard) with the mean
sRGB colour of its pixels, written to RENDERS_DIR. Writes one JSON object to OUT.json; exits 1
when an import fails. The comparison with pointe's files is done by the Swift test.
"""
import json
import os
import sys
import tempfile

import bpy
import mathutils

IMPORTERS = {
    ".glb": lambda path: bpy.ops.import_scene.gltf(filepath=path),
    ".ply": lambda path: bpy.ops.wm.ply_import(filepath=path),
    ".obj": lambda path: bpy.ops.wm.obj_import(filepath=path),
    ".usda": lambda path: bpy.ops.wm.usd_import(filepath=path),
}


def captured(action):
    """Runs action() with the process's stdout and stderr sent to a file; returns its result and the text."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            result = action()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        sink.seek(0)
        return result, sink.read().decode("utf-8", "replace")


def vertex_colors(mesh):
    """The first colour attribute as per-vertex sRGB (a corner attribute: each vertex's first corner)."""
    if not mesh.color_attributes:
        return None, []
    attribute = mesh.color_attributes[0]
    info = {"name": attribute.name, "domain": attribute.domain, "type": attribute.data_type,
            "count": len(mesh.color_attributes)}
    if attribute.domain == "POINT":
        values = [attribute.data[i].color_srgb[:3] for i in range(len(mesh.vertices))]
    else:
        values = [None] * len(mesh.vertices)
        for loop in mesh.loops:
            if values[loop.vertex_index] is None:
                values[loop.vertex_index] = attribute.data[loop.index].color_srgb[:3]
        values = [v if v is not None else (0.0, 0.0, 0.0) for v in values]
    return info, [float(c) for v in values for c in v]


def material(obj):
    if not obj.material_slots or obj.material_slots[0].material is None:
        return None
    mat = obj.material_slots[0].material
    info = {"name": mat.name}
    if mat.node_tree:
        for node in mat.node_tree.nodes:
            if node.type == "BSDF_PRINCIPLED":
                info["metallic"] = node.inputs["Metallic"].default_value
                info["roughness"] = node.inputs["Roughness"].default_value
                base = node.inputs["Base Color"]
                info["baseColorLinkedTo"] = base.links[0].from_node.type if base.links else None
    return info


def render(obj, path):
    """A Workbench render from the front (Blender's -Y side, looking along +Y) framing the object."""
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "VERTEX"
    scene.view_settings.view_transform = "Standard"
    scene.render.film_transparent = True
    scene.render.resolution_x = scene.render.resolution_y = 96
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    corners = [obj.matrix_world @ mathutils.Vector(c) for c in obj.bound_box]
    center = sum(corners, mathutils.Vector()) / 8
    size = max((max(c[k] for c in corners) - min(c[k] for c in corners)) for k in range(3))
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    camera.data.type = "ORTHO"
    camera.data.ortho_scale = size * 1.2
    camera.location = center + mathutils.Vector((0, -3 * size, 0))
    camera.rotation_euler = (1.5707963267948966, 0, 0)
    scene.camera = camera
    scene.render.filepath = path
    _, log = captured(lambda: bpy.ops.render.render(write_still=True))
    image = bpy.data.images.load(path)
    pixels = list(image.pixels)
    covered = [pixels[i:i + 4] for i in range(0, len(pixels), 4) if pixels[i + 3] > 0.5]
    mean = [sum(p[k] for p in covered) / max(len(covered), 1) for k in range(3)]
    return {"path": path, "pixels": len(covered), "of": len(pixels) // 4, "meanRGB": mean, "log": log}


def read(path, renders):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    extension = os.path.splitext(path)[1].lower()
    status, log = captured(lambda: IMPORTERS[extension](path))
    objects = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    result = {"path": path, "status": sorted(status), "log": log, "meshObjects": len(objects)}
    if len(objects) != 1:
        return result
    obj = objects[0]
    bpy.context.view_layer.update()
    mesh = obj.data
    world = obj.matrix_world
    result.update({
        "vertices": len(mesh.vertices),
        "faces": len(mesh.polygons),
        "triangles": all(len(p.vertices) == 3 for p in mesh.polygons),
        "xyz": [float(c) for v in mesh.vertices for c in (world @ v.co)],
        "indices": [int(i) for p in mesh.polygons for i in p.vertices],
        "material": material(obj),
    })
    result["colorAttribute"], result["rgb"] = vertex_colors(mesh)
    result["render"] = render(obj, os.path.join(renders, os.path.basename(path) + ".png"))
    return result


def main():
    out, renders, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    files, failures = [], []
    for path in paths:
        try:
            files.append(read(path, renders))
        except Exception as error:  # the importer's own complaint, naming the file
            failures.append(f"{path}: {type(error).__name__}: {error}")
    with open(out, "w") as result:
        json.dump({"blender": bpy.app.version_string, "files": files, "failures": failures}, result)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
