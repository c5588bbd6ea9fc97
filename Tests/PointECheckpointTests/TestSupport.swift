import Foundation
import XCTest

/// `Tests/Fixtures/<name>`, found relative to this source file.
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // PointECheckpointTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures")
        .appendingPathComponent(name)
        .path
}

/// `../shared/parity/<name>` next to the package (present on development machines only).
func sharedParityPath(_ name: String) -> String? {
    let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // package root
        .deletingLastPathComponent()
        .appendingPathComponent("shared/parity/\(name)")
        .path
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

/// A fresh temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

func writeBytes(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Asserts that `body` throws an error whose description contains every fragment.
func assertThrowsMentioning<T>(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
    } catch {
        let text = String(describing: error)
        for fragment in fragments {
            XCTAssertTrue(text.contains(fragment), "error '\(text)' does not mention '\(fragment)'", file: file, line: line)
        }
    }
}

// MARK: - Little-endian helpers

func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
func le64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }
func readLE32(_ b: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
func readLE16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }

func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { le32(Int($0.bitPattern)) } }
func int64Bytes(_ values: [Int64]) -> [UInt8] { values.flatMap { le64(Int($0)) } }
func uint16Bytes(_ values: [UInt16]) -> [UInt8] { values.flatMap { le16(Int($0)) } }

func indexOf(_ pattern: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int? {
    guard pattern.count <= bytes.count else { return nil }
    var i = start
    while i + pattern.count <= bytes.count {
        if bytes[i] == pattern[0] && Array(bytes[i..<(i + pattern.count)]) == pattern { return i }
        i += 1
    }
    return nil
}

/// Independent minimal reader: finds a stored member by scanning for its local header. torch.save
/// writes data descriptors (sizes 0 in the local header), so the caller may pass the size.
func rawStoredMember(_ name: String, in bytes: [UInt8], size knownSize: Int? = nil) -> [UInt8]? {
    let signature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    let nameBytes = Array(name.utf8)
    var start = 0
    while let at = indexOf(signature, in: bytes, from: start) {
        let nameLength = readLE16(bytes, at + 26)
        let extraLength = readLE16(bytes, at + 28)
        if nameLength == nameBytes.count, Array(bytes[(at + 30)..<(at + 30 + nameLength)]) == nameBytes {
            let size = knownSize ?? readLE32(bytes, at + 22)
            let data = at + 30 + nameLength + extraLength
            return Array(bytes[data..<(data + size)])
        }
        start = at + 4
    }
    return nil
}

// MARK: - Hand-built zip archives

func crc32Reference(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// Builds a stored (uncompressed) zip in memory, optionally with ZIP64 end records like torch.save.
/// With `zip64Extras`, every central-directory record saturates its sizes and offset (0xFFFFFFFF)
/// and carries the real values in a ZIP64 extended-information extra field, as in archives > 4 GiB.
/// `comment` is appended as the archive comment.
func buildZip(_ members: [(String, [UInt8])], zip64: Bool = true, zip64Extras: Bool = false, alignment: Int = 64,
              comment: [UInt8] = []) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for (name, data) in members {
        let nameBytes = Array(name.utf8)
        let offset = out.count
        // Pad the local extra field so data is aligned (torch.save aligns storages to 64 bytes).
        let unpadded = offset + 30 + nameBytes.count + 4
        let padding = (alignment - unpadded % alignment) % alignment
        let extra = le16(0xCAFE) + le16(padding) + [UInt8](repeating: 0x5A, count: padding)
        let crc = Int(crc32Reference(data))
        let common = le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(data.count) + le32(data.count)
        out += le32(0x0403_4B50) + common + le16(nameBytes.count) + le16(extra.count) + nameBytes + extra + data
        if zip64Extras {
            let saturated = le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF)
            let extra64 = le16(0x0001) + le16(24) + le64(data.count) + le64(data.count) + le64(offset)
            // An unrelated extra field first, to exercise the extra-field walk.
            let other = le16(0x5455) + le16(5) + [1, 0, 0, 0, 0]
            central += le32(0x0201_4B50) + le16(45) + saturated + le16(nameBytes.count) + le16(other.count + extra64.count) + le16(0)
                + le16(0) + le16(0) + le32(0) + le32(0xFFFF_FFFF) + nameBytes + other + extra64
        } else {
            central += le32(0x0201_4B50) + le16(45) + common + le16(nameBytes.count) + le16(0) + le16(0)
                + le16(0) + le16(0) + le32(0) + le32(offset) + nameBytes
        }
    }
    let cdOffset = out.count
    out += central
    if zip64 {
        let recordOffset = out.count
        out += le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            + le64(members.count) + le64(members.count) + le64(central.count) + le64(cdOffset)
        out += le32(0x0706_4B50) + le32(0) + le64(recordOffset) + le32(1)
    }
    if zip64 {
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF)
            + le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(comment.count) + comment
    } else {
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(members.count) + le16(members.count)
            + le32(central.count) + le32(cdOffset) + le16(comment.count) + comment
    }
    return out
}

// MARK: - Hand-built pickles (protocol 2, the opcodes torch.save emits)

struct PickleBuilder {
    var bytes: [UInt8] = [0x80, 0x02]  // PROTO 2

    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func mark() { op(0x28) }
    mutating func global(_ module: String, _ name: String) {
        op(0x63)
        bytes += Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A]
    }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        op(0x58)
        bytes += le32(utf8.count) + utf8
    }
    mutating func int(_ v: Int) {
        if v >= 0 && v < 256 {
            op(0x4B); bytes.append(UInt8(v))
        } else if v >= 0 && v < 65536 {
            op(0x4D); bytes += le16(v)
        } else {
            op(0x4A); bytes += le32(v)
        }
    }
    mutating func intTuple(_ values: [Int]) {
        mark()
        for v in values { int(v) }
        op(0x74)  // TUPLE
    }
    mutating func emptyOrderedDict() {
        global("collections", "OrderedDict")
        op(0x29)  // EMPTY_TUPLE
        op(0x52)  // REDUCE
    }
    /// `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`
    mutating func tensor(_ storageType: String, key: String, numel: Int, offset: Int, size: [Int], stride: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark()
        string("storage")
        global("torch", storageType)
        string(key)
        string("cpu")
        int(numel)
        op(0x74)  // TUPLE
        op(0x51)  // BINPERSID
        int(offset)
        intTuple(size)
        intTuple(stride)
        op(0x89)  // NEWFALSE
        emptyOrderedDict()
        op(0x74)  // TUPLE
        op(0x52)  // REDUCE
    }
    /// Wraps the following tensor in `_rebuild_parameter(tensor, requires_grad, hooks)`.
    mutating func parameter(_ tensorBody: (inout PickleBuilder) -> Void) {
        global("torch._utils", "_rebuild_parameter")
        mark()
        tensorBody(&self)
        op(0x88)  // NEWTRUE
        emptyOrderedDict()
        op(0x74)
        op(0x52)
    }
    mutating func stop() { op(0x2E) }
}
