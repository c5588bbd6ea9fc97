import Dispatch
import Foundation
import PointEEngine

/// What `pointe generate` and `pointe sample` share once their input is known: the model
/// files checked before anything else, one prompt through the engine with a progress line,
/// the cloud written by its extension (.npz, else .ply), and the summary line.
enum SampleToFile {
    static func run(_ request: PointEEngine.Request, modelsDirectory: String, output: CloudOutput) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let models = ModelDirectory(modelsDirectory)
        let missing = models.missing(for: [(request.input.kind, request.settings)], meshing: false)
        guard missing.isEmpty else { throw CommandFailure("\(models.path) lacks what this needs:\n  " + missing.joined(separator: "\n  ")) }
        let engine = PointEEngine(models: models, maxBatch: 1)
        let bar = TerminalProgress(label: "sampling", unit: .count("steps"))
        let out = try engine.sampleOne(request) { p in
            bar.update(done: Double(p.done), total: Double(p.total), detail: "stage \(p.stage + 1)/\(p.stageCount)")
        }
        bar.finish()
        try output.makeDirectories()
        let path = output.file
        if path.hasSuffix(".npz") { try out.cloud.writeNPZ(to: path) } else { try out.cloud.writePLY(to: path) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("\(path): \(out.cloud.count) points (seed \(request.seed), \(String(format: "%.1f", seconds)) s)")
    }
}
