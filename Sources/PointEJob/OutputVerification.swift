import Foundation
import PointETensor

/// Checks finished prompts' recorded outputs against the files on disk (what a resume trusts):
/// each file must exist with its recorded size and SHA-256. The hashing is the expensive part
/// of a resume, so a chunk of prompts is checked in parallel over the cores.
package enum OutputVerification {
    package struct Failure {
        package var promptID: String
        package var path: String
        package var reason: String
    }

    /// The first bad output of each prompt that has one (prompts in any order; at most one
    /// failure each).
    package static func failures(of prompts: [(id: String, outputs: [JobStore.Output])], in directory: JobDirectory) -> [Failure] {
        var found = [Failure?](repeating: nil, count: prompts.count)
        found.withUnsafeMutableBufferPointer { slots in
            // Each iteration writes its own slot (Parallel.forEach's contract).
            Parallel.forEach(prompts.count) { i in slots[i] = firstFailure(prompts[i].id, prompts[i].outputs, in: directory) }
        }
        return found.compactMap { $0 }
    }

    static func firstFailure(_ promptID: String, _ outputs: [JobStore.Output], in directory: JobDirectory) -> Failure? {
        for output in outputs {
            let full = directory.file(output.path)
            var info = stat()
            // A missing or resized file fails without reading it.
            guard stat(full, &info) == 0 else { return Failure(promptID: promptID, path: full, reason: "missing") }
            guard Int(info.st_size) == output.bytes else {
                return Failure(promptID: promptID, path: full, reason: "size \(info.st_size) bytes, recorded \(output.bytes)")
            }
            guard (try? FileChecksum.sha256(file: full)) == output.sha256 else { return Failure(promptID: promptID, path: full, reason: "checksum mismatch") }
        }
        return nil
    }
}
