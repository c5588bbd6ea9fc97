"""Opens USD files with Pixar's USD (usd-core) and runs all its validators (UsdValidationTests).

    python check_usd.py OUT.json FILE.usda...

Writes one JSON object to OUT.json: for each file, the validators run and the errors they
found, the stage's metadata, and the Mesh's data as USD reads it (points, faces, normals and
displayColor with their interpolation, the bound material's metallic and roughness), so the
Swift test compares them with what pointe wrote. Exits 1 when a file cannot be opened.
"""
import json
import sys

from pxr import Usd, UsdGeom, UsdShade, UsdValidation


def flat(values):
    return [float(c) for v in values for c in v]


def check(path):
    stage = Usd.Stage.Open(path)
    validators = UsdValidation.ValidationRegistry().GetOrLoadAllValidators()
    errors = UsdValidation.ValidationContext(validators).Validate(stage)
    result = {
        "path": path,
        "validators": sorted(v.GetMetadata().name for v in validators),
        "errors": [f"{e.GetValidator().GetMetadata().name if e.GetValidator() else '?'}: {e.GetErrorAsString()}" for e in errors],
        "upAxis": str(UsdGeom.GetStageUpAxis(stage)),
        "metersPerUnit": UsdGeom.GetStageMetersPerUnit(stage),
        "hasAuthoredMetersPerUnit": UsdGeom.StageHasAuthoredMetersPerUnit(stage),
        "defaultPrim": str(stage.GetDefaultPrim().GetPath()) if stage.GetDefaultPrim() else None,
    }
    meshes = [UsdGeom.Mesh(prim) for prim in stage.Traverse() if prim.IsA(UsdGeom.Mesh)]
    result["meshes"] = len(meshes)
    if not meshes:
        return result
    mesh = meshes[0]
    api = UsdGeom.PrimvarsAPI(mesh.GetPrim())
    color = api.GetPrimvar("displayColor")
    normals = mesh.GetNormalsAttr().Get() or []
    extent = mesh.GetExtentAttr().Get()
    computed = UsdGeom.Boundable.ComputeExtentFromPlugins(mesh, Usd.TimeCode.Default())
    result.update({
        "points": flat(mesh.GetPointsAttr().Get()),
        "faceVertexCounts": list(mesh.GetFaceVertexCountsAttr().Get()),
        "faceVertexIndices": list(mesh.GetFaceVertexIndicesAttr().Get()),
        "normals": flat(normals),
        "normalsInterpolation": str(mesh.GetNormalsInterpolation()),
        "displayColor": flat(color.Get() or []),
        "displayColorInterpolation": str(color.GetInterpolation()),
        "subdivisionScheme": str(mesh.GetSubdivisionSchemeAttr().Get()),
        "orientation": str(mesh.GetOrientationAttr().Get()),
        "extentMatchesPoints": extent is not None and computed is not None and flat(extent) == flat(computed),
    })
    material, _ = UsdShade.MaterialBindingAPI(mesh.GetPrim()).ComputeBoundMaterial()
    if material:
        shader = material.ComputeSurfaceSource()[0]
        if shader:
            for name in ["metallic", "roughness"]:
                value = shader.GetInput(name)
                result[name] = float(value.Get()) if value and value.Get() is not None else None
            diffuse = shader.GetInput("diffuseColor")
            sources = diffuse.GetConnectedSources()[0] if diffuse else []
            if sources:
                reader = UsdShade.Shader(sources[0].source.GetPrim())
                result["diffuseColorReads"] = reader.GetInput("varname").Get()
    return result


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    files, failures = [], []
    for path in paths:
        try:
            files.append(check(path))
        except Exception as error:  # USD's own complaint, naming the file
            failures.append(f"{path}: {type(error).__name__}: {error}")
    with open(out, "w") as result:
        json.dump({"files": files, "failures": failures}, result)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
