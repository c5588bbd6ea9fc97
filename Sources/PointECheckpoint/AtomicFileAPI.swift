import Foundation

/// Whole-file atomic writes for the rest of the project (configs, manifests, point clouds):
/// readers see the old file or the complete new one, never a partial write.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try data.withUnsafeBytes { try writer.append($0) }
        try writer.commit()
    }

    /// Streams `produce` into the file; the file appears only if `produce` returns normally.
    public static func write(to path: String, _ produce: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let writer = try AtomicFileWriter(path: path)
        try produce { try writer.append($0) }
        try writer.commit()
    }
}
