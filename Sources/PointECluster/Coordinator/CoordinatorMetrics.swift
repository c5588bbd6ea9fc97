import Foundation
import PointEWire
import PointEClusterBase
import PointEJob

/// The coordinator's state in Prometheus text format: queue depth, work in flight, finished
/// and failed prompts, the mesh backlog, per-peer throughput, dropped frames, refused deliveries,
/// bans and rejected payloads, CURVE refusals.
extension Coordinator {
    func metricsText(_ counts: JobStore.Counts) -> String {
        let now = monotonicMilliseconds()
        var out = PrometheusText()
        out.gauge("pointe_job_info", "The job this coordinator serves (value 1).", 1, labels: ["job": info.jobID])
        out.metric("pointe_prompts", "gauge", "Prompts by state (pending includes meshing).", [
            (["state": "done"], Double(counts.done)), (["state": "failed"], Double(counts.failed)),
            (["state": "pending"], Double(counts.pending)), (["state": "meshing"], Double(counts.meshing)),
        ])
        out.gauge("pointe_prompts_total", "Prompts in the job.", Double(counts.total))
        out.gauge("pointe_queue_depth", "Shards waiting for a worker.", Double(counts.shardsQueued))
        out.gauge("pointe_shards_in_flight", "Shards being sampled now.", Double(active.count))
        out.gauge("pointe_meshes_in_flight", "Clouds being meshed now.", Double(meshesInFlight.count))
        out.gauge("pointe_mesh_backlog", "Stored clouds waiting for a mesher.", Double(max(0, counts.meshing - meshesInFlight.count)))
        out.gauge("pointe_prompts_per_second", "Prompts finished per second since the coordinator started.", progress(counts).promptsPerSecond)
        out.metric("pointe_peers", "gauge", "Connected peers by role.", [
            (["role": "worker"], Double(peers.values.filter { $0.role == .sampler }.count)),
            (["role": "mesher"], Double(peers.values.filter { $0.role == .mesher }.count)),
        ])
        let working = peers.values.filter { $0.role == .sampler || $0.role == .mesher }.sorted { $0.name < $1.name }
        out.metric("pointe_peer_results_total", "counter", "Clouds (workers) or meshes (meshers) each connected peer delivered this session.",
                   working.map { (["peer": $0.name, "role": $0.role == .mesher ? "mesher" : "worker"], Double($0.role == .mesher ? $0.meshesDone : $0.promptsDone)) })
        out.metric("pointe_peer_results_per_second", "gauge", "Each connected peer's results per second since it joined.",
                   working.map { peer in
                       let seconds = max(1, Double(now - min(peer.joinedAt, now)) / 1000)
                       return (["peer": peer.name, "role": peer.role == .mesher ? "mesher" : "worker"],
                               Double(peer.role == .mesher ? peer.meshesDone : peer.promptsDone) / seconds)
                   })
        out.metric("pointe_messages_dropped_total", "counter", "Malformed or unexpected frames dropped.", [([:], Double(droppedMessages))])
        out.metric("pointe_deliveries_refused_total", "counter",
                   "Results, reports and messages refused because the sender was not given that work, or is banned (by reason).",
                   DeliveryRefusal.allCases.map { (["reason": $0.rawValue], Double(authority.refusals[$0] ?? 0)) })
        out.metric("pointe_peers_banned_total", "counter", "Peers banned after repeated refused deliveries.", [([:], Double(authority.bans))])
        out.metric("pointe_payloads_rejected_total", "counter",
                   "Payloads that failed their checks: a cloud or mesh fails its attempt and nothing is written; a worker's preview is rendered by the coordinator instead.",
                   PayloadKind.allCases.map { (["kind": $0.rawValue], Double(payloadsRejected[$0] ?? 0)) })
        out.metric("pointe_previews_rendered_total", "counter",
                   "Previews the coordinator rendered itself because the worker sent none (an older worker) or a bad one.", [([:], Double(previewsRendered))])
        let auth = ZAPAuthenticator.shared.counts
        out.metric("pointe_curve_connections_total", "counter", "CURVE connection attempts by outcome (this process).",
                   [(["outcome": "accepted"], Double(auth.accepted)), (["outcome": "refused"], Double(auth.refused))])
        out.gauge("pointe_draining", "1 while a drain is in progress.", draining ? 1 : 0)
        return out.text
    }
}
