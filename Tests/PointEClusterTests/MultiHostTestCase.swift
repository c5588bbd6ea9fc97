import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// Base of tests whose coordinator, workers and meshers run as separate hosts (network
/// namespaces, see NetworkNamespaceLab) with CURVE keys made by `pointe keys generate`.
class MultiHostTestCase: ProcessTestCase {
    var lab: NetworkNamespaceLab?

    override func tearDown() {
        super.tearDown()  // the processes first, then their namespaces
        lab?.destroy()
        lab = nil
    }

    /// Key pairs made with `pointe keys generate`: the coordinator's, and one per peer name;
    /// `allowed` peers' public keys are copied into the coordinator's allow-list directory.
    struct Keys {
        let directory: String
        var coordinatorSecret: String { directory + "/coordinator.key_secret" }
        var coordinatorPublic: String { directory + "/coordinator.key" }
        var allowList: String { directory + "/allowed" }
        func secret(_ peer: String) -> String { directory + "/\(peer).key_secret" }
    }

    func makeKeys(in dir: String, allowed: [String], others: [String] = []) throws -> Keys {
        let keys = Keys(directory: dir + "/keys")
        try FileManager.default.createDirectory(atPath: keys.allowList, withIntermediateDirectories: true)
        for name in ["coordinator"] + allowed + others {
            let (status, output) = try Subprocess.run(try BuiltTool.pointe(), ["keys", "generate", name, "--dir", keys.directory], timeout: 60)
            XCTAssertEqual(status, 0, output)
        }
        for name in allowed {
            try FileManager.default.copyItem(atPath: keys.directory + "/\(name).key", toPath: keys.allowList + "/\(name).key")
        }
        return keys
    }

    func coordinator(_ prompts: String, _ job: JobDirectory, _ keys: Keys, on lab: NetworkNamespaceLab, steps: Int = 2,
                     shardSize: Int = 2, meshFormats: String = "none", log: String) throws -> Subprocess {
        adopt(try lab.start(on: "coord", try BuiltTool.pointe(), [
            "coordinator", prompts, "-o", job.path, "--bind", address(lab), "--curve-key", keys.coordinatorSecret,
            "--allow-keys", keys.allowList, "--model", "base40M-uncond", "--no-upsample", "--steps", String(steps),
            "--shard-size", String(shardSize), "--peer-timeout-ms", "2000", "--mesh-formats", meshFormats, "--mesh-grid", "6",
        ], log: log))
    }

    func peer(_ role: String, on host: String, name: String, _ keys: Keys, lab: NetworkNamespaceLab, log: String) throws -> Subprocess {
        adopt(try lab.start(on: host, try BuiltTool.pointe(), [
            role, "--connect", address(lab), "--models-dir", ClusterTestSupport.modelsDirectory, "--name", name,
            "--curve-key", keys.secret(name), "--server-key", keys.coordinatorPublic, "--coordinator-timeout-ms", "30000", "--quiet",
        ] + (role == "worker" ? ["--batch", "1"] : []), log: log))
    }

    func address(_ lab: NetworkNamespaceLab) -> String { "tcp://\(lab.host("coord").address):5555" }

    func log(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
}
