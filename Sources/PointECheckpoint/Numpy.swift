import Foundation
import PointETensor

/// Reads NumPy `.npy` arrays (format versions 1-3) and `.npz` archives (zip of `.npy`, stored or
/// deflated). Fortran-ordered arrays are exposed as strided views and gathered into C order on read.
public enum NumpyReader {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    /// A single `.npy` file; its one array is keyed by the file name without extension.
    public static func loadNpy(_ path: String) throws -> StateDict {
        try loadNpy(file: MappedFile(path: path))
    }

    /// A `.npy` image already in memory (e.g. an embedding sent over the wire); `source` names it
    /// in errors and the array is keyed by it.
    public static func loadNpy(bytes: Data, source: String) throws -> StateDict {
        let buffer = OwnedBuffer(count: bytes.count)
        bytes.withUnsafeBytes { raw in if let base = raw.baseAddress { buffer.base.copyMemory(from: base, byteCount: raw.count) } }
        let tensor = try parse(buffer.region, name: source, path: source)
        return try StateDict(source: source, tensors: [tensor])
    }

    static func loadNpy(file: MappedFile) throws -> StateDict {
        let name = URL(fileURLWithPath: file.path).deletingPathExtension().lastPathComponent
        let tensor = try parse(file.region, name: name, path: file.path)
        return try StateDict(source: file.path, tensors: [tensor])
    }

    /// An `.npz` archive; keys are the member names without ".npy", in archive order.
    public static func loadNpz(_ path: String) throws -> StateDict {
        try loadNpz(archive: ZipArchive(path: path))
    }

    static func loadNpz(archive: ZipArchive) throws -> StateDict {
        var tensors: [CheckpointTensor] = []
        for entry in archive.entries where entry.name.hasSuffix(".npy") {
            let key = String(entry.name.dropLast(4))
            let bytes = try archive.contents(of: entry)
            tensors.append(try parse(bytes, name: key, path: archive.path, member: entry.name))
        }
        return try StateDict(source: archive.path, tensors: tensors)
    }

    /// Parses one `.npy` image. `member` names the zip entry in errors.
    static func parse(_ region: ByteRegion, name: String, path: String, member: String? = nil) throws -> CheckpointTensor {
        let context = member.map { "npy '\($0)'" } ?? "npy"
        let cursor = ByteCursor(region: region, path: path, context: context)
        guard region.count >= 10, region.copyBytes(offset: 0, length: 6) == magic else {
            throw CheckpointError(path, "\(context): missing \\x93NUMPY magic")
        }
        let major = try cursor.u8(6, "version")
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(try cursor.u16(8, "header length"))
            headerStart = 10
        case 2, 3:
            headerLength = Int(try cursor.u32(8, "header length"))
            headerStart = 12
        default:
            throw CheckpointError(path, "\(context): unsupported format version \(major)")
        }
        let headerBytes = try cursor.bytes(headerStart, headerLength, "header")
        let header = try NpyHeader.parse(headerBytes, fail: { CheckpointError(path, "\(context): malformed header: \($0)") })
        let dtype = try numpyDType(header.descr, fail: { CheckpointError(path, "\(context): \($0)") })
        let dataStart = headerStart + headerLength
        guard let count = checkedElementCount(header.shape), let needed = checkedMultiply(count, dtype.itemSize) else {
            throw CheckpointError(path, "\(context): invalid shape \(header.shape)")
        }
        guard region.contains(offset: dataStart, length: needed) else {
            throw CheckpointError(path, "\(context): array '\(name)' needs \(needed) data bytes but only \(max(0, region.count - dataStart)) are present (truncated)")
        }
        let data = region.slice(offset: dataStart, length: needed)
        var strides = contiguousStrides(header.shape)
        if header.fortranOrder {
            var running = 1
            for i in 0..<header.shape.count {
                strides[i] = running
                running = running &* max(header.shape[i], 1)
            }
        }
        return try CheckpointTensor(name: name, dtype: dtype, shape: header.shape, strides: strides, elementOffset: 0,
                                    region: data, source: path)
    }

    static func numpyDType(_ descr: String, fail: (String) -> CheckpointError) throws -> DType {
        var body = Substring(descr)
        var order: Character = "|"
        if let first = body.first, "<>=|".contains(first) {
            order = first
            body = body.dropFirst()
        }
        let dtype: DType
        switch body {
        case "f4": dtype = .float32
        case "f8": dtype = .float64
        case "f2": dtype = .float16
        case "i8": dtype = .int64
        case "i4": dtype = .int32
        case "u1": dtype = .uint8
        case "b1": dtype = .bool
        default: throw fail("unsupported dtype '\(descr)'")
        }
        if order == ">" && dtype.itemSize > 1 { throw fail("big-endian dtype '\(descr)' is not supported") }
        return dtype
    }

    static func descr(of dtype: DType) -> String {
        switch dtype {
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .float16: return "<f2"
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        case .bfloat16: return "<V2"
        }
    }
}

/// The Python-literal dict of an npy header: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
struct NpyHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    static func parse(_ bytes: [UInt8], fail: (String) -> CheckpointError) throws -> NpyHeader {
        var p = 0
        func skipSpace() { while p < bytes.count, bytes[p] == 0x20 || bytes[p] == 0x0A || bytes[p] == 0x09 || bytes[p] == 0x0D { p += 1 } }
        func expect(_ c: UInt8) throws {
            skipSpace()
            guard p < bytes.count, bytes[p] == c else { throw fail("expected '\(Character(UnicodeScalar(c)))' at byte \(p)") }
            p += 1
        }
        func peek() -> UInt8? {
            skipSpace()
            return p < bytes.count ? bytes[p] : nil
        }
        func string() throws -> String {
            skipSpace()
            guard p < bytes.count, bytes[p] == 0x27 || bytes[p] == 0x22 else { throw fail("expected a string at byte \(p)") }
            let quote = bytes[p]
            p += 1
            let start = p
            while p < bytes.count, bytes[p] != quote { p += 1 }
            guard p < bytes.count else { throw fail("unterminated string") }
            defer { p += 1 }
            return String(decoding: bytes[start..<p], as: UTF8.self)
        }
        func word() -> String {
            skipSpace()
            let start = p
            while p < bytes.count, (bytes[p] >= 0x30 && bytes[p] <= 0x39) || (bytes[p] | 0x20 >= 0x61 && bytes[p] | 0x20 <= 0x7A) || bytes[p] == 0x5F {
                p += 1
            }
            return String(decoding: bytes[start..<p], as: UTF8.self)
        }
        var descr: String?
        var fortran: Bool?
        var shape: [Int]?
        try expect(0x7B)  // {
        while let c = peek(), c != 0x7D {
            let key = try string()
            try expect(0x3A)  // :
            switch key {
            case "descr":
                descr = try string()
            case "fortran_order":
                switch word() {
                case "True": fortran = true
                case "False": fortran = false
                case let other: throw fail("fortran_order must be True or False, got '\(other)'")
                }
            case "shape":
                try expect(0x28)  // (
                var dims: [Int] = []
                while let c = peek(), c != 0x29 {
                    var text = word()
                    if text.hasSuffix("L") { text.removeLast() }
                    guard let d = Int(text), d >= 0 else { throw fail("bad dimension '\(text)'") }
                    dims.append(d)
                    if peek() == 0x2C { p += 1 }  // ,
                }
                try expect(0x29)
                shape = dims
            default:
                throw fail("unexpected key '\(key)'")
            }
            if peek() == 0x2C { p += 1 }
        }
        try expect(0x7D)
        guard let descr, let fortran, let shape else { throw fail("missing descr, fortran_order or shape") }
        return NpyHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }

    /// The encoded header (magic, version 1 or 2, padded dict) so that data starts on a
    /// 64-byte boundary.
    static func encode(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        let dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        var text = Array(dict.utf8)
        let useV2 = text.count + 1 + 10 > 65535
        let prefix = useV2 ? 12 : 10
        let total = (prefix + text.count + 1 + 63) / 64 * 64
        text.append(contentsOf: [UInt8](repeating: 0x20, count: total - prefix - text.count - 1))
        text.append(0x0A)
        var out = NumpyReader.magic
        if useV2 {
            out += [2, 0]
            withUnsafeBytes(of: UInt32(text.count).littleEndian) { out += $0 }
        } else {
            out += [1, 0]
            withUnsafeBytes(of: UInt16(text.count).littleEndian) { out += $0 }
        }
        return out + text
    }
}

/// Writes a single `.npy` file atomically.
public enum NpyWriter {
    public static func write(_ array: OutputArray, to path: String) throws {
        try array.validate(name: URL(fileURLWithPath: path).lastPathComponent, path: path)
        let writer = try AtomicFileWriter(path: path)
        try writer.append(NpyHeader.encode(descr: NumpyReader.descr(of: array.dtype), shape: array.shape))
        try array.withBytes { try writer.append($0) }
        try writer.commit()
    }
}

/// Writes `.npz` archives (uncompressed zip members `<name>.npy`) atomically. Members are
/// aligned so every array's data starts on a 64-byte boundary of the file.
public enum NpzWriter {
    public static func write(_ arrays: [(String, Tensor)], to path: String) throws {
        try write(arrays: arrays.map { ($0.0, OutputArray.float32($0.1)) }, to: path)
    }

    public static func write(arrays: [(String, OutputArray)], to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try encode(arrays: arrays, path: path, into: writer)
        try writer.commit()
    }

    /// The same archive in memory (for outputs whose bytes are hashed and recorded as written).
    public static func data(_ arrays: [(String, Tensor)], source: String) throws -> Data {
        let sink = DataSink()
        try encode(arrays: arrays.map { ($0.0, OutputArray.float32($0.1)) }, path: source, into: sink)
        return sink.data
    }

    static func encode(arrays: [(String, OutputArray)], path: String, into writer: ByteSink) throws {
        var seen = Set<String>()
        for (name, array) in arrays {
            guard !name.isEmpty else { throw CheckpointError(path, "empty array name") }
            guard seen.insert(name).inserted else { throw CheckpointError(path, "duplicate array name '\(name)'") }
            try array.validate(name: name, path: path)
        }
        var zip = ZipWriter(path: path, output: writer)
        for (name, array) in arrays {
            let header = NpyHeader.encode(descr: NumpyReader.descr(of: array.dtype), shape: array.shape)
            try header.withUnsafeBytes { headerBytes in
                try array.withBytes { data in
                    try zip.addStored(name: name + ".npy", parts: [headerBytes, data])
                }
            }
        }
        try zip.finish()
    }
}

/// Minimal zip writer for stored members (used for npz). Sizes and offsets must stay below 4 GiB.
struct ZipWriter {
    let path: String
    let output: ByteSink
    private var central: [UInt8] = []
    private var entryCount = 0

    init(path: String, output: ByteSink) {
        self.path = path
        self.output = output
    }

    private static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }

    /// Adds a stored member whose bytes are the concatenation of `parts`. The local header's
    /// extra field pads the member so the part after the first starts 64-byte aligned.
    mutating func addStored(name: String, parts: [UnsafeRawBufferPointer]) throws {
        let nameBytes = Array(name.utf8)
        guard nameBytes.count <= 0xFFFF else { throw CheckpointError(path, "zip member name too long") }
        guard entryCount < 0xFFFF else { throw CheckpointError(path, "too many zip members (65535 max)") }
        let size = parts.reduce(0) { $0 + $1.count }
        var crc: UInt32 = 0
        for part in parts where part.count > 0 {
            if let base = part.baseAddress { crc = crc32Of(base, count: part.count, initial: crc) }
        }
        let offset = output.bytesWritten
        guard size < 0xFFFF_FFFF, offset < 0xFFFF_FFFF else {
            throw CheckpointError(path, "npz writer: member '\(name)' would exceed the 4 GiB zip limit")
        }
        let firstPart = parts.first?.count ?? 0
        let padding = (64 - (offset + 30 + nameBytes.count + 4 + firstPart) % 64) % 64
        let extra = Self.le16(0xD935) + Self.le16(padding) + [UInt8](repeating: 0, count: padding)

        let common = Self.le16(20) + Self.le16(0x0800) + Self.le16(0)  // version needed, UTF-8 names, stored
            + Self.le16(0) + Self.le16(0x21)  // DOS time 00:00, date 1980-01-01 (reproducible output)
            + Self.le32(crc) + Self.le32(UInt32(size)) + Self.le32(UInt32(size))
        var local = Self.le32(0x0403_4B50) + common
        local += Self.le16(nameBytes.count) + Self.le16(extra.count) + nameBytes + extra
        try output.append(local)
        for part in parts { try output.append(part) }

        central += Self.le32(0x0201_4B50) + Self.le16(20) + common
        central += Self.le16(nameBytes.count) + Self.le16(0) + Self.le16(0)  // name, extra, comment lengths
        central += Self.le16(0) + Self.le16(0) + Self.le32(0)  // disk, internal attrs, external attrs
        central += Self.le32(UInt32(offset)) + nameBytes
        entryCount += 1
    }

    mutating func finish() throws {
        let centralOffset = output.bytesWritten
        guard centralOffset < 0xFFFF_FFFF, central.count < 0xFFFF_FFFF else {
            throw CheckpointError(path, "npz writer: archive would exceed the 4 GiB zip limit")
        }
        try output.append(central)
        var end = Self.le32(0x0605_4B50) + Self.le16(0) + Self.le16(0)
        end += Self.le16(entryCount) + Self.le16(entryCount)
        end += Self.le32(UInt32(central.count)) + Self.le32(UInt32(centralOffset)) + Self.le16(0)
        try output.append(end)
    }
}
