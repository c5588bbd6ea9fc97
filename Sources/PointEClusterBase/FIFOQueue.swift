/// First in, first out, with O(1) amortised removal from the front: an array read from a head
/// index, compacted once the consumed part is at least half of it. The coordinator's inbox,
/// its parked work requests and the in-memory transport's queue are all this.
public struct FIFOQueue<Element> {
    private var items: [Element] = []
    private var head = 0

    public init() {}

    public var isEmpty: Bool { head == items.count }
    public var count: Int { items.count - head }
    public var first: Element? { head < items.count ? items[head] : nil }

    public mutating func append(_ element: Element) { items.append(element) }

    public mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 256, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }
}
