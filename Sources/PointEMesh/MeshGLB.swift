import Foundation
import PointECheckpoint

/// glTF 2.0 binary (.glb): one mesh primitive (triangles) with POSITION, NORMAL, COLOR_0
/// (float RGB) and UNSIGNED_INT indices in one buffer, and one material (`SurfaceMaterial`;
/// glTF multiplies COLOR_0 into its white base colour). The mesh is encoded as it is:
/// `data(as: .glb)` first turns it +Y up and its colours linear, as glTF defines them.
extension TriMesh {
    func glbData() -> Data {
        var bin = ByteWriter()
        var views: [[String: Any]] = []
        var accessors: [[String: Any]] = []
        var attributes: [String: Int] = [:]

        func addView(_ floats: [Float]?, _ ints: [UInt32]?, target: Int) -> Int {
            bin.pad(to: 4, with: 0)
            let start = bin.bytes.count
            if let floats { for v in floats { bin.float(v) } }
            if let ints { for v in ints { bin.uint32(v) } }
            views.append(["buffer": 0, "byteOffset": start, "byteLength": bin.bytes.count - start, "target": target])
            return views.count - 1
        }
        func addVec3(_ name: String, _ values: [Float], bounds: Bool) {
            var accessor: [String: Any] = ["bufferView": addView(values, nil, target: 34962), "componentType": 5126,
                                           "count": values.count / 3, "type": "VEC3"]
            if bounds {
                let (lo, hi) = GLB.bounds(values)
                accessor["min"] = lo.map { Double($0) }
                accessor["max"] = hi.map { Double($0) }
            }
            accessors.append(accessor)
            attributes[name] = accessors.count - 1
        }
        addVec3("POSITION", vertices, bounds: true)
        if !normals.isEmpty { addVec3("NORMAL", normals, bounds: false) }
        if let rgb = colors {
            var packed = [Float](repeating: 0, count: vertexCount * 3)
            for i in 0..<vertexCount {
                packed[i * 3] = min(max(rgb.r[i], 0), 1)
                packed[i * 3 + 1] = min(max(rgb.g[i], 0), 1)
                packed[i * 3 + 2] = min(max(rgb.b[i], 0), 1)
            }
            addVec3("COLOR_0", packed, bounds: false)
        }
        accessors.append(["bufferView": addView(nil, faces, target: 34963), "componentType": 5125,
                          "count": faces.count, "type": "SCALAR"])
        let indices = accessors.count - 1
        bin.pad(to: 4, with: 0)
        let json: [String: Any] = [
            "asset": ["version": "2.0", "generator": "pointe"],
            "scene": 0, "scenes": [["nodes": [0]]], "nodes": [["mesh": 0, "name": "pointe"]],
            "meshes": [["name": "pointe", "primitives": [["attributes": attributes, "indices": indices, "mode": 4, "material": 0]]]],
            "materials": [["name": "pointe vertex colours",
                            "pbrMetallicRoughness": ["baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": SurfaceMaterial.metallic,
                                                     "roughnessFactor": SurfaceMaterial.roughness]]],
            "buffers": [["byteLength": bin.bytes.count]],
            "bufferViews": views, "accessors": accessors,
        ]
        var jsonBytes = [UInt8]((try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data())
        while jsonBytes.count % 4 != 0 { jsonBytes.append(0x20) }  // JSON chunk pads with spaces
        var out = ByteWriter()
        out.bytes += Array("glTF".utf8)
        out.uint32(2)
        out.uint32(UInt32(12 + 8 + jsonBytes.count + 8 + bin.bytes.count))
        out.uint32(UInt32(jsonBytes.count))
        out.bytes += Array("JSON".utf8)
        out.bytes += jsonBytes
        out.uint32(UInt32(bin.bytes.count))
        out.bytes += [0x42, 0x49, 0x4E, 0x00]  // "BIN\0"
        out.bytes += bin.bytes
        return Data(out.bytes)
    }
}
