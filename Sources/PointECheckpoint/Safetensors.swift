import Foundation
import PointETensor

/// Reads `.safetensors` files: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}`, then the tensor bytes.
/// The file is memory-mapped; contiguous float32 tensors are lent without copying.
public enum SafetensorsReader {
    /// Largest header accepted (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    public static func load(_ path: String) throws -> StateDict {
        try load(file: MappedFile(path: path))
    }

    static func looksLikeSafetensors(_ region: ByteRegion) -> Bool {
        guard region.count >= 10 else { return false }
        let length = region.load(UInt64.self, at: 0)
        return length >= 2 && length <= UInt64(region.count - 8) && region.load(UInt8.self, at: 8) == UInt8(ascii: "{")
    }

    static func dtype(named name: String) -> DType? {
        switch name {
        case "F32": return .float32
        case "F16": return .float16
        case "BF16": return .bfloat16
        case "F64": return .float64
        case "I64": return .int64
        case "I32": return .int32
        case "U8": return .uint8
        case "BOOL": return .bool
        default: return nil
        }
    }

    static func name(of dtype: DType) -> String {
        switch dtype {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .int64: return "I64"
        case .int32: return "I32"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    public static func load(file: MappedFile) throws -> StateDict {
        let path = file.path
        let region = file.region
        guard region.count >= 8 else {
            throw CheckpointError(path, "safetensors: file is \(region.count) bytes, too short for the header length")
        }
        let rawLength = region.load(UInt64.self, at: 0)
        guard rawLength <= UInt64(maxHeaderLength) else {
            throw CheckpointError(path, "safetensors: header length \(rawLength) exceeds the \(maxHeaderLength)-byte limit (corrupt or not a safetensors file)")
        }
        let headerLength = Int(rawLength)
        guard headerLength <= region.count - 8 else {
            throw CheckpointError(path, "safetensors: header length \(headerLength) runs past the end of the file (\(region.count) bytes); truncated?")
        }
        let headerData = Data(bytes: region.base + 8, count: headerLength)
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw CheckpointError(path, "safetensors: header is not valid JSON (\(error.localizedDescription))")
        }
        guard let header = parsed as? [String: Any] else {
            throw CheckpointError(path, "safetensors: header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        if let meta = header["__metadata__"] {
            guard let table = meta as? [String: Any] else {
                throw CheckpointError(path, "safetensors: __metadata__ is not an object")
            }
            for (k, v) in table {
                guard let s = v as? String else { throw CheckpointError(path, "safetensors: __metadata__ value for '\(k)' is not a string") }
                metadata[k] = s
            }
        }

        let dataStart = 8 + headerLength
        let dataRegion = region.slice(offset: dataStart, length: region.count - dataStart)
        struct Pending {
            let name: String
            let dtype: DType
            let shape: [Int]
            let begin: Int
            let end: Int
        }
        var pending: [Pending] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any] else {
                throw CheckpointError(path, "safetensors: entry '\(name)' is not an object")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw CheckpointError(path, "safetensors: tensor '\(name)' has no dtype")
            }
            guard let dtype = dtype(named: dtypeName) else {
                throw CheckpointError(path, "safetensors: tensor '\(name)' has unsupported dtype '\(dtypeName)'")
            }
            guard let shapeList = info["shape"] as? [Any] else {
                throw CheckpointError(path, "safetensors: tensor '\(name)' has no shape")
            }
            let shape = try shapeList.map { item -> Int in
                guard let d = jsonInt(item), d >= 0 else {
                    throw CheckpointError(path, "safetensors: tensor '\(name)' has an invalid dimension \(item)")
                }
                return d
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = jsonInt(offsets[0]), let end = jsonInt(offsets[1])
            else {
                throw CheckpointError(path, "safetensors: tensor '\(name)' has invalid data_offsets")
            }
            guard begin >= 0, begin <= end, end <= dataRegion.count else {
                throw CheckpointError(path, "safetensors: tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the \(dataRegion.count) data bytes (truncated?)")
            }
            guard let count = checkedElementCount(shape), let bytes = checkedMultiply(count, dtype.itemSize), bytes == end - begin else {
                throw CheckpointError(path, "safetensors: tensor '\(name)' shape \(shape) x \(dtypeName) does not match its \(end - begin) data bytes")
            }
            pending.append(Pending(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        // File order = data order (JSON object order is not preserved by the parser).
        pending.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var previousEnd = 0
        var tensors: [CheckpointTensor] = []
        for p in pending {
            if p.end > p.begin {
                guard p.begin >= previousEnd else {
                    throw CheckpointError(path, "safetensors: tensor '\(p.name)' overlaps the previous tensor's data")
                }
                previousEnd = p.end
            }
            let view = dataRegion.slice(offset: p.begin, length: p.end - p.begin)
            tensors.append(try CheckpointTensor(name: p.name, dtype: p.dtype, shape: p.shape, strides: contiguousStrides(p.shape),
                                                elementOffset: 0, region: view, source: path))
        }
        return try StateDict(source: path, tensors: tensors, metadata: metadata)
    }

    private static func jsonInt(_ value: Any) -> Int? {
        value as? Int
    }
}

/// Writes `.safetensors` files atomically (temporary file, fsync, rename). The JSON header lists
/// tensors in the given order, padded with spaces to a multiple of 8 bytes; the data follows
/// contiguously in the same order.
public enum SafetensorsWriter {
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
        try write(arrays: tensors.map { ($0.0, OutputArray.float32($0.1)) }, metadata: metadata, to: path)
    }

    public static func write(arrays: [(String, OutputArray)], metadata: [String: String] = [:], to path: String) throws {
        var seen = Set<String>()
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            entries.append("\"__metadata__\":{" + items.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, array) in arrays {
            guard name != "__metadata__", !name.isEmpty else { throw CheckpointError(path, "invalid tensor name '\(name)'") }
            guard seen.insert(name).inserted else { throw CheckpointError(path, "duplicate tensor name '\(name)'") }
            try array.validate(name: name, path: path)
            let size = array.byteCount
            let shape = "[" + array.shape.map(String.init).joined(separator: ",") + "]"
            entries.append("\(jsonString(name)):{\"dtype\":\"\(SafetensorsReader.name(of: array.dtype))\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }

        let writer = try AtomicFileWriter(path: path)
        var length = UInt64(headerBytes.count).littleEndian
        try withUnsafeBytes(of: &length) { try writer.append($0) }
        try writer.append(headerBytes)
        for (_, array) in arrays {
            try array.withBytes { try writer.append($0) }
        }
        try writer.commit()
    }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                out += "\\u" + String(scalar.value, radix: 16).leftPadded(4)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
