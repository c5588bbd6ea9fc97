import Foundation
import PointECheckpoint
import PointETensor

/// How a parameter is initialised when a model is built with random weights.
public enum ParameterInit: Sendable {
    case gaussian(std: Float)
    case layerNormWeight
    case layerNormBias
    case bias
    case constant([Float])
}

/// The single construction path of every network: each layer asks for its tensors by their
/// reference (PyTorch) name and shape. Built from a state dict, it hands out the checkpoint's
/// tensors and records what is missing, misshapen or unused, so `finish()` can reject the
/// checkpoint with one message listing every problem. Built for random weights, it draws them.
public final class ParameterSource {
    enum Mode {
        case stateDict(StateDict)
        case random(seed: UInt64)
    }

    let mode: Mode
    private(set) public var parameters: [(name: String, tensor: Tensor)] = []
    private var missing: [String] = []
    private var wrongShape: [String] = []
    private var unreadable: [String] = []
    private var used = Set<String>()

    public init(stateDict: StateDict) { mode = .stateDict(stateDict) }
    public init(randomSeed: UInt64) { mode = .random(seed: randomSeed) }

    public func tensor(_ name: String, shape: [Int], initialize: ParameterInit) -> Tensor {
        let result: Tensor
        switch mode {
        case .random(let seed):
            result = Self.randomTensor(shape: shape, initialize: initialize, seed: seed, stream: UInt64(parameters.count))
        case .stateDict(let dict):
            if let stored = dict[name] {
                used.insert(name)
                if stored.shape != shape {
                    wrongShape.append("\(name): expected \(shape), found \(stored.shape)")
                    result = Tensor(zeros: shape)
                } else {
                    do { result = try stored.floatTensor() } catch {
                        unreadable.append("\(name): \(error)")
                        result = Tensor(zeros: shape)
                    }
                }
            } else {
                missing.append("\(name) \(shape)")
                result = Tensor(zeros: shape)
            }
        }
        parameters.append((name, result))
        return result
    }

    /// Strict check after construction: every parameter filled from the checkpoint with the
    /// right shape, and every checkpoint tensor used.
    public func finish() throws {
        guard case .stateDict(let dict) = mode else { return }
        let unexpected = dict.keys.filter { !used.contains($0) }
        guard missing.isEmpty, wrongShape.isEmpty, unexpected.isEmpty, unreadable.isEmpty else {
            var lines = ["checkpoint \(dict.source) does not match the model:"]
            if !missing.isEmpty { lines.append("  missing keys (\(missing.count)): " + missing.joined(separator: ", ")) }
            if !unexpected.isEmpty {
                lines.append("  unexpected keys (\(unexpected.count)): "
                    + unexpected.map { "\($0) \(dict[$0]?.shape ?? [])" }.joined(separator: ", "))
            }
            if !wrongShape.isEmpty { lines.append("  wrong shapes (\(wrongShape.count)): " + wrongShape.joined(separator: "; ")) }
            if !unreadable.isEmpty { lines.append("  unreadable tensors: " + unreadable.joined(separator: "; ")) }
            throw ModelError(lines.joined(separator: "\n"))
        }
    }

    /// The reference's init (normal weights with the model's std, unit LayerNorms, zero biases),
    /// perturbed so that no layer is an identity or zero map: random weights must exercise
    /// every path of the network.
    static func randomTensor(shape: [Int], initialize: ParameterInit, seed: UInt64, stream: UInt64) -> Tensor {
        switch initialize {
        case .gaussian(let std): return .gaussian(shape, std: std, seed: seed, stream: stream)
        case .layerNormWeight: return .gaussian(shape, mean: 1, std: 0.05, seed: seed, stream: stream)
        case .layerNormBias, .bias: return .gaussian(shape, std: 0.02, seed: seed, stream: stream)
        case .constant(let values): return Tensor(shape: shape, values: values)
        }
    }
}

/// A dotted name prefix ("backbone.resblocks.3") within a parameter source.
public struct ParameterScope {
    public let source: ParameterSource
    public let prefix: String

    public init(_ source: ParameterSource, prefix: String = "") {
        self.source = source
        self.prefix = prefix
    }

    public func child(_ name: String) -> ParameterScope {
        ParameterScope(source, prefix: prefix.isEmpty ? name : prefix + "." + name)
    }

    public func tensor(_ name: String, shape: [Int], initialize: ParameterInit) -> Tensor {
        source.tensor(prefix.isEmpty ? name : prefix + "." + name, shape: shape, initialize: initialize)
    }
}
