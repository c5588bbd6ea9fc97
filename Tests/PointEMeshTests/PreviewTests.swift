import Foundation
import PointECloud
import XCTest
@testable import PointEMesh

final class PreviewTests: XCTestCase {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The PNG is structurally valid: signature, IHDR with our size, chunk CRCs, and the IDAT
    /// inflates (zlib) back to exactly the filtered scanlines.
    func testPNGStructureAndContent() throws {
        var image = PreviewImage(width: 5, height: 3, background: (10, 20, 30))
        image[4, 2] = (200, 100, 50)
        let png = try image.pngData()
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let chunks = try PNGChunks.parse(png)
        XCTAssertEqual(chunks.map(\.type), ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(Array(chunks[0].data), [0, 0, 0, 5, 0, 0, 0, 3, 8, 2, 0, 0, 0])
        let scanlines = try PNGChunks.inflate(chunks[1].data)
        XCTAssertEqual(scanlines.count, 3 * (1 + 5 * 3))
        XCTAssertEqual(Array(scanlines.suffix(3)), [200, 100, 50])
        XCTAssertEqual(scanlines[0], 0)
    }

    /// The corgi cloud renders into a 3x3 grid of views that are not blank, differ from each
    /// other (the cloud turns), and carry the cloud's colours.
    func testCorgiGridRendersNineDistinctViews() throws {
        let cloud = try PointCloud.readNPZ(Self.data.appendingPathComponent("pc_corgi.npz").path)
        let image = try PointCloudPreview(tileSize: 64, grid: 3).render(cloud)
        XCTAssertEqual(image.width, 192)
        // POINTE_TEST_PREVIEW=path keeps the rendering for a look.
        if let keep = ProcessInfo.processInfo.environment["POINTE_TEST_PREVIEW"] { try image.writePNG(to: keep) }
        var tiles: [[UInt8]] = []
        for view in 0..<9 {
            var tile: [UInt8] = []
            for y in 0..<64 {
                let start = ((view / 3 * 64 + y) * 192 + (view % 3) * 64) * 3
                tile.append(contentsOf: image.pixels[start..<(start + 64 * 3)])
            }
            let drawn = stride(from: 0, to: tile.count, by: 3).filter { tile[$0] != 255 || tile[$0 + 1] != 255 || tile[$0 + 2] != 255 }
            // The corgi spans about a third of a view (views are framed for the reference's +-0.75 bounds).
            XCTAssertGreaterThan(drawn.count, 64 * 64 / 50, "view \(view) is nearly empty")
            tiles.append(tile)
        }
        XCTAssertEqual(Set(tiles).count, 9)
    }

    /// The drawn pixels carry the cloud's colours: their mean colour, brightness aside (previews
    /// shade by depth), has the same proportions of red, green and blue as the cloud's points.
    func testCorgiPreviewColoursFollowTheCloud() throws {
        let cloud = try PointCloud.readNPZ(Self.data.appendingPathComponent("pc_corgi.npz").path)
        let image = try PointCloudPreview(tileSize: 96, grid: 3).render(cloud)
        var drawn = SIMD3<Double>(repeating: 0), count = 0.0
        for i in 0..<(image.width * image.height) {
            let p = SIMD3(Double(image.pixels[i * 3]), Double(image.pixels[i * 3 + 1]), Double(image.pixels[i * 3 + 2]))
            if p == SIMD3(repeating: 255) { continue }
            drawn += p
            count += 1
        }
        let pixels = drawn / count
        let r = cloud.channel("R")!, g = cloud.channel("G")!, b = cloud.channel("B")!
        func mean(_ values: [Float]) -> Double { values.reduce(0.0) { $0 + Double($1) } / Double(values.count) }
        let points = SIMD3<Double>(mean(r), mean(g), mean(b))
        let pixelShare = pixels / pixels.sum(), pointShare = points / points.sum()
        for channel in 0..<3 {
            XCTAssertEqual(pixelShare[channel], pointShare[channel], accuracy: 0.03, "channel \(channel): \(pixelShare) vs \(pointShare)")
        }
        // And it is not grey: the corgi is distinctly more red than blue.
        XCTAssertGreaterThan(pixelShare[0], pixelShare[2] + 0.05)
    }

    func testEmptyAndNonFiniteCloudsAreRefused() {
        XCTAssertThrowsError(try PointCloudPreview().render(PointCloud(coords: [])))
        XCTAssertThrowsError(try PointCloudPreview().render(PointCloud(coords: [0, .nan, 0])))
    }
}

/// A minimal PNG chunk reader for the tests (checks every CRC).
enum PNGChunks {
    struct Chunk { var type: String; var data: Data }

    static func parse(_ png: Data) throws -> [Chunk] {
        var chunks: [Chunk] = []
        var offset = 8
        let bytes = [UInt8](png)
        func u32(_ at: Int) -> UInt32 { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        while offset + 12 <= bytes.count {
            let length = Int(u32(offset))
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let data = Data(bytes[(offset + 8)..<(offset + 8 + length)])
            let crc = Data(bytes[(offset + 4)..<(offset + 8 + length)]).withUnsafeBytes {
                UInt32(crc32Checksum($0))
            }
            guard crc == u32(offset + 8 + length) else { throw MeshError("<png>", "bad CRC in \(type)") }
            chunks.append(Chunk(type: type, data: data))
            offset += 12 + length
        }
        return chunks
    }

    static func inflate(_ data: Data) throws -> [UInt8] {
        try zlibInflate(data)
    }
}

import CZlib

func crc32Checksum(_ bytes: UnsafeRawBufferPointer) -> UInt {
    UInt(crc32(0, bytes.bindMemory(to: Bytef.self).baseAddress, uInt(bytes.count)))
}

func zlibInflate(_ data: Data) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: 1 << 20)
    var length = uLongf(output.count)
    let status = data.withUnsafeBytes {
        uncompress(&output, &length, $0.bindMemory(to: Bytef.self).baseAddress, uLong(data.count))
    }
    guard status == Z_OK else { throw MeshError("<png>", "inflate failed: \(status)") }
    return Array(output.prefix(Int(length)))
}

/// Mesh previews: a closed coloured shape comes out shaded, in its colours, hiding back faces.
final class MeshPreviewTests: XCTestCase {
    /// An octahedron whose upper half is red and lower half blue.
    func octahedron() -> TriMesh {
        let vertices: [Float] = [1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1]
        let faces: [UInt32] = [0, 2, 4, 2, 1, 4, 1, 3, 4, 3, 0, 4, 2, 0, 5, 1, 2, 5, 3, 1, 5, 0, 3, 5]
        let up: [Float] = [0.5, 0.5, 0.5, 0.5, 1, 0]  // z >= 0 -> red, the bottom apex blue
        return TriMesh(vertices: vertices, faces: faces, vertexChannels: [
            .init(name: "R", values: up.map { $0 > 0.75 ? 1 : ($0 > 0.25 ? 0.5 : 0) }),
            .init(name: "G", values: [0, 0, 0, 0, 0, 0]),
            .init(name: "B", values: up.map { $0 < 0.25 ? 1 : ($0 < 0.75 ? 0.5 : 0) }),
        ])
    }

    func testShadedColouredViews() throws {
        let image = try MeshPreview(tileSize: 48, grid: 2).render(octahedron())
        XCTAssertEqual(image.width, 96)
        var drawn = 0, reddish = 0, bluish = 0
        for i in 0..<(image.width * image.height) {
            let (r, g, b) = (image.pixels[i * 3], image.pixels[i * 3 + 1], image.pixels[i * 3 + 2])
            if (r, g, b) == (255, 255, 255) { continue }
            drawn += 1
            XCTAssertEqual(g, 0, "no green anywhere on this mesh")
            if r > b { reddish += 1 } else if b > r { bluish += 1 }
        }
        XCTAssertGreaterThan(drawn, image.width * image.height / 6)
        // Seen from above, the red upper half dominates.
        XCTAssertGreaterThan(reddish, bluish)
    }

    func testBadMeshesAreRefused() {
        XCTAssertThrowsError(try MeshPreview().render(TriMesh(vertices: [0, 0, 0], faces: [])))
        XCTAssertThrowsError(try MeshPreview().render(TriMesh(vertices: [0, 0, 0, 1, 0, 0, 0, 1, 0], faces: [0, 1, 7])))
    }
}
