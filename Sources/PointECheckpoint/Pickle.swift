import Foundation

/// A value produced by the pickle machine. Objects are not instantiated: a `REDUCE`/`NEWOBJ`
/// becomes an `.object` recording the callable, its arguments and whatever `BUILD`, `APPEND(S)`
/// and `SETITEM(S)` later applied to it; interpretation (tensors, OrderedDicts, TorchScript
/// modules) is left to the caller.
public indirect enum PickleValue: Sendable, CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too large for `Int`: little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case set([PickleValue])
    /// Key/value pairs in insertion order.
    case dict([PickleDictItem])
    case global(module: String, name: String)
    case object(PickleObject)
    case persistentID(PickleValue)

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Elements of a tuple or list.
    public var sequenceItems: [PickleValue]? {
        switch self {
        case .tuple(let items), .list(let items): return items
        default: return nil
        }
    }

    /// Items of a dict, or of an object that received SETITEM(S) (e.g. an OrderedDict).
    public var dictItems: [PickleDictItem]? {
        switch self {
        case .dict(let items): return items
        case .object(let o) where o.isDictLike: return o.dictItems
        default: return nil
        }
    }

    /// Looks up a string key in a dict-like value.
    public subscript(key: String) -> PickleValue? {
        dictItems?.first { $0.key.stringValue == key }?.value
    }

    public var description: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let bytes): return "<int of \(bytes.count) bytes>"
        case .float(let d): return String(d)
        case .string(let s): return "'\(s)'"
        case .bytes(let b): return "b<\(b.count) bytes>"
        case .tuple(let items):
            return "(" + items.map(\.description).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .set(let items): return "{" + items.map(\.description).joined(separator: ", ") + "}"
        case .dict(let items): return "{" + items.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .global(let module, let name): return "\(module).\(name)"
        case .object(let o): return "\(o.callable)(" + o.args.map(\.description).joined(separator: ", ") + ")"
        case .persistentID(let v): return "persistent_id\(v)"
        }
    }
}

public struct PickleDictItem: Sendable {
    public var key: PickleValue
    public var value: PickleValue

    public init(key: PickleValue, value: PickleValue) {
        self.key = key
        self.value = value
    }
}

/// The record of an object construction: `callable(*args)` (REDUCE) or `cls.__new__(cls, *args)`
/// (NEWOBJ), followed by optional BUILD state and list/dict items.
public struct PickleObject: Sendable {
    public var callable: PickleValue
    public var args: [PickleValue]
    public var isNewObj: Bool
    public var state: PickleValue?
    public var listItems: [PickleValue]
    public var dictItems: [PickleDictItem]

    public init(callable: PickleValue, args: [PickleValue], isNewObj: Bool = false, state: PickleValue? = nil,
                listItems: [PickleValue] = [], dictItems: [PickleDictItem] = []) {
        self.callable = callable
        self.args = args
        self.isNewObj = isNewObj
        self.state = state
        self.listItems = listItems
        self.dictItems = dictItems
    }

    /// Whether SETITEM(S) was applied, or the callable is a known dict type.
    public var isDictLike: Bool {
        if !dictItems.isEmpty { return true }
        if case .global(let module, let name) = callable {
            return (module == "collections" && (name == "OrderedDict" || name == "defaultdict")) || (module == "builtins" && name == "dict")
        }
        return false
    }

    public var globalName: (module: String, name: String)? {
        if case .global(let module, let name) = callable { return (module, name) }
        return nil
    }
}

/// A pickle virtual machine for protocols 0-5 (the opcode subset used by `torch.save`,
/// TorchScript archives and ordinary data pickles). It never executes code.
public enum Pickle {
    /// Parses a complete pickle. `path` names the file and `entry` the member inside it in errors.
    public static func load(_ bytes: UnsafeRawBufferPointer, path: String, entry: String? = nil) throws -> PickleValue {
        var machine = PickleMachine(bytes: bytes, path: path, entry: entry)
        return try machine.run()
    }

    public static func load(_ bytes: [UInt8], path: String, entry: String? = nil) throws -> PickleValue {
        try bytes.withUnsafeBytes { try load($0, path: path, entry: entry) }
    }
}

// MARK: - Machine

private final class MutableList { var items: [Node] = [] }
private final class MutableDict { var pairs: [(Node, Node)] = [] }
private final class MutableObject {
    let callable: Node
    let args: [Node]
    let isNewObj: Bool
    var state: Node?
    var listItems: [Node] = []
    var dictItems: [(Node, Node)] = []
    init(callable: Node, args: [Node], isNewObj: Bool) {
        self.callable = callable
        self.args = args
        self.isNewObj = isNewObj
    }
}

/// Working representation: containers are references so that memoised values see later mutations.
private indirect enum Node {
    case leaf(PickleValue)
    case tuple([Node])
    case list(MutableList)
    case dict(MutableDict)
    case set(MutableList)
    case object(MutableObject)
    case persistent(Node)

    var kindName: String {
        switch self {
        case .leaf(let v):
            switch v {
            case .none: return "None"
            case .bool: return "bool"
            case .int, .bigInt: return "int"
            case .float: return "float"
            case .string: return "str"
            case .bytes: return "bytes"
            case .global: return "global"
            default: return "value"
            }
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .set: return "set"
        case .object: return "object"
        case .persistent: return "persistent id"
        }
    }
}

private struct PickleMachine {
    let bytes: UnsafeRawBufferPointer
    let path: String
    let entry: String?
    var position = 0
    var stack: [Node] = []
    var marks: [Int] = []
    var memo: [Int: Node] = [:]
    var opcodeOffset = 0
    var freezeBudget = 0

    static let maxDepth = 200

    init(bytes: UnsafeRawBufferPointer, path: String, entry: String?) {
        self.bytes = bytes
        self.path = path
        self.entry = entry
    }

    func fail(_ message: String) -> CheckpointError {
        let place = entry.map { "pickle '\($0)'" } ?? "pickle"
        return CheckpointError(path, "\(place): \(message) (opcode at offset \(opcodeOffset))")
    }

    // MARK: Input

    mutating func read(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else {
            throw fail("unexpected end of data: needs \(count) bytes at offset \(position), only \(bytes.count - position) left")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        position += count
        return slice
    }

    mutating func readUInt<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let raw = try read(MemoryLayout<T>.size)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    mutating func readLength<T: FixedWidthInteger>(_: T.Type) throws -> Int {
        let value = try readUInt(T.self)
        guard let n = Int(exactly: value) else { throw fail("length \(value) out of range") }
        return n
    }

    mutating func readLine() throws -> [UInt8] {
        var end = position
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        guard end < bytes.count else { throw fail("unterminated text argument") }
        let line = Array(bytes[position..<end])
        position = end + 1
        return line
    }

    mutating func readString(_ count: Int) throws -> String {
        String(decoding: try read(count), as: UTF8.self)
    }

    // MARK: Stack

    mutating func pop() throws -> Node {
        if let mark = marks.last, stack.count <= mark { throw fail("stack underflow (pop across a MARK)") }
        guard let top = stack.popLast() else { throw fail("stack underflow") }
        return top
    }

    func peek() throws -> Node {
        if let mark = marks.last, stack.count <= mark { throw fail("stack underflow (top is a MARK)") }
        guard let top = stack.last else { throw fail("stack underflow") }
        return top
    }

    mutating func popToMark() throws -> [Node] {
        guard let mark = marks.popLast() else { throw fail("no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    mutating func popString(_ what: String) throws -> String {
        let node = try pop()
        guard case .leaf(.string(let s)) = node else { throw fail("\(what) must be a str, got \(node.kindName)") }
        return s
    }

    mutating func memoGet(_ index: Int) throws -> Node {
        guard let node = memo[index] else { throw fail("memo key \(index) is not defined") }
        return node
    }

    mutating func memoPut(_ index: Int) throws {
        memo[index] = try peek()
    }

    // MARK: Container updates

    mutating func append(_ items: [Node], to target: Node) throws {
        switch target {
        case .list(let list): list.items.append(contentsOf: items)
        case .object(let object): object.listItems.append(contentsOf: items)
        default: throw fail("APPEND to a \(target.kindName)")
        }
    }

    mutating func setItems(_ items: [Node], on target: Node) throws {
        guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items (\(items.count))") }
        var pairs: [(Node, Node)] = []
        pairs.reserveCapacity(items.count / 2)
        var i = 0
        while i < items.count {
            pairs.append((items[i], items[i + 1]))
            i += 2
        }
        switch target {
        case .dict(let dict): dict.pairs.append(contentsOf: pairs)
        case .object(let object): object.dictItems.append(contentsOf: pairs)
        default: throw fail("SETITEM on a \(target.kindName)")
        }
    }

    func tupleItems(_ node: Node, _ what: String) throws -> [Node] {
        guard case .tuple(let items) = node else { throw fail("\(what) must be a tuple, got \(node.kindName)") }
        return items
    }

    // MARK: Run

    mutating func run() throws -> PickleValue {
        while true {
            opcodeOffset = position
            let opcode = try read(1)[0]
            switch opcode {
            case 0x80:  // PROTO
                let version = try read(1)[0]
                guard version <= 5 else { throw fail("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME (framing is only a hint; the whole buffer is available)
                _ = try readUInt(UInt64.self)
            case 0x2E:  // STOP
                let result = try pop()
                freezeBudget = max(200_000, bytes.count * 16)
                return try freeze(result, depth: 0)
            case 0x28:  // MARK
                marks.append(stack.count)
            case 0x30:  // POP
                _ = try pop()
            case 0x31:  // POP_MARK
                _ = try popToMark()
            case 0x32:  // DUP
                stack.append(try peek())

            // Globals
            case 0x63:  // GLOBAL
                let module = String(decoding: try readLine(), as: UTF8.self)
                let name = String(decoding: try readLine(), as: UTF8.self)
                stack.append(.leaf(.global(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                let name = try popString("STACK_GLOBAL name")
                let module = try popString("STACK_GLOBAL module")
                stack.append(.leaf(.global(module: module, name: name)))

            // Strings and bytes
            case 0x8C:  // SHORT_BINUNICODE
                stack.append(.leaf(.string(try readString(Int(try read(1)[0])))))
            case 0x58:  // BINUNICODE
                stack.append(.leaf(.string(try readString(try readLength(UInt32.self)))))
            case 0x8D:  // BINUNICODE8
                stack.append(.leaf(.string(try readString(try readLength(UInt64.self)))))
            case 0x55:  // SHORT_BINSTRING (protocol 1 str)
                stack.append(.leaf(.string(try readString(Int(try read(1)[0])))))
            case 0x54:  // BINSTRING
                stack.append(.leaf(.string(try readString(try readLength(UInt32.self)))))
            case 0x43:  // SHORT_BINBYTES
                stack.append(.leaf(.bytes(Array(try read(Int(try read(1)[0]))))))
            case 0x42:  // BINBYTES
                stack.append(.leaf(.bytes(Array(try read(try readLength(UInt32.self))))))
            case 0x8E, 0x96:  // BINBYTES8, BYTEARRAY8
                stack.append(.leaf(.bytes(Array(try read(try readLength(UInt64.self))))))

            // Numbers
            case 0x4A:  // BININT
                stack.append(.leaf(.int(Int(Int32(bitPattern: try readUInt(UInt32.self))))))
            case 0x4B:  // BININT1
                stack.append(.leaf(.int(Int(try read(1)[0]))))
            case 0x4D:  // BININT2
                stack.append(.leaf(.int(Int(try readUInt(UInt16.self)))))
            case 0x8A:  // LONG1
                let count = Int(try read(1)[0])
                stack.append(.leaf(makeLong(Array(try read(count)))))
            case 0x8B:  // LONG4
                let count = Int(Int32(bitPattern: try readUInt(UInt32.self)))
                guard count >= 0 else { throw fail("negative LONG4 length") }
                stack.append(.leaf(makeLong(Array(try read(count)))))
            case 0x47:  // BINFLOAT (big-endian)
                let raw = try read(8)
                let bits = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
                stack.append(.leaf(.float(Double(bitPattern: bits))))
            case 0x49:  // INT (text; "00"/"01" are booleans)
                let text = String(decoding: try readLine(), as: UTF8.self)
                if text == "00" { stack.append(.leaf(.bool(false))) } else if text == "01" { stack.append(.leaf(.bool(true))) } else {
                    guard let v = Int(text) else { throw fail("bad INT literal '\(text)'") }
                    stack.append(.leaf(.int(v)))
                }
            case 0x4C:  // LONG (text, optional trailing L)
                var text = String(decoding: try readLine(), as: UTF8.self)
                if text.hasSuffix("L") { text.removeLast() }
                guard let v = Int(text) else { throw fail("unsupported LONG literal '\(text)'") }
                stack.append(.leaf(.int(v)))
            case 0x46:  // FLOAT (text)
                let text = String(decoding: try readLine(), as: UTF8.self)
                guard let v = Double(text) else { throw fail("bad FLOAT literal '\(text)'") }
                stack.append(.leaf(.float(v)))

            // Constants
            case 0x4E: stack.append(.leaf(.none))  // NONE
            case 0x88: stack.append(.leaf(.bool(true)))  // NEWTRUE
            case 0x89: stack.append(.leaf(.bool(false)))  // NEWFALSE

            // Tuples
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark()))  // TUPLE
            case 0x85:  // TUPLE1
                let a = try pop()
                stack.append(.tuple([a]))
            case 0x86:  // TUPLE2
                let b = try pop()
                let a = try pop()
                stack.append(.tuple([a, b]))
            case 0x87:  // TUPLE3
                let c = try pop()
                let b = try pop()
                let a = try pop()
                stack.append(.tuple([a, b, c]))

            // Lists
            case 0x5D: stack.append(.list(MutableList()))  // EMPTY_LIST
            case 0x6C:  // LIST
                let list = MutableList()
                list.items = try popToMark()
                stack.append(.list(list))
            case 0x61:  // APPEND
                let item = try pop()
                try append([item], to: try peek())
            case 0x65:  // APPENDS
                let items = try popToMark()
                try append(items, to: try peek())

            // Dicts
            case 0x7D: stack.append(.dict(MutableDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popToMark()
                let dict = Node.dict(MutableDict())
                try setItems(items, on: dict)
                stack.append(dict)
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems([key, value], on: try peek())
            case 0x75:  // SETITEMS
                let items = try popToMark()
                try setItems(items, on: try peek())

            // Sets
            case 0x8F: stack.append(.set(MutableList()))  // EMPTY_SET
            case 0x90:  // ADDITEMS
                let items = try popToMark()
                guard case .set(let set) = try peek() else { throw fail("ADDITEMS to a non-set") }
                set.items.append(contentsOf: items)
            case 0x91:  // FROZENSET
                let set = MutableList()
                set.items = try popToMark()
                stack.append(.set(set))

            // Memo
            case 0x71: try memoPut(Int(try read(1)[0]))  // BINPUT
            case 0x72: try memoPut(try readLength(UInt32.self))  // LONG_BINPUT
            case 0x94: try memoPut(memo.count)  // MEMOIZE
            case 0x70:  // PUT (text)
                let text = String(decoding: try readLine(), as: UTF8.self)
                guard let index = Int(text) else { throw fail("bad PUT index '\(text)'") }
                try memoPut(index)
            case 0x68: stack.append(try memoGet(Int(try read(1)[0])))  // BINGET
            case 0x6A: stack.append(try memoGet(try readLength(UInt32.self)))  // LONG_BINGET
            case 0x67:  // GET (text)
                let text = String(decoding: try readLine(), as: UTF8.self)
                guard let index = Int(text) else { throw fail("bad GET index '\(text)'") }
                stack.append(try memoGet(index))

            // Objects
            case 0x52:  // REDUCE
                let args = try tupleItems(try pop(), "REDUCE arguments")
                let callable = try pop()
                stack.append(.object(MutableObject(callable: callable, args: args, isNewObj: false)))
            case 0x81:  // NEWOBJ
                let args = try tupleItems(try pop(), "NEWOBJ arguments")
                let cls = try pop()
                stack.append(.object(MutableObject(callable: cls, args: args, isNewObj: true)))
            case 0x92:  // NEWOBJ_EX (keyword arguments are kept as a trailing dict argument)
                let kwargs = try pop()
                let args = try tupleItems(try pop(), "NEWOBJ_EX arguments")
                let cls = try pop()
                stack.append(.object(MutableObject(callable: cls, args: args + [kwargs], isNewObj: true)))
            case 0x62:  // BUILD
                let state = try pop()
                guard case .object(let object) = try peek() else {
                    throw fail("BUILD on a \(try peek().kindName)")
                }
                object.state = state
            case 0x51:  // BINPERSID
                stack.append(.persistent(try pop()))
            case 0x50:  // PERSID (text)
                stack.append(.persistent(.leaf(.string(String(decoding: try readLine(), as: UTF8.self)))))

            default:
                let printable = (0x21...0x7E).contains(opcode) ? " '\(Character(UnicodeScalar(opcode)))'" : ""
                throw fail("unsupported pickle opcode 0x\(String(opcode, radix: 16, uppercase: false).leftPadded(2))\(printable)")
            }
        }
    }

    func makeLong(_ raw: [UInt8]) -> PickleValue {
        if raw.isEmpty { return .int(0) }
        if raw.count <= 8 {
            var value: UInt64 = 0
            for (i, b) in raw.enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
            if raw.count < 8, raw[raw.count - 1] & 0x80 != 0 {
                value |= ~UInt64(0) << (8 * UInt64(raw.count))  // sign-extend
            }
            return .int(Int(Int64(bitPattern: value)))
        }
        return .bigInt(raw)
    }

    // MARK: Freeze

    mutating func freeze(_ node: Node, depth: Int) throws -> PickleValue {
        guard depth < Self.maxDepth else { throw fail("values nested deeper than \(Self.maxDepth) levels") }
        freezeBudget -= 1
        guard freezeBudget >= 0 else { throw fail("pickle expands to too many values (shared references)") }
        switch node {
        case .leaf(let v): return v
        case .tuple(let items): return .tuple(try items.map { try freeze($0, depth: depth + 1) })
        case .list(let list): return .list(try list.items.map { try freeze($0, depth: depth + 1) })
        case .set(let set): return .set(try set.items.map { try freeze($0, depth: depth + 1) })
        case .dict(let dict):
            return .dict(try dict.pairs.map { PickleDictItem(key: try freeze($0.0, depth: depth + 1), value: try freeze($0.1, depth: depth + 1)) })
        case .persistent(let id): return .persistentID(try freeze(id, depth: depth + 1))
        case .object(let o):
            return .object(PickleObject(
                callable: try freeze(o.callable, depth: depth + 1),
                args: try o.args.map { try freeze($0, depth: depth + 1) },
                isNewObj: o.isNewObj,
                state: try o.state.map { try freeze($0, depth: depth + 1) },
                listItems: try o.listItems.map { try freeze($0, depth: depth + 1) },
                dictItems: try o.dictItems.map { PickleDictItem(key: try freeze($0.0, depth: depth + 1), value: try freeze($0.1, depth: depth + 1)) }))
        }
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
