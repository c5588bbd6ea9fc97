import Foundation

/// Whole-file atomic writes for the rest of the project (configs, manifests, point clouds):
/// readers see the old file or the complete new one, never a partial write.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try data.withUnsafeBytes { try writer.append($0) }
        try writer.commit()
    }

    /// Several files written as `write` writes one (each complete or absent), each directory
    /// synced once after all its renames rather than once a file: a job's result is three files
    /// in two directories, and the directory syncs were a large part of the coordinator's CPU
    /// per result. Files are committed in order; an error leaves the ones before it in place.
    public static func writeAll(_ files: [(data: Data, path: String)]) throws {
        var directories: [String] = []
        for file in files {
            let writer = try AtomicFileWriter(path: file.path)
            try file.data.withUnsafeBytes { try writer.append($0) }
            try writer.commitWithoutDirectorySync()
            let directory = (file.path as NSString).deletingLastPathComponent
            if !directories.contains(directory) { directories.append(directory) }
        }
        for directory in directories { AtomicFileWriter.sync(directory: directory) }
    }

    /// Streams `produce` into the file; the file appears only if `produce` returns normally.
    public static func write(to path: String, _ produce: (_ append: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let writer = try AtomicFileWriter(path: path)
        try produce { try writer.append($0) }
        try writer.commit()
    }
}
