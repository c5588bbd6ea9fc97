import Foundation
import PointEClusterBase
import PointETensor

/// The layout of a job directory:
///   job.sqlite        the job store (prompts, shards, attempts, outputs)
///   clouds/ID.ply/npz the point clouds, meshes/ID.EXT the meshes, previews/ID.png their pictures
///   manifest.jsonl    one line per finished (or failed) prompt, appended as results land
///   manifest.json     totals, written when the job ends
///   coordinator.lock  held (flock) by the coordinator running the job
///   coordinator.address  where that coordinator listens (for `pointe status DIR`)
///   .ipc/coordinator.sock  `pointe run`'s socket for its own workers and meshers (see privateEndpoint)
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

    /// An ipc:// endpoint only this user can reach, for a coordinator whose peers all run on
    /// this host (`pointe run`): `.ipc/coordinator.sock` in the job directory, inside a
    /// directory of mode 0700 (connecting to a Unix socket needs search permission on its
    /// directory; the coordinator also refuses ipc peers running as another uid). A socket
    /// path over the 107 bytes Unix allows goes into `pointe-UID-HASH` (0700) in the system's
    /// temporary directory instead, the same one for the same job.
    public func privateEndpoint() throws -> String {
        let absolute = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        var directory = (absolute as NSString).appendingPathComponent(".ipc")
        if (directory + "/coordinator.sock").utf8.count > 107 {
            let hash = FileChecksum.sha256(Data(absolute.utf8)).prefix(16)
            directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("pointe-\(geteuid())-\(hash)")
        }
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw ClusterError("\(directory): cannot create the socket directory: \(systemErrorText())")
        }
        // One left by an earlier run must still be a directory of ours (not a link another
        // user planted in /tmp), and private.
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), chmod(directory, 0o700) == 0 else {
            throw ClusterError("\(directory): not a private directory of this user; remove it")
        }
        return "ipc://" + directory + "/coordinator.sock"
    }

    /// Holds the directory's coordinator lock for the life of the returned descriptor.
    public func acquireLock() throws -> Int32 {
        let fd = open(lock, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw ClusterError("\(lock): cannot open: \(systemErrorText())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ClusterError("\(path): another coordinator is running on this job directory")
        }
        return fd
    }
}
