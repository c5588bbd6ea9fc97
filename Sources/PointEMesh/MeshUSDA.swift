import Foundation

/// USD in its text form (.usda), for Omniverse, Houdini, Apple's AR tools and Blender: a
/// stage whose default prim `/pointe` (an Xform of kind component) holds one Mesh, `/pointe/mesh`,
/// with points, triangles (faceVertexCounts all 3), per-vertex normals and
/// primvars:displayColor, and a UsdPreviewSurface material (`SurfaceMaterial`) whose diffuse colour
/// reads displayColor, so renderers that use materials show the colours too.
///
/// The mesh is encoded as it is: `data(as: .usda)` first turns it +Y up and its colours linear
/// (USD's colour attributes are linear), and the stage says so: upAxis "Y". metersPerUnit 1
/// makes pointe's unit cube a metre, as glTF's metres do for the GLB. subdivisionScheme
/// "none": USD's fallback is Catmull-Clark, which would smooth the triangles and ignore the
/// normals. Floats are written in their shortest exact form.
extension TriMesh {
    func usdaData() -> Data {
        var text = """
        #usda 1.0
        (
            defaultPrim = "pointe"
            doc = "written by pointe"
            metersPerUnit = 1
            upAxis = "\(FileFormat.usda.upAxis.rawValue)"
        )

        def Xform "pointe" (
            kind = "component"
        )
        {
            def Mesh "mesh" (
                prepend apiSchemas = ["MaterialBindingAPI"]
            )
            {

        """
        text.reserveCapacity(vertexCount * 120 + faceCount * 30)
        func tuples(_ values: [Float]) -> String {
            (0..<(values.count / 3)).map { "(\(values[$0 * 3]), \(values[$0 * 3 + 1]), \(values[$0 * 3 + 2]))" }.joined(separator: ", ")
        }
        let (lo, hi) = GLB.bounds(vertices)
        let indent = "        "
        text += indent + "float3[] extent = [\(tuples(lo + hi))]\n"
        text += indent + "int[] faceVertexCounts = [\([String](repeating: "3", count: faceCount).joined(separator: ", "))]\n"
        text += indent + "int[] faceVertexIndices = [\(faces.map(String.init).joined(separator: ", "))]\n"
        text += indent + "rel material:binding = </pointe/material>\n"
        if !normals.isEmpty {
            text += indent + "normal3f[] normals = [\(tuples(normals))] (\n\(indent)    interpolation = \"vertex\"\n\(indent))\n"
        }
        text += indent + "point3f[] points = [\(tuples(vertices))]\n"
        if let rgb = colors {
            let packed = (0..<vertexCount).flatMap { [rgb.r[$0], rgb.g[$0], rgb.b[$0]] }
            text += indent + "color3f[] primvars:displayColor = [\(tuples(packed))] (\n\(indent)    interpolation = \"vertex\"\n\(indent))\n"
        }
        text += indent + "uniform token subdivisionScheme = \"none\"\n"
        text += """
            }

            def Material "material"
            {
                token outputs:surface.connect = </pointe/material/surface.outputs:surface>

                def Shader "surface"
                {
                    uniform token info:id = "UsdPreviewSurface"
                    color3f inputs:diffuseColor.connect = </pointe/material/displayColor.outputs:result>
                    float inputs:metallic = \(SurfaceMaterial.metallic)
                    float inputs:roughness = \(SurfaceMaterial.roughness)
                    token outputs:surface
                }

                def Shader "displayColor"
                {
                    uniform token info:id = "UsdPrimvarReader_float3"
                    string inputs:varname = "displayColor"
                    float3 outputs:result
                }
            }
        }

        """
        return Data(text.utf8)
    }
}
