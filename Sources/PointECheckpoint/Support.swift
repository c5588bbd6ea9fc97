import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PointETensor

#if _endian(big)
#error("PointECheckpoint assumes a little-endian host (all supported formats store little-endian data)")
#endif

/// A failure reading or writing a file (a checkpoint, an array file, a point cloud, a mesh):
/// `description` always starts with the file path. One type for every file format; each
/// layer names it for its files (CheckpointError, PointCloudFileError, MeshError).
public struct FileError: Error, CustomStringConvertible, Sendable {
    /// The file the error is about.
    public let path: String
    /// What was wrong (without the path).
    public let message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Any failure while reading or writing a checkpoint or array file.
public typealias CheckpointError = FileError

extension FileError: LocalizedError {
    public var errorDescription: String? { description }
}

// MARK: - Memory

/// A read-only file mapped into memory with a private (copy-on-write) mapping. Zero-copy tensors
/// keep it alive as their owner; the mapping is removed when the last reference goes away.
/// Writes through such a tensor change only this process's private copy of the page, never the file.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// File size in bytes (always > 0).
    public let count: Int
    /// Whether the mapping is writable (copy-on-write). If the system refused a writable mapping,
    /// the file is mapped read-only and readers copy instead of lending the memory to tensors.
    public let isWritable: Bool
    let base: UnsafeMutableRawPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(path, "cannot open: \(systemErrorText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CheckpointError(path, "cannot stat: \(systemErrorText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw CheckpointError(path, "not a regular file") }
        guard let size = Int(exactly: info.st_size), size > 0 else { throw CheckpointError(path, "file is empty") }
        var writable = true
        var pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        if pointer == MAP_FAILED {
            writable = false
            pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        }
        guard let pointer, pointer != MAP_FAILED else {
            throw CheckpointError(path, "cannot map \(size) bytes: \(systemErrorText())")
        }
        self.base = pointer
        self.count = size
        self.isWritable = writable
    }

    /// The whole file as a region.
    public var region: ByteRegion { ByteRegion(base: base, count: count, owner: self, isWritable: isWritable) }

    deinit { munmap(base, count) }
}

/// Heap memory owned by an object, so that it can be shared by tensors like a mapping.
final class OwnedBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        self.base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    var region: ByteRegion { ByteRegion(base: base, count: count, owner: self, isWritable: true) }

    deinit { base.deallocate() }
}

/// A span of bytes kept alive by `owner` (a `MappedFile` or an owned buffer).
public struct ByteRegion: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let count: Int
    public let owner: AnyObject
    /// False for read-only mappings: the bytes must then not be lent to mutable tensors.
    public let isWritable: Bool

    public init(base: UnsafeMutableRawPointer, count: Int, owner: AnyObject, isWritable: Bool) {
        self.base = base
        self.count = count
        self.owner = owner
        self.isWritable = isWritable
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Whether `offset..<offset+length` lies inside the region (overflow-safe).
    func contains(offset: Int, length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count && length <= count - offset
    }

    /// A sub-range sharing the owner. The caller must have checked the bounds.
    func slice(offset: Int, length: Int) -> ByteRegion {
        ByteRegion(base: base + offset, count: length, owner: owner, isWritable: isWritable)
    }

    func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    func copyBytes(offset: Int, length: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: base + offset, count: length))
    }
}

/// Bounds-checked little-endian reads from a region; every failure names the file and context.
struct ByteCursor {
    let region: ByteRegion
    let path: String
    let context: String

    func check(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws {
        guard region.contains(offset: offset, length: length) else {
            throw CheckpointError(path, "\(context): \(what()) at offset \(offset) (\(length) bytes) lies outside the \(region.count) bytes available")
        }
    }

    func u8(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt8 {
        try check(offset, 1, what())
        return region.load(UInt8.self, at: offset)
    }

    func u16(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt16 {
        try check(offset, 2, what())
        return region.load(UInt16.self, at: offset)
    }

    func u32(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt32 {
        try check(offset, 4, what())
        return region.load(UInt32.self, at: offset)
    }

    func u64(_ offset: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        try check(offset, 8, what())
        return region.load(UInt64.self, at: offset)
    }

    func bytes(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        try check(offset, length, what())
        return region.copyBytes(offset: offset, length: length)
    }
}

// MARK: - Checked arithmetic

/// Product of non-negative dimensions, or nil on overflow / negative input.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = p
    }
    return n
}

func checkedMultiply(_ a: Int, _ b: Int) -> Int? {
    let (p, o) = a.multipliedReportingOverflow(by: b)
    return o ? nil : p
}

func checkedAdd(_ a: Int, _ b: Int) -> Int? {
    let (s, o) = a.addingReportingOverflow(b)
    return o ? nil : s
}

/// Row-major strides for a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = running
        running = running &* max(shape[i], 1)
    }
    return strides
}

// MARK: - Half precision

/// IEEE 754 binary16 bits to Float.
@inline(__always)
func halfBitsToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)  // mantissa * 2^-24
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// bfloat16 bits to Float (the upper half of a float32).
@inline(__always)
func bfloat16BitsToFloat(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}
