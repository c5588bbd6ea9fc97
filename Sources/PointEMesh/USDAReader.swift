import Foundation
import PointECloud

/// Reads USD text (.usda) as far as pointe writes it: a stage with one Mesh whose points,
/// faceVertexCounts, faceVertexIndices, normals and primvars:displayColor are given as plain
/// values (no time samples, references or layers), and the stage's upAxis. Polygons are
/// fanned into triangles. Normals are taken when per vertex, colours when per vertex or
/// constant. Everything else in the file is tokenized and skipped.
///
/// It runs on files peers send, so it is one forward pass over the bytes with no recursion:
/// any input ends in a mesh or an error naming the file, in time linear in its size.
struct USDAReader {
    let bytes: [UInt8]
    let path: String
    private var offset = 0

    private init(text: String, path: String) {
        bytes = Array(text.utf8)
        self.path = path
    }

    /// The mesh as the file stores it, and the stage's up axis; `path` names the text in errors.
    static func read(_ text: String, path: String) throws -> (mesh: TriMesh, upAxis: TriMesh.FileFormat.UpAxis) {
        var reader = USDAReader(text: text, path: path)
        return try reader.read()
    }

    enum Token: Equatable {
        case word(Range<Int>)
        case string(Range<Int>)
        case punctuation(UInt8)
        /// `</a/b>` and `@asset@`: skipped whole.
        case reference
    }

    struct Attribute {
        var numbers: [Substring] = []
        var tupleSize = 1
        var interpolation: String?
    }

    /// The attributes read, by name, and the type each must be declared with.
    static let wanted = ["points": "point3f[]", "normals": "normal3f[]", "faceVertexCounts": "int[]",
                         "faceVertexIndices": "int[]", "primvars:displayColor": "color3f[]"]

    func fail(_ message: String, at position: Int? = nil) -> MeshError {
        guard let position else { return MeshError(path, message) }
        let line = bytes[..<min(position, bytes.count)].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        return MeshError(path, "line \(line): \(message)")
    }

    private mutating func read() throws -> (mesh: TriMesh, upAxis: TriMesh.FileFormat.UpAxis) {
        guard bytes.starts(with: Array("#usda 1.0".utf8)) else { throw fail("not USD text (no '#usda 1.0' first line)") }
        offset = 9
        var attributes: [String: Attribute] = [:]
        var upAxis: TriMesh.FileFormat.UpAxis?
        var meshes = 0
        var previous: [Token] = []  // the last two tokens
        while let token = try next() {
            defer { previous = Array((previous + [token]).suffix(2)) }
            if isWord("Mesh")(token), previous.last.map(isWord("def")) == true { meshes += 1 }
            guard token == .punctuation(UInt8(ascii: "=")), case .word(let nameRange)? = previous.last else { continue }
            let name = text(nameRange)
            let start = offset
            if name == "upAxis" {
                guard case .string(let value)? = try next(), upAxis == nil,
                      let axis = TriMesh.FileFormat.UpAxis(rawValue: text(value)) else {
                    throw fail("upAxis must be given once, as \"Y\" or \"Z\"", at: start)
                }
                upAxis = axis
            } else if let type = Self.wanted[name] {
                guard previous.count == 2, case .word(let typeRange) = previous[0], text(typeRange) == type else {
                    throw fail("\(name) must be declared as \(type)", at: start)
                }
                guard attributes[name] == nil else { throw fail("\(name) is given twice (pointe reads stages with one Mesh)", at: start) }
                attributes[name] = try value(tupleSize: type.hasPrefix("int") ? 1 : 3, name: name)
            }
        }
        guard meshes == 1 else { throw fail("the stage has \(meshes) Mesh prims; pointe reads stages with one") }
        return (try mesh(attributes), upAxis ?? .y)  // Y: USD's fallback up axis
    }

    /// `[n, n, ...]` or `[(n, n, n), ...]`, then optional metadata `( interpolation = "..." )`.
    mutating func value(tupleSize: Int, name: String) throws -> Attribute {
        var attribute = Attribute(tupleSize: tupleSize)
        let start = offset
        guard try next() == .punctuation(UInt8(ascii: "[")) else { throw fail("\(name) is not an array value", at: start) }
        func expect(_ c: Character) throws {
            guard try next() == .punctuation(c.asciiValue!) else { throw fail("\(name): expected '\(c)'", at: offset) }
        }
        var first = true
        while true {
            var token = try next()
            if token == .punctuation(UInt8(ascii: "]")) { break }
            if !first {
                guard token == .punctuation(UInt8(ascii: ",")) else { throw fail("\(name): expected ',' or ']'", at: offset) }
                token = try next()
            }
            first = false
            if tupleSize == 1 {
                guard case .word(let range)? = token else { throw fail("\(name): expected a number", at: offset) }
                attribute.numbers.append(substring(range))
            } else {
                guard token == .punctuation(UInt8(ascii: "(")) else { throw fail("\(name): expected '('", at: offset) }
                for k in 0..<tupleSize {
                    if k > 0 { try expect(",") }
                    guard case .word(let range)? = try next() else { throw fail("\(name): expected a number", at: offset) }
                    attribute.numbers.append(substring(range))
                }
                try expect(")")
            }
        }
        // Metadata after the value: only interpolation matters here.
        let save = offset
        if try next() == .punctuation(UInt8(ascii: "(")) {
            var last: [Token] = []
            while let token = try next(), token != .punctuation(UInt8(ascii: ")")) {
                if case .string(let range) = token, last.count == 2, last[1] == .punctuation(UInt8(ascii: "=")), isWord("interpolation")(last[0]) {
                    attribute.interpolation = text(range)
                }
                last = Array((last + [token]).suffix(2))
            }
        } else {
            offset = save
        }
        return attribute
    }

    func mesh(_ attributes: [String: Attribute]) throws -> TriMesh {
        func floats(_ name: String) throws -> [Float]? {
            try attributes[name].map { attribute in
                try attribute.numbers.map { token in
                    guard let v = Float(token) else { throw fail("\(name): '\(token)' is not a number") }
                    return v
                }
            }
        }
        func ints(_ name: String) throws -> [Int] {
            guard let attribute = attributes[name] else { throw fail("the Mesh has no \(name)") }
            return try attribute.numbers.map { token in
                guard let v = Int(token) else { throw fail("\(name): '\(token)' is not an integer") }
                return v
            }
        }
        guard let vertices = try floats("points"), !vertices.isEmpty else { throw fail("the Mesh has no points") }
        let n = vertices.count / 3
        let counts = try ints("faceVertexCounts"), indices = try ints("faceVertexIndices")
        // Each count bounded first, so their sum cannot overflow.
        if let f = counts.firstIndex(where: { $0 < 3 || $0 > indices.count }) { throw fail("face \(f) has \(counts[f]) vertices") }
        guard counts.reduce(0, +) == indices.count else {
            throw fail("faceVertexCounts add up to \(counts.reduce(0, +)), but there are \(indices.count) faceVertexIndices")
        }
        var faces: [UInt32] = []
        var start = 0
        for count in counts {
            let polygon = indices[start..<(start + count)]
            if let bad = polygon.first(where: { $0 < 0 || $0 >= n }) { throw fail("face index \(bad) out of range (\(n) points)") }
            for k in 1..<(count - 1) {
                faces += [UInt32(polygon[start]), UInt32(polygon[start + k]), UInt32(polygon[start + k + 1])]
            }
            start += count
        }
        // USD's fallback interpolation is "vertex" for normals and "constant" for primvars.
        let perVertex: Set<String> = ["vertex", "varying"]
        var normals: [Float] = []
        if let values = try floats("normals"), values.count == vertices.count, perVertex.contains(attributes["normals"]?.interpolation ?? "vertex") {
            normals = values
        }
        var channels: [PointCloud.Channel] = []
        if let rgb = try floats("primvars:displayColor") {
            let interpolation = attributes["primvars:displayColor"]?.interpolation ?? "constant"
            let values: [Float]? = perVertex.contains(interpolation) && rgb.count == vertices.count ? rgb
                : interpolation == "constant" && rgb.count == 3 ? (0..<n).flatMap { _ in rgb } : nil
            if let values {
                channels = ["R", "G", "B"].enumerated().map { k, name in
                    PointCloud.Channel(name: name, values: stride(from: k, to: values.count, by: 3).map { values[$0] })
                }
            }
        }
        return TriMesh(vertices: vertices, faces: faces, normals: normals, vertexChannels: channels)
    }

    // MARK: tokens

    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
    func substring(_ range: Range<Int>) -> Substring { Substring(text(range)) }
    func isWord(_ word: String) -> (Token) -> Bool {
        { token in if case .word(let range) = token { return bytes[range].elementsEqual(word.utf8) } else { return false } }
    }

    /// What each byte is to the tokenizer, by table: a file's every byte passes through here.
    enum ByteClass { case word, space, punctuation, special }
    static let byteClass: [ByteClass] = (0...255).map { (b: Int) -> ByteClass in
        let byte = UInt8(b)
        if [0x20, 0x09, 0x0A, 0x0D].contains(byte) { return .space }
        if "()[]{}=,;".utf8.contains(byte) { return .punctuation }
        if "\"'#<@".utf8.contains(byte) { return .special }  // strings, comments, paths, asset paths
        return .word
    }

    /// The next token, skipping spaces and `#` comments; nil at the end.
    mutating func next() throws -> Token? {
        while offset < bytes.count {
            let c = bytes[offset]
            if Self.byteClass[Int(c)] == .space {
                offset += 1
            } else if c == UInt8(ascii: "#") {
                while offset < bytes.count, bytes[offset] != 0x0A { offset += 1 }
            } else {
                break
            }
        }
        guard offset < bytes.count else { return nil }
        let start = offset
        let c = bytes[offset]
        if Self.byteClass[Int(c)] == .punctuation {
            offset += 1
            return .punctuation(c)
        }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            let triple = bytes[offset...].starts(with: [c, c, c])
            let quote = triple ? [c, c, c] : [c]
            offset += quote.count
            let contents = offset
            while offset < bytes.count {
                if bytes[offset] == UInt8(ascii: "\\") { offset += 2; continue }
                if bytes[offset...].starts(with: quote) {
                    offset += quote.count
                    return .string(contents..<(offset - quote.count))
                }
                if !triple, bytes[offset] == 0x0A { break }
                offset += 1
            }
            throw fail("unterminated string", at: start)
        }
        if c == UInt8(ascii: "<") || c == UInt8(ascii: "@") {
            let close = c == UInt8(ascii: "<") ? UInt8(ascii: ">") : c
            offset += 1
            while offset < bytes.count, bytes[offset] != close { offset += 1 }
            guard offset < bytes.count else { throw fail("unterminated \(c == UInt8(ascii: "<") ? "path" : "asset path")", at: start) }
            offset += 1
            return .reference
        }
        while offset < bytes.count, Self.byteClass[Int(bytes[offset])] == .word { offset += 1 }
        // An array type is one word: `point3f[]`.
        if bytes[offset...].starts(with: Array("[]".utf8)) { offset += 2 }
        return .word(start..<offset)
    }
}
