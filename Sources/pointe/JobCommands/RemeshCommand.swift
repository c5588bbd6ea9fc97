import ArgumentParser
import Foundation
import PointECluster
import PointEClusterBase
import PointEJob
import PointEWire
import PointEEngine
import PointETensor
import PointEMesh

struct RemeshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remesh",
        abstract: "Mesh a finished job's stored clouds again with other mesh settings, without sampling.",
        usage: "pointe remesh <job dir> [--grid <n>] [--mesh-formats <list>] [<options>]",
        discussion: """
        `pointe remesh out/ --grid 256 --mesh-formats glb,ply` sends every done prompt's stored \
        cloud to meshers again (local ones, like `pointe run`, or remote ones with --bind and \
        --meshers 0). Each prompt's new files are written as meshes/ID.rN.EXT (remesh N); its \
        manifest line is replaced once they are recorded, and only then are its old meshes deleted. \
        Stopped, the same command resumes: prompts already remeshed are kept. Exits 0 when every \
        prompt has its new meshes, 1 listing those that kept their old ones.

        Examples:
          pointe remesh out/ --grid 256
          pointe remesh out/ --mesh-formats glb,usda
        """)

    @Argument(help: "The job directory (a finished `pointe run` or `pointe coordinator` job).") var jobDir: String
    @Option(parsing: .unconditional, help: "SDF grid samples per axis (default: the job's).") var grid: Int?
    @Option(help: "Mesh formats: a comma list of \(MeshFormatList.names) (default: the job's).") var meshFormats: MeshFormatList?
    @Option(name: .customLong("models-dir"), help: "Directory holding sdf.* for the local meshers. Default: the one the job was last run with (it remembers it), else the model cache (\(ModelCache.defaultDescription)).")
    var modelsDirOption: String?
    @Option(parsing: .unconditional, help: "Local mesher processes (0: only remote meshers, with --bind).") var meshers = 1
    @Option(parsing: .unconditional, help: "Restarts of each local mesher that crashes, before the remesh stops.") var restartBudget = 5
    @Option(help: "ZeroMQ endpoint of the coordinator. Default: the job directory's private ipc socket; tcp://HOST:PORT with --curve-key and --allow-keys lets remote meshers join.")
    var bind: String?
    @Flag(help: "Only warnings and errors on standard error (no progress).") var quiet = false
    @OptionGroup var security: CoordinatorSecurityOptions
    @OptionGroup var logging: LogOptions

    func validate() throws {
        try OptionBounds.check(grid.flatMap(PointCloudMesher.gridSizeProblem), "--grid")
        try OptionBounds.check(meshers, OptionBounds.localPeers, "--meshers")
        try OptionBounds.check(restartBudget, OptionBounds.restartBudget, "--restart-budget")
        guard meshers > 0 || bind != nil else { throw ValidationError("--meshers 0 needs --bind: remote meshers must be able to connect") }
    }

    func run() throws {
        try logging.apply()
        let directory = JobDirectory(jobDir)
        let plan: JobRemesh.Plan
        do { plan = try JobRemesh.prepare(directory, formats: meshFormats?.formats, grid: grid) } catch let error as ClusterError {
            throw CommandFailure(error.message)
        }
        let formats = plan.formats.map(\.rawValue).joined(separator: ",")
        if !quiet {
            printError("\(directory.path): remesh \(plan.generation)\(plan.resumed ? " resumed" : ""), grid \(plan.grid), \(formats): \(plan.prompts) prompt(s) to mesh")
        }
        let log = ClusterLog(role: "coordinator", quiet: true)
        let ownKeys = try security.curveKey.map { try CurveKeyPair.load($0) }
        var options = CoordinatorOptions()
        options.bind = try bind ?? directory.privateEndpoint()
        options.transport = try security.transport(alsoAllow: ownKeys.map { [$0] } ?? [])
        options.log = log
        let coordinator = try Coordinator(directory: directory, options: options)
        let models = JobModels.resolve(option: modelsDirOption, recorded: coordinator.info.modelsDirectory)
        if meshers > 0, plan.prompts > 0 {
            try models.checkPresent(job: directory.path)
            if let note = try models.record(in: coordinator.store, recorded: coordinator.info.modelsDirectory), !quiet { printError("pointe remesh: \(note)") }
        }
        try coordinator.recover()
        let peerArguments = (security.curveKey.map { ["--curve-key", $0, "--server-key", $0] } ?? (security.insecure ? ["--insecure"] : []))
            + (logging.logFormat.map { ["--log-format", $0] } ?? [])
        let placement = LocalPlacement(cpus: MachineCores.usableCPUs(), split: CoreSplit(workers: 0, threads: 1), meshers: meshers)
        let serving = LocalJobServing(modelsDir: models.path, placement: placement, peerArguments: peerArguments, workerArguments: [],
                                      restartBudget: restartBudget, quiet: quiet)
        let (counts, drained) = try serving.serve(coordinator)
        if drained || counts.remeshing > 0 {
            print("\(directory.path): remesh \(plan.generation) stopped with \(counts.remeshing) prompt(s) still to mesh; run the same command to resume")
            return
        }
        let kept = try coordinator.store.promptsThatKeptOldMeshes()
        print("\(directory.path): remesh \(plan.generation) (grid \(plan.grid), \(formats)): \(try coordinator.store.promptsMeshed(generation: plan.generation)) prompt(s) remeshed, "
              + "\(kept.count) kept their previous meshes (manifest: \(directory.manifestLines))")
        guard kept.isEmpty else {
            for prompt in kept { printError("kept previous meshes \(prompt.id): \(prompt.error ?? "")") }
            throw ExitCode(1)
        }
    }
}
