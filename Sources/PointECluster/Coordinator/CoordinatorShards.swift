import Foundation
import PointEEngine
import PointECheckpoint
import PointECloud
import PointEMesh
import PointEClusterBase
import PointEJob
import PointEWire

/// The sampling side: shards handed to workers that ask, the clouds they send back (stored
/// atomically, once per prompt) and the attempts those close.
extension Coordinator {
    func assign(to identity: Data, transport: any CoordinatorTransport) throws {
        guard let peer = peers[identity], peer.role == .sampler || peer.role == .mesher else {
            log.warning("peer \(PeerName.describe(identity)) asked for work but is neither a worker nor a mesher; ignored")
            return
        }
        if draining { return refuseWorkWhileDraining(identity, transport: transport) }
        if peer.role == .mesher { return try assignMesh(to: identity, transport: transport) }
        guard let claim = try store.claimShard(worker: peer.name, holder: WorkHolder(identity: identity, curveKey: peer.origin.curveKey)) else {
            return try sendNoWork(to: identity, transport: transport)
        }
        log.info("shard \(claim.shardID) attempt \(claim.attempt) (\(claim.prompts.count) prompt(s)) -> \(peer.name)",
                 metadata: ["shard": "\(claim.shardID)", "attempt": "\(claim.attempt)", "peer": peer.name, "event": "shard-assigned"])
        var message = Pointe_Cluster_ShardAssignment()
        message.shardID = UInt64(claim.shardID)
        message.attempt = UInt32(claim.attempt)
        var outstanding = Set<String>()
        var unreadable: String?
        for prompt in claim.prompts {
            var item = Pointe_Cluster_PromptItem()
            item.promptID = prompt.id
            item.seed = prompt.seed
            item.settings = prompt.settings.wire
            do {
                switch try prompt.input.engineInput() {
                case .text(let text): item.text = text
                case .image(let bytes): item.image = bytes
                case .embedding(let bytes): item.embeddingNpy = bytes
                }
            } catch {
                let error = "prompt \(prompt.id): \(error)"
                try store.notePromptError(id: prompt.id, error: error)
                unreadable = error
                continue
            }
            message.prompts.append(item)
            outstanding.insert(prompt.id)
        }
        shardsDispatched += 1
        if outstanding.isEmpty {
            // Nothing sendable: the attempt ends at once (and counts against the budget).
            try closeAttempt(shardID: claim.shardID, attempt: claim.attempt, outcome: .error, error: unreadable)
            try assign(to: identity, transport: transport)
            return
        }
        guard transport.send(.shardAssignment(message), to: identity) else {
            // The peer left (or its queue is full) as it asked for work: the shard never
            // reached it, so the attempt ends without costing the prompts a retry.
            try closeAttempt(shardID: claim.shardID, attempt: claim.attempt, outcome: .undelivered,
                             error: "could not send the shard to \(peer.name)", countsAgainstBudget: false)
            try lose(identity, reason: "cannot send to \(peer.name)")
            return
        }
        active[claim.shardID] = ActiveAttempt(shardID: claim.shardID, attempt: claim.attempt, peer: identity, outstanding: outstanding, lastError: unreadable)
        peers[identity]!.attempts.insert(claim.shardID)
        peers[identity]!.lastTask = .shardAssignment(message)
    }

    /// Nothing to hand out now: the request is parked until work appears (`park`: false for
    /// one that already waited), or the peer is told to stop when the job has finished.
    func sendNoWork(to identity: Data, transport: any CoordinatorTransport, park mayPark: Bool = true) throws {
        let counts = try jobCounts()
        let finished = counts.pending == 0 && counts.shardsRunning == 0
        if mayPark, !finished, let role = peers[identity]?.role {
            return park(identity, role: role)
        }
        var none = Pointe_Cluster_NoWork()
        none.retryAfterMs = 200
        none.jobFinished = finished
        transport.send(.noWork(none), to: identity)
    }

    /// Writes a cloud (atomically, checksummed) and records it, once per prompt, if its sender
    /// holds or held the attempt and the cloud passes its checks; a cloud that does not fails
    /// that prompt of the attempt.
    func storeCloud(_ result: Pointe_Cluster_CloudResult, from identity: Data, origin: PeerOrigin, name: String, transport: any CoordinatorTransport) throws {
        let shard = Int(result.shardID), attempt = Int(result.attempt)
        guard try mayDeliver(.cloud(prompt: result.promptID, shard: shard, attempt: attempt), from: identity, origin: origin, transport: transport),
              let prompt = try store.prompt(id: result.promptID) else { return }
        var rejection: String?
        defer { try? resolve(shard: shard, attempt: attempt, promptID: result.promptID, from: identity, error: rejection) }
        guard prompt.status == .pending else { return }  // a duplicate (late result of a re-queued shard)
        let cloud: PointCloud
        do {
            cloud = try CloudPacking.unpack(count: result.pointCount, coords: result.coords, colors: result.colors,
                                            source: "result for \(result.promptID) from \(name)", limits: options.limits)
        } catch let error as ClusterError {
            payloadsRejected[.cloud, default: 0] += 1
            log.warning(error.message, metadata: ["peer": name, "prompt": prompt.id, "event": "payload-rejected"])
            try store.notePromptError(id: result.promptID, error: error.message)
            rejection = error.message
            return
        }
        let sentPreview = checkedPreview(result, from: name)
        if sentPreview == nil { previewsRendered += 1 }
        let (outputs, previewProblem) = try directory.writeCloud(cloud, promptID: prompt.id, preview: sentPreview)
        if let previewProblem { log.warning("prompt \(prompt.id): no preview: \(previewProblem)") }
        let workerName = peers[identity]?.name ?? name
        let meshing = !info.meshFormats.isEmpty
        if let done = try store.recordDone(promptID: prompt.id, outputs: outputs, worker: workerName, attempt: attempt,
                                           models: result.models, sampleSeconds: result.timings.sampleSeconds, meshing: meshing) {
            resultsStored += 1
            peers[identity]?.promptsDone += 1
            if meshing { cloudsAwaitingMesh.insert(.init(count: result.pointCount, coords: result.coords, colors: result.colors), for: prompt.id) }
            // With meshing, the manifest line waits for the mesh.
            if !meshing { try manifest.append(done, outputs: outputs) }
        }
    }

    /// The preview the worker rendered, if it sent one that passes its checks. One that does not
    /// is counted and logged, and the coordinator renders the picture itself: the cloud, already
    /// checked, is what matters.
    func checkedPreview(_ result: Pointe_Cluster_CloudResult, from name: String) -> Data? {
        guard !result.previewPng.isEmpty else { return nil }  // a worker from before previews were sent
        do {
            try PreviewPayload.check(result.previewPng, source: "result for \(result.promptID) from \(name)", limits: options.limits)
            return result.previewPng
        } catch {
            payloadsRejected[.preview, default: 0] += 1
            log.warning("\(error); rendering the preview here instead", metadata: ["peer": name, "prompt": result.promptID, "event": "payload-rejected"])
            return nil
        }
    }

    func failure(_ report: Pointe_Cluster_ErrorReport, from identity: Data, origin: PeerOrigin, name: String, transport: any CoordinatorTransport) throws {
        let shard = Int(report.shardID), attempt = Int(report.attempt)
        if report.promptID.isEmpty {
            // The whole attempt failed (e.g. the worker could not load a model).
            guard try mayDeliver(.attemptFailure(shard: shard, attempt: attempt), from: identity, origin: origin, transport: transport),
                  let a = active[shard], a.peer == identity, a.attempt == attempt else { return }
            log.warning("shard \(shard) attempt \(a.attempt) failed on \(name): \(report.message)",
                        metadata: ["shard": "\(shard)", "attempt": "\(a.attempt)", "peer": name, "event": "shard-failed"])
            active[shard] = nil
            peers[identity]?.attempts.remove(shard)
            try closeAttempt(shardID: shard, attempt: a.attempt, outcome: .error, error: report.message)
            return
        }
        guard try mayDeliver(.promptError(prompt: report.promptID, shard: shard, attempt: attempt), from: identity, origin: origin, transport: transport) else { return }
        log.warning("\(name): \(report.message)")
        try store.notePromptError(id: report.promptID, error: report.message)
        try resolve(shard: shard, attempt: attempt, promptID: report.promptID, from: identity, error: report.message)
    }

    /// One prompt of an active attempt is answered; when none is left the attempt closes.
    func resolve(shard: Int, attempt: Int, promptID: String, from identity: Data, error: String?) throws {
        guard var a = active[shard], a.peer == identity, a.attempt == attempt, a.outstanding.remove(promptID) != nil else { return }
        if let error { a.lastError = error }
        if a.outstanding.isEmpty {
            active[shard] = nil
            peers[identity]?.attempts.remove(shard)
            try closeAttempt(shardID: shard, attempt: a.attempt, outcome: a.lastError == nil ? .completed : .error, error: a.lastError)
        } else {
            active[shard] = a
        }
    }

    /// Closes an attempt in the store and writes the manifest lines of prompts that failed for good.
    func closeAttempt(shardID: Int, attempt: Int, outcome: AttemptOutcome, error: String?, countsAgainstBudget: Bool = true) throws {
        let failed = try store.finishAttempt(shardID: shardID, attempt: attempt, outcome: outcome, error: error, countsAgainstBudget: countsAgainstBudget)
        for id in failed {
            guard let prompt = try store.prompt(id: id) else { continue }
            log.warning("prompt \(id) failed: \(prompt.error ?? "")", metadata: ["prompt": id, "event": "prompt-failed"])
            try manifest.append(prompt)
        }
    }
}
