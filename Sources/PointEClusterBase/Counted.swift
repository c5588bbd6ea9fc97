/// "1 worker", "3 workers": a count with its noun, for messages people read ("1 workers" read
/// as a typo). `plural` for nouns that do not take an s.
public func counted(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    "\(count) " + (count == 1 ? noun : plural ?? noun + "s")
}
