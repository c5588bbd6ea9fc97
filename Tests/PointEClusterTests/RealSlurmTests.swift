import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// cluster/slurm/pointe.sbatch as written, submitted with the real sbatch to a real 3-node
/// Slurm cluster on this host (LocalSlurmCluster): 12 prompts on the tiny random model set,
/// `scontrol requeue` while it runs, resumed by Slurm, one manifest line per prompt. Needs
/// root (slurmd and munged run as the cluster's only user; the node names need a mount
/// namespace); fails when slurm-wlm or munge is missing (scripts/install-deps.sh installs them).
final class RealSlurmTests: ProcessTestCase {
    var cluster: LocalSlurmCluster?

    override func tearDown() {
        // Also after a failure: every daemon stopped by its pid, nothing of the cluster left.
        if let cluster {
            let leftovers = cluster.stop()
            XCTAssertEqual(leftovers, [], "processes of the test's Slurm cluster were still running after it stopped (killed now)")
        }
        cluster = nil
        super.tearDown()
    }

    func port(_ address: String) -> Int { Int(address.split(separator: ":").last!)! }

    func testSbatchScriptRunsRequeuesAndResumesOnARealCluster() throws {
        guard geteuid() == 0 else { throw XCTSkip("a real Slurm cluster needs root (slurmd, munged, a mount namespace for node names); CI runs .ci/run as root") }
        let dir = ClusterTestSupport.temporaryDirectory("real-slurm")
        let ports = try (0..<5).map { _ in port(try freeAddress()) }
        let slurm = try LocalSlurmCluster(directory: dir + "/slurm", nodes: ["node1", "node2", "node3"], ports: Array(ports[0..<4]))
        cluster = slurm
        try slurm.start()

        let script = Fixtures.repositoryRoot + "/cluster/slurm/pointe.sbatch"
        // The real sbatch reads the script's #SBATCH lines: a misspelled option is refused
        // before anything runs (so the run below is sbatch taking the script as written).
        let broken = dir + "/misspelled.sbatch"
        try String(contentsOfFile: script, encoding: .utf8).replacingOccurrences(of: "#SBATCH --signal=", with: "#SBATCH --sginal=")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let refused = try slurm.client(slurm.tools.sbatch, ["--nodes=3", "--chdir=\(dir)", broken, "unused.txt"])
        XCTAssertNotEqual(refused.status, 0, "sbatch accepted a script with #SBATCH --sginal: \(refused.output)")
        XCTAssertTrue(refused.output.contains("sginal"), "sbatch's refusal does not name the misspelled option: \(refused.output)")

        let models = dir + "/models"
        let initRandom = try Subprocess.run(try BuiltTool.pointe(), ["models", "init-random", "--preset", "tiny", models], timeout: 120)
        XCTAssertEqual(initRandom.status, 0, initRandom.output)
        let prompts = try writePrompts(12, in: dir)
        let job = JobDirectory(dir + "/job")
        // Enough steps that the job is still running when it is requeued.
        let settings = [
            "POINTE=\(try BuiltTool.pointe())", "POINTE_JOB_DIR=\(job.path)", "POINTE_MODELS_DIR=\(models)", "POINTE_PORT=\(ports[4])",
            "POINTE_JOB_ARGS=--model base40M-uncond --steps 32 --shard-size 1 --mesh-grid 16",
        ]
        let submitted = try slurm.client(slurm.tools.sbatch, ["--parsable", "--nodes=3", "--chdir=\(dir)",
                                                              "--export=ALL," + settings.joined(separator: ","), script, prompts])
        guard submitted.status == 0 else { throw SubprocessError("sbatch refused cluster/slurm/pointe.sbatch: \(submitted.output)") }
        let id = try XCTUnwrap(submitted.output.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) })
        let log = dir + "/pointe-\(id).log"

        try slurm.waitFor("2 manifest lines of job \(id) (log \(log))", timeout: 180) { manifestLineCount(job) >= 2 }
        let requeue = try slurm.client(slurm.tools.scontrol, ["requeue", id])
        XCTAssertEqual(requeue.status, 0, requeue.output)
        try slurm.waitFor("job \(id) to be pending again after the requeue", timeout: 120) { try slurm.job(id)["JobState"] == "PENDING" }
        let linesAtRequeue = manifestLineCount(job)
        XCTAssertLessThan(linesAtRequeue, 12, "the job had finished before it was requeued: nothing was tested")
        // Slurm holds a requeued job for about two minutes (its BeginTime); an operator in a
        // hurry starts it now, as this test does.
        let release = try slurm.client(slurm.tools.scontrol, ["update", "JobId=\(id)", "StartTime=now"])
        XCTAssertEqual(release.status, 0, release.output)
        try slurm.waitFor("job \(id) to finish after its requeue (log \(log))", timeout: 300) {
            ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"].contains(try slurm.job(id)["JobState"] ?? "")
        }
        let final = try slurm.job(id)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(final["JobState"], "COMPLETED", output)
        XCTAssertEqual(final["ExitCode"], "0:0", output)
        XCTAssertEqual(final["Restarts"], "1", "the job was not requeued once: \(final)")
        // --open-mode=append: both runs of the script are in the one log.
        let starts = output.components(separatedBy: "pointe.sbatch: coordinator tcp://node1:").count - 1
        XCTAssertEqual(starts, 2, output)
        XCTAssertTrue(output.contains("coordinator exited with status 0"), output)

        try assertComplete(job, prompts: 12)
        let ids = Set(try ClusterTestSupport.manifestLines(job).compactMap { $0["id"] as? String })
        XCTAssertEqual(ids.count, 12)
        print("real slurm: \(slurm.nodes.count) nodes, job \(id): 12 prompts, requeued at \(linesAtRequeue) manifest lines, "
              + "Restarts=\(final["Restarts"] ?? "?"), \(starts) runs of the script, \(manifestLineCount(job)) manifest lines, "
              + "\(ids.count) distinct prompts; sbatch refused the misspelled option (status \(refused.status))")
    }
}
