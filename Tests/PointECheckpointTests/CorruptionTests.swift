import Foundation
import PointECheckpoint
import XCTest

/// Damaged files must produce a `CheckpointError` naming the file, never a crash.
final class CorruptionTests: XCTestCase {
    func load(_ url: URL) throws {
        let sd = try CheckpointLoader.load(url.path)
        // Touch every tensor too, in case damage only shows when reading.
        for key in sd.keys { _ = try sd.tensor(key).floatTensor(convertingIntegers: true) }
    }

    func testTruncatedTorchCheckpoint() throws {
        let original = try readBytes(fixturePath("uncond.pt"))
        let dir = try makeTemporaryDirectory(self)
        let cuts = [0, 1, 3, 4, 21, 22, 100, 5000, original.count / 3, original.count / 2, original.count - 200,
                    original.count - 100, original.count - 23, original.count - 22, original.count - 1]
        for cut in cuts {
            let url = dir.appendingPathComponent("cut-\(cut).pt")
            try writeBytes(Array(original.prefix(cut)), to: url)
            assertThrowsMentioning([url.path]) { try load(url) }
            assertThrowsMentioning([url.path]) { try TorchCheckpoint.load(url.path) }
            XCTAssertThrowsError(try load(url)) { XCTAssertTrue($0 is CheckpointError, "cut \(cut): \($0)") }
        }
    }

    func testCorruptedCentralDirectory() throws {
        let original = try readBytes(fixturePath("uncond.pt"))
        let dir = try makeTemporaryDirectory(self)
        let firstCentral = try XCTUnwrap(indexOf([0x50, 0x4B, 0x01, 0x02], in: original))

        // Broken signature of the first central directory record.
        var bad = original
        bad[firstCentral + 1] = 0x00
        var url = dir.appendingPathComponent("bad-signature.pt")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path, "central directory"]) { try load(url) }

        // A local-header offset pointing past the end of the file.
        bad = original
        bad.replaceSubrange((firstCentral + 42)..<(firstCentral + 46), with: le32(0x7FFF_0000))
        url = dir.appendingPathComponent("bad-offset.pt")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path, "uncond/data.pkl", "outside"]) { try load(url) }

        // A compressed size far larger than the file.
        bad = original
        bad.replaceSubrange((firstCentral + 20)..<(firstCentral + 24), with: le32(0x7FFF_0000))
        url = dir.appendingPathComponent("bad-size.pt")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path, "uncond/data.pkl"]) { try load(url) }

        // A name length that runs past the central directory.
        bad = original
        bad.replaceSubrange((firstCentral + 28)..<(firstCentral + 30), with: le16(0xFFFF))
        url = dir.appendingPathComponent("bad-name.pt")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path, "central directory"]) { try load(url) }

        // The ZIP64 end record pointing to a central directory beyond the file.
        bad = original
        let record = try XCTUnwrap(indexOf([0x50, 0x4B, 0x06, 0x06], in: original, from: firstCentral))
        bad.replaceSubrange((record + 48)..<(record + 56), with: le64(1 << 40))
        url = dir.appendingPathComponent("bad-cd-offset.pt")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path, "central directory"]) { try load(url) }

        // Too many entries claimed.
        bad = original
        bad.replaceSubrange((record + 32)..<(record + 40), with: le64(1 << 50))
        url = dir.appendingPathComponent("bad-count.pt")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path, "entries"]) { try load(url) }

        // A damaged local header signature.
        bad = original
        bad[0] = 0x51
        url = dir.appendingPathComponent("bad-local.pt")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path]) { try load(url) }
        assertThrowsMentioning([url.path, "local header"]) { try TorchCheckpoint.load(url.path) }
    }

    /// A member whose bytes were overwritten in place keeps valid zip structure; only its CRC-32
    /// tells. Every member a reader uses (npz arrays, .pt pickle and zero-copy tensor storages)
    /// must be refused, naming the file and the member.
    func testOverwrittenMemberFailsCRC() throws {
        let dir = try makeTemporaryDirectory(self)
        let cases: [(fixture: String, members: [String])] = [
            ("pc_corgi.npz", ["coords.npy", "R.npy", "G.npy", "B.npy"]),
            ("uncond.pt", ["uncond/data.pkl", "uncond/byteorder", "uncond/data/0", "uncond/data/1"]),
        ]
        for (fixture, members) in cases {
            let original = try readBytes(fixturePath(fixture))
            XCTAssertNoThrow(try load(URL(fileURLWithPath: fixturePath(fixture))), "the undamaged \(fixture) loads")
            let archive = try ZipArchive(path: fixturePath(fixture))
            for member in members {
                let entry = try XCTUnwrap(archive.entry(named: member), "\(fixture) has \(member)")
                XCTAssertEqual(entry.method, 0, "\(member) is stored, so its bytes are used in place")
                var bad = original
                // The last byte: inside npy data / tensor storage, past any header the readers parse.
                let at = entry.dataOffset + entry.compressedSize - 1
                bad[at] ^= 0xFF
                let url = dir.appendingPathComponent("damaged-\(member.replacingOccurrences(of: "/", with: "_"))-\(fixture)")
                try writeBytes(bad, to: url)
                assertThrowsMentioning([url.path, "'\(member)'", "bad CRC-32"]) { try load(url) }
            }
        }
    }

    /// Deflated members were CRC-checked before; they still are, with the same message.
    func testDeflatedMemberWithWrongCRCFails() throws {
        let original = try readBytes(fixturePath("deflated.npz"))
        let firstCentral = try XCTUnwrap(indexOf([0x50, 0x4B, 0x01, 0x02], in: original))
        var bad = original
        bad[firstCentral + 16] ^= 0xFF  // the stored CRC-32 of a.npy
        let url = try makeTemporaryDirectory(self).appendingPathComponent("wrong-crc.npz")
        try writeBytes(bad, to: url)
        assertThrowsMentioning([url.path, "'a.npy'", "bad CRC-32"]) { try load(url) }
        XCTAssertNoThrow(try load(URL(fileURLWithPath: fixturePath("deflated.npz"))))
    }

    func testCorruptedPickleInsideArchive() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("opcode.pt")
        // PROTO 2, EMPTY_DICT, then 0xFF which is not an opcode.
        try writeBytes(buildZip([("archive/data.pkl", [0x80, 0x02, 0x7D, 0xFF, 0x2E])]), to: url)
        assertThrowsMentioning([url.path, "archive/data.pkl", "0xff", "offset 3"]) { try CheckpointLoader.load(url.path) }
    }

    func testRandomDamageNeverCrashes() throws {
        let original = try readBytes(fixturePath("uncond.pt"))
        let dir = try makeTemporaryDirectory(self)
        var generator = SplitMix(seed: 42)
        let url = dir.appendingPathComponent("damaged.pt")
        var failures = 0
        for _ in 0..<60 {
            var bad = original
            // Damage a few bytes in the pickle, the central directory or the end records.
            for _ in 0..<4 {
                let region = Int(generator.next() % 3)
                let position: Int
                switch region {
                case 0: position = 64 + Int(generator.next() % 4951)  // data.pkl payload
                case 1: position = original.count - 2600 + Int(generator.next() % 2500)  // central directory
                default: position = original.count - 120 + Int(generator.next() % 120)  // end records
                }
                bad[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            try writeBytes(bad, to: url)
            do { try load(url) } catch {
                failures += 1
                XCTAssertTrue(String(describing: error).contains(url.path), "\(error)")
            }
        }
        XCTAssertGreaterThan(failures, 0)
    }

    func testUnknownAndEmptyFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let empty = dir.appendingPathComponent("empty.bin")
        try writeBytes([], to: empty)
        assertThrowsMentioning([empty.path, "empty"]) { try CheckpointLoader.load(empty.path) }

        let text = dir.appendingPathComponent("notes.txt")
        try writeBytes(Array("hello, this is not a checkpoint".utf8), to: text)
        assertThrowsMentioning([text.path, "unknown"]) { try CheckpointLoader.load(text.path) }

        let missing = dir.appendingPathComponent("missing.pt").path
        assertThrowsMentioning([missing, "cannot open"]) { try CheckpointLoader.load(missing) }

        assertThrowsMentioning([dir.path, "not a regular file"]) { try CheckpointLoader.load(dir.path) }

        let plainZip = dir.appendingPathComponent("other.zip")
        try writeBytes(buildZip([("readme.txt", Array("hi".utf8))], zip64: false), to: plainZip)
        assertThrowsMentioning([plainZip.path, "neither"]) { try CheckpointLoader.load(plainZip.path) }
    }
}

/// Deterministic generator for the damage test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
