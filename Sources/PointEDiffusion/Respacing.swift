import Foundation

/// Which timesteps of a long diffusion process to keep (the reference's `space_timesteps`):
/// "10,15,20" takes that many evenly strided steps from equal thirds of the process, "ddimN"
/// the integer stride giving exactly N steps, "exact1,5,9" the listed steps.
public func spaceTimesteps(_ numTimesteps: Int, _ sectionCounts: String) throws -> [Int] {
    if sectionCounts.hasPrefix("ddim") {
        guard let desired = Int(sectionCounts.dropFirst(4)) else {
            throw DiffusionError("respacing \"\(sectionCounts)\": expected ddimN")
        }
        for stride in 1..<max(numTimesteps, 2) where Array(Swift.stride(from: 0, to: numTimesteps, by: stride)).count == desired {
            return Array(Swift.stride(from: 0, to: numTimesteps, by: stride))
        }
        throw DiffusionError("respacing \"\(sectionCounts)\": cannot take exactly \(desired) of \(numTimesteps) steps with an integer stride")
    }
    if sectionCounts.hasPrefix("exact") {
        var steps = Set<Int>()
        for part in sectionCounts.dropFirst(5).split(separator: ",") {
            guard let t = Int(part.trimmingCharacters(in: .whitespaces)), t >= 0, t < numTimesteps else {
                throw DiffusionError("respacing \"\(sectionCounts)\": \"\(part)\" is not a timestep in 0..<\(numTimesteps)")
            }
            steps.insert(t)
        }
        return steps.sorted()
    }
    let counts = try sectionCounts.split(separator: ",").map { part -> Int in
        guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else {
            throw DiffusionError("respacing \"\(sectionCounts)\": \"\(part)\" is not a step count")
        }
        return n
    }
    guard !counts.isEmpty else { throw DiffusionError("respacing \"\(sectionCounts)\" lists no section counts") }
    let sizePer = numTimesteps / counts.count
    let extra = numTimesteps % counts.count
    var start = 0
    var all = Set<Int>()
    for (i, count) in counts.enumerated() {
        let size = sizePer + (i < extra ? 1 : 0)
        guard size >= count else {
            throw DiffusionError("respacing \"\(sectionCounts)\": cannot divide a section of \(size) steps into \(count)")
        }
        let stride = count <= 1 ? 1.0 : Double(size - 1) / Double(count - 1)
        var position = 0.0
        for _ in 0..<count {
            // Python's round(): half to even.
            all.insert(start + Int(position.rounded(.toNearestOrEven)))
            position += stride
        }
        start += size
    }
    return all.sorted()
}
