import Foundation

/// Memory behind a tensor: either allocated here (and freed on deinit) or borrowed from an
/// owner that keeps it alive, such as a memory-mapped checkpoint file (zero-copy loading).
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    /// Keeps borrowed memory alive. `nil` means `base` was allocated by this storage.
    private let owner: AnyObject?

    /// Allocates `count` floats, zero-filled.
    public init(count: Int) {
        self.count = count
        self.base = BlockCache.allocate(max(count, 1))
        self.base.initialize(repeating: 0, count: max(count, 1))
        self.owner = nil
    }

    /// Wraps memory owned by `owner` (which must outlive every use of `pointer`).
    /// Allocates `count` floats without clearing them, for kernels that overwrite every element
    /// (clearing would be a wasted pass over memory on every layer).
    init(uninitializedCount count: Int) {
        self.count = count
        self.base = BlockCache.allocate(max(count, 1))
        self.owner = nil
    }

    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = pointer
        self.count = count
        self.owner = owner
    }

    public var isBorrowed: Bool { owner != nil }

    deinit {
        if owner == nil { BlockCache.release(base, count: max(count, 1)) }
    }
}

/// A contiguous, row-major Float32 tensor.
///
/// The storage is a reference: copies of a `Tensor` share their data, and in-place kernels
/// (named `...InPlace`) write through to every copy. Kernels that return a tensor always
/// return fresh storage. `reshaped` shares storage.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let storage: TensorStorage

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.base }
    public var description: String { "Tensor\(shape)" }

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.storage = TensorStorage(count: shape.reduce(1, *))
    }

    /// A tensor whose contents are unspecified until written; only for kernels that write
    /// every element before anyone reads it.
    init(uninitialized shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(uninitializedCount: shape.reduce(1, *))
    }

    public init(shape: [Int], storage: TensorStorage) {
        precondition(shape.reduce(1, *) <= storage.count, "shape \(shape) exceeds storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        pointer.update(repeating: value, count: count)
    }

    /// The values as an array (a copy).
    public var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    /// Element access by full index (slow path, for tests and small bookkeeping).
    public subscript(_ index: Int...) -> Float {
        get { pointer[flatIndex(index)] }
        nonmutating set { pointer[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of range for \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// Same data, new shape (no copy). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let inferred = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            dims[inferred] = known == 0 ? 0 : count / known
        }
        precondition(dims.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: dims, storage: storage)
    }

    /// A fresh copy that owns its memory.
    public func copy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    public var maxAbs: Float {
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(pointer[i])) }
        return m
    }

    /// Largest absolute difference against a tensor of the same shape.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<count {
            let d = abs(pointer[i] - other.pointer[i])
            if d.isNaN { return .nan }
            m = max(m, d)
        }
        return m
    }
}
