import Foundation
import PointETestSupport
import XCTest

/// The cluster launchers in cluster/ (Slurm, Kubernetes, systemd), checked as far as this
/// machine allows: scripts run against stand-in Slurm commands, manifests and units are parsed,
/// and every pointe command line they would run is parsed and validated by pointe itself
/// (POINTE_PARSE_ONLY=1) without starting anything.
final class LauncherTests: XCTestCase {
    static let cluster = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("cluster").path

    /// Parses a pointe command line with the real executable; returns its "parsed: ..." line.
    func parse(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let (status, output) = try Subprocess.run("/usr/bin/env", ["POINTE_PARSE_ONLY=1", try BuiltTool.pointe()] + arguments, timeout: 60)
        XCTAssertEqual(status, 0, "pointe \(arguments.joined(separator: " ")): \(output)", file: file, line: line)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(_ text: String, to path: String, executable: Bool = true) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if executable { chmod(path, 0o755) }
    }

    func testSlurmScriptStartsEveryRoleWithItsKeys() throws {
        let dir = ClusterTestSupport.temporaryDirectory("slurm")
        let bin = dir + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let calls = dir + "/calls.log"
        // Stand-ins: scontrol lists the allocation's nodes; srun runs its command once per node
        // of --nodelist with SLURMD_NODENAME set, as Slurm does.
        try write("""
            #!/usr/bin/env bash
            case "$1 $2" in
              "show hostnames") printf '%s\\n' node1 node2 node3 node4 node5 ;;
              *) echo "scontrol $*" >> "\(calls)" ;;
            esac
            """, to: bin + "/scontrol")
        try write("""
            #!/usr/bin/env bash
            nodes=""
            while [[ "$1" == --* ]]; do case "$1" in --nodelist=*) nodes="${1#--nodelist=}" ;; esac; shift; done
            IFS=, read -ra list <<< "$nodes"
            for node in "${list[@]}"; do SLURMD_NODENAME="$node" "$@" || echo "FAILED on $node: $*" >> "\(calls)"; done
            """, to: bin + "/srun")
        // pointe itself: key generation runs for real, daemons are only parsed.
        let pointe = try BuiltTool.pointe()
        try write("""
            #!/usr/bin/env bash
            if [[ "$1" == keys ]]; then exec "\(pointe)" "$@"; fi
            if POINTE_PARSE_ONLY=1 "\(pointe)" "$@" >> "\(calls)" 2>&1; then echo "  args: $*" >> "\(calls)"; else echo "FAILED: $*" >> "\(calls)"; exit 1; fi
            """, to: bin + "/pointe")
        try "a chair\na lamp\n".write(toFile: dir + "/prompts.txt", atomically: true, encoding: .utf8)
        let environment = ["PATH=\(bin):/usr/bin:/bin", "SLURM_JOB_NODELIST=node[1-5]", "SLURM_JOB_ID=42", "POINTE=\(bin)/pointe",
                           "POINTE_JOB_DIR=\(dir)/job", "POINTE_MODELS_DIR=\(dir)/models", "POINTE_MESHER_NODES=1", "HOME=\(dir)"]
        let (status, output) = try Subprocess.run("/usr/bin/env", environment + ["bash", Self.cluster + "/slurm/pointe.sbatch", dir + "/prompts.txt"], timeout: 120)
        let log = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""
        XCTAssertEqual(status, 0, output + log)
        XCTAssertFalse(log.contains("FAILED"), log)
        XCTAssertEqual(log.components(separatedBy: "parsed: pointe coordinator").count - 1, 1, log)
        XCTAssertEqual(log.components(separatedBy: "parsed: pointe worker").count - 1, 3, log)
        XCTAssertEqual(log.components(separatedBy: "parsed: pointe mesher").count - 1, 1, log)
        XCTAssertTrue(log.contains("--name worker@node2 --curve-key \(dir)/job.keys/node2.key_secret"), log)
        XCTAssertTrue(log.contains("--name mesher@node5"), log)
        XCTAssertTrue(log.contains("--bind tcp://*:5555"), log)
        XCTAssertTrue(log.contains("--connect tcp://node1:5555"), log)
        XCTAssertFalse(log.contains("scontrol requeue"), "requeued although nothing stopped it")
        for node in ["node2", "node3", "node4", "node5"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/job.keys/allowed/\(node).key"), "\(node) not in the allow-list")
            let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: "\(dir)/job.keys/\(node).key_secret")[.posixPermissions] as? NSNumber)
            XCTAssertEqual(mode.intValue, 0o600)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/job.keys/allowed/node1.key"), "the coordinator's node is not a peer")
    }

    func testKubernetesManifestsParseAndTheirCommandsAreValid() throws {
        let python = try Subprocess.run("/usr/bin/env", ["python3", "-c", "import yaml"], timeout: 60)
        guard python.status == 0 else { throw XCTSkip("python3 with PyYAML is not available to parse the manifests") }
        let script = """
            import glob, json, sys, yaml
            docs = []
            for path in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
                for doc in yaml.safe_load_all(open(path)):
                    if doc is not None:
                        doc["__file"] = path.rsplit("/", 1)[1]
                        docs.append(doc)
            print(json.dumps(docs))
            """
        let (status, output) = try Subprocess.run("/usr/bin/env", ["python3", "-c", script, Self.cluster + "/kubernetes"], timeout: 60)
        XCTAssertEqual(status, 0, output)
        let docs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
        let kinds = docs.compactMap { $0["kind"] as? String }
        for kind in ["Service", "StatefulSet", "Deployment", "PersistentVolumeClaim", "Job", "Kustomization"] {
            XCTAssertTrue(kinds.contains(kind), "no \(kind) in cluster/kubernetes")
        }
        var parsed: [String] = []
        for doc in docs {
            let file = doc["__file"] as? String ?? "?"
            XCTAssertNotNil(doc["apiVersion"], file)
            if let resources = doc["resources"] as? [String] {
                for resource in resources { XCTAssertTrue(FileManager.default.fileExists(atPath: Self.cluster + "/kubernetes/" + resource), "\(file) lists \(resource)") }
            }
            guard let spec = ((doc["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any] else { continue }
            let volumes = spec["volumes"] as? [[String: Any]] ?? []
            // Paths the Secret volume provides, as mounted at /keys.
            let keyItems = volumes.first { $0["name"] as? String == "keys" }.flatMap { ($0["secret"] as? [String: Any])?["items"] as? [[String: Any]] } ?? []
            let keyPaths = Set(keyItems.compactMap { $0["path"] as? String })
            for container in spec["containers"] as? [[String: Any]] ?? [] {
                let command = (container["command"] as? [String] ?? []) + (container["args"] as? [String] ?? [])
                XCTAssertEqual(command.first, "pointe", file)
                parsed.append(try parse(Array(command.dropFirst())))
                for (index, argument) in command.enumerated() where ["--curve-key", "--server-key", "--allow-keys"].contains(argument) {
                    let path = command[index + 1]
                    XCTAssertTrue(path.hasPrefix("/keys/"), "\(file): \(argument) \(path) is outside the keys volume")
                    let relative = String(path.dropFirst("/keys/".count))
                    XCTAssertTrue(keyPaths.contains(relative) || keyPaths.contains { $0.hasPrefix(relative + "/") },
                                  "\(file): \(argument) \(path) is not provided by the pointe-curve-keys Secret items \(keyPaths)")
                }
                if let connect = command.firstIndex(of: "--connect") {
                    XCTAssertEqual(command[connect + 1], "tcp://pointe-coordinator:5555", "\(file): peers must reach the coordinator Service")
                }
            }
        }
        XCTAssertEqual(parsed.sorted(), ["parsed: pointe coordinator", "parsed: pointe download", "parsed: pointe mesher", "parsed: pointe worker"])
        let service = try XCTUnwrap(docs.first { $0["kind"] as? String == "Service" })
        XCTAssertEqual((service["metadata"] as? [String: Any])?["name"] as? String, "pointe-coordinator")
    }

    func testSystemdUnitsRunValidCommands() throws {
        let directory = Self.cluster + "/systemd"
        var environment: [String: String] = [:]
        for line in try String(contentsOfFile: directory + "/pointe.env", encoding: .utf8).split(separator: "\n")
        where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1)
            environment[String(parts[0])] = String(parts[1])
        }
        var parsed: [String] = []
        for unit in try FileManager.default.contentsOfDirectory(atPath: directory).filter({ $0.hasSuffix(".service") }).sorted() {
            let text = try String(contentsOfFile: directory + "/" + unit, encoding: .utf8)
            var sections: [String: [String: String]] = [:]
            var current = ""
            for raw in text.split(separator: "\n") {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                if line.hasPrefix("[") { current = String(line.dropFirst().dropLast()); continue }
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                XCTAssertEqual(parts.count, 2, "\(unit): not a key=value line: \(line)")
                sections[current, default: [:]][parts[0]] = parts.count == 2 ? parts[1] : ""
            }
            XCTAssertEqual(Set(sections.keys), ["Unit", "Service", "Install"], unit)
            let service = sections["Service"] ?? [:]
            XCTAssertEqual(service["EnvironmentFile"], "/etc/pointe/pointe.env", unit)
            XCTAssertEqual(service["KillSignal"], "SIGTERM", unit)
            var exec = try XCTUnwrap(service["ExecStart"], unit)
            for (name, value) in environment { exec = exec.replacingOccurrences(of: "${\(name)}", with: value) }
            exec = exec.replacingOccurrences(of: "%i", with: "1").replacingOccurrences(of: "%H", with: "node1")
            XCTAssertFalse(exec.contains("${"), "\(unit): a variable pointe.env does not define: \(exec)")
            let argv = exec.split(separator: " ").map(String.init)
            XCTAssertEqual(argv.first, "/usr/local/bin/pointe", unit)
            parsed.append(try parse(Array(argv.dropFirst())))
        }
        XCTAssertEqual(parsed, ["parsed: pointe coordinator", "parsed: pointe mesher", "parsed: pointe worker"])
    }
}
