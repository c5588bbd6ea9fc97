import CAffinity
import Foundation

/// A set of CPU numbers, as Linux's CPU lists write them ("0-3,8"): what a process may run on
/// (its affinity), what `--cpus` pins it to, and each local worker's share of a machine.
public struct CPUSet: Equatable, Sendable, CustomStringConvertible {
    /// Sorted, without repeats.
    public let cpus: [Int]

    public init<S: Sequence>(_ cpus: S) where S.Element == Int {
        self.cpus = Array(Set(cpus)).sorted()
    }

    /// The CPU list syntax of taskset -c and /sys/devices/system/cpu/online: comma-separated
    /// numbers and inclusive ranges.
    public init(parsing list: String) throws {
        var cpus: [Int] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), low >= 0,
                  let high = bounds.count == 2 ? Int(bounds[1]) : low, high >= low
            else {
                throw CPUError("CPU list \"\(list)\": \"\(item)\" is not a CPU number or an ascending range like 0-3")
            }
            guard high < CPUSet.maskBits else { throw CPUError("CPU list \"\(list)\": CPU \(high) is beyond the \(CPUSet.maskBits) CPUs this build can address") }
            cpus.append(contentsOf: low...high)
        }
        self.init(cpus)
    }

    public var count: Int { cpus.count }
    public var isEmpty: Bool { cpus.isEmpty }

    /// The compact list form ("0-3,8"), which `init(parsing:)` reads back.
    public var description: String {
        var parts: [String] = []
        var index = 0
        while index < cpus.count {
            var end = index
            while end + 1 < cpus.count, cpus[end + 1] == cpus[end] + 1 { end += 1 }
            parts.append(end == index ? "\(cpus[index])" : "\(cpus[index])-\(cpus[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// Bits in the masks passed to the kernel: CPU numbers up to 8191 (Linux's largest
    /// NR_CPUS), so no machine Linux runs on has a CPU we cannot name.
    static let maskBits = 8192

    /// The CPUs the calling thread may run on (sched_getaffinity); for a process that has not
    /// pinned its threads one by one, the process's.
    public static func current() -> CPUSet {
        var mask = [UInt8](repeating: 0, count: maskBits / 8)
        guard pointe_affinity_get(0, &mask, mask.count) == 0 else {
            // Only a kernel without the call fails here; every online CPU is then ours.
            return CPUSet(0..<max(1, ProcessInfo.processInfo.activeProcessorCount))
        }
        return CPUSet((0..<maskBits).filter { mask[$0 / 8] & (1 << UInt8($0 % 8)) != 0 })
    }

    /// Pins every thread of this process to these CPUs. Threads started later inherit the
    /// affinity of the thread that starts them, so calling this before any thread pool is
    /// busy pins the pools too; the threads that exist already (OpenBLAS's, made when the
    /// library loaded; the dispatch pool's) are pinned one by one from /proc/self/task, since
    /// sched_setaffinity moves only the thread it names. Throws, naming the list, when a CPU is
    /// not one this process may use (the caller names the option it came from).
    public func pinProcess() throws {
        let allowed = CPUSet.current()
        let outside = cpus.filter { !allowed.cpus.contains($0) }
        guard !isEmpty, outside.isEmpty else {
            throw CPUError("\(isEmpty ? "no CPU given" : "CPU \(CPUSet(outside)) is not one this process may use") (it may use \(allowed))")
        }
        var mask = [UInt8](repeating: 0, count: CPUSet.maskBits / 8)
        for cpu in cpus { mask[cpu / 8] |= 1 << UInt8(cpu % 8) }
        guard pointe_affinity_set(0, mask, mask.count) == 0 else {
            throw CPUError("cannot pin this process to CPUs \(self): \(systemErrorText())")
        }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for tid in tasks.compactMap({ Int32($0) }) {
            // A thread that ended since the listing (ESRCH) has nothing left to pin.
            if pointe_affinity_set(tid, mask, mask.count) != 0, errno != ESRCH {
                throw CPUError("cannot pin thread \(tid) to CPUs \(self): \(systemErrorText())")
            }
        }
    }
}

public struct CPUError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
