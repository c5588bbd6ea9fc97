import Foundation
import PointECheckpoint
import PointEModels
import PointETensor

/// Reference-fixture checks for CLIP: the model fixture (NAME.json with "name": "CLIP",
/// NAME.pt, optionally NAME.jit.pt, NAME.io.safetensors) and tokenizer fixtures (JSON with
/// prompts and the expected `clip.tokenize` ids).
public enum CLIPParity {
    static func jsonObject(_ path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// NAME.json describes a CLIP model.
    public static func isModelFixture(_ path: String) -> Bool {
        jsonObject(path + ".json")?["name"] as? String == "CLIP"
    }

    /// NAME.json is a tokenizer fixture ("function": "clip.tokenize(...)" and "cases").
    public static func isTokenizerFixture(_ path: String) -> Bool {
        guard let object = jsonObject(tokenizerJSON(path)) else { return false }
        return (object["function"] as? String)?.hasPrefix("clip.tokenize") == true && object["cases"] is [Any]
    }

    /// The tokenizer fixture's file: NAME.json, or NAME.io.json (the reference's file name).
    static func tokenizerJSON(_ path: String) -> String {
        FileManager.default.fileExists(atPath: path + ".json") ? path + ".json" : path + ".io.json"
    }

    /// Text features, image features, latent grid (and logits) from NAME.pt against the plain
    /// outputs, and from NAME.jit.pt (when present) against the `jit.*` outputs.
    public static func runModel(fixture path: String) throws -> ParityCheck {
        let config = try CLIPConfig.load(path + ".json")
        let io = try CheckpointLoader.load(path + ".io.safetensors")
        guard let tokenTensor = io["tokens"], let imageTensor = io["images"] else {
            throw ModelError("\(io.source): needs inputs \"tokens\" and \"images\"")
        }
        let ids = try tokenTensor.int64Values().map { Int32(truncatingIfNeeded: $0) }
        let rowLength = tokenTensor.shape.last ?? 1
        let tokens = stride(from: 0, to: ids.count, by: rowLength).map { Array(ids[$0..<($0 + rowLength)]) }
        let images = try imageTensor.floatTensor()

        var results: [ParityCheck.Comparison] = []
        func compare(_ name: String, _ actual: Tensor) throws {
            guard let stored = io[name] else { return }
            let expected = try stored.floatTensor()
            guard expected.count == actual.count else {
                throw ModelError("\(io.source): \(name) expected shape \(expected.shape), computed \(actual.shape)")
            }
            let maxExpected = expected.maxAbs
            results.append(ParityCheck.Comparison(
                name: name, maxAbsError: actual.reshaped(expected.shape).maxAbsDifference(expected), maxAbsExpected: maxExpected,
                tolerance: ParityCheck.tolerance(forExpected: maxExpected), isDebug: false))
        }
        var variants = [(prefix: "", file: path + ".pt")]
        if FileManager.default.fileExists(atPath: path + ".jit.pt") { variants.append(("jit.", path + ".jit.pt")) }
        for (prefix, file) in variants {
            let model = try CLIPModel.load(checkpoint: file, config: config)
            let textFeatures = try model.text.encode(tokens)
            let imageFeatures = try model.vision.encode(images)
            try compare(prefix + "text_features", textFeatures)
            try compare(prefix + "image_features", imageFeatures)
            try compare(prefix + "grid", try model.embedImagesGrid(images))
            if prefix.isEmpty {
                // model(images, tokens): exp(logit_scale) x cosine similarities.
                let logits = CLIPModel.normalizedRows(imageFeatures).matmul(CLIPModel.normalizedRows(textFeatures).transposed2D())
                    .scaled(expf(model.logitScale.pointer[0]))
                try compare("logits_per_image", logits)
                try compare("logits_per_text", logits.transposed2D())
            }
        }
        return ParityCheck(fixture: path, comparisons: results)
    }

    /// Every case's `clip.tokenize` ids (exact), plus the cleaned text and raw BPE ids as
    /// diagnostics. Each case is one comparison: its error is the number of differing ids.
    public static func runTokenizer(fixture path: String, tokenizer: CLIPTokenizer? = nil) throws -> ParityCheck {
        let file = tokenizerJSON(path)
        guard let object = jsonObject(file), let cases = object["cases"] as? [[String: Any]] else {
            throw ModelError("\(file): not a tokenizer fixture (needs \"cases\")")
        }
        let context = object["context_length"] as? Int ?? 77
        let tokenizer = try tokenizer ?? CLIPTokenizer.bundled(contextLength: context)
        var results: [ParityCheck.Comparison] = []
        for (i, c) in cases.enumerated() {
            guard let prompt = c["prompt"] as? String, let expected = c["tokens"] as? [Int] else {
                throw ModelError("\(file): case \(i) needs \"prompt\" and \"tokens\"")
            }
            let label = "case \(i) " + String(prompt.prefix(24)).debugDescription
            let actual = tokenizer.tokenize([prompt])[0].map(Int.init)
            let wrong = zip(actual, expected).filter { $0 != $1 }.count + abs(actual.count - expected.count)
            results.append(.init(name: label + " tokens", maxAbsError: Float(wrong), maxAbsExpected: 0, tolerance: 0, isDebug: false))
            if let cleaned = c["cleaned"] as? String {
                let ok = CLIPTextCleaner.clean(prompt) == cleaned
                results.append(.init(name: label + " cleaned", maxAbsError: ok ? 0 : 1, maxAbsExpected: 0, tolerance: 0, isDebug: true))
            }
            if let bpe = c["bpe_ids"] as? [Int] {
                let ok = tokenizer.encode(prompt).map(Int.init) == bpe
                results.append(.init(name: label + " bpe_ids", maxAbsError: ok ? 0 : 1, maxAbsExpected: 0, tolerance: 0, isDebug: true))
            }
        }
        return ParityCheck(fixture: path, comparisons: results)
    }
}

extension Tensor {
    /// [m, n] -> [n, m].
    func transposed2D() -> Tensor {
        precondition(rank == 2, "transposed2D of \(shape)")
        let (m, n) = (shape[0], shape[1])
        let out = Tensor(zeros: [n, m])
        for i in 0..<m { for j in 0..<n { out.pointer[j * m + i] = pointer[i * n + j] } }
        return out
    }
}
