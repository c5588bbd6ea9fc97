import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport

/// What a finished job directory holds, counted rather than asserted so a chaos run can print
/// its numbers: prompts without a result (lost), extra results (duplicated), files that do not
/// match their manifest checksums, clouds without their mesh, and leftover temporary files.
struct JobAudit: CustomStringConvertible {
    var prompts = 0
    var done = 0
    var lost = 0
    var duplicated = 0
    var checksumMismatches = 0
    var missingMeshes = 0
    var temporaryFiles = 0

    init(_ directory: JobDirectory, expectedPrompts: Int, meshKind: String?) throws {
        prompts = expectedPrompts
        let text = (try? String(contentsOfFile: directory.manifestLines, encoding: .utf8)) ?? ""
        var linesPerID: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = entry["id"] as? String, entry["status"] as? String == "done" else { continue }
            linesPerID[id, default: 0] += 1
            let files = entry["files"] as? [String: [String: Any]] ?? [:]
            if let meshKind, files[meshKind] == nil { missingMeshes += 1 }
            for info in files.values {
                guard let path = info["path"] as? String,
                      (try? FileChecksum.sha256(file: directory.file(path))) == info["sha256"] as? String else {
                    checksumMismatches += 1
                    continue
                }
            }
        }
        done = linesPerID.count
        lost = expectedPrompts - linesPerID.count
        duplicated = linesPerID.values.reduce(0) { $0 + $1 - 1 }
        // The store must agree: each prompt done exactly once.
        let counts = try JobStore(path: directory.store).counts()
        if counts.done != linesPerID.count { duplicated += abs(counts.done - linesPerID.count) }
        for dir in [directory.path, directory.clouds, directory.meshes] {
            temporaryFiles += ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp-") }.count
        }
    }

    var isPerfect: Bool { lost == 0 && duplicated == 0 && checksumMismatches == 0 && missingMeshes == 0 && temporaryFiles == 0 }

    var description: String {
        "prompts \(prompts), done \(done), lost \(lost), duplicated \(duplicated), checksum mismatches \(checksumMismatches), "
            + "missing meshes \(missingMeshes), temporary files \(temporaryFiles)"
    }
}
