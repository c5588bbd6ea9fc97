import Foundation
import PointETensor

/// Element types found in checkpoints.
public enum DType: String, Sendable, CaseIterable {
    case float32, float16, bfloat16, int64, int32, uint8, bool, float64

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16, .bfloat16: return 2
        case .int64, .float64: return 8
        case .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        case .int64, .int32, .uint8, .bool: return false
        }
    }
}

/// One named array in a checkpoint: dtype, shape and a strided view of bytes owned by the file
/// mapping (or by a decompressed buffer). Reading it never copies until asked to.
public struct CheckpointTensor: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Element strides (row-major contiguous unless the file says otherwise).
    public let strides: [Int]
    /// The file this tensor came from (for error messages).
    public let source: String
    /// Bytes holding the elements; element `i` of the underlying storage is at `i * dtype.itemSize`.
    let region: ByteRegion
    /// Offset into `region`, in elements.
    let elementOffset: Int

    /// Creates a view after checking that every addressed element lies inside `region`.
    init(name: String, dtype: DType, shape: [Int], strides: [Int], elementOffset: Int, region: ByteRegion, source: String) throws {
        guard shape.count == strides.count else {
            throw CheckpointError(source, "tensor '\(name)': shape \(shape) and strides \(strides) differ in rank")
        }
        guard let count = checkedElementCount(shape) else {
            throw CheckpointError(source, "tensor '\(name)': invalid shape \(shape)")
        }
        guard elementOffset >= 0, strides.allSatisfy({ $0 >= 0 }) else {
            throw CheckpointError(source, "tensor '\(name)': negative storage offset \(elementOffset) or stride in \(strides)")
        }
        if count > 0 {
            // Largest addressed element + 1, overflow-checked.
            var extent: Int? = elementOffset
            for (d, s) in zip(shape, strides) {
                guard let e = extent, let step = checkedMultiply(d - 1, s) else { extent = nil; break }
                extent = checkedAdd(e, step)
            }
            let available = region.count / dtype.itemSize
            guard let last = extent, last < available else {
                throw CheckpointError(source, "tensor '\(name)': storage offset \(elementOffset), shape \(shape), strides \(strides) address elements beyond the \(available) \(dtype.rawValue) elements (\(region.count) bytes) of its storage")
            }
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.source = source
        self.region = region
        self.elementOffset = elementOffset
    }

    /// The same view under another name (the view was validated when first created).
    func renamed(_ newName: String) -> CheckpointTensor {
        CheckpointTensor(validated: self, name: newName)
    }

    private init(validated t: CheckpointTensor, name: String) {
        self.name = name
        self.dtype = t.dtype
        self.shape = t.shape
        self.strides = t.strides
        self.source = t.source
        self.region = t.region
        self.elementOffset = t.elementOffset
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Whether the elements are dense in row-major order (dimensions of size 1 may have any stride).
    public var isContiguous: Bool {
        var expected = 1
        for (d, s) in zip(shape, strides).reversed() {
            if d == 0 { return true }
            if d != 1 && s != expected { return false }
            expected *= d
        }
        return true
    }

    /// Whether `floatTensor()` returns memory borrowed from the file without copying.
    public var canBorrowFloat32: Bool {
        guard dtype == .float32, isContiguous, region.isWritable else { return false }
        return Int(bitPattern: region.base + elementOffset * 4) % MemoryLayout<Float>.alignment == 0
    }

    /// The values as a contiguous float32 tensor. Contiguous, aligned float32 data is borrowed from
    /// the mapping (zero copy; writes go to the process's private copy of those pages, and every
    /// tensor borrowed from the same storage sees them). float16, bfloat16 and float64 are converted;
    /// integer and bool tensors throw unless `convertingIntegers` is true.
    public func floatTensor(convertingIntegers: Bool = false) throws -> Tensor {
        if !dtype.isFloatingPoint && !convertingIntegers {
            throw CheckpointError(source, "tensor '\(name)' has dtype \(dtype.rawValue), not a floating-point type (pass convertingIntegers: true to convert)")
        }
        let count = elementCount
        if canBorrowFloat32 && count > 0 {
            let pointer = (region.base + elementOffset * 4).bindMemory(to: Float.self, capacity: count)
            return Tensor(shape: shape, storage: TensorStorage(borrowing: pointer, count: count, owner: region.owner))
        }
        let out = Tensor(zeros: shape)
        let destination = out.pointer
        let base = UnsafeRawPointer(region.base)
        switch dtype {
        case .float32:
            forEachElement { i, e in destination[i] = base.loadUnaligned(fromByteOffset: e * 4, as: Float.self) }
        case .float16:
            forEachElement { i, e in destination[i] = halfBitsToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: e * 2, as: UInt16.self))) }
        case .bfloat16:
            forEachElement { i, e in destination[i] = bfloat16BitsToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: e * 2, as: UInt16.self))) }
        case .float64:
            forEachElement { i, e in destination[i] = Float(base.loadUnaligned(fromByteOffset: e * 8, as: Double.self)) }
        case .int64:
            forEachElement { i, e in destination[i] = Float(base.loadUnaligned(fromByteOffset: e * 8, as: Int64.self)) }
        case .int32:
            forEachElement { i, e in destination[i] = Float(base.loadUnaligned(fromByteOffset: e * 4, as: Int32.self)) }
        case .uint8, .bool:
            forEachElement { i, e in destination[i] = Float(base.load(fromByteOffset: e, as: UInt8.self)) }
        }
        return out
    }

    /// Integer values (int64, int32, uint8 and bool are widened); floating-point tensors throw.
    public func int64Values() throws -> [Int64] {
        let base = UnsafeRawPointer(region.base)
        var out = [Int64](repeating: 0, count: elementCount)
        try out.withUnsafeMutableBufferPointer { destination in
            switch dtype {
            case .int64: forEachElement { i, e in destination[i] = base.loadUnaligned(fromByteOffset: e * 8, as: Int64.self) }
            case .int32: forEachElement { i, e in destination[i] = Int64(base.loadUnaligned(fromByteOffset: e * 4, as: Int32.self)) }
            case .uint8, .bool: forEachElement { i, e in destination[i] = Int64(base.load(fromByteOffset: e, as: UInt8.self)) }
            case .float32, .float16, .bfloat16, .float64:
                throw CheckpointError(source, "tensor '\(name)' has dtype \(dtype.rawValue), expected an integer type")
            }
        }
        return out
    }

    /// Raw bytes of a uint8 or bool tensor.
    public func uint8Values() throws -> [UInt8] {
        guard dtype == .uint8 || dtype == .bool else {
            throw CheckpointError(source, "tensor '\(name)' has dtype \(dtype.rawValue), expected uint8")
        }
        let base = UnsafeRawPointer(region.base)
        var out = [UInt8](repeating: 0, count: elementCount)
        out.withUnsafeMutableBufferPointer { destination in
            forEachElement { i, e in destination[i] = base.load(fromByteOffset: e, as: UInt8.self) }
        }
        return out
    }

    /// Values of a floating-point tensor in double precision (float64 without rounding).
    public func doubleValues() throws -> [Double] {
        if dtype == .float64 {
            let base = UnsafeRawPointer(region.base)
            var out = [Double](repeating: 0, count: elementCount)
            out.withUnsafeMutableBufferPointer { destination in
                forEachElement { i, e in destination[i] = base.loadUnaligned(fromByteOffset: e * 8, as: Double.self) }
            }
            return out
        }
        return try floatTensor().values.map(Double.init)
    }

    /// Calls `body(destinationIndex, sourceElementIndex)` for every element in row-major order.
    @inline(__always)
    func forEachElement(_ body: (Int, Int) throws -> Void) rethrows {
        let count = elementCount
        guard count > 0 else { return }
        if isContiguous {
            for i in 0..<count { try body(i, elementOffset + i) }
            return
        }
        let rank = shape.count
        let innerSize = shape[rank - 1]
        let innerStride = strides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var outer = elementOffset
        var i = 0
        while i < count {
            var e = outer
            for _ in 0..<innerSize {
                try body(i, e)
                i += 1
                e += innerStride
            }
            // Advance the odometer over the outer dimensions.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                outer += strides[d]
                if index[d] < shape[d] { break }
                outer -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

/// Named tensors from one checkpoint, in file order.
public struct StateDict: Sendable {
    /// The file path (for error messages).
    public let source: String
    /// Tensor names in file order.
    public private(set) var keys: [String]
    private var tensors: [String: CheckpointTensor]
    /// String metadata (safetensors `__metadata__`).
    public private(set) var metadata: [String: String]
    /// Non-tensor leaves (ints, strings, ...) of a pickled checkpoint, with their flattened keys.
    public private(set) var otherValues: [(key: String, value: PickleValue)]

    public init(source: String, tensors: [CheckpointTensor], metadata: [String: String] = [:], otherValues: [(key: String, value: PickleValue)] = []) throws {
        self.source = source
        self.metadata = metadata
        self.otherValues = otherValues
        var table: [String: CheckpointTensor] = [:]
        var keys: [String] = []
        for t in tensors {
            guard table[t.name] == nil else { throw CheckpointError(source, "duplicate tensor name '\(t.name)'") }
            table[t.name] = t
            keys.append(t.name)
        }
        self.tensors = table
        self.keys = keys
    }

    public var count: Int { keys.count }

    public subscript(name: String) -> CheckpointTensor? { tensors[name] }

    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// The tensor named `name`, or an error naming the key and file.
    public func tensor(_ name: String) throws -> CheckpointTensor {
        guard let t = tensors[name] else {
            throw CheckpointError(source, "no tensor named '\(name)' (\(count) tensors in file)")
        }
        return t
    }

    /// Shortcut for `tensor(name).floatTensor()`.
    public func floatTensor(_ name: String) throws -> Tensor {
        try tensor(name).floatTensor()
    }

    /// A non-tensor value by flattened key.
    public func value(_ name: String) -> PickleValue? {
        otherValues.first { $0.key == name }?.value
    }

    /// The entries under `prefix.` with the prefix removed, e.g. `scoped(to: "model_state_dict")`.
    public func scoped(to prefix: String) -> StateDict {
        let dotted = prefix.isEmpty ? "" : prefix + "."
        func strip(_ key: String) -> String? {
            guard key.hasPrefix(dotted) else { return nil }
            return String(key.dropFirst(dotted.count))
        }
        var out = self
        out.keys = keys.compactMap(strip)
        var table: [String: CheckpointTensor] = [:]
        for key in keys {
            if let short = strip(key), let t = tensors[key] { table[short] = t }
        }
        out.tensors = table
        out.otherValues = otherValues.compactMap { item in strip(item.key).map { (key: $0, value: item.value) } }
        return out
    }
}

/// Opens any supported checkpoint by content: zip (`PK\x03\x04`) holding `data.pkl` -> PyTorch
/// (or TorchScript) archive; zip of `.npy` files -> npz; `\x93NUMPY` -> npy; otherwise safetensors.
public enum CheckpointLoader {
    public static func load(_ path: String) throws -> StateDict {
        let file = try MappedFile(path: path)
        let region = file.region
        if region.count >= 4, region.load(UInt32.self, at: 0) == 0x0403_4B50 || region.load(UInt32.self, at: 0) == 0x0605_4B50 {
            let archive = try ZipArchive(file: file)
            if TorchCheckpoint.findPickle(in: archive) != nil {
                return try TorchCheckpoint(archive: archive).stateDict()
            }
            if archive.entries.contains(where: { $0.name.hasSuffix(".npy") }) {
                return try NumpyReader.loadNpz(archive: archive)
            }
            throw CheckpointError(path, "zip archive holds neither a PyTorch data.pkl nor .npy arrays")
        }
        if region.count >= 6, region.copyBytes(offset: 0, length: 6) == NumpyReader.magic {
            return try NumpyReader.loadNpy(file: file)
        }
        if SafetensorsReader.looksLikeSafetensors(region) {
            return try SafetensorsReader.load(file: file)
        }
        throw CheckpointError(path, "unknown checkpoint format (not a zip/PyTorch archive, npz, npy or safetensors file)")
    }
}

/// An array to write (safetensors, npz, npy).
public enum OutputArray: Sendable {
    case float32(Tensor)
    case int64(shape: [Int], values: [Int64])
    case uint8(shape: [Int], values: [UInt8])

    public var shape: [Int] {
        switch self {
        case .float32(let t): return t.shape
        case .int64(let shape, _), .uint8(let shape, _): return shape
        }
    }

    public var dtype: DType {
        switch self {
        case .float32: return .float32
        case .int64: return .int64
        case .uint8: return .uint8
        }
    }

    var byteCount: Int { shape.reduce(1, *) * dtype.itemSize }

    /// Checks that the shape matches the number of values.
    func validate(name: String, path: String) throws {
        guard let count = checkedElementCount(shape) else {
            throw CheckpointError(path, "array '\(name)': invalid shape \(shape)")
        }
        switch self {
        case .float32(let t):
            guard t.storage.count >= count else {
                throw CheckpointError(path, "array '\(name)': tensor storage holds \(t.storage.count) values, shape \(shape) needs \(count)")
            }
        case .int64(_, let values):
            guard values.count == count else { throw CheckpointError(path, "array '\(name)': shape \(shape) needs \(count) values, got \(values.count)") }
        case .uint8(_, let values):
            guard values.count == count else { throw CheckpointError(path, "array '\(name)': shape \(shape) needs \(count) values, got \(values.count)") }
        }
    }

    /// Passes the little-endian element bytes to `body`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .float32(let t): return try body(UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))
        case .int64(_, let values): return try values.withUnsafeBytes(body)
        case .uint8(_, let values): return try values.withUnsafeBytes(body)
        }
    }
}
