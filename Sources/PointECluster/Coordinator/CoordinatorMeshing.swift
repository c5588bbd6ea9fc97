import Foundation
import PointECloud
import PointEEngine
import PointECheckpoint
import PointEMesh
import PointEClusterBase
import PointEJob
import PointEWire

/// The coordinator's meshing side: stored clouds waiting for a mesh (prompts in `meshing`) go
/// to meshers that ask for work; a mesh is taken only from a mesher its task went to, and its
/// files only once each parses as the format it claims (MeshPayload); they are written
/// atomically and checksummed, then the prompt is done and gets its manifest line.
extension Coordinator {
    func assignMesh(to identity: Data, transport: any CoordinatorTransport) throws {
        // New clouds first, then done prompts waiting for a remesh (their meshes of the job's
        // previous mesh settings stand until the new ones are recorded). Every prompt in flight
        // may come first in either queue: one more than those is enough.
        let inFlight = meshesInFlight.count + 1
        let waiting = try store.meshQueue(limit: inFlight).first { meshesInFlight[$0.id] == nil }
        guard let prompt = try waiting ?? store.promptsAwaitingRemesh(limit: inFlight).first(where: { meshesInFlight[$0.id] == nil }) else {
            return try sendNoWork(to: identity, transport: transport)
        }
        let packed: PackedCloudCache.Packed
        if let received = cloudsAwaitingMesh[prompt.id] {
            packed = received
        } else {
            do {
                let stored = CloudPacking.pack(try PointCloud.readNPZ(directory.file(JobDirectory.cloudNPZ(promptID: prompt.id))))
                packed = .init(count: stored.count, coords: stored.coords, colors: stored.colors)
            } catch where prompt.awaitingRemesh {
                // A remesh samples nothing: the prompt keeps its meshes (`pointe run` resamples it).
                try recordMeshFailure(prompt.id, "its stored cloud cannot be read: \(error)")
                return try assignMesh(to: identity, transport: transport)
            } catch {
                // The stored cloud is unreadable: sample the prompt again.
                log.warning("\(error); prompt \(prompt.id) will be sampled again")
                try store.reopen(promptID: prompt.id)
                return try assignMesh(to: identity, transport: transport)
            }
        }
        var task = Pointe_Cluster_MeshTask()
        task.promptID = prompt.id
        task.pointCount = packed.count
        task.coords = packed.coords
        task.colors = packed.colors
        task.gridSize = UInt32(info.meshGrid)
        task.formats = info.meshFormats.map(\.rawValue)
        meshesInFlight[prompt.id] = identity
        peers[identity]?.meshes.insert(prompt.id)
        peers[identity]?.lastTask = .meshTask(task)
        authority.grantedMesh(of: prompt.id, to: WorkHolder(identity: identity, curveKey: peers[identity]?.origin.curveKey))
        if !transport.send(.meshTask(task), to: identity) { try lose(identity, reason: "cannot send to \(peers[identity]?.name ?? "mesher")") }
    }

    func storeMesh(_ result: Pointe_Cluster_MeshResult, from identity: Data, origin: PeerOrigin, name: String, transport: any CoordinatorTransport) throws {
        guard try mayDeliver(.mesh(prompt: result.promptID), from: identity, origin: origin, transport: transport) else { return }
        if meshesInFlight[result.promptID] == identity { meshesInFlight[result.promptID] = nil }
        peers[identity]?.meshes.remove(result.promptID)
        guard let prompt = try store.prompt(id: result.promptID), prompt.status == .meshing || prompt.awaitingRemesh else { return }
        let formats = Set(result.files.map(\.format))
        guard formats == Set(info.meshFormats.map(\.rawValue)), result.files.count == formats.count else {
            return try rejectMesh(prompt.id, from: name, "mesher \(name) returned formats \(result.files.map(\.format)) for \(prompt.id), expected \(info.meshFormats)")
        }
        // Every file is checked before any is written: a bad one never lands in the job directory.
        for file in result.files {
            do { try MeshPayload.check(file, source: "mesh \(file.format) of \(prompt.id) from \(name)", limits: options.limits) } catch let error as ClusterError {
                return try rejectMesh(prompt.id, from: name, error.message)
            }
        }
        let outputs = try directory.writeMeshes(result.files.map { ($0.format, $0.data) }, promptID: prompt.id, generation: try store.meshGeneration())
        peers[identity]?.meshesDone += 1
        if prompt.awaitingRemesh {
            try storeRemesh(prompt, outputs: outputs, meshSeconds: result.timings.meshSeconds)
        } else if try store.recordMesh(promptID: prompt.id, outputs: outputs, meshSeconds: result.timings.meshSeconds), let done = try store.prompt(id: prompt.id) {
            cloudsAwaitingMesh.remove(prompt.id)
            try manifest.append(done)
        }
    }

    /// A done prompt's new meshes (`pointe remesh`): recorded in place of its old ones in one
    /// transaction; its manifest line is replaced when manifest.jsonl is next rebuilt from the
    /// store (written atomically), and only after that are the old files deleted.
    func storeRemesh(_ prompt: JobStore.Prompt, outputs: [JobStore.Output], meshSeconds: Double) throws {
        guard let replaced = try store.recordRemesh(promptID: prompt.id, outputs: outputs, meshSeconds: meshSeconds) else { return }
        cloudsAwaitingMesh.remove(prompt.id)
        let kept = Set(outputs.map(\.path))
        remeshManifest.replaced += replaced.map(\.path).filter { !kept.contains($0) }
        try rewriteManifestAfterRemesh()
    }

    /// Rebuilds manifest.jsonl, then deletes the mesh files the rebuild no longer names: when
    /// the last rebuild is `RemeshManifestFlush.intervalMs` old, or no prompt waits any more.
    func rewriteManifestAfterRemesh() throws {
        let now = monotonicMilliseconds()
        guard try now - remeshManifest.lastRewriteMs >= RemeshManifestFlush.intervalMs || jobCounts().remeshing == 0 else { return }
        try manifest.rewrite()
        for path in remeshManifest.replaced { unlink(directory.file(path)) }
        remeshManifest = RemeshManifestFlush(lastRewriteMs: now)
    }

    /// A mesh that failed its checks: the meshing attempt fails with the reason.
    func rejectMesh(_ promptID: String, from name: String, _ reason: String) throws {
        payloadsRejected[.mesh, default: 0] += 1
        log.warning(reason, metadata: ["peer": name, "prompt": promptID, "event": "payload-rejected"])
        try recordMeshFailure(promptID, reason)
    }

    func meshFailure(_ report: Pointe_Cluster_ErrorReport, from identity: Data, origin: PeerOrigin, transport: any CoordinatorTransport) throws {
        guard try mayDeliver(.meshFailure(prompt: report.promptID), from: identity, origin: origin, transport: transport) else { return }
        if meshesInFlight[report.promptID] == identity { meshesInFlight[report.promptID] = nil }
        peers[identity]?.meshes.remove(report.promptID)
        log.warning(report.message)
        try recordMeshFailure(report.promptID, report.message)
    }

    /// Counts a failed meshing attempt; after the budget the prompt fails and gets its manifest line.
    func recordMeshFailure(_ promptID: String, _ error: String) throws {
        if let gaveUp = try store.recordRemeshFailure(promptID: promptID, error: error, budget: info.retryBudget) {
            if gaveUp {
                log.warning("remeshing \(promptID) failed \(info.retryBudget) times; it keeps its previous meshes: \(error)")
                try rewriteManifestAfterRemesh()
            }
            return
        }
        if try store.recordMeshFailure(promptID: promptID, error: error, budget: info.retryBudget), let failed = try store.prompt(id: promptID) {
            cloudsAwaitingMesh.remove(promptID)
            try manifest.append(failed)
        }
    }
}

/// Each rebuild of manifest.jsonl writes every line, so a remesh rebuilds it at most once per
/// `intervalMs` (and when its last prompt lands), not once per prompt. Until then the file names
/// the old meshes, which are deleted only after the rebuild that stops naming them; a coordinator
/// stopped in between leaves a manifest whose files all exist, and its next start rebuilds it
/// and removes the replaced files (Coordinator.recover).
struct RemeshManifestFlush {
    static let intervalMs: UInt64 = 1000
    var lastRewriteMs: UInt64 = 0
    /// Mesh files (relative paths) replaced since the last rebuild.
    var replaced: [String] = []
}
