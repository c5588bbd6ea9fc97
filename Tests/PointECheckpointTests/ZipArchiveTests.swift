import Foundation
import PointECheckpoint
import XCTest

final class ZipArchiveTests: XCTestCase {
    let members: [(String, [UInt8])] = [
        ("top/a.bin", Array("hello".utf8)),
        ("top/empty", []),
        ("top/b.bin", (0..<200).map { UInt8($0) }),
    ]

    func check(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("test.zip")
        try writeBytes(bytes, to: url)
        let archive = try ZipArchive(path: url.path)
        XCTAssertEqual(archive.entries.map(\.name), members.map(\.0), file: file, line: line)
        for (name, data) in members {
            let region = try archive.contents(named: name)
            XCTAssertEqual(Array(region.bytes), data, name, file: file, line: line)
            XCTAssertTrue(region.owner === archive.file, "stored members are views into the mapping", file: file, line: line)
        }
        assertThrowsMentioning(["top/missing", url.path], file: file, line: line) { try archive.contents(named: "top/missing") }
    }

    func testClassicEndRecord() throws {
        try check(buildZip(members, zip64: false))
    }

    func testZip64EndRecords() throws {
        try check(buildZip(members, zip64: true))
    }

    func testZip64ExtraFields() throws {
        try check(buildZip(members, zip64: true, zip64Extras: true))
    }

    func testArchiveComment() throws {
        try check(buildZip(members, zip64: false, comment: Array("a comment PK".utf8)))
        try check(buildZip(members, zip64: true, comment: [UInt8](repeating: 0x20, count: 3000)))
    }

    func testSaturatedFieldsWithoutZip64DataAreRejected() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.zip")
        // ZIP64 extras expected by the central directory but the archive has no ZIP64 end records:
        // the classic EOCD is still valid, so the failure is the missing extra field.
        var bytes = buildZip(members, zip64: false, zip64Extras: true)
        try writeBytes(bytes, to: url)
        XCTAssertNoThrow(try ZipArchive(path: url.path))
        // Now strip the ZIP64 extra field length from the first central record.
        let central = try XCTUnwrap(indexOf([0x50, 0x4B, 0x01, 0x02], in: bytes))
        bytes.replaceSubrange((central + 30)..<(central + 32), with: le16(9))
        try writeBytes(bytes, to: url)
        assertThrowsMentioning([url.path, "top/a.bin", "ZIP64"]) { try ZipArchive(path: url.path) }
        // An EOCD that needs ZIP64 data without a locator.
        bytes = buildZip(members, zip64: true)
        let locator = try XCTUnwrap(indexOf([0x50, 0x4B, 0x06, 0x07], in: bytes))
        bytes[locator] = 0
        try writeBytes(bytes, to: url)
        assertThrowsMentioning([url.path, "ZIP64"]) { try ZipArchive(path: url.path) }
    }
}
