import Foundation
import PointECheckpoint
import PointEImage
import PointETensor

/// Checks CLIP preprocessing against a reference fixture: NAME.json ("transform", "images":
/// name -> file), NAME.io.safetensors ("pixels" [N, 3, n, n] for the images without their own
/// entry, in the JSON's order; "pixels.<name>" [3, n, n] for the others) and optionally
/// NAME.u8.npz (the resized uint8 crops "resized_<name>", a diagnostic). Image files are looked
/// up next to the fixture, then in ../data.
public struct PreprocessParity: Sendable {
    public struct Result: Sendable {
        public let name: String
        public let meanAbsError: Float
        public let maxAbsError: Float
        /// Bytes of the uint8 crop that differ from the reference's (nil without NAME.u8.npz).
        public let differingBytes: Int?
        public var passed: Bool { meanAbsError <= PreprocessParity.meanTolerance && maxAbsError <= PreprocessParity.maxTolerance }
    }

    public static let meanTolerance: Float = 1e-3
    public static let maxTolerance: Float = 0.03

    public let fixture: String
    public let results: [Result]
    public var passed: Bool { !results.isEmpty && results.allSatisfy(\.passed) }

    public static func isFixture(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path + ".json"),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return false }
        return object["transform"] is String && object["images"] is [String: String]
    }

    public static func run(fixture path: String) throws -> PreprocessParity {
        let jsonPath = path + ".json"
        guard let data = FileManager.default.contents(atPath: jsonPath),
              let text = String(data: data, encoding: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let images = object["images"] as? [String: String] else {
            throw ImageError("\(jsonPath): not a preprocessing fixture (needs \"images\": name -> file)")
        }
        // JSON objects are unordered once parsed; the stack order is the order in the file.
        let names = images.keys.sorted {
            (text.range(of: "\"\($0)\"")?.lowerBound ?? text.endIndex) < (text.range(of: "\"\($1)\"")?.lowerBound ?? text.endIndex)
        }
        let io = try CheckpointLoader.load(path + ".io.safetensors")
        let u8Path = path + ".u8.npz"
        let u8 = FileManager.default.fileExists(atPath: u8Path) ? try CheckpointLoader.load(u8Path) : nil
        let directory = (path as NSString).deletingLastPathComponent
        func locate(_ file: String) throws -> String {
            let candidates = [directory, (directory as NSString).appendingPathComponent("../data")]
                .map { ($0 as NSString).appendingPathComponent(file) }
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw ImageError("\(jsonPath): image \(file) not found (looked in \(candidates.joined(separator: ", ")))")
            }
            return found
        }

        var results: [Result] = []
        var stacked: [String] = []
        for name in names {
            if io["pixels." + name] == nil { stacked.append(name) }
        }
        var expectedFor: [String: Tensor] = [:]
        if !stacked.isEmpty {
            guard let pixels = io["pixels"] else { throw ImageError("\(io.source): no \"pixels\" for \(stacked.joined(separator: ", "))") }
            let all = try pixels.floatTensor()
            guard all.rank == 4, all.shape[0] == stacked.count else {
                throw ImageError("\(io.source): pixels \(all.shape) do not hold the \(stacked.count) images \(stacked)")
            }
            let per = all.count / stacked.count
            for (i, name) in stacked.enumerated() {
                expectedFor[name] = Tensor(shape: Array(all.shape.dropFirst()), values: Array(all.values[(i * per)..<((i + 1) * per)]))
            }
        }
        for name in names where expectedFor[name] == nil {
            expectedFor[name] = try io["pixels." + name]!.floatTensor()
        }
        for name in names {
            let expected = expectedFor[name]!
            guard expected.rank == 3, expected.shape[0] == 3, expected.shape[1] == expected.shape[2] else {
                throw ImageError("\(io.source): pixels for \(name) have shape \(expected.shape), expected [3, n, n]")
            }
            let n = expected.shape[1]
            let image = try ImageDecoder.load(path: try locate(images[name]!))
            let actual = try CLIPPreprocess.pixels(image, size: n)
            var sum: Float = 0, maxError: Float = 0
            for (a, e) in zip(actual.values, expected.values) {
                sum += abs(a - e)
                maxError = max(maxError, abs(a - e))
            }
            var differing: Int?
            if let u8, let reference = u8["resized_" + name] {
                let crop = try CLIPPreprocess.resizedAndCropped(image, size: n).pixels
                let bytes = try reference.uint8Values()
                differing = bytes.count == crop.count ? zip(bytes, crop).filter { $0 != $1 }.count : max(bytes.count, crop.count)
            }
            results.append(Result(name: name, meanAbsError: sum / Float(expected.count), maxAbsError: maxError, differingBytes: differing))
        }
        return PreprocessParity(fixture: path, results: results)
    }

    public func reportLines() -> [String] {
        var lines = ["\(fixture): \(passed ? "PASS" : "FAIL")"]
        for r in results {
            let bytes = r.differingBytes.map { ", \($0) uint8 crop bytes differ" } ?? ""
            lines.append("  \(r.passed ? "ok  " : "FAIL") \(r.name.padding(toLength: 28, withPad: " ", startingAt: 0))"
                + String(format: " mean|err| %.3e (tol %.0e)  max|err| %.3e (tol %.2f)", Double(r.meanAbsError),
                         Double(PreprocessParity.meanTolerance), Double(r.maxAbsError), Double(PreprocessParity.maxTolerance)) + bytes)
        }
        return lines
    }
}
