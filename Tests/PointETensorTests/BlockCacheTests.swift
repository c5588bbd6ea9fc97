@testable import PointETensor
import XCTest

final class BlockCacheTests: XCTestCase {
    /// A freed large block comes back for the next allocation of the same size, and a zeroed
    /// tensor built on a reused block is still all zeros.
    func testLargeBlocksAreReusedAndZeroedTensorsStayZero() {
        let count = 1 << 19  // 2 MiB of floats: over the cache's 1 MiB threshold
        var address: UnsafeMutablePointer<Float>?
        do {
            let dirty = Tensor(uninitialized: [count])
            for i in 0..<count { dirty.pointer[i] = 7 }
            address = dirty.pointer
        }
        let clean = Tensor(zeros: [count])
        XCTAssertEqual(clean.pointer, address, "the freed block was not reused")
        XCTAssertTrue((0..<count).allSatisfy { clean.pointer[$0] == 0 })
    }

    func testSmallBlocksBypassTheCache() {
        let small = BlockCache.allocate(16)
        BlockCache.release(small, count: 16)
        let other = BlockCache.allocate(1 << 20)
        XCTAssertNotEqual(other, small)
        BlockCache.release(other, count: 1 << 20)
    }
}
