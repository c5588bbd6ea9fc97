import Foundation
import PointETestSupport
import XCTest

/// Several "hosts" on one machine for tests of what crosses a network: a Linux network
/// namespace per host, each with one veth link to a bridge in a "switch" namespace, addresses
/// 10.231.0.10+ on a private /24 that exists only inside these namespaces. Cutting a host's
/// link downs its port on the switch (packets vanish, as with a pulled cable). Needs root and
/// iproute2; `destroy` (also run for leftovers of crashed runs) deletes every namespace, and
/// with them every link.
final class NetworkNamespaceLab {
    struct Host {
        let name: String
        let namespace: String
        let address: String
        let switchPort: String
    }

    static let ip = "/usr/sbin/ip"
    let prefix: String
    let switchNamespace: String
    private(set) var hosts: [String: Host] = [:]

    /// Skips the test when namespaces cannot be made here (not root, no iproute2).
    static func make(hosts names: [String]) throws -> NetworkNamespaceLab {
        guard geteuid() == 0 else { throw XCTSkip("network namespace tests need root (CI runs .ci/run as root)") }
        guard FileManager.default.isExecutableFile(atPath: ip) else { throw XCTSkip("\(ip) missing (Debian package iproute2)") }
        removeLeftovers()
        let lab = NetworkNamespaceLab()
        do {
            try lab.build(names)
        } catch {
            lab.destroy()
            if "\(error)".contains("Operation not permitted") { throw XCTSkip("cannot create network namespaces here: \(error)") }
            throw error
        }
        return lab
    }

    private init() {
        prefix = "pointe-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        switchNamespace = prefix + "-switch"
    }

    private func build(_ names: [String]) throws {
        try run(["netns", "add", switchNamespace])
        try run(["-n", switchNamespace, "link", "set", "lo", "up"])
        try run(["-n", switchNamespace, "link", "add", "br0", "type", "bridge"])
        try run(["-n", switchNamespace, "link", "set", "br0", "up"])
        for (index, name) in names.enumerated() {
            let host = Host(name: name, namespace: "\(prefix)-\(name)", address: "10.231.0.\(10 + index)", switchPort: "port\(index)")
            try run(["netns", "add", host.namespace])
            try run(["-n", host.namespace, "link", "set", "lo", "up"])
            // Both ends are created directly inside their namespaces: nothing appears in the
            // machine's own network namespace, not even for a moment.
            try run(["link", "add", "eth0", "netns", host.namespace, "type", "veth", "peer", "name", host.switchPort, "netns", switchNamespace])
            try run(["-n", switchNamespace, "link", "set", host.switchPort, "master", "br0"])
            try run(["-n", switchNamespace, "link", "set", host.switchPort, "up"])
            try run(["-n", host.namespace, "addr", "add", host.address + "/24", "dev", "eth0"])
            try run(["-n", host.namespace, "link", "set", "eth0", "up"])
            hosts[name] = host
        }
    }

    func host(_ name: String) -> Host { hosts[name]! }

    /// Starts `executable arguments` inside host `name`'s namespace.
    func start(on name: String, _ executable: String, _ arguments: [String], log: String) throws -> Subprocess {
        try Subprocess(Self.ip, ["netns", "exec", host(name).namespace, executable] + arguments, outputPath: log)
    }

    func cutLink(_ name: String) throws { try run(["-n", switchNamespace, "link", "set", host(name).switchPort, "down"]) }
    func restoreLink(_ name: String) throws { try run(["-n", switchNamespace, "link", "set", host(name).switchPort, "up"]) }

    func destroy() {
        for host in hosts.values { _ = try? Subprocess.run(Self.ip, ["netns", "del", host.namespace], timeout: 30) }
        _ = try? Subprocess.run(Self.ip, ["netns", "del", switchNamespace], timeout: 30)
        hosts = [:]
    }

    /// Namespaces of earlier test processes that died before cleaning up.
    static func removeLeftovers() {
        guard let listing = try? Subprocess.run(ip, ["netns", "list"], timeout: 30).output else { return }
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count >= 3, parts[0] == "pointe", let pid = Int32(parts[1]), pid != getpid(), kill(pid, 0) != 0 else { continue }
            _ = try? Subprocess.run(ip, ["netns", "del", name], timeout: 30)
        }
    }

    private func run(_ arguments: [String]) throws {
        let (status, output) = try Subprocess.run(Self.ip, arguments, timeout: 30)
        guard status == 0 else { throw SubprocessError("ip \(arguments.joined(separator: " ")) failed (\(status)): \(output)") }
    }
}
