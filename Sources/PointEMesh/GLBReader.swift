import Foundation
import PointECloud

/// Structural validation and reading of glTF 2.0 binary files as far as this project writes
/// them: header, chunk layout and alignment, JSON, buffer views within the one buffer,
/// accessors tightly packed within their views and aligned, float attributes, POSITION
/// min/max equal to the data, attribute counts, and whole triangles of indices within the
/// vertex count.
public enum GLB {
    static func bounds(_ values: [Float]) -> ([Float], [Float]) {
        var lo = [Float](repeating: .infinity, count: 3), hi = [Float](repeating: -.infinity, count: 3)
        for i in 0..<(values.count / 3) {
            for a in 0..<3 { lo[a] = min(lo[a], values[i * 3 + a]); hi[a] = max(hi[a], values[i * 3 + a]) }
        }
        return (lo, hi)
    }

    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    /// The parsed JSON and binary chunk of a valid file; throws naming the first violation.
    /// Every number is range-checked before it is used, so hostile input (a peer's mesh) is
    /// rejected, never read out of bounds: offsets, lengths and counts must lie within the
    /// file, accessors must be tightly packed in the one buffer (the BIN chunk), and the
    /// primitive's attributes must be float VEC3 (colours VEC3 or VEC4) with one count.
    public static func validate(_ b: [UInt8], path: String) throws -> (json: [String: Any], bin: [UInt8]) {
        func fail(_ message: String) -> MeshError { MeshError(path, "invalid GLB: \(message)") }
        // Any offset, length or count larger than the file is false; bounding them by it keeps
        // the arithmetic below far from overflow.
        func number(_ value: Any?, _ what: String, default fallback: Int? = nil) throws -> Int {
            guard let value else {
                if let fallback { return fallback }
                throw fail("\(what) is missing")
            }
            guard let n = value as? Int, n >= 0, n <= b.count else { throw fail("\(what) is not an integer in 0...\(b.count)") }
            return n
        }
        guard b.count >= 20, b[0..<4].elementsEqual(Array("glTF".utf8)) else { throw fail("no glTF magic") }
        guard u32(b, 4) == 2 else { throw fail("version \(u32(b, 4)), expected 2") }
        guard Int(u32(b, 8)) == b.count else { throw fail("header length \(u32(b, 8)) but the file has \(b.count) bytes") }
        let jsonLength = Int(u32(b, 12))
        guard b[16..<20].elementsEqual(Array("JSON".utf8)) else { throw fail("first chunk is not JSON") }
        guard jsonLength % 4 == 0, 20 + jsonLength <= b.count else { throw fail("JSON chunk length \(jsonLength) unaligned or past the end") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(b[20..<(20 + jsonLength)])) as? [String: Any] else {
            throw fail("JSON chunk does not parse as an object")
        }
        var bin: [UInt8] = []
        let binHeader = 20 + jsonLength
        if binHeader < b.count {
            guard binHeader + 8 <= b.count else { throw fail("truncated BIN chunk header") }
            let binLength = Int(u32(b, binHeader))
            guard b[(binHeader + 4)..<(binHeader + 8)].elementsEqual([0x42, 0x49, 0x4E, 0x00]) else { throw fail("second chunk is not BIN") }
            guard binLength % 4 == 0, binHeader + 8 + binLength == b.count else { throw fail("BIN chunk length \(binLength) unaligned or not ending the file") }
            bin = Array(b[(binHeader + 8)..<(binHeader + 8 + binLength)])
        }
        guard (json["asset"] as? [String: Any])?["version"] as? String == "2.0" else { throw fail("asset.version is not \"2.0\"") }
        let buffers = json["buffers"] as? [[String: Any]] ?? []
        guard buffers.count <= 1 else { throw fail("more than one buffer (only the BIN chunk is read)") }
        var bufferLength = 0
        if let first = buffers.first {
            guard first["uri"] == nil else { throw fail("buffer 0 refers to an external file") }
            bufferLength = try number(first["byteLength"], "buffer 0 byteLength")
            guard bufferLength <= bin.count else { throw fail("buffer 0 byteLength exceeds the BIN chunk") }
        }
        let views = json["bufferViews"] as? [[String: Any]] ?? []
        var viewRanges: [(offset: Int, length: Int, stride: Int?)] = []
        for (i, view) in views.enumerated() {
            guard view["buffer"] as? Int == 0, !buffers.isEmpty else { throw fail("bufferView \(i) does not use buffer 0") }
            let offset = try number(view["byteOffset"], "bufferView \(i) byteOffset", default: 0)
            let length = try number(view["byteLength"], "bufferView \(i) byteLength")
            guard length > 0, offset + length <= bufferLength else { throw fail("bufferView \(i) lies outside buffer 0") }
            let stride = try view["byteStride"].map { try number($0, "bufferView \(i) byteStride") }
            viewRanges.append((offset, length, stride))
        }
        let accessors = json["accessors"] as? [[String: Any]] ?? []
        for (i, accessor) in accessors.enumerated() {
            guard accessor["sparse"] == nil else { throw fail("accessor \(i) is sparse (not supported)") }
            let v = try number(accessor["bufferView"], "accessor \(i) bufferView")
            guard v < views.count else { throw fail("accessor \(i) names bufferView \(v) of \(views.count)") }
            let count = try number(accessor["count"], "accessor \(i) count")
            guard count >= 1, let type = accessor["type"] as? String, let components = ["SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4][type],
                  let componentType = accessor["componentType"] as? Int, let size = componentSizes[componentType] else {
                throw fail("accessor \(i) is malformed")
            }
            let offset = try number(accessor["byteOffset"], "accessor \(i) byteOffset", default: 0)
            guard (offset + viewRanges[v].offset) % size == 0 else { throw fail("accessor \(i) is not aligned to its component size") }
            // The readers below take elements as tightly packed: an interleaved view would be misread.
            if let stride = viewRanges[v].stride, stride != size * components {
                throw fail("accessor \(i) is interleaved (bufferView \(v) byteStride \(stride)); only tightly packed data is read")
            }
            guard offset + count * size * components <= viewRanges[v].length else { throw fail("accessor \(i) reads past bufferView \(v)") }
        }
        func accessor(_ index: Int?, _ what: String, types: Set<String>, componentTypes: Set<Int>) throws -> Int {
            guard let index, index >= 0, index < accessors.count else { throw fail("\(what) names no accessor") }
            guard let type = accessors[index]["type"] as? String, types.contains(type),
                  let componentType = accessors[index]["componentType"] as? Int, componentTypes.contains(componentType) else {
                throw fail("\(what) accessor has type \(accessors[index]["type"] ?? "none")/\(accessors[index]["componentType"] ?? "none"), expected \(types.sorted())/\(componentTypes.sorted())")
            }
            return index
        }
        for (m, mesh) in (json["meshes"] as? [[String: Any]] ?? []).enumerated() {
            for primitive in mesh["primitives"] as? [[String: Any]] ?? [] {
                guard primitive["mode"] == nil || primitive["mode"] as? Int == 4 else { throw fail("mesh \(m) has a primitive that is not triangles (mode 4)") }
                guard let attributes = primitive["attributes"] as? [String: Int], attributes["POSITION"] != nil else {
                    throw fail("mesh \(m) has a primitive without POSITION")
                }
                let position = try accessor(attributes["POSITION"], "mesh \(m) POSITION", types: ["VEC3"], componentTypes: [5126])
                let vertexCount = accessors[position]["count"] as! Int
                for (name, a) in attributes {
                    guard a >= 0, a < accessors.count, accessors[a]["count"] as? Int == vertexCount else {
                        throw fail("mesh \(m) attribute \(name) count differs from POSITION's \(vertexCount)")
                    }
                }
                if attributes["NORMAL"] != nil { _ = try accessor(attributes["NORMAL"], "mesh \(m) NORMAL", types: ["VEC3"], componentTypes: [5126]) }
                if attributes["COLOR_0"] != nil {
                    _ = try accessor(attributes["COLOR_0"], "mesh \(m) COLOR_0", types: ["VEC3", "VEC4"], componentTypes: [5126])
                }
                let positions = floats(json: json, bin: bin, accessor: position)
                let (lo, hi) = bounds(positions)
                guard let min = accessors[position]["min"] as? [Double], let max = accessors[position]["max"] as? [Double],
                      min.map(Float.init) == lo, max.map(Float.init) == hi else { throw fail("POSITION min/max missing or not the data's bounds") }
                if primitive["indices"] != nil {
                    let indices = try accessor(primitive["indices"] as? Int, "mesh \(m) indices", types: ["SCALAR"], componentTypes: [5125, 5123])
                    let values = uints(json: json, bin: bin, accessor: indices)
                    guard values.count % 3 == 0 else { throw fail("mesh \(m) has \(values.count) indices, not whole triangles") }
                    if let bad = values.first(where: { Int($0) >= vertexCount }) {
                        throw fail("index \(bad) >= vertex count \(vertexCount)")
                    }
                } else if vertexCount % 3 != 0 {
                    throw fail("mesh \(m) has no indices and \(vertexCount) vertices, not whole triangles")
                }
            }
        }
        return (json, bin)
    }

    /// Bytes per component of each glTF componentType (byte, ubyte, short, ushort, uint, float).
    static let componentSizes = [5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4]

    static func start(_ json: [String: Any], _ accessor: Int) -> (offset: Int, count: Int, components: Int) {
        let a = (json["accessors"] as! [[String: Any]])[accessor]
        let view = (json["bufferViews"] as! [[String: Any]])[a["bufferView"] as! Int]
        let components = ["SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4][a["type"] as! String]!
        return ((view["byteOffset"] as? Int ?? 0) + (a["byteOffset"] as? Int ?? 0), a["count"] as! Int, components)
    }

    /// Tightly packed float32 accessor data.
    static func floats(json: [String: Any], bin: [UInt8], accessor: Int) -> [Float] {
        let (offset, count, components) = start(json, accessor)
        return (0..<(count * components)).map { Float(bitPattern: u32(bin, offset + $0 * 4)) }
    }

    /// Tightly packed unsigned int (or short) accessor data.
    static func uints(json: [String: Any], bin: [UInt8], accessor: Int) -> [UInt32] {
        let (offset, count, components) = start(json, accessor)
        let a = (json["accessors"] as! [[String: Any]])[accessor]
        if a["componentType"] as? Int == 5123 {
            return (0..<(count * components)).map { UInt32(bin[offset + $0 * 2]) | UInt32(bin[offset + $0 * 2 + 1]) << 8 }
        }
        return (0..<(count * components)).map { u32(bin, offset + $0 * 4) }
    }

    static func read(_ b: [UInt8], path: String) throws -> TriMesh {
        let (json, bin) = try validate(b, path: path)
        guard let primitive = ((json["meshes"] as? [[String: Any]])?.first?["primitives"] as? [[String: Any]])?.first,
              let attributes = primitive["attributes"] as? [String: Int], let position = attributes["POSITION"] else {
            throw MeshError(path, "GLB file has no mesh primitive with vertices")
        }
        let vertices = floats(json: json, bin: bin, accessor: position)
        let normals = attributes["NORMAL"].map { floats(json: json, bin: bin, accessor: $0) } ?? []
        var channels: [PointCloud.Channel] = []
        if let color = attributes["COLOR_0"] {
            let (_, _, components) = start(json, color)
            let rgb = floats(json: json, bin: bin, accessor: color)
            for (k, name) in ["R", "G", "B"].enumerated() {
                channels.append(.init(name: name, values: stride(from: k, to: rgb.count, by: components).map { rgb[$0] }))
            }
        }
        let faces = primitive["indices"].flatMap { $0 as? Int }.map { uints(json: json, bin: bin, accessor: $0) }
            ?? (0..<UInt32(vertices.count / 3)).map { $0 }
        return TriMesh(vertices: vertices, faces: faces, normals: normals, vertexChannels: channels)
    }
}
