import Foundation
import PointECloud
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointEMesh
import PointETestSupport
import XCTest

/// A second program speaking the wire protocol against `pointe coordinator` while a real
/// worker and mesher work the job: results from peers that were not given the work are
/// refused, bad payloads from peers that were fail their attempt, and nothing of theirs lands
/// in the job directory.
final class RoguePeerTests: ProcessTestCase {
    /// One rogue connection (a DEALER with an identity of our choosing).
    final class Rogue {
        let name: String
        let endpoint: DealerEndpoint

        init(_ name: String, address: String) throws {
            self.name = name
            endpoint = try DealerEndpoint(connect: address, identity: name, log: ClusterLog(role: name, quiet: true))
        }

        deinit { endpoint.close() }

        func send(_ body: MessageBody) { endpoint.send(body) }

        /// The next message `matches` accepts within `timeout` seconds (others are skipped).
        func next(timeout: Double = 10, _ matches: (MessageBody) -> Bool) -> MessageBody? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let body = try? endpoint.receive(timeoutMs: 50), matches(body) { return body }
            }
            return nil
        }

        func refusal(timeout: Double = 10) -> Pointe_Cluster_Refusal? {
            if case .refusal(let r)? = next(timeout: timeout, { if case .refusal = $0 { return true }; return false }) { return r }
            return nil
        }

        /// Says hello; the coordinator's answer (welcome or refusal).
        @discardableResult
        func hello(_ role: Pointe_Cluster_PeerRole) -> MessageBody? {
            var hello = Pointe_Cluster_Hello()
            hello.role = role
            hello.peerName = name
            send(.hello(hello))
            return next { body in
                switch body {
                case .welcome, .refusal: return true
                default: return false
                }
            }
        }

        /// Sends a status query and waits for the reply: everything sent before it has been handled.
        func sync() -> Bool {
            send(.statusQuery(Pointe_Cluster_StatusQuery()))
            return next { if case .statusReply = $0 { return true }; return false } != nil
        }

        /// Asks for work until a task `pick` accepts arrives.
        func work<T>(timeout: Double = 60, _ pick: (MessageBody) -> T?) -> T? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                send(.workRequest(Pointe_Cluster_WorkRequest()))
                guard let body = next(timeout: 5, { body in
                    switch body {
                    case .noWork, .shardAssignment, .meshTask: return true
                    default: return false
                    }
                }) else { continue }
                if let task = pick(body) { return task }
                usleep(100_000)
            }
            return nil
        }

        func leave() {
            send(.goodbye(Pointe_Cluster_Goodbye()))
            _ = next(timeout: 5) { if case .goodbye = $0 { return true }; return false }
        }
    }

    static func cloudResult(_ prompt: String, shard: UInt64, attempt: UInt32, coordinate: Float) -> Pointe_Cluster_CloudResult {
        let n = 64
        let cloud = PointCloud(coords: [Float](repeating: coordinate, count: n * 3),
                               channels: ["R", "G", "B"].map { PointCloud.Channel(name: $0, values: [Float](repeating: 0.5, count: n)) })
        var result = Pointe_Cluster_CloudResult(promptID: prompt, shardID: shard, attempt: attempt, cloud: cloud)
        result.models = ["base40M-uncond"]
        return result
    }

    static func meshResult(_ prompt: String, _ bytes: Data) -> Pointe_Cluster_MeshResult {
        var file = Pointe_Cluster_MeshFile()
        file.format = "glb"
        file.data = bytes
        var result = Pointe_Cluster_MeshResult()
        result.promptID = prompt
        result.files = [file]
        return result
    }

    /// The metric's value in a Prometheus text file (`name{labels}` exactly), nil if absent.
    static func metric(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func testRoguePeersAgainstARunningJob() throws {
        let dir = ClusterTestSupport.temporaryDirectory("rogue")
        let prompts = try writePrompts(12, in: dir)
        let directory = JobDirectory(dir + "/job")
        let address = try freeAddress()
        let metricsFile = dir + "/metrics.prom"
        let coordinatorLog = dir + "/coordinator.log"
        let coordinator = try start(["coordinator", prompts, "-o", directory.path, "--bind", address, "--model", "base40M-uncond",
                                     "--no-upsample", "--steps", "2", "--shard-size", "2", "--retry-budget", "3", "--peer-timeout-ms", "30000",
                                     "--mesh-formats", "glb", "--mesh-grid", "6", "--metrics-file", metricsFile], log: coordinatorLog)
        try waitFor("the coordinator to listen") { FileManager.default.fileExists(atPath: directory.addressFile) }
        let ids = (0..<12).map { String(format: "p%05d", $0) }
        // A valid mesh that no mesher made, and two broken ones.
        let fakeGLB = RogueMeshFixture.tetrahedron.data(as: .glb)
        var badIndexGLB = fakeGLB
        badIndexGLB[badIndexGLB.count - 1] = 0xFF  // the last index's high byte
        let notGLB = Data("this is not a GLB file".utf8)

        // A worker that is given shard 0 and answers with a NaN cloud and one far out of range.
        let sampler = try Rogue("rogue-sampler", address: address)
        guard case .welcome? = sampler.hello(.sampler) else { return XCTFail("rogue-sampler was not welcomed") }
        let shard = try XCTUnwrap(sampler.work { body -> Pointe_Cluster_ShardAssignment? in
            if case .shardAssignment(let s) = body { return s }
            return nil
        }, "rogue-sampler was given no shard")
        XCTAssertEqual(shard.prompts.map(\.promptID), ["p00000", "p00001"])
        sampler.send(.cloudResult(Self.cloudResult("p00000", shard: shard.shardID, attempt: shard.attempt, coordinate: .nan)))
        sampler.send(.cloudResult(Self.cloudResult("p00001", shard: shard.shardID, attempt: shard.attempt, coordinate: 1e9)))
        sampler.leave()

        // An identity that never said hello sends a cloud for every guessable prompt id.
        let unknown = try Rogue("rogue-unknown", address: address)
        for (i, id) in ids.enumerated() {
            unknown.send(.cloudResult(Self.cloudResult(id, shard: UInt64(i / 2), attempt: 1, coordinate: 0.25)))
        }
        for _ in ids { XCTAssertNotNil(unknown.next { if case .whoAreYou = $0 { return true }; return false }, "no WhoAreYou for a result") }

        // A known worker that was never given these prompts does the same: after a few it is banned.
        let guesser = try Rogue("rogue-guesser", address: address)
        guard case .welcome? = guesser.hello(.sampler) else { return XCTFail("rogue-guesser was not welcomed") }
        for (i, id) in ids.enumerated() {
            guesser.send(.cloudResult(Self.cloudResult(id, shard: UInt64(i / 2), attempt: 1, coordinate: 0.25)))
        }
        XCTAssertNotNil(guesser.refusal(), "rogue-guesser was not told it is refused")
        if case .refusal? = guesser.hello(.sampler) {} else { XCTFail("banned rogue-guesser was not refused when it said hello again") }

        let worker = try start(["worker", "--connect", address, "--name", "real-worker", "--models-dir", ClusterTestSupport.modelsDirectory,
                                "--batch", "2", "--coordinator-timeout-ms", "30000"], log: dir + "/worker.log")

        // A mesher that is given mesh tasks and answers with bytes that are not a GLB, then with
        // a GLB whose last index is out of range; meanwhile another mesher answers its task.
        let mesher = try Rogue("rogue-mesher", address: address)
        guard case .welcome? = mesher.hello(.mesher) else { return XCTFail("rogue-mesher was not welcomed") }
        let meshTask = { (body: MessageBody) -> Pointe_Cluster_MeshTask? in
            if case .meshTask(let t) = body { return t }
            return nil
        }
        let first = try XCTUnwrap(mesher.work(meshTask), "rogue-mesher was given no mesh task")
        let thief = try Rogue("rogue-thief", address: address)
        guard case .welcome? = thief.hello(.mesher) else { return XCTFail("rogue-thief was not welcomed") }
        thief.send(.meshResult(Self.meshResult(first.promptID, fakeGLB)))
        var report = Pointe_Cluster_ErrorReport()
        report.promptID = first.promptID
        report.message = "rogue-thief pretends the mesh failed"
        thief.send(.errorReport(report))
        XCTAssertTrue(thief.sync(), "no status reply to rogue-thief")
        mesher.send(.meshResult(Self.meshResult(first.promptID, notGLB)))
        let second = try XCTUnwrap(mesher.work(meshTask), "rogue-mesher was given no second mesh task")
        mesher.send(.meshResult(Self.meshResult(second.promptID, badIndexGLB)))
        mesher.leave()
        // The thief goes on with every prompt and is banned.
        for id in ids { thief.send(.meshResult(Self.meshResult(id, fakeGLB))) }
        XCTAssertNotNil(thief.refusal(), "rogue-thief was not told it is refused")

        let realMesher = try start(["mesher", "--connect", address, "--name", "real-mesher", "--models-dir", ClusterTestSupport.modelsDirectory,
                                    "--coordinator-timeout-ms", "30000"], log: dir + "/mesher.log")
        try waitFor("the job to finish", timeout: 120) { !coordinator.isRunning }
        let log = (try? String(contentsOfFile: coordinatorLog, encoding: .utf8)) ?? ""
        XCTAssertEqual(coordinator.exitStatus, 0, log)
        defer {
            let exited = (try? waitFor("the worker and mesher to exit", timeout: 30) { !worker.isRunning && !realMesher.isRunning }) != nil
            XCTAssertTrue(exited, "the real worker and mesher were not told the job ended")
        }

        // Every output is the real worker's and the real mesher's.
        try assertComplete(directory, prompts: 12)
        let lines = try ClusterTestSupport.manifestLines(directory)
        XCTAssertEqual(lines.compactMap { $0["worker"] as? String }, Array(repeating: "real-worker", count: 12), "\(lines)")
        for id in ids {
            let cloud = try PointCloud.readNPZ(directory.file("clouds/\(id).npz"))
            XCTAssertTrue(cloud.coords.allSatisfy { $0.isFinite && abs($0) < 10 }, "\(id): not a sampled cloud")
            XCTAssertNotEqual(cloud.coords, [Float](repeating: 0.25, count: cloud.count * 3), "\(id): the rogue's cloud was stored")
            let mesh = try Data(contentsOf: URL(fileURLWithPath: directory.file("meshes/\(id).glb")))
            XCTAssertFalse([fakeGLB, badIndexGLB, notGLB].contains(mesh), "\(id): a rogue's mesh was stored")
            XCTAssertNoThrow(try TriMesh.read(directory.file("meshes/\(id).glb")))
        }
        // The rogue sampler's attempt failed with the reason; the prompts were sampled again.
        let attempts = try JobStore(path: directory.store).attempts()
        XCTAssertEqual(attempts.first.map { "\($0.shard) \($0.attempt) \($0.worker) \($0.outcome?.rawValue ?? "")" }, "0 1 rogue-sampler error")
        XCTAssertTrue(log.contains("p00000 from rogue-sampler") && log.contains("non-finite"), log)
        XCTAssertTrue(log.contains("p00001 from rogue-sampler") && log.contains("out of range"), log)
        XCTAssertTrue(log.contains("\(first.promptID) from rogue-mesher") && log.contains("no glTF magic"), log)
        XCTAssertTrue(log.contains("\(second.promptID) from rogue-mesher") && log.contains("vertex count"), log)

        // Each refusing rogue is logged once, with its address and key, and the banned ones once more.
        for name in ["rogue-unknown", "rogue-guesser", "rogue-thief"] {
            let refusals = log.split(separator: "\n").filter { $0.contains("refused") && $0.contains("from \(name) (address 127.0.0.1, key none)") }
            XCTAssertEqual(refusals.count, 1, "\(name):\n\(log)")
        }
        for name in ["rogue-guesser", "rogue-thief"] {
            XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("banned \(name) (address 127.0.0.1, key none)") }.count, 1, "\(name):\n\(log)")
        }

        // And counted: 12 from the unknown identity; the guesser and the thief are banned at
        // their 8th refusal, after which whatever they send (a hello too) is refused as banned.
        let metrics = try String(contentsOfFile: metricsFile, encoding: .utf8)
        XCTAssertEqual(Self.metric(metrics, #"pointe_deliveries_refused_total{reason="unknown-peer"}"#), 12, metrics)
        XCTAssertEqual(Self.metric(metrics, #"pointe_deliveries_refused_total{reason="not-assigned"}"#), 8, metrics)
        XCTAssertEqual(Self.metric(metrics, #"pointe_deliveries_refused_total{reason="not-mesh-holder"}"#), 8, metrics)
        XCTAssertEqual(Self.metric(metrics, #"pointe_deliveries_refused_total{reason="banned"}"#), 4 + 1 + 6, metrics)
        XCTAssertEqual(Self.metric(metrics, "pointe_peers_banned_total"), 2, metrics)
        XCTAssertEqual(Self.metric(metrics, #"pointe_payloads_rejected_total{kind="cloud"}"#), 2, metrics)
        XCTAssertEqual(Self.metric(metrics, #"pointe_payloads_rejected_total{kind="mesh"}"#), 2, metrics)
    }
}

/// A small valid mesh for rogue payloads.
enum RogueMeshFixture {
    static let tetrahedron = TriMesh(
        vertices: [0, 0, 0, 0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5], faces: [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3],
        vertexChannels: [.init(name: "R", values: [1, 0, 0, 1]), .init(name: "G", values: [0, 1, 0, 1]), .init(name: "B", values: [0, 0, 1, 1])])
}
