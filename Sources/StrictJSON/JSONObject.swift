/// A JSON object that keeps insertion order. Keys are unique and are
/// compared by their UTF-8 bytes.
public struct JSONObject: Sendable, Hashable {
    /// The members in order. Keep keys unique when mutating this directly.
    public var entries: [(key: String, value: JSONValue)]

    public init() {
        self.entries = []
    }

    /// Builds an object from pairs. A repeated key keeps its first position
    /// and takes the last value (same as assigning through the subscript).
    public init(_ entries: [(String, JSONValue)]) {
        self.entries = []
        self.entries.reserveCapacity(entries.count)
        var index: [_ByteKey: Int] = [:]
        for (key, value) in entries {
            if let position = index[_ByteKey(key)] {
                self.entries[position].value = value
            } else {
                index[_ByteKey(key)] = self.entries.count
                self.entries.append((key: key, value: value))
            }
        }
    }

    /// Entries whose keys the caller guarantees are unique (the parser, the number rule).
    public init(uniqueEntries: [(key: String, value: JSONValue)]) {
        self.entries = uniqueEntries
    }

    /// Get: the value for `key`, or nil. Set: nil removes the key; an
    /// existing key is replaced in place; a new key is appended.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = index(of: key) else { return nil }
            return entries[position].value
        }
        set {
            if let position = index(of: key) {
                if let newValue {
                    entries[position].value = newValue
                } else {
                    entries.remove(at: position)
                }
            } else if let newValue {
                entries.append((key: key, value: newValue))
            }
        }
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    func index(of key: String) -> Int? {
        entries.firstIndex { _bytesEqual($0.key, key) }
    }

    /// Order-sensitive, byte-exact equality.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (l, r) in zip(lhs.entries, rhs.entries) {
            guard _bytesEqual(l.key, r.key), l.value == r.value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}

/// A String hashed/compared by its UTF-8 bytes (for key de-duplication).
struct _ByteKey: Hashable {
    let string: String
    init(_ string: String) { self.string = string }
    static func == (lhs: _ByteKey, rhs: _ByteKey) -> Bool { _bytesEqual(lhs.string, rhs.string) }
    func hash(into hasher: inout Hasher) {
        let hashed: Void? = string.utf8.withContiguousStorageIfAvailable {
            hasher.combine(bytes: UnsafeRawBufferPointer($0))
        }
        if hashed == nil {
            for byte in string.utf8 { hasher.combine(byte) }
        }
        hasher.combine(string.utf8.count)
    }
}
