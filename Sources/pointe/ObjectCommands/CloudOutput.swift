import Foundation
import PointETensor

/// Where `generate` and `sample` write their cloud, resolved and checked before any model is
/// loaded, and nothing made until the cloud exists: a .ply or .npz file as given, or a
/// directory (one that exists, a path ending in "/", or a name without an extension) that
/// receives NAME.ply. A name with another extension (x.stl) is refused: it used to become a
/// directory called x.stl.
struct CloudOutput {
    /// The file the cloud goes to.
    let file: String

    static let formats = ["ply", "npz"]

    /// `name`: the file name (without extension) a directory receives.
    init(_ output: String, name: String) throws {
        let ext = (output as NSString).pathExtension.lowercased()
        var isDirectory: ObjCBool = false
        let existing = FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory)
        if Self.formats.contains(ext), !(existing && isDirectory.boolValue) {
            file = output
        } else if output.hasSuffix("/") || isDirectory.boolValue || ext.isEmpty {
            guard !existing || isDirectory.boolValue else { throw CommandFailure("-o \(output): a file with no .ply/.npz extension is in the way; give a .ply or .npz name or a directory") }
            var stem = String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(80))
            if stem.isEmpty { stem = "cloud" }
            file = (output as NSString).appendingPathComponent(stem + ".ply")
        } else {
            throw CommandFailure("-o \(output): a point cloud is written as .ply or .npz; give such a file name, or a directory for NAME.ply")
        }
        try Self.checkWritable(file)
    }

    /// The nearest existing ancestor of the file must be a directory this process may write
    /// in (the missing ones below it are made when the cloud is written).
    static func checkWritable(_ file: String) throws {
        var ancestor = (file as NSString).deletingLastPathComponent
        if ancestor.isEmpty { ancestor = "." }
        var isDirectory: ObjCBool = false
        while !FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
            let parent = (ancestor as NSString).deletingLastPathComponent
            ancestor = parent.isEmpty ? "." : parent
        }
        guard isDirectory.boolValue else { throw CommandFailure("-o \(file): \(ancestor) is a file, not a directory") }
        guard access(ancestor, W_OK) == 0 else { throw CommandFailure("-o \(file): cannot write in \(ancestor): \(systemErrorText())") }
    }

    /// Makes the directories the file needs, naming the one that cannot be made.
    func makeDirectories() throws {
        var missing: [String] = []
        var dir = (file as NSString).deletingLastPathComponent
        while !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            missing.append(dir)
            dir = (dir as NSString).deletingLastPathComponent
        }
        for dir in missing.reversed() where mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw CommandFailure("cannot create the directory \(dir): \(systemErrorText())")
        }
    }
}
