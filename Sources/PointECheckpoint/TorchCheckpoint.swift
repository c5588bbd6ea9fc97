import Foundation

/// A PyTorch `torch.save` zip archive (or a TorchScript archive), read without Python.
///
/// `data.pkl` is unpickled into a `PickleValue` tree; tensors (`_rebuild_tensor_v2`,
/// `_rebuild_parameter`) become `CheckpointTensor` views of the archive's `data/<key>` entries,
/// which are memory-mapped and, for float32, handed out without copying.
public final class TorchCheckpoint: Sendable {
    public let path: String
    public let archive: ZipArchive
    /// The archive's top folder including the trailing slash ("archive/", "uncond/"), or "".
    public let prefix: String
    /// The unpickled `data.pkl`.
    public let root: PickleValue

    public static func load(_ path: String) throws -> TorchCheckpoint {
        try TorchCheckpoint(archive: ZipArchive(path: path))
    }

    public init(archive: ZipArchive) throws {
        self.path = archive.path
        self.archive = archive
        guard let pickle = TorchCheckpoint.findPickle(in: archive) else {
            throw CheckpointError(archive.path, "not a PyTorch checkpoint: no data.pkl in the zip archive")
        }
        self.prefix = String(pickle.name.dropLast("data.pkl".count))
        if let order = archive.entry(named: prefix + "byteorder") {
            let bytes = try archive.contents(of: order)
            let text = String(decoding: bytes.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text == "little" else {
                throw CheckpointError(archive.path, "unsupported byte order '\(text)' (only little-endian checkpoints are supported)")
            }
        }
        let data = try archive.contents(of: pickle)
        self.root = try Pickle.load(data.bytes, path: archive.path, entry: pickle.name)
    }

    /// The `data.pkl` entry: at the top level or one folder down (the folder name varies).
    static func findPickle(in archive: ZipArchive) -> ZipEntry? {
        let candidates = archive.entries.filter { e in
            guard e.name.hasSuffix("data.pkl") else { return false }
            let folder = e.name.dropLast("data.pkl".count)
            if folder.isEmpty { return true }
            return folder.hasSuffix("/") && !folder.dropLast().contains("/")
        }
        return candidates.min { $0.name.count < $1.name.count }
    }

    /// TorchScript archives keep constant tensors in `constants.pkl` (storages under `constants/`).
    public func constants() throws -> PickleValue? {
        guard let entry = archive.entry(named: prefix + "constants.pkl") else { return nil }
        let data = try archive.contents(of: entry)
        return try Pickle.load(data.bytes, path: path, entry: entry.name)
    }

    /// All tensors, flattened with "."-joined keys. If the top level holds no tensors itself and
    /// all of them sit under a single `model_state_dict` or `state_dict` entry, that entry is used
    /// (so `{"model_state_dict": sd}` reads like `sd`).
    public func stateDict() throws -> StateDict {
        var resolver = TorchResolver(checkpoint: self, storageFolder: "data")
        let tree = try resolver.resolve(root, depth: 0)
        if case .dict(let items) = tree, !items.contains(where: { if case .tensor = $0.value { return true } else { return false } }) {
            for wrapper in ["model_state_dict", "state_dict"] {
                guard let inner = items.first(where: { $0.key == wrapper })?.value, case .dict = inner else { continue }
                let total = items.reduce(0) { $0 + $1.value.tensorCount }
                if inner.tensorCount == total && total > 0 {
                    return try makeStateDict(inner)
                }
            }
        }
        return try makeStateDict(tree)
    }

    /// The tensors under a key path of nested dicts ("model_state_dict", or "a.b" for deeper
    /// levels), flattened below it.
    public func stateDict(at keyPath: String) throws -> StateDict {
        var resolver = TorchResolver(checkpoint: self, storageFolder: "data")
        var node = try resolver.resolve(root, depth: 0)
        var remaining = keyPath[...]
        // Match the longest key at each level, so keys that themselves contain dots still work.
        while !remaining.isEmpty {
            guard case .dict(let items) = node else {
                throw CheckpointError(path, "cannot select '\(keyPath)': '\(keyPath.dropLast(remaining.count))' is not a dict")
            }
            var matched: (key: String, value: TorchNode)?
            for item in items where remaining == item.key[...] || remaining.hasPrefix(item.key + ".") {
                if item.key.count > (matched?.key.count ?? -1) { matched = item }
            }
            guard let hit = matched else {
                let available = items.prefix(10).map(\.key).joined(separator: ", ")
                throw CheckpointError(path, "no entry '\(keyPath)' in the checkpoint (top-level keys: \(available)\(items.count > 10 ? ", ..." : ""))")
            }
            node = hit.value
            remaining = remaining.dropFirst(hit.key.count)
            if remaining.hasPrefix(".") { remaining = remaining.dropFirst() }
        }
        return try makeStateDict(node)
    }

    /// Every tensor with its full flattened key, with no automatic descent.
    public func flattenedStateDict() throws -> StateDict {
        var resolver = TorchResolver(checkpoint: self, storageFolder: "data")
        return try makeStateDict(try resolver.resolve(root, depth: 0))
    }

    /// Tensors found in `constants.pkl` of a TorchScript archive, keyed "0", "1", ...
    public func constantTensors() throws -> StateDict {
        guard let value = try constants() else { return try StateDict(source: path, tensors: []) }
        var resolver = TorchResolver(checkpoint: self, storageFolder: "constants")
        return try makeStateDict(try resolver.resolve(value, depth: 0))
    }

    private func makeStateDict(_ node: TorchNode) throws -> StateDict {
        var tensors: [CheckpointTensor] = []
        var others: [(key: String, value: PickleValue)] = []
        func walk(_ node: TorchNode, _ key: String, depth: Int) {
            switch node {
            case .tensor(let t):
                tensors.append(t.renamed(key.isEmpty ? "tensor" : key))
            case .dict(let items):
                for item in items { walk(item.value, key.isEmpty ? item.key : key + "." + item.key, depth: depth + 1) }
            case .other(let value):
                others.append((key: key, value: value))
            }
        }
        walk(node, "", depth: 0)
        return try StateDict(source: path, tensors: tensors, otherValues: others)
    }
}

/// A pickle tree with tensors recognised and containers turned into keyed dicts.
enum TorchNode {
    case tensor(CheckpointTensor)
    case dict([(key: String, value: TorchNode)])
    case other(PickleValue)

    var tensorCount: Int {
        switch self {
        case .tensor: return 1
        case .dict(let items): return items.reduce(0) { $0 + $1.value.tensorCount }
        case .other: return 0
        }
    }
}

/// Interprets `torch._utils` rebuild calls, storages and dict-like objects.
struct TorchResolver {
    let checkpoint: TorchCheckpoint
    let storageFolder: String
    var storages: [String: ByteRegion] = [:]
    static let maxDepth = 200

    var path: String { checkpoint.path }

    init(checkpoint: TorchCheckpoint, storageFolder: String) {
        self.checkpoint = checkpoint
        self.storageFolder = storageFolder
    }

    mutating func resolve(_ value: PickleValue, depth: Int, key: String = "") throws -> TorchNode {
        guard depth < Self.maxDepth else { throw CheckpointError(path, "checkpoint nested deeper than \(Self.maxDepth) levels") }
        switch value {
        case .dict(let items):
            return .dict(try resolveItems(items, depth: depth, key: key))
        case .list(let items), .tuple(let items):
            // Containers that hold tensors are flattened with index keys; others stay values.
            var resolved: [(key: String, value: TorchNode)] = []
            var anyTensor = false
            for (i, item) in items.enumerated() {
                let node = try resolve(item, depth: depth + 1, key: join(key, String(i)))
                if node.tensorCount > 0 { anyTensor = true }
                resolved.append((key: String(i), value: node))
            }
            return anyTensor ? .dict(resolved) : .other(value)
        case .object(let object):
            if let global = object.globalName {
                switch (global.module, global.name) {
                case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
                    return .tensor(try rebuildTensor(object.args, key: key))
                case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
                    guard let data = object.args.first else {
                        throw CheckpointError(path, "tensor '\(key)': _rebuild_parameter without arguments")
                    }
                    return try resolve(data, depth: depth + 1, key: key)
                case ("torch._tensor", "_rebuild_from_type_v2"):
                    // (func, new_type, func_args, state): tensor subclasses; rebuild with func(*func_args).
                    guard object.args.count >= 3, let inner = object.args[2].sequenceItems else {
                        throw CheckpointError(path, "tensor '\(key)': malformed _rebuild_from_type_v2 call")
                    }
                    let call = PickleObject(callable: object.args[0], args: inner, isNewObj: false, state: nil,
                                            listItems: [], dictItems: [])
                    return try resolve(.object(call), depth: depth + 1, key: key)
                case ("torch._utils", let name) where name.hasPrefix("_rebuild_"):
                    throw CheckpointError(path, "tensor '\(key)': unsupported tensor kind torch._utils.\(name) (only dense CPU tensors are supported)")
                default:
                    break
                }
            }
            if object.isDictLike {
                return .dict(try resolveItems(object.dictItems, depth: depth, key: key))
            }
            // TorchScript modules and other plain objects: their attribute dict (BUILD state).
            if let state = object.state, case .dict(let items) = state {
                return .dict(try resolveItems(items, depth: depth, key: key))
            }
            return .other(value)
        default:
            return .other(value)
        }
    }

    private func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : a + "." + b }

    private mutating func resolveItems(_ items: [PickleDictItem], depth: Int, key: String) throws -> [(key: String, value: TorchNode)] {
        var out: [(key: String, value: TorchNode)] = []
        out.reserveCapacity(items.count)
        for item in items {
            let name: String
            switch item.key {
            case .string(let s): name = s
            case .int(let i): name = String(i)
            default: name = item.key.description
            }
            out.append((key: name, value: try resolve(item.value, depth: depth + 1, key: join(key, name))))
        }
        return out
    }

    private func intTuple(_ value: PickleValue, _ what: String, key: String) throws -> [Int] {
        guard let items = value.sequenceItems else {
            throw CheckpointError(path, "tensor '\(key)': \(what) is not a tuple (\(value))")
        }
        return try items.map {
            guard case .int(let i) = $0 else { throw CheckpointError(path, "tensor '\(key)': \(what) holds a non-integer (\($0))") }
            return i
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private mutating func rebuildTensor(_ args: [PickleValue], key: String) throws -> CheckpointTensor {
        guard args.count >= 4 else {
            throw CheckpointError(path, "tensor '\(key)': rebuild call has \(args.count) arguments, expected at least 4")
        }
        guard case .persistentID(let id) = args[0], let idItems = id.sequenceItems else {
            throw CheckpointError(path, "tensor '\(key)': storage is not a persistent id (\(args[0]))")
        }
        // ('storage', torch.FloatStorage, key, location, numel)
        guard idItems.count >= 3, idItems[0].stringValue == "storage" else {
            throw CheckpointError(path, "tensor '\(key)': unrecognised persistent id \(id)")
        }
        let dtype = try storageDType(idItems[1], key: key)
        let storageKey: String
        switch idItems[2] {
        case .string(let s): storageKey = s
        case .int(let i): storageKey = String(i)
        default: throw CheckpointError(path, "tensor '\(key)': storage key is not a string (\(idItems[2]))")
        }
        guard case .int(let offset) = args[1] else {
            throw CheckpointError(path, "tensor '\(key)': storage offset is not an integer (\(args[1]))")
        }
        let shape = try intTuple(args[2], "size", key: key)
        let strides = try intTuple(args[3], "stride", key: key)
        let region = try storage(storageKey, tensorKey: key)
        if idItems.count >= 5, case .int(let numel) = idItems[4] {
            guard let bytes = checkedMultiply(numel, dtype.itemSize), numel >= 0, bytes <= region.count else {
                throw CheckpointError(path, "tensor '\(key)': storage '\(storageKey)' declares \(numel) \(dtype.rawValue) elements but its entry holds \(region.count) bytes")
            }
        }
        return try CheckpointTensor(name: key, dtype: dtype, shape: shape, strides: strides, elementOffset: offset,
                                    region: region, source: path)
    }

    private func storageDType(_ value: PickleValue, key: String) throws -> DType {
        guard case .global(_, let name) = value else {
            throw CheckpointError(path, "tensor '\(key)': storage type is not a class (\(value))")
        }
        switch name {
        case "FloatStorage": return .float32
        case "HalfStorage": return .float16
        case "BFloat16Storage": return .bfloat16
        case "DoubleStorage": return .float64
        case "LongStorage": return .int64
        case "IntStorage": return .int32
        case "ByteStorage": return .uint8
        case "BoolStorage": return .bool
        default:
            throw CheckpointError(path, "tensor '\(key)': unsupported storage type \(value)")
        }
    }

    private mutating func storage(_ storageKey: String, tensorKey: String) throws -> ByteRegion {
        if let cached = storages[storageKey] { return cached }
        let name = checkpoint.prefix + storageFolder + "/" + storageKey
        guard let entry = checkpoint.archive.entry(named: name) else {
            throw CheckpointError(path, "tensor '\(tensorKey)': storage entry '\(name)' is missing from the archive")
        }
        let region = try checkpoint.archive.contents(of: entry)
        storages[storageKey] = region
        return region
    }
}
