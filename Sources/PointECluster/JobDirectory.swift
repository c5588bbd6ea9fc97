import Foundation

/// The layout of a job directory:
///   job.sqlite        the job store (prompts, shards, attempts, outputs)
///   clouds/ID.ply/npz the point clouds, meshes/ID.EXT the meshes, previews/ID.png their pictures
///   manifest.jsonl    one line per finished (or failed) prompt, appended as results land
///   manifest.json     totals, written when the job ends
///   coordinator.lock  held (flock) by the coordinator running the job
///   coordinator.address  where that coordinator listens (for `pointe status DIR`)
public struct JobDirectory: Sendable {
    public let path: String
    public init(_ path: String) { self.path = (path as NSString).standardizingPath }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    public var store: String { file("job.sqlite") }
    public var clouds: String { file("clouds") }
    public var meshes: String { file("meshes") }
    public var previews: String { file("previews") }
    public var manifestLines: String { file("manifest.jsonl") }
    public var manifest: String { file("manifest.json") }
    public var lock: String { file("coordinator.lock") }
    public var addressFile: String { file("coordinator.address") }

    public var exists: Bool { FileManager.default.fileExists(atPath: store) }

    public func create() throws {
        for dir in [path, clouds, meshes, previews] {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw ClusterError("\(dir): cannot create the directory: \(error.localizedDescription)")
            }
        }
    }

    /// Removes temporary files of atomic writes interrupted by a crash (`.NAME.tmp-PID-N`).
    @discardableResult
    public func removeStaleTemporaryFiles() -> [String] {
        var removed: [String] = []
        for dir in [path, clouds, meshes, previews] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
                let full = (dir as NSString).appendingPathComponent(name)
                if unlink(full) == 0 { removed.append(full) }
            }
        }
        return removed
    }

    /// Holds the directory's coordinator lock for the life of the returned descriptor.
    public func acquireLock() throws -> Int32 {
        let fd = open(lock, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw ClusterError("\(lock): cannot open: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ClusterError("\(path): another coordinator is running on this job directory")
        }
        return fd
    }
}
