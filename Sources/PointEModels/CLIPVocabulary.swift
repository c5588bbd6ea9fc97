import CZlib
import Foundation

/// CLIP's byte-level BPE vocabulary (`bpe_simple_vocab_16e6.txt.gz`): 256 byte symbols, the
/// same 256 with an end-of-word marker, 48,894 merges in priority order, then the start and end
/// tokens (49,408 ids in all).
///
/// Symbols are handled as vocabulary ids: a merge of ids (a, b) has a rank and produces the id
/// of the string a+b, so the BPE loop never builds strings.
public struct CLIPVocabulary: Sendable {
    /// The merges CLIP uses: lines 1 ..< 1 + 49152 - 256 - 2 of the file (line 0 is a header).
    public static let mergeCount = 49152 - 256 - 2
    public static let fileName = "bpe_simple_vocab_16e6.txt.gz"

    /// Id of each vocabulary string (the last one wins for duplicates, as a Python dict built
    /// from the list does).
    let encoder: [String: Int32]
    /// (left id, right id) -> (merge rank, merged id).
    let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// Byte value -> id of its symbol (without / with the end-of-word marker).
    let byteIDs: [Int32]
    let byteEndIDs: [Int32]
    public let startToken: Int32
    public let endToken: Int32
    public var size: Int { encoder.count }

    /// The byte -> printable character table of CLIP's byte-level BPE: printable Latin-1 bytes
    /// stand for themselves, the other 68 bytes are moved to U+0100 and up in byte order.
    static let byteSymbols: [Character] = {
        var printable = Set<Int>()
        for r in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] { printable.formUnion(r) }
        var table = [Character](repeating: " ", count: 256)
        var next = 256
        for b in 0..<256 {
            if printable.contains(b) {
                table[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                table[b] = Character(Unicode.Scalar(UInt32(next))!)
                next += 1
            }
        }
        return table
    }()

    static let byteOrder: [Int] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let set = Set(printable)
        return printable + (0..<256).filter { !set.contains($0) }
    }()

    /// The vocabulary: $POINTE_CLIP_VOCAB if set, else the package's resources (the resource
    /// bundle `pointe_PointEModels.resources` next to the executable, or in the build folder).
    public static func bundled() throws -> CLIPVocabulary {
        if let path = ProcessInfo.processInfo.environment["POINTE_CLIP_VOCAB"], !path.isEmpty { return try load(path: path) }
        // Look next to the executable first: SwiftPM's accessor stops the process when the
        // bundle is in neither of its places, and an installed binary has no build folder.
        let beside = Bundle.main.bundleURL.appendingPathComponent("pointe_PointEModels.resources").appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: beside.path) { return try load(path: beside.path) }
        guard let url = Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz") else {
            throw ModelError("the CLIP vocabulary \(fileName) is missing from the package resources")
        }
        return try load(path: url.path)
    }

    /// The bundled vocabulary, read once per process.
    public static func shared() throws -> CLIPVocabulary { try sharedResult.get() }
    private static let sharedResult = Result { try bundled() }

    public static func load(path: String) throws -> CLIPVocabulary {
        let compressed: Data
        do { compressed = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelError("\(path): cannot read the CLIP vocabulary: \(error.localizedDescription)")
        }
        let raw = try gunzip(compressed, source: path)
        guard let text = String(data: raw, encoding: .utf8) else { throw ModelError("\(path): the vocabulary is not UTF-8 text") }
        return try CLIPVocabulary(text: text, source: path)
    }

    init(text: String, source: String) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > Self.mergeCount else {
            throw ModelError("\(source): \(lines.count) lines; a CLIP vocabulary has at least \(Self.mergeCount + 1)")
        }
        // The first 512 entries list the byte symbols printable bytes first (CLIP's
        // bytes_to_unicode order), not in byte order.
        let base = Self.byteOrder.map { String(Self.byteSymbols[$0]) }
        var strings = base + base.map { $0 + "</w>" }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(Self.mergeCount)
        for (i, line) in lines[1...Self.mergeCount].enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw ModelError("\(source): merge line \(i + 2) \"\(line)\" is not two symbols") }
            pairs.append((String(parts[0]), String(parts[1])))
            strings.append(String(parts[0]) + String(parts[1]))
        }
        strings += ["<|startoftext|>", "<|endoftext|>"]
        var encoder: [String: Int32] = [:]
        for (id, s) in strings.enumerated() { encoder[s] = Int32(id) }
        var merges: [UInt64: (rank: Int32, merged: Int32)] = [:]
        for (rank, (a, b)) in pairs.enumerated() {
            guard let ia = encoder[a], let ib = encoder[b], let m = encoder[a + b] else {
                throw ModelError("\(source): merge \(rank) (\(a) \(b)) uses a symbol not in the vocabulary")
            }
            let key = Self.pairKey(ia, ib)
            if merges[key] == nil { merges[key] = (Int32(rank), m) }
        }
        self.encoder = encoder
        self.merges = merges
        byteIDs = Self.byteSymbols.map { encoder[String($0)]! }
        byteEndIDs = Self.byteSymbols.map { encoder[String($0) + "</w>"]! }
        startToken = encoder["<|startoftext|>"]!
        endToken = encoder["<|endoftext|>"]!
    }

    @inline(__always) static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// BPE of one pre-token: its UTF-8 bytes as symbols (the last one end-of-word), then the
    /// lowest-ranked adjacent pair merged everywhere, until no pair is a known merge.
    func bpe(_ token: Substring.UnicodeScalarView) -> [Int32] {
        let text = String(token)
        if text == "<|startoftext|>" { return [startToken] }
        if text == "<|endoftext|>" { return [endToken] }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return [] }
        var word = bytes.dropLast().map { byteIDs[Int($0)] } + [byteEndIDs[Int(bytes.last!)]]
        while word.count > 1 {
            var best: (rank: Int32, merged: Int32, left: Int32, right: Int32)?
            for i in 0..<(word.count - 1) {
                if let m = merges[Self.pairKey(word[i], word[i + 1])], best == nil || m.rank < best!.rank {
                    best = (m.rank, m.merged, word[i], word[i + 1])
                }
            }
            guard let merge = best else { break }
            var next: [Int32] = []
            next.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i < word.count - 1 && word[i] == merge.left && word[i + 1] == merge.right {
                    next.append(merge.merged)
                    i += 2
                } else {
                    next.append(word[i])
                    i += 1
                }
            }
            word = next
        }
        return word
    }
}

/// Decompresses a gzip file's bytes with zlib.
func gunzip(_ data: Data, source: String) throws -> Data {
    var stream = z_stream()
    // 16 + MAX_WBITS: expect a gzip header and trailer.
    guard inflateInit2_(&stream, 16 + 15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw ModelError("\(source): zlib initialisation failed")
    }
    defer { inflateEnd(&stream) }
    var output = Data()
    let chunk = 1 << 20
    var buffer = [UInt8](repeating: 0, count: chunk)
    var status: Int32 = Z_OK
    try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        repeat {
            try buffer.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(chunk)
                status = inflate(&stream, Z_NO_FLUSH)
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw ModelError("\(source): not a valid gzip file (zlib status \(status))")
                }
                output.append(out.baseAddress!, count: chunk - Int(stream.avail_out))
            }
            if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                throw ModelError("\(source): the gzip data is truncated")
            }
        } while status != Z_STREAM_END
    }
    return output
}
