extension Substring {
    /// The text without leading and trailing spaces and tabs: HTTP's optional whitespace around
    /// header values and their parts. Cheaper than Foundation's `trimmingCharacters`, which the
    /// per-request header parsing would otherwise pay on every call.
    var trimmingHTTPWhitespace: String {
        let bytes = utf8
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
            let last = bytes.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })
        else { return "" }
        return String(self[first...last])
    }
}

extension String {
    /// See `Substring.trimmingHTTPWhitespace`.
    var trimmingHTTPWhitespace: String { self[...].trimmingHTTPWhitespace }
}
