import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PointETensor

/// Writes a file atomically: data goes to a temporary file in the destination's directory,
/// which is fsync'ed and renamed over the destination on `commit()`. If the writer is dropped
/// without committing, the temporary file is removed and the destination is untouched.
/// Where the archive writers put their bytes: a file being written atomically, or memory.
protocol ByteSink: AnyObject {
    var bytesWritten: Int { get }
    func append(_ bytes: [UInt8]) throws
    func append(_ bytes: UnsafeRawBufferPointer) throws
}

/// Bytes collected in memory.
final class DataSink: ByteSink {
    private(set) var data = Data()
    var bytesWritten: Int { data.count }
    func append(_ bytes: [UInt8]) throws { data.append(contentsOf: bytes) }
    func append(_ bytes: UnsafeRawBufferPointer) throws { data.append(contentsOf: bytes) }
}

final class AtomicFileWriter: ByteSink {
    let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var finished = false
    private(set) var bytesWritten = 0
    private static let bufferLimit = 1 << 20

    init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard !name.isEmpty else { throw CheckpointError(path, "invalid output path") }
        var fd: Int32 = -1
        var candidate = ""
        for _ in 0..<16 {
            candidate = directory + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw CheckpointError(path, "cannot create temporary file in \(directory): \(systemErrorText())")
        }
        self.fd = fd
        self.temporaryPath = candidate
        buffer.reserveCapacity(Self.bufferLimit)
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        bytesWritten += bytes.count
        if buffer.count + bytes.count <= Self.bufferLimit {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count >= Self.bufferLimit {
            try writeFully(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeFully($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeFully(_ bytes: UnsafeRawBufferPointer) throws {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = write(fd, pointer, min(remaining, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(path, "write failed: \(systemErrorText())")
            }
            pointer += n
            remaining -= n
        }
    }

    /// Flushes, fsyncs and renames the temporary file over the destination, then makes the
    /// rename durable (fsync of the directory).
    func commit() throws {
        try commitWithoutDirectorySync()
        Self.syncDirectory(of: path)
    }

    /// The same but the directory's fsync, for callers that commit several files of one
    /// directory and sync it once (AtomicFile.writeAll).
    func commitWithoutDirectorySync() throws {
        try flush()
        guard fsync(fd) == 0 else { throw CheckpointError(path, "fsync failed: \(systemErrorText())") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw CheckpointError(path, "close failed: \(systemErrorText())") }
        guard rename(temporaryPath, path) == 0 else {
            throw CheckpointError(path, "cannot rename temporary file into place: \(systemErrorText())")
        }
        finished = true
    }

    /// Makes renames into `path`'s directory durable (best effort).
    static func syncDirectory(of path: String) {
        sync(directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    static func sync(directory: String) {
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !finished { unlink(temporaryPath) }
    }
}
