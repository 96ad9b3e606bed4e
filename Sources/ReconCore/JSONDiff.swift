/// Field-by-field differences between two JSON values, named by path
/// (`discrepancies[2].severity`), for `recon check` and what-if comparisons.
public enum JSONDiff {
    /// At most this many differences are listed; the rest are counted.
    public static let maxListed = 50

    public static func differences(expected: JSONValue, actual: JSONValue, path: String = "", ignoring: Set<String> = []) -> [String] {
        var out: [String] = []
        walk(expected, actual, path, ignoring, &out)
        return out
    }

    private static func walk(_ e: JSONValue, _ a: JSONValue, _ path: String, _ ignoring: Set<String>, _ out: inout [String]) {
        guard out.count < maxListed else { return }
        switch (e, a) {
        case (.object(let eo), .object(let ao)):
            for entry in eo.entries where !ignoring.contains(entry.key) {
                let child = path.isEmpty ? entry.key : "\(path).\(entry.key)"
                if let other = ao[entry.key] {
                    walk(entry.value, other, child, ignoring, &out)
                } else {
                    out.append("\(child): expected \(show(entry.value)), missing")
                }
            }
            for entry in ao.entries where eo[entry.key] == nil && !ignoring.contains(entry.key) {
                let child = path.isEmpty ? entry.key : "\(path).\(entry.key)"
                out.append("\(child): unexpected \(show(entry.value))")
            }
        case (.array(let ea), .array(let aa)):
            for i in 0..<max(ea.count, aa.count) {
                let child = "\(path)[\(i)]"
                if i >= ea.count {
                    out.append("\(child): unexpected \(show(aa[i]))")
                } else if i >= aa.count {
                    out.append("\(child): expected \(show(ea[i])), missing")
                } else {
                    walk(ea[i], aa[i], child, ignoring, &out)
                }
            }
        default:
            if e != a { out.append("\(path): expected \(show(e)), got \(show(a))") }
        }
    }

    static func show(_ v: JSONValue) -> String {
        var w = JSONWriter()
        w.value(v)
        let text = w.text
        return text.count > 120 ? String(text.prefix(117)) + "..." : text
    }
}
