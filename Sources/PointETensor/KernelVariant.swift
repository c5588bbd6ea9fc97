import CKernels
import Foundation

/// The instruction-set variants of the C kernels (Sources/CKernels). All of them give the same
/// bits; they differ in speed. The process uses the best one its CPU supports unless the
/// environment variable POINTE_KERNELS names another (baseline, avx2 or avx512), which lets
/// `pointe parity` and the tests run everything under each one.
public enum KernelVariant: Int32, CaseIterable, Sendable, CustomStringConvertible {
    case baseline = 0  // POINTE_KERNELS_BASELINE
    case avx2 = 1      // POINTE_KERNELS_AVX2
    case avx512 = 2    // POINTE_KERNELS_AVX512

    public static let environmentVariable = "POINTE_KERNELS"

    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    public init?(name: String) {
        guard let v = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = v
    }

    /// Compiled into this binary and runnable on this CPU.
    public var isSupported: Bool { pointe_kernels_supported(rawValue) != 0 }

    public static var supported: [KernelVariant] { allCases.filter(\.isSupported) }

    /// The fastest supported variant (what runs when nothing is forced).
    public static var best: KernelVariant { supported.last ?? .baseline }

    /// The variant the kernels use now (POINTE_KERNELS applied on first use).
    public static var active: KernelVariant {
        _ = environmentApplied
        return KernelVariant(rawValue: pointe_kernels_active()) ?? .baseline
    }

    /// Switches the whole process to `variant` (tests run fixtures under each this way).
    public static func use(_ variant: KernelVariant) throws {
        _ = environmentApplied
        guard pointe_kernels_set_active(variant.rawValue) == 0 else { throw KernelVariantError.unsupported(variant) }
    }

    /// The variant POINTE_KERNELS asks for (nil when unset or empty), checked: an unknown name or
    /// a variant this CPU cannot run is an error naming the variable and the value.
    public static func requested(in environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KernelVariant? {
        guard let raw = environment[environmentVariable], !raw.isEmpty else { return nil }
        guard let variant = KernelVariant(name: raw) else { throw KernelVariantError.unknown(raw) }
        guard variant.isSupported else { throw KernelVariantError.unsupported(variant) }
        return variant
    }

    /// Applies POINTE_KERNELS once per process. Entry points (the CLI) call `requested()` first
    /// to report a bad value cleanly; a library user who sets a bad one stops here, loudly,
    /// rather than computing with a variant they did not ask for.
    private static let environmentApplied: Void = {
        do {
            if let v = try requested() { _ = pointe_kernels_set_active(v.rawValue) }
        } catch {
            fatalError("\(error)")
        }
    }()
}

public enum KernelVariantError: Error, CustomStringConvertible, Equatable {
    case unknown(String)
    case unsupported(KernelVariant)

    public var description: String {
        let names = KernelVariant.allCases.map(\.description).joined(separator: ", ")
        let usable = KernelVariant.supported.map(\.description).joined(separator: ", ")
        switch self {
        case .unknown(let raw):
            return "\(KernelVariant.environmentVariable)=\(raw): not a kernel variant (one of \(names))"
        case .unsupported(let v):
            return "\(KernelVariant.environmentVariable)=\(v): this CPU cannot run it (it supports \(usable))"
        }
    }
}

/// The C kernels through the active variant (the one place Swift calls them).
public enum Kernels {
    /// exp(p[i] - max p) in place over n >= 1 floats; returns their sum.
    @inline(__always)
    public static func expShiftedSum(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        pointe_exp_shifted_sum_variant(KernelVariant.active.rawValue, p, n)
    }

    /// Exact (erf) GELU in place over n floats.
    @inline(__always)
    public static func gelu(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        pointe_gelu_variant(KernelVariant.active.rawValue, p, n)
    }

    /// CLIP's QuickGELU in place, x sigmoid(1.702 x).
    @inline(__always)
    public static func quickGELU(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        pointe_quick_gelu_variant(KernelVariant.active.rawValue, p, n)
    }

    /// LayerNorm of `rows` rows of `width` floats from x into y (statistics in double).
    @inline(__always)
    public static func layerNorm(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float) {
        pointe_layer_norm_variant(KernelVariant.active.rawValue, x, y, rows, width, weight, bias, eps)
    }

    /// One attention head's keys and values packed for `attentionBlock` (sizes from
    /// `packedKeysCount` / `packedValuesCount`).
    @inline(__always)
    static func packAttentionKeys(_ k: UnsafePointer<Float>, stride: Int, keys: Int, headDim: Int,
                                  into packed: UnsafeMutablePointer<Float>) {
        pointe_attention_pack_keys_variant(KernelVariant.active.rawValue, k, stride, keys, headDim, packed)
    }

    @inline(__always)
    static func packAttentionValues(_ v: UnsafePointer<Float>, stride: Int, keys: Int, headDim: Int,
                                    into packed: UnsafeMutablePointer<Float>) {
        pointe_attention_pack_values_variant(KernelVariant.active.rawValue, v, stride, keys, headDim, packed)
    }

    static func packedKeysCount(keys: Int, headDim: Int) -> Int { pointe_attention_packed_keys_floats(keys, headDim) }
    static func packedValuesCount(keys: Int, headDim: Int) -> Int { pointe_attention_packed_values_floats(keys, headDim) }
    /// Query rows the active variant's attention tiles take at once (6 on AVX2, 12 on AVX-512).
    static var attentionTileRows: Int { pointe_attention_tile_rows_variant(KernelVariant.active.rawValue) }
    static func attentionScratchCount(rows: Int, keys: Int, headDim: Int) -> Int {
        pointe_attention_scratch_floats(rows, keys, headDim)
    }

    /// Softmax attention of `rows` query rows of one head against its packed keys and values;
    /// row r sees the first min(keys, visible + r) keys (`visible` = keys: all of them).
    @inline(__always)
    static func attentionBlock(q: UnsafePointer<Float>, qStride: Int, rows: Int, packedKeys: UnsafePointer<Float>,
                               packedValues: UnsafePointer<Float>, keys: Int, visible: Int, headDim: Int, scale: Float,
                               scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, outStride: Int) {
        pointe_attention_block_variant(KernelVariant.active.rawValue, q, qStride, rows, packedKeys, packedValues, keys,
                                       visible, headDim, scale, scratch, out, outStride)
    }
}
