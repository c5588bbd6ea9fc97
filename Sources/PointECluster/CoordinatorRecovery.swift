import Foundation

/// Resuming a job: what a coordinator repairs in its directory before it serves.
extension Coordinator {
    /// What a restart must repair before serving: temp files of interrupted writes, shards left
    /// running, outputs that no longer match their checksums, and manifest.jsonl.
    public func recover(retryFailed: Bool = false) throws {
        for path in directory.removeStaleTemporaryFiles() { log.info("removed stale temporary file \(path)") }
        let interrupted = try store.requeueInterrupted()
        if interrupted > 0 { log.info("re-queued \(interrupted) shard(s) that were running when the coordinator stopped") }
        if retryFailed {
            let n = try store.retryFailed()
            if n > 0 { log.info("--retry-failed: \(n) failed prompt(s) queued again with a fresh budget") }
        }
        var reopened = 0
        for prompt in try store.prompts(status: [.done, .meshing]) {
            for output in try store.outputs(promptID: prompt.id) {
                let full = directory.file(output.path)
                let digest = try? FileChecksum.sha256(file: full)
                if digest != output.sha256 {
                    log.warning("\(full): \(digest == nil ? "missing" : "checksum mismatch"); prompt \(prompt.id) will be sampled again")
                    try store.reopen(promptID: prompt.id)
                    reopened += 1
                    break
                }
            }
        }
        if reopened > 0 { log.info("\(reopened) prompt(s) reopened after output verification") }
        // After a remesh: old meshes it replaced but had not deleted yet when it stopped.
        if try store.meshGeneration() > 0 {
            for path in directory.removeUnreferencedMeshes(referenced: try store.outputPaths()) { log.info("removed replaced mesh \(path)") }
        }
        try manifest.rewrite()
        doneAtStart = try store.counts().done
    }
}
