import Foundation
import PointECheckpoint
import PointEDemoModels
import PointEModels

/// The demo model set: small base40M-textvec, upsample, sdf, CLIP and PointNet++ networks that
/// scripts/train trained on procedural shapes ("a red cube", "a small blue torus"), under the
/// released names and in the NAME.json + NAME.safetensors form, so every command uses them
/// through the same loaders as the released ones. `grammar.json` lists the captions they know.
public enum DemoModelSet {
    /// The model stems of the set (what a models directory would resolve them as).
    public static let models: [ReleasedModel] = [.base40MTextvec, .upsample, .sdf]

    /// Every file of the set, by name, from the bundled folder.
    public static func files(from source: String = DemoSetResources.directory) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: source) } catch {
            throw EngineError("the demo model set is not where this build put it (\(source)): \(error.localizedDescription)")
        }
        let expected = models.map { ModelFiles($0.rawValue).safetensors } + [ModelFiles(CLIPModel.fileStem).safetensors, PointNetClassifier.randomFileName, grammarFile]
        if let missing = expected.first(where: { !names.contains($0) }) {
            throw EngineError("the demo model set in \(source) has no \(missing)")
        }
        return names.filter { $0.hasSuffix(".json") || $0.hasSuffix(".safetensors") || $0 == notesFile }.sorted()
    }

    public static let grammarFile = "grammar.json"
    /// The safetensors metadata "pointe.preset" value scripts/train writes into the set's trained networks.
    public static let preset = "demo"
    public static let notesFile = "TRAINING.md"

    /// Copies the set into `directory` (created if missing), each file atomically. Refuses a
    /// directory that already holds one of the set's models in any form: the demo files would
    /// shadow (or be shadowed by) them, and a released model must never be replaced silently.
    @discardableResult
    public static func install(into directory: String, from source: String = DemoSetResources.directory) throws -> [String] {
        let names = try files(from: source)
        let target = ModelDirectory(directory)
        var present = models.filter(target.has).map(\.rawValue)
        if target.hasCLIP { present.append("CLIP") }
        if (try? target.pointNetFile()) != nil { present.append("pointnet") }
        guard present.isEmpty else {
            throw EngineError("\(directory) already holds \(present.joined(separator: ", ")); install the demo set into an empty or new directory "
                              + "(e.g. `pointe models init-demo models-demo`) and point commands at it with --models-dir")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        for name in names {
            let from = (source as NSString).appendingPathComponent(name), to = (directory as NSString).appendingPathComponent(name)
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: from)) } catch {
                throw EngineError("cannot read \(from): \(error.localizedDescription)")
            }
            try AtomicFile.write(data, to: to)
            written.append(to)
        }
        return written
    }
}
