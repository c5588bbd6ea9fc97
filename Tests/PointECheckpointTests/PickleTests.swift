import Foundation
import PointECheckpoint
import XCTest

final class PickleTests: XCTestCase {
    func parse(_ bytes: [UInt8]) throws -> PickleValue {
        try Pickle.load(bytes, path: "/test/x.pkl", entry: "data.pkl")
    }

    func testScalarsAndContainers() throws {
        // Equivalent to pickle.dumps({'a': [1, -2, 300, 70000, -1.5, None, True, False], 'b': (b'xy', 'é')}, protocol=2)
        // written by hand with the opcodes below.
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28]  // PROTO 2, EMPTY_DICT, BINPUT 0, MARK
        p += [0x58] + le32(1) + Array("a".utf8)
        p += [0x5D, 0x28]  // EMPTY_LIST, MARK
        p += [0x4B, 0x01]  // BININT1 1
        p += [0x4A] + le32(-2)  // BININT -2
        p += [0x4D] + le16(300)  // BININT2 300
        p += [0x4A] + le32(70000)
        p += [0x47, 0xBF, 0xF8, 0, 0, 0, 0, 0, 0]  // BINFLOAT -1.5 (big-endian)
        p += [0x4E, 0x88, 0x89]  // NONE, NEWTRUE, NEWFALSE
        p += [0x65]  // APPENDS
        p += [0x8C, 0x01] + Array("b".utf8)  // SHORT_BINUNICODE
        p += [0x43, 0x02] + Array("xy".utf8)  // SHORT_BINBYTES
        p += [0x58] + le32(2) + [0xC3, 0xA9]  // 'é'
        p += [0x86]  // TUPLE2
        p += [0x75, 0x2E]  // SETITEMS, STOP
        let value = try parse(p)
        let items = try XCTUnwrap(value.dictItems)
        XCTAssertEqual(items.count, 2)
        let list = try XCTUnwrap(value["a"]?.sequenceItems)
        XCTAssertEqual(list.count, 8)
        XCTAssertEqual(list[0].intValue, 1)
        XCTAssertEqual(list[1].intValue, -2)
        XCTAssertEqual(list[2].intValue, 300)
        XCTAssertEqual(list[3].intValue, 70000)
        guard case .float(let f) = list[4] else { return XCTFail("float expected") }
        XCTAssertEqual(f, -1.5)
        guard case .none = list[5], case .bool(true) = list[6], case .bool(false) = list[7] else { return XCTFail("\(list)") }
        guard case .tuple(let pair) = try XCTUnwrap(value["b"]), case .bytes(let b) = pair[0] else { return XCTFail() }
        XCTAssertEqual(b, Array("xy".utf8))
        XCTAssertEqual(pair[1].stringValue, "é")
    }

    func testLongIntegers() throws {
        // LONG1 (little-endian two's complement) with 0, 1, 3, 2, 8 and 9 bytes.
        var p: [UInt8] = [0x80, 0x02, 0x28]
        p += [0x8A, 0x00]  // 0
        p += [0x8A, 0x01, 0xFF]  // -1
        p += [0x8A, 0x03, 0x00, 0x80, 0x00]  // 32768
        p += [0x8A, 0x02, 0x00, 0x80]  // -32768
        p += [0x8A, 0x08] + le64(Int.min)
        p += [0x8A, 0x09] + [UInt8](repeating: 0, count: 8) + [0x01]  // 2^64
        p += [0x6C, 0x2E]  // LIST, STOP
        let items = try XCTUnwrap(try parse(p).sequenceItems)
        XCTAssertEqual(items.prefix(5).map(\.intValue), [0, -1, 32768, -32768, Int.min])
        guard case .bigInt(let raw) = items[5] else { return XCTFail("\(items[5])") }
        XCTAssertEqual(raw.count, 9)
    }

    func testMemoSharesMutableContainers() throws {
        // A list is memoised while empty, appended to later, and fetched again from the memo.
        var p: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x05]  // EMPTY_LIST, BINPUT 5
        p += [0x4B, 0x07, 0x61]  // BININT1 7, APPEND
        p += [0x68, 0x05]  // BINGET 5
        p += [0x86, 0x2E]  // TUPLE2, STOP
        guard case .tuple(let pair) = try parse(p) else { return XCTFail() }
        XCTAssertEqual(pair[1].sequenceItems?.first?.intValue, 7)
    }

    func testProtocol4Opcodes() throws {
        // FRAME, STACK_GLOBAL, MEMOIZE, EMPTY_SET/ADDITEMS, NEWOBJ, BUILD, BINUNICODE8, LONG_BINGET.
        var p: [UInt8] = [0x80, 0x04, 0x95] + le64(40)
        p += [0x8C, 0x03] + Array("mod".utf8) + [0x94]  // memo 0
        p += [0x8C, 0x04] + Array("Type".utf8) + [0x94]  // memo 1
        p += [0x93, 0x94]  // STACK_GLOBAL, memo 2
        p += [0x29, 0x81]  // EMPTY_TUPLE, NEWOBJ
        p += [0x7D, 0x8D] + le64(1) + Array("k".utf8) + [0x8F, 0x28, 0x4B, 0x01, 0x4B, 0x02, 0x90, 0x73]  // {'k': {1, 2}}
        p += [0x62]  // BUILD
        p += [0x6A] + le32(2)  // LONG_BINGET 2 (the class)
        p += [0x86, 0x2E]
        guard case .tuple(let pair) = try parse(p), case .object(let object) = pair[0] else { return XCTFail() }
        XCTAssertTrue(object.isNewObj)
        XCTAssertEqual(object.globalName?.module, "mod")
        XCTAssertEqual(object.globalName?.name, "Type")
        guard case .set(let set) = try XCTUnwrap(object.state?["k"]) else { return XCTFail() }
        XCTAssertEqual(set.map(\.intValue), [1, 2])
        guard case .global(let module, let name) = pair[1] else { return XCTFail() }
        XCTAssertEqual([module, name], ["mod", "Type"])
    }

    func testUnknownOpcodeIsNamed() {
        assertThrowsMentioning(["/test/x.pkl", "data.pkl", "0xff", "offset 2"]) { try parse([0x80, 0x02, 0xFF]) }
        // NEXT_BUFFER (0x97, out-of-band buffers) is deliberately unsupported.
        assertThrowsMentioning(["0x97", "offset 3"]) { try parse([0x80, 0x05, 0x4E, 0x97, 0x2E]) }
    }

    func testMalformedPicklesThrow() {
        assertThrowsMentioning(["/test/x.pkl", "underflow"]) { try parse([0x80, 0x02, 0x85, 0x2E]) }  // TUPLE1 on empty stack
        assertThrowsMentioning(["MARK"]) { try parse([0x80, 0x02, 0x74, 0x2E]) }  // TUPLE without MARK
        assertThrowsMentioning(["underflow"]) { try parse([0x80, 0x02, 0x28, 0x85, 0x2E]) }  // pop across MARK
        assertThrowsMentioning(["memo key 3"]) { try parse([0x80, 0x02, 0x68, 0x03, 0x2E]) }
        assertThrowsMentioning(["end of data"]) { try parse([0x80, 0x02, 0x4E]) }  // no STOP
        assertThrowsMentioning(["end of data"]) { try parse([0x80, 0x02, 0x58] + le32(1000) + [0x41]) }
        assertThrowsMentioning(["out of range"]) { try parse([0x80, 0x02, 0x8D] + le64(-1)) }
        assertThrowsMentioning(["SETITEM"]) { try parse([0x80, 0x02, 0x4E, 0x4E, 0x4E, 0x73, 0x2E]) }
        assertThrowsMentioning(["odd"]) { try parse([0x80, 0x02, 0x7D, 0x28, 0x4E, 0x75, 0x2E]) }
        assertThrowsMentioning(["REDUCE arguments"]) { try parse([0x80, 0x02, 0x4E, 0x4E, 0x52, 0x2E]) }
        assertThrowsMentioning(["BUILD"]) { try parse([0x80, 0x02, 0x4E, 0x4E, 0x62, 0x2E]) }
        assertThrowsMentioning(["unterminated"]) { try parse([0x80, 0x02, 0x63] + Array("torch".utf8)) }
        assertThrowsMentioning(["protocol"]) { try parse([0x80, 0x09, 0x4E, 0x2E]) }
        assertThrowsMentioning(["underflow"]) { try parse([0x80, 0x02, 0x2E]) }  // STOP on empty stack
    }

    func testSelfReferenceIsRejected() {
        // l = []; l.append(l) -- a cycle must not recurse forever.
        let p: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        assertThrowsMentioning(["nested deeper"]) { try parse(p) }
    }

    func testSharedReferencesCannotExplode() {
        // x = [[]]; x = [x, x] repeated 64 times would expand to 2^64 values.
        var p: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00]
        for _ in 0..<64 { p += [0x68, 0x00, 0x68, 0x00, 0x86, 0x71, 0x00] }
        p += [0x2E]
        XCTAssertThrowsError(try parse(p))
    }
}
