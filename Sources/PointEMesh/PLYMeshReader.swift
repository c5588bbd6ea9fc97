import Foundation
import PointECloud

/// Parses PLY headers with any elements and reads the vertex and face elements: a binary
/// little-endian or ASCII PLY mesh's vertex x, y, z (any scalar type), optional nx, ny, nz and
/// red, green, blue (uchar 0...255 or float 0...1), and a face element whose list property
/// holds triangles (polygons are fanned).
struct PLYMeshReader {
    let bytes: [UInt8]
    let path: String

    struct Property {
        let name: String
        let type: String
        /// For list properties: the count type.
        let countType: String?
    }

    struct Element {
        let name: String
        let count: Int
        var properties: [Property] = []
    }

    static func size(_ type: String) -> Int? {
        switch type {
        case "char", "uchar", "int8", "uint8": return 1
        case "short", "ushort", "int16", "uint16": return 2
        case "int", "uint", "int32", "uint32", "float", "float32": return 4
        case "double", "float64": return 8
        default: return nil
        }
    }

    func read() throws -> TriMesh {
        guard bytes.starts(with: Array("ply".utf8)) else { throw MeshError(path, "not a PLY file (no 'ply' magic)") }
        let marker = Array("end_header".utf8)
        guard let end = (0...max(0, bytes.count - marker.count)).first(where: { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }) else {
            throw MeshError(path, "PLY header has no end_header")
        }
        var body = end + marker.count
        if body < bytes.count, bytes[body] == 0x0D { body += 1 }
        if body < bytes.count, bytes[body] == 0x0A { body += 1 }
        var binary: Bool?
        var elements: [Element] = []
        for line in String(decoding: bytes[0..<end], as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" }).dropFirst() {
            let w = line.split(separator: " ").map(String.init)
            switch w.first {
            case "format":
                guard w.count >= 2 else { throw MeshError(path, "malformed format line '\(line)'") }
                switch w[1] {
                case "ascii": binary = false
                case "binary_little_endian": binary = true
                default: throw MeshError(path, "unsupported PLY format '\(w[1])' (ascii and binary_little_endian are read)")
                }
            case "element":
                guard w.count == 3, let n = Int(w[2]), n >= 0 else { throw MeshError(path, "malformed element line '\(line)'") }
                // Every row takes at least a byte: a larger count is false, and counting
                // through it (a row of no properties reads nothing) would never end.
                guard n <= bytes.count else {
                    throw MeshError(path, "element \(w[1]) declares \(n) rows, more than the file's \(bytes.count) bytes can hold")
                }
                elements.append(Element(name: w[1], count: n))
            case "property":
                guard !elements.isEmpty else { throw MeshError(path, "property before any element: '\(line)'") }
                if w.count == 5, w[1] == "list" {
                    guard Self.size(w[2]) != nil, Self.size(w[3]) != nil else { throw MeshError(path, "unknown type in '\(line)'") }
                    elements[elements.count - 1].properties.append(Property(name: w[4], type: w[3], countType: w[2]))
                } else if w.count == 3, Self.size(w[1]) != nil {
                    elements[elements.count - 1].properties.append(Property(name: w[2], type: w[1], countType: nil))
                } else {
                    throw MeshError(path, "malformed property line '\(line)'")
                }
            case "comment", "obj_info", nil: continue
            default: throw MeshError(path, "unknown header line '\(line)'")
            }
        }
        guard let binary else { throw MeshError(path, "PLY header has no format line") }
        guard let vertexElement = elements.first(where: { $0.name == "vertex" }), vertexElement.count > 0 else {
            throw MeshError(path, "PLY file has no vertices")
        }
        var source = ValueSource(bytes: bytes, offset: body, binary: binary, path: path)
        var columns: [String: [Double]] = [:]
        var faces: [UInt32] = []
        for element in elements {
            for _ in 0..<element.count {
                for p in element.properties {
                    if let countType = p.countType {
                        let count = try source.next(countType)
                        guard count >= 0, count <= Double(bytes.count), count == count.rounded() else {
                            throw MeshError(path, "\(element.name) list \(p.name) has a count of \(count)")
                        }
                        let n = Int(count)
                        let polygon = try (0..<n).map { _ in try source.next(p.type) }
                        guard element.name == "face", p.name == "vertex_indices" || p.name == "vertex_index" else { continue }
                        guard n >= 3 else { throw MeshError(path, "face with \(n) vertices") }
                        for k in 1..<(n - 1) {
                            for v in [polygon[0], polygon[k], polygon[k + 1]] {
                                guard v >= 0, v < Double(vertexElement.count), v == v.rounded() else {
                                    throw MeshError(path, "face index \(v) out of range (\(vertexElement.count) vertices)")
                                }
                                faces.append(UInt32(v))
                            }
                        }
                    } else {
                        let v = try source.next(p.type)
                        if element.name == "vertex" { columns[p.name, default: []].append(v) }
                    }
                }
            }
        }
        func column(_ name: String) -> [Double]? { columns[name] }
        guard let x = column("x"), let y = column("y"), let z = column("z") else {
            throw MeshError(path, "vertex element lacks x, y or z")
        }
        let n = vertexElement.count
        var vertices = [Float](repeating: 0, count: n * 3)
        for i in 0..<n { vertices[i * 3] = Float(x[i]); vertices[i * 3 + 1] = Float(y[i]); vertices[i * 3 + 2] = Float(z[i]) }
        var normals: [Float] = []
        if let nx = column("nx"), let ny = column("ny"), let nz = column("nz") {
            normals = (0..<n).flatMap { [Float(nx[$0]), Float(ny[$0]), Float(nz[$0])] }
        }
        var channels: [PointCloud.Channel] = []
        for (plyName, name) in [("red", "R"), ("green", "G"), ("blue", "B")] {
            guard let values = column(plyName), let p = vertexElement.properties.first(where: { $0.name == plyName }) else { continue }
            let isInteger = !["float", "float32", "double", "float64"].contains(p.type)
            channels.append(.init(name: name, values: values.map { Float(isInteger ? $0 / 255 : $0) }))
        }
        return TriMesh(vertices: vertices, faces: faces, normals: normals, vertexChannels: channels)
    }
}

/// Sequential reader of PLY scalar values (binary little-endian or ASCII tokens).
struct ValueSource {
    let bytes: [UInt8]
    var offset: Int
    let binary: Bool
    let path: String

    mutating func next(_ type: String) throws -> Double {
        if !binary {
            while offset < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[offset]) { offset += 1 }
            let start = offset
            while offset < bytes.count, ![0x20, 0x0A, 0x0D, 0x09].contains(bytes[offset]) { offset += 1 }
            guard start < offset else { throw MeshError(path, "truncated: the body ends early") }
            let token = String(decoding: bytes[start..<offset], as: UTF8.self)
            guard let v = Double(token) else { throw MeshError(path, "'\(token)' is not a number") }
            return v
        }
        let size = PLYMeshReader.size(type)!
        guard offset + size <= bytes.count else { throw MeshError(path, "truncated: the body ends at byte \(bytes.count)") }
        var raw: UInt64 = 0
        for k in 0..<size { raw |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
        offset += size
        switch type {
        case "char", "int8": return Double(Int8(truncatingIfNeeded: raw))
        case "short", "int16": return Double(Int16(truncatingIfNeeded: raw))
        case "int", "int32": return Double(Int32(truncatingIfNeeded: raw))
        case "float", "float32": return Double(Float(bitPattern: UInt32(raw)))
        case "double", "float64": return Double(bitPattern: raw)
        default: return Double(raw)
        }
    }
}
