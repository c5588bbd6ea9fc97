import CZeroMQ
import Foundation
import PointEClusterBase
import PointETensor

/// A ZeroMQ CURVE key pair (Curve25519), kept as ZeroMQ's 40-character Z85 text.
///
/// Key files are small text files, written with 0600 permissions:
///   NAME.key_secret  holds `public-key = "..."` and `secret-key = "..."` (the process's own pair)
///   NAME.key         holds `public-key = "..."` only (what other hosts are given)
/// A coordinator's allow-list is a directory of public key files.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) throws {
        guard CurveKeyPair.isZ85Key(publicKey), CurveKeyPair.isZ85Key(secretKey) else {
            throw ClusterError("a CURVE key must be 40 characters of Z85 text")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from libzmq (which draws from the system's random source).
    public static func generate() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else {
            throw ClusterError("cannot generate a CURVE key pair: \(ZMQSocket.lastError()) (is libzmq built with CURVE support?)")
        }
        return try CurveKeyPair(publicKey: String(cString: publicKey), secretKey: String(cString: secretKey))
    }

    /// Writes NAME.key_secret and NAME.key into `directory` (created if needed), both 0600.
    /// Existing files are not overwritten: a replaced key would lock this host out silently.
    @discardableResult
    public func write(name: String, directory: String) throws -> (secretFile: String, publicFile: String) {
        guard !name.isEmpty, !name.contains("/") else { throw ClusterError("key name '\(name)' must be a plain file name") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let secretFile = (directory as NSString).appendingPathComponent(name + ".key_secret")
        let publicFile = (directory as NSString).appendingPathComponent(name + ".key")
        for file in [secretFile, publicFile] where FileManager.default.fileExists(atPath: file) {
            throw ClusterError("\(file) already exists; remove it first to replace the key")
        }
        let header = "# pointe CURVE key (ZeroMQ Z85). Keep .key_secret files private.\n"
        try CurveKeyPair.writePrivate(header + "public-key = \"\(publicKey)\"\nsecret-key = \"\(secretKey)\"\n", to: secretFile)
        try CurveKeyPair.writePrivate(header + "public-key = \"\(publicKey)\"\n", to: publicFile)
        return (secretFile, publicFile)
    }

    /// Reads a NAME.key_secret file.
    public static func load(_ path: String) throws -> CurveKeyPair {
        let fields = try keyFileFields(path)
        guard let publicKey = fields["public-key"], let secretKey = fields["secret-key"] else {
            throw ClusterError("\(path): not a secret key file (needs public-key and secret-key; `pointe keys generate` writes one)")
        }
        do { return try CurveKeyPair(publicKey: publicKey, secretKey: secretKey) } catch { throw ClusterError("\(path): \(error)") }
    }

    /// The public key of a NAME.key or NAME.key_secret file.
    public static func loadPublicKey(_ path: String) throws -> String {
        guard let key = try keyFileFields(path)["public-key"], isZ85Key(key) else {
            throw ClusterError("\(path): no valid public-key line (40 characters of Z85 text)")
        }
        return key
    }

    /// The 32 raw bytes of a Z85 key.
    public static func decode(_ z85: String) -> Data? {
        guard isZ85Key(z85) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&bytes, z85) != nil else { return nil }
        return Data(bytes)
    }

    /// Z85 text of 32 raw key bytes.
    public static func encode(_ raw: Data) -> String? {
        guard raw.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        let ok = raw.withUnsafeBytes { zmq_z85_encode(&text, $0.bindMemory(to: UInt8.self).baseAddress, 32) != nil }
        return ok ? String(cString: text) : nil
    }

    static func isZ85Key(_ text: String) -> Bool {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
        return text.count == 40 && text.allSatisfy { alphabet.contains($0) }
    }

    /// `name = "value"` lines; # comments and blank lines ignored.
    static func keyFileFields(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ClusterError("cannot read key file \(path)")
        }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            let name = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            fields[name] = value
        }
        return fields
    }

    /// Creates the file with mode 0600 from the start (no window where it is world-readable),
    /// then renames it into place.
    static func writePrivate(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ClusterError("cannot create \(temporary): \(systemErrorText())") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ClusterError("cannot write \(path): \(systemErrorText())")
        }
    }
}

/// The public keys a coordinator lets in: every NAME.key (or NAME.key_secret) file in a
/// directory, read again on each connection attempt so keys can be added or revoked while the
/// coordinator runs.
public struct CurveAllowList: Sendable {
    public let directory: String
    /// Keys admitted besides the directory's (e.g. `pointe run`'s own local workers).
    public var extraKeys: [String: String] = [:]

    public init(directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ClusterError("allow-list \(directory) is not a directory of public key files")
        }
        self.directory = directory
    }

    /// Public key (Z85) -> the file that lists it. Unreadable files are reported in `problems`.
    public func keys() -> (keys: [String: String], problems: [String]) {
        var keys = extraKeys
        var problems: [String] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where name.hasSuffix(".key") || name.hasSuffix(".key_secret") {
            let path = (directory as NSString).appendingPathComponent(name)
            do { keys[try CurveKeyPair.loadPublicKey(path)] = name } catch { problems.append("\(error)") }
        }
        return (keys, problems)
    }
}
