import Foundation
import PointECheckpoint

/// Binary little-endian `.ply` as the reference's `write_ply` writes point clouds (opened by
/// MeshLab, Blender, CloudCompare): float x, y, z then, when the cloud has R, G and B, uchar
/// red, green, blue = round(colour * 255.499).
extension PointCloud {
    public func plyData() -> Data {
        let rgb = ["R", "G", "B"].compactMap { channel($0) }
        let hasColor = rgb.count == 3
        var header = "ply\nformat binary_little_endian 1.0\nelement vertex \(count)\n"
        header += "property float x\nproperty float y\nproperty float z\n"
        if hasColor { header += "property uchar red\nproperty uchar green\nproperty uchar blue\n" }
        header += "end_header\n"
        var data = Data(header.utf8)
        let stride = hasColor ? 15 : 12
        var body = [UInt8](repeating: 0, count: count * stride)
        body.withUnsafeMutableBytes { raw in
            for i in 0..<count {
                let offset = i * stride
                for axis in 0..<3 {
                    raw.storeBytes(of: coords[i * 3 + axis].bitPattern.littleEndian, toByteOffset: offset + axis * 4, as: UInt32.self)
                }
                if hasColor {
                    for k in 0..<3 {
                        let scaled = (rgb[k][i] * 255.499).rounded(.toNearestOrEven)
                        raw[offset + 12 + k] = UInt8(min(max(scaled.isNaN ? 0 : scaled, 0), 255))
                    }
                }
            }
        }
        data.append(contentsOf: body)
        return data
    }

    /// Writes the `.ply` atomically (temporary file, fsync, rename).
    public func writePLY(to path: String) throws {
        try AtomicFile.write(plyData(), to: path)
    }

    public static func readPLY(_ path: String) throws -> PointCloud {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw PointCloudFileError(path, "cannot read: \(error.localizedDescription)")
        }
        return try PLYReader(data: data, path: path).read()
    }
}

/// Reads the vertex element of a PLY file (binary little-endian or ASCII): x, y, z become
/// coords; red/green/blue (uchar, or float in 0...1) become R, G, B; other vertex properties
/// become channels under their own names. Elements after the vertices (faces) are ignored.
struct PLYReader {
    let data: Data
    let path: String

    enum Format { case ascii, binaryLittleEndian }

    struct Property {
        let name: String
        let type: String
        var size: Int {
            switch type {
            case "char", "uchar", "int8", "uint8": return 1
            case "short", "ushort", "int16", "uint16": return 2
            case "int", "uint", "int32", "uint32", "float", "float32": return 4
            default: return 8  // double, float64
            }
        }
    }

    static let knownTypes: Set<String> = ["char", "uchar", "int8", "uint8", "short", "ushort", "int16", "uint16",
                                          "int", "uint", "int32", "uint32", "float", "float32", "double", "float64"]

    func read() throws -> PointCloud {
        let bytes = [UInt8](data)
        guard bytes.starts(with: Array("ply".utf8)) else { throw PointCloudFileError(path, "not a PLY file (no 'ply' magic)") }
        guard let endRange = data.range(of: Data("end_header".utf8)) else { throw PointCloudFileError(path, "PLY header has no end_header") }
        var bodyStart = endRange.upperBound - data.startIndex
        // The header ends with "end_header" and one line break (\n, or \r\n from some writers).
        if bodyStart < bytes.count, bytes[bodyStart] == 0x0D { bodyStart += 1 }
        if bodyStart < bytes.count, bytes[bodyStart] == 0x0A { bodyStart += 1 }
        let headerText = String(decoding: bytes[0..<(endRange.lowerBound - data.startIndex)], as: UTF8.self)

        var format: Format?
        var vertexCount: Int?
        var properties: [Property] = []
        var currentElement: String?
        var sawVertex = false
        for rawLine in headerText.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).dropFirst() {
            let words = rawLine.split(separator: " ").map(String.init)
            guard let keyword = words.first else { continue }
            switch keyword {
            case "format":
                guard words.count >= 2 else { throw PointCloudFileError(path, "malformed format line '\(rawLine)'") }
                switch words[1] {
                case "ascii": format = .ascii
                case "binary_little_endian": format = .binaryLittleEndian
                default: throw PointCloudFileError(path, "unsupported PLY format '\(words[1])' (ascii and binary_little_endian are read)")
                }
            case "element":
                guard words.count == 3, let n = Int(words[2]), n >= 0 else { throw PointCloudFileError(path, "malformed element line '\(rawLine)'") }
                currentElement = words[1]
                if words[1] == "vertex" {
                    vertexCount = n
                    sawVertex = true
                } else if !sawVertex {
                    throw PointCloudFileError(path, "element '\(words[1])' comes before the vertices; only files starting with the vertex element are read")
                }
            case "property":
                guard currentElement == "vertex" else { continue }
                guard words.count == 3 else {
                    throw PointCloudFileError(path, "unsupported vertex property '\(rawLine)' (list properties are not read)")
                }
                guard Self.knownTypes.contains(words[1]) else { throw PointCloudFileError(path, "unknown property type '\(words[1])'") }
                properties.append(Property(name: words[2], type: words[1]))
            case "comment", "obj_info": continue
            default: throw PointCloudFileError(path, "unknown header line '\(rawLine)'")
            }
        }
        guard let format else { throw PointCloudFileError(path, "PLY header has no format line") }
        guard let n = vertexCount else { throw PointCloudFileError(path, "PLY header has no vertex element") }
        for axis in ["x", "y", "z"] where !properties.contains(where: { $0.name == axis }) {
            throw PointCloudFileError(path, "vertex element has no '\(axis)' property")
        }

        var columns = [[Double]](repeating: [Double](repeating: 0, count: n), count: properties.count)
        switch format {
        case .binaryLittleEndian:
            let stride = properties.reduce(0) { $0 + $1.size }
            guard bytes.count - bodyStart >= n * stride else {
                throw PointCloudFileError(path, "truncated: \(n) vertices of \(stride) bytes need \(n * stride) bytes, file has \(bytes.count - bodyStart)")
            }
            bytes.withUnsafeBytes { raw in
                var offset = bodyStart
                for i in 0..<n {
                    for (k, p) in properties.enumerated() {
                        columns[k][i] = Self.load(raw, offset, p.type)
                        offset += p.size
                    }
                }
            }
        case .ascii:
            let body = String(decoding: bytes[bodyStart...], as: UTF8.self)
            let tokens = body.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" })
            guard tokens.count >= n * properties.count else {
                throw PointCloudFileError(path, "truncated: \(n) vertices need \(n * properties.count) values, file has \(tokens.count)")
            }
            for i in 0..<n {
                for k in properties.indices {
                    guard let v = Double(tokens[i * properties.count + k]) else {
                        throw PointCloudFileError(path, "vertex \(i): '\(tokens[i * properties.count + k])' is not a number")
                    }
                    columns[k][i] = v
                }
            }
        }

        func column(_ name: String) -> (Property, [Double])? {
            properties.firstIndex { $0.name == name }.map { (properties[$0], columns[$0]) }
        }
        var coords = [Float](repeating: 0, count: n * 3)
        for (axis, name) in ["x", "y", "z"].enumerated() {
            let values = column(name)!.1
            for i in 0..<n { coords[i * 3 + axis] = Float(values[i]) }
        }
        var channels: [PointCloud.Channel] = []
        let colorNames = ["red": "R", "green": "G", "blue": "B", "alpha": "A"]
        for (k, p) in properties.enumerated() where !["x", "y", "z"].contains(p.name) {
            if let short = colorNames[p.name] {
                // Integer colours are 0...255; float colours are already 0...1.
                let isInteger = !["float", "float32", "double", "float64"].contains(p.type)
                channels.append(.init(name: short, values: columns[k].map { Float(isInteger ? $0 / 255 : $0) }))
            } else {
                channels.append(.init(name: p.name, values: columns[k].map { Float($0) }))
            }
        }
        return PointCloud(coords: coords, channels: channels)
    }

    static func load(_ raw: UnsafeRawBufferPointer, _ offset: Int, _ type: String) -> Double {
        switch type {
        case "char", "int8": return Double(raw.load(fromByteOffset: offset, as: Int8.self))
        case "uchar", "uint8": return Double(raw[offset])
        case "short", "int16": return Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
        case "ushort", "uint16": return Double(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        case "int", "int32": return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
        case "uint", "uint32": return Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        case "float", "float32":
            return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
        default:
            return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        }
    }
}
