import Foundation

/// Reuses large float blocks between tensors of the same size.
///
/// A forward pass allocates the same large activations layer after layer, and sampling runs
/// the same forward over and over. glibc serves blocks over 32 MiB (the upsampler's MLP
/// activations) with fresh mmaps, so every one of them page-faults its way in (the kernel
/// zeroes each page) and is unmapped again when freed: about 4% of an upsample forward.
/// Freed blocks of 1 MiB and more are kept here, up to `capacityBytes` in all, and handed
/// back to the next allocation of exactly that size.
enum BlockCache {
    static let minimumBytes = 1 << 20
    static let capacityBytes = 512 << 20

    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var heldBytes = 0

    static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count * 4 >= minimumBytes {
            lock.lock()
            let reused = free[count]?.popLast()
            if reused != nil { heldBytes -= count * 4 }
            lock.unlock()
            if let reused { return reused }
        }
        return UnsafeMutablePointer<Float>.allocate(capacity: count)
    }

    static func release(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        if count * 4 >= minimumBytes {
            lock.lock()
            if heldBytes + count * 4 <= capacityBytes {
                free[count, default: []].append(pointer)
                heldBytes += count * 4
                lock.unlock()
                return
            }
            lock.unlock()
        }
        pointer.deallocate()
    }
}
