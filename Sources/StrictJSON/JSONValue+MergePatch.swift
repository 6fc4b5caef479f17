extension JSONValue {
    /// RFC 7396 JSON Merge Patch: a non-object patch replaces the target; an
    /// object patch is applied to the target (a non-object target counts as
    /// `{}`): `null` members remove keys, other members are merged
    /// recursively. Replaced keys keep their position; new keys are appended.
    public func mergePatched(with patch: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var target: JSONObject
        if case .object(let object) = self {
            target = object
        } else {
            target = JSONObject()
        }
        target.applyMergePatch(patchObject)
        return .object(target)
    }
}

extension JSONObject {
    /// Linear in the sizes of both objects (indexed lookups), so a hostile
    /// patch with many keys cannot cause quadratic work.
    mutating func applyMergePatch(_ patch: JSONObject) {
        var slots: [(key: String, value: JSONValue?)] = entries.map { (key: $0.key, value: $0.value) }
        var index: [_ByteKey: Int] = [:]
        index.reserveCapacity(slots.count + patch.count)
        for (position, slot) in slots.enumerated() {
            index[_ByteKey(slot.key)] = position
        }
        for (key, value) in patch.entries {
            let byteKey = _ByteKey(key)
            if case .null = value {
                if let position = index.removeValue(forKey: byteKey) {
                    slots[position].value = nil
                }
            } else if let position = index[byteKey] {
                slots[position].value = (slots[position].value ?? .null).mergePatched(with: value)
            } else {
                index[byteKey] = slots.count
                slots.append((key: key, value: JSONValue.null.mergePatched(with: value)))
            }
        }
        entries = slots.compactMap { slot in slot.value.map { (key: slot.key, value: $0) } }
    }
}

extension JSONValue {
    /// The same value with object keys in PostgreSQL `jsonb` order (shorter keys first, then
    /// by bytes), recursively, so what a write returns matches what a later read returns.
    public var jsonbOrdered: JSONValue {
        switch self {
        case .object(let object): return .object(object.jsonbOrdered)
        case .array(let items): return .array(items.map(\.jsonbOrdered))
        default: return self
        }
    }
}

extension JSONObject {
    public var jsonbOrdered: JSONObject {
        let sorted = entries.map { (key: $0.key, value: $0.value.jsonbOrdered) }.sorted { a, b in
            let x = Array(a.key.utf8)
            let y = Array(b.key.utf8)
            if x.count != y.count { return x.count < y.count }
            return x.lexicographicallyPrecedes(y)
        }
        return JSONObject(sorted.map { ($0.key, $0.value) })
    }
}
