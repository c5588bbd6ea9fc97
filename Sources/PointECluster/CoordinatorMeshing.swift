import Foundation
import PointEEngine
import PointECheckpoint
import PointEMesh

/// The coordinator's meshing side: stored clouds waiting for a mesh (prompts in `meshing`) go
/// to meshers that ask for work; their files are written atomically and checksummed, then the
/// prompt is done and gets its manifest line.
extension Coordinator {
    func assignMesh(to identity: Data, router: RouterEndpoint) throws {
        let waiting = try store.prompts(where: "status = 'meshing'").filter { meshesInFlight[$0.id] == nil }
        guard let prompt = waiting.first else {
            let counts = try store.counts()
            var none = Pointe_Cluster_NoWork()
            none.retryAfterMs = 200
            none.jobFinished = counts.pending == 0 && counts.shardsRunning == 0
            router.send(.noWork(none), to: identity)
            return
        }
        let cloud: PointCloud
        do { cloud = try PointCloud.readNPZ(directory.file("clouds/\(prompt.id).npz")) } catch {
            // The stored cloud is unreadable: sample the prompt again.
            log.warning("\(error); prompt \(prompt.id) will be sampled again")
            try store.reopen(promptID: prompt.id)
            return try assignMesh(to: identity, router: router)
        }
        let packed = CloudPacking.pack(cloud)
        var task = Pointe_Cluster_MeshTask()
        task.promptID = prompt.id
        task.pointCount = packed.count
        task.coords = packed.coords
        task.colors = packed.colors
        task.gridSize = UInt32(info.meshGrid)
        task.formats = info.meshFormats
        meshesInFlight[prompt.id] = identity
        peers[identity]?.meshes.insert(prompt.id)
        if !router.send(.meshTask(task), to: identity) { try lose(identity, reason: "cannot send to \(peers[identity]?.name ?? "mesher")") }
    }

    func storeMesh(_ result: Pointe_Cluster_MeshResult, from identity: Data, name: String) throws {
        if meshesInFlight[result.promptID] == identity { meshesInFlight[result.promptID] = nil }
        peers[identity]?.meshes.remove(result.promptID)
        guard let prompt = try store.prompt(id: result.promptID), prompt.status == .meshing else { return }
        let formats = Set(result.files.map(\.format))
        guard formats == Set(info.meshFormats), result.files.count == formats.count else {
            let message = "mesher \(name) returned formats \(result.files.map(\.format)) for \(prompt.id), expected \(info.meshFormats)"
            log.warning(message)
            if try store.recordMeshFailure(promptID: prompt.id, error: message, budget: info.retryBudget), let failed = try store.prompt(id: prompt.id) {
                try manifest.append(failed)
            }
            return
        }
        var outputs: [JobStore.Output] = []
        for file in result.files {
            let relative = "meshes/\(prompt.id).\(file.format)"
            try AtomicFile.write(file.data, to: directory.file(relative))
            outputs.append(JobStore.Output(kind: "mesh_\(file.format)", path: relative, sha256: FileChecksum.sha256(file.data), bytes: file.data.count))
        }
        peers[identity]?.meshesDone += 1
        if try store.recordMesh(promptID: prompt.id, outputs: outputs, meshSeconds: result.timings.meshSeconds), let done = try store.prompt(id: prompt.id) {
            try manifest.append(done)
        }
    }

    func meshFailure(_ report: Pointe_Cluster_ErrorReport, from identity: Data) throws {
        if meshesInFlight[report.promptID] == identity { meshesInFlight[report.promptID] = nil }
        peers[identity]?.meshes.remove(report.promptID)
        log.warning(report.message)
        if try store.recordMeshFailure(promptID: report.promptID, error: report.message, budget: info.retryBudget),
           let failed = try store.prompt(id: report.promptID) {
            try manifest.append(failed)
        }
    }
}
