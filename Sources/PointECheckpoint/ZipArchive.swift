import CZlib
import Foundation

/// One file inside a zip archive, as described by the central directory.
public struct ZipEntry: Sendable {
    public let name: String
    /// 0 = stored, 8 = deflate.
    public let method: UInt16
    public let flags: UInt16
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    public let localHeaderOffset: Int
    /// Offset of the entry's (possibly compressed) bytes in the file, from its local header.
    public let dataOffset: Int

    public var isEncrypted: Bool { flags & 1 != 0 }
}

/// A read-only zip archive over a memory-mapped file (ZIP64 aware). Stored entries are returned
/// as views into the mapping; deflated entries are inflated into owned memory.
public final class ZipArchive: Sendable {
    public let path: String
    public let file: MappedFile
    /// Entries in central-directory order.
    public let entries: [ZipEntry]
    private let index: [String: Int]

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.path = file.path
        self.file = file
        let parsed = try ZipArchive.readCentralDirectory(file)
        self.entries = parsed
        var index: [String: Int] = [:]
        for (i, e) in parsed.enumerated() where index[e.name] == nil { index[e.name] = i }
        self.index = index
    }

    public func entry(named name: String) -> ZipEntry? {
        index[name].map { entries[$0] }
    }

    /// The uncompressed bytes of a named entry.
    public func contents(named name: String) throws -> ByteRegion {
        guard let e = entry(named: name) else { throw CheckpointError(path, "zip entry '\(name)' not found") }
        return try contents(of: e)
    }

    /// The uncompressed bytes of an entry: a view into the mapping for stored entries, owned
    /// memory for deflated ones. Both are checked against the entry's CRC-32 here, the one
    /// place every reader (npz, torch .pt) gets member bytes from, so no member is used unchecked.
    /// For stored members this reads the whole mapping once at load; zlib's crc32 runs at
    /// several GB/s, small next to reading the weights from disk (see ZipArchiveTests).
    public func contents(of entry: ZipEntry) throws -> ByteRegion {
        if entry.isEncrypted { throw CheckpointError(path, "zip entry '\(entry.name)' is encrypted") }
        let whole = file.region
        guard whole.contains(offset: entry.dataOffset, length: entry.compressedSize) else {
            throw CheckpointError(path, "zip entry '\(entry.name)': data (\(entry.compressedSize) bytes at offset \(entry.dataOffset)) extends past the end of the file (\(whole.count) bytes); the file is truncated or corrupt")
        }
        let raw = whole.slice(offset: entry.dataOffset, length: entry.compressedSize)
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw CheckpointError(path, "zip entry '\(entry.name)' is stored but its sizes differ (\(entry.compressedSize) vs \(entry.uncompressedSize))")
            }
            try checkCRC(raw, of: entry)
            return raw
        case 8:
            let inflated = try inflateRaw(raw, expectedSize: entry.uncompressedSize, name: entry.name)
            try checkCRC(inflated, of: entry)
            return inflated
        default:
            throw CheckpointError(path, "zip entry '\(entry.name)' uses unsupported compression method \(entry.method) (only stored and deflate are supported)")
        }
    }

    /// numpy's zipfile refuses such a member with "Bad CRC-32"; say the same, with file and member.
    private func checkCRC(_ bytes: ByteRegion, of entry: ZipEntry) throws {
        let actual = crc32Of(bytes.base, count: bytes.count)
        guard actual == entry.crc32 else {
            throw CheckpointError(path, "zip entry '\(entry.name)': bad CRC-32 (stored \(String(entry.crc32, radix: 16)), computed \(String(actual, radix: 16))); the member's bytes are damaged")
        }
    }

    // MARK: Central directory

    private static let eocdSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EOCDSignature: UInt32 = 0x0606_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50

    private static func readCentralDirectory(_ file: MappedFile) throws -> [ZipEntry] {
        let path = file.path
        let region = file.region
        let cursor = ByteCursor(region: region, path: path, context: "zip")
        let size = region.count
        guard size >= 22 else {
            throw CheckpointError(path, "zip: file is only \(size) bytes, too short for an end-of-central-directory record (truncated?)")
        }

        // The EOCD record is the last 22 bytes plus an optional comment of up to 65535 bytes.
        var eocd = -1
        var position = size - 22
        let lowest = max(0, size - 22 - 65535)
        while position >= lowest {
            if region.load(UInt32.self, at: position) == eocdSignature {
                let commentLength = Int(region.load(UInt16.self, at: position + 20))
                if position + 22 + commentLength <= size { eocd = position; break }
            }
            position -= 1
        }
        guard eocd >= 0 else {
            throw CheckpointError(path, "zip: no end-of-central-directory record found (file truncated or not a zip archive)")
        }

        let diskNumber = try cursor.u16(eocd + 4, "EOCD disk number")
        let cdDisk = try cursor.u16(eocd + 6, "EOCD central directory disk")
        var entryCount = Int(try cursor.u16(eocd + 10, "EOCD entry count"))
        var cdSize = Int(try cursor.u32(eocd + 12, "EOCD central directory size"))
        var cdOffset = Int(try cursor.u32(eocd + 16, "EOCD central directory offset"))

        // ZIP64: a locator sits right before the EOCD record.
        let locator = eocd - 20
        if locator >= 0, region.load(UInt32.self, at: locator) == zip64LocatorSignature {
            let recordOffset64 = try cursor.u64(locator + 8, "ZIP64 locator record offset")
            guard let recordOffset = Int(exactly: recordOffset64), region.contains(offset: recordOffset, length: 56) else {
                throw CheckpointError(path, "zip: ZIP64 end-of-central-directory record offset \(recordOffset64) is outside the file (\(size) bytes); truncated or corrupt")
            }
            guard region.load(UInt32.self, at: recordOffset) == zip64EOCDSignature else {
                throw CheckpointError(path, "zip: bad ZIP64 end-of-central-directory signature at offset \(recordOffset)")
            }
            let disk64 = try cursor.u32(recordOffset + 16, "ZIP64 disk number")
            let cdDisk64 = try cursor.u32(recordOffset + 20, "ZIP64 central directory disk")
            guard disk64 == 0, cdDisk64 == 0 else {
                throw CheckpointError(path, "zip: multi-disk archives are not supported")
            }
            let count64 = try cursor.u64(recordOffset + 32, "ZIP64 entry count")
            let size64 = try cursor.u64(recordOffset + 40, "ZIP64 central directory size")
            let offset64 = try cursor.u64(recordOffset + 48, "ZIP64 central directory offset")
            guard let c = Int(exactly: count64), let s = Int(exactly: size64), let o = Int(exactly: offset64) else {
                throw CheckpointError(path, "zip: ZIP64 central directory values out of range")
            }
            entryCount = c
            cdSize = s
            cdOffset = o
        } else {
            guard diskNumber == 0, cdDisk == 0 else {
                throw CheckpointError(path, "zip: multi-disk archives are not supported")
            }
            if entryCount == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
                throw CheckpointError(path, "zip: end-of-central-directory record needs ZIP64 data but the ZIP64 locator is missing (truncated or corrupt)")
            }
        }

        guard region.contains(offset: cdOffset, length: cdSize) else {
            throw CheckpointError(path, "zip: central directory (\(cdSize) bytes at offset \(cdOffset)) lies outside the file (\(size) bytes); truncated or corrupt")
        }
        guard entryCount <= cdSize / 46 else {
            throw CheckpointError(path, "zip: central directory claims \(entryCount) entries but is only \(cdSize) bytes")
        }

        let cdEnd = cdOffset + cdSize
        var entries: [ZipEntry] = []
        entries.reserveCapacity(entryCount)
        var p = cdOffset
        for i in 0..<entryCount {
            guard p <= cdEnd - 46 else {
                throw CheckpointError(path, "zip: central directory entry \(i) at offset \(p) runs past the end of the central directory")
            }
            guard region.load(UInt32.self, at: p) == centralSignature else {
                throw CheckpointError(path, "zip: corrupt central directory: bad signature for entry \(i) at offset \(p)")
            }
            let flags = region.load(UInt16.self, at: p + 8)
            let method = region.load(UInt16.self, at: p + 10)
            let crc = region.load(UInt32.self, at: p + 16)
            var compressed = UInt64(region.load(UInt32.self, at: p + 20))
            var uncompressed = UInt64(region.load(UInt32.self, at: p + 24))
            let nameLength = Int(region.load(UInt16.self, at: p + 28))
            let extraLength = Int(region.load(UInt16.self, at: p + 30))
            let commentLength = Int(region.load(UInt16.self, at: p + 32))
            let startDisk = region.load(UInt16.self, at: p + 34)
            var localOffset = UInt64(region.load(UInt32.self, at: p + 42))
            let recordLength = 46 + nameLength + extraLength + commentLength
            guard recordLength <= cdEnd - p else {
                throw CheckpointError(path, "zip: central directory entry \(i) at offset \(p) (\(recordLength) bytes) runs past the end of the central directory")
            }
            let nameBytes = region.copyBytes(offset: p + 46, length: nameLength)
            let name = String(decoding: nameBytes, as: UTF8.self)

            // ZIP64 extended information: 8-byte values for each 32-bit field that is saturated.
            if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF || startDisk == 0xFFFF {
                var q = p + 46 + nameLength
                let extraEnd = q + extraLength
                var found = false
                while q + 4 <= extraEnd {
                    let id = region.load(UInt16.self, at: q)
                    let length = Int(region.load(UInt16.self, at: q + 2))
                    guard q + 4 + length <= extraEnd else { break }
                    if id == 0x0001 {
                        found = true
                        var r = q + 4
                        let fieldEnd = q + 4 + length
                        func next(_ what: String) throws -> UInt64 {
                            guard r + 8 <= fieldEnd else {
                                throw CheckpointError(path, "zip: entry '\(name)': ZIP64 extra field too short for \(what)")
                            }
                            defer { r += 8 }
                            return region.load(UInt64.self, at: r)
                        }
                        if uncompressed == 0xFFFF_FFFF { uncompressed = try next("the uncompressed size") }
                        if compressed == 0xFFFF_FFFF { compressed = try next("the compressed size") }
                        if localOffset == 0xFFFF_FFFF { localOffset = try next("the local header offset") }
                        break
                    }
                    q += 4 + length
                }
                if !found {
                    throw CheckpointError(path, "zip: entry '\(name)' needs a ZIP64 extra field but has none")
                }
            }
            guard let compressedSize = Int(exactly: compressed), let uncompressedSize = Int(exactly: uncompressed),
                  let local = Int(exactly: localOffset)
            else {
                throw CheckpointError(path, "zip: entry '\(name)': sizes or offset out of range")
            }

            // Local header: the data follows its own name and extra field (lengths may differ from
            // the central directory's, e.g. alignment padding).
            guard region.contains(offset: local, length: 30) else {
                throw CheckpointError(path, "zip: entry '\(name)': local header offset \(local) is outside the file (\(size) bytes); truncated or corrupt")
            }
            guard region.load(UInt32.self, at: local) == localSignature else {
                throw CheckpointError(path, "zip: entry '\(name)': bad local header signature at offset \(local)")
            }
            let localNameLength = Int(region.load(UInt16.self, at: local + 26))
            let localExtraLength = Int(region.load(UInt16.self, at: local + 28))
            guard region.contains(offset: local + 30, length: localNameLength),
                  region.copyBytes(offset: local + 30, length: localNameLength) == nameBytes
            else {
                throw CheckpointError(path, "zip: entry '\(name)': local header name does not match the central directory")
            }
            let dataOffset = local + 30 + localNameLength + localExtraLength
            guard region.contains(offset: dataOffset, length: compressedSize) else {
                throw CheckpointError(path, "zip: entry '\(name)': data (\(compressedSize) bytes at offset \(dataOffset)) extends past the end of the file (\(size) bytes); truncated or corrupt")
            }
            entries.append(ZipEntry(
                name: name, method: method, flags: flags, crc32: crc,
                compressedSize: compressedSize, uncompressedSize: uncompressedSize,
                localHeaderOffset: local, dataOffset: dataOffset))
            p += recordLength
        }
        return entries
    }

    // MARK: Inflate

    private func inflateRaw(_ input: ByteRegion, expectedSize: Int, name: String) throws -> ByteRegion {
        let output = OwnedBuffer(count: expectedSize)
        var stream = z_stream()
        var status = inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw CheckpointError(path, "zip entry '\(name)': cannot initialise zlib (code \(status))")
        }
        defer { inflateEnd(&stream) }

        let source = input.base.assumingMemoryBound(to: Bytef.self)
        let destination = output.base.assumingMemoryBound(to: Bytef.self)
        let scratch = UnsafeMutablePointer<Bytef>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        var consumed = 0
        var produced = 0
        let chunkLimit = Int(UInt32.max)
        while true {
            let inChunk = min(input.count - consumed, chunkLimit)
            stream.next_in = source + consumed
            stream.avail_in = uInt(inChunk)
            let outChunk = min(expectedSize - produced, chunkLimit)
            let intoScratch = outChunk == 0
            if intoScratch {
                // Output is full: offer one scratch byte to learn whether the stream ends here.
                stream.next_out = scratch
                stream.avail_out = 1
            } else {
                stream.next_out = destination + produced
                stream.avail_out = uInt(outChunk)
            }
            status = inflate(&stream, Z_NO_FLUSH)
            consumed += inChunk - Int(stream.avail_in)
            let wrote = (intoScratch ? 1 : outChunk) - Int(stream.avail_out)
            if intoScratch && wrote > 0 {
                throw CheckpointError(path, "zip entry '\(name)': inflated data is larger than the declared \(expectedSize) bytes")
            }
            produced += wrote
            if status == Z_STREAM_END { break }
            if status == Z_BUF_ERROR {
                if consumed >= input.count {
                    throw CheckpointError(path, "zip entry '\(name)': deflate stream is truncated")
                }
                throw CheckpointError(path, "zip entry '\(name)': deflate stream cannot make progress (corrupt)")
            }
            if status != Z_OK {
                let detail = stream.msg.map { String(cString: $0) } ?? "code \(status)"
                throw CheckpointError(path, "zip entry '\(name)': corrupt deflate data (\(detail))")
            }
        }
        guard produced == expectedSize else {
            throw CheckpointError(path, "zip entry '\(name)': inflated \(produced) bytes, expected \(expectedSize)")
        }
        return output.region
    }
}

/// CRC-32 (zip polynomial) of a byte range, in chunks that fit zlib's 32-bit length.
func crc32Of(_ pointer: UnsafeRawPointer, count: Int, initial: UInt32 = 0) -> UInt32 {
    var crc = uLong(initial)
    var offset = 0
    let bytes = pointer.assumingMemoryBound(to: Bytef.self)
    while offset < count {
        let chunk = min(count - offset, 1 << 30)
        crc = crc32(crc, bytes + offset, uInt(chunk))
        offset += chunk
    }
    return UInt32(truncatingIfNeeded: crc)
}
