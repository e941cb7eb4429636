/// The Encoder and its three containers behind PrettyJSONEncoder: each writes into a `Slot`
/// of the value tree, so a document's envelope and body (two keyed containers asked of one
/// encoder, as JSONDocument's Envelope does) land in one object, as with Foundation.
struct TreeEncoder: Encoder {
    let slot: PrettyJSONEncoder.Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = slot.value {} else { slot.value = .object([:]) }
        return KeyedEncodingContainer(KeyedTree<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = slot.value {} else { slot.value = .array([]) }
        return UnkeyedTree(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleTree(slot: slot, codingPath: codingPath) }
}

/// One value's encoding, shared by the three containers: primitives directly, anything else
/// through its own `encode(to:)` into a fresh slot.
///
/// A primitive is recognised by its exact type before any cast: a cast that fails (a document's
/// own struct tried as String, Bool, Double...) has the runtime look through protocol
/// conformances, a search of the whole static binary's conformance records the first time for
/// each type, which was half of a small `inspect --format json`. An Optional goes through its
/// own `encode(to:)`, which hands the wrapped primitive back here (or writes null): the same
/// value the cast of the optional gave.
enum TreeValue {
    static func encode<T: Encodable>(_ value: T, into slot: PrettyJSONEncoder.Slot, at path: [any CodingKey]) throws {
        if let primitive = try primitive(value, path) {
            slot.value = primitive
            return
        }
        try value.encode(to: TreeEncoder(slot: slot, codingPath: path))
        // Foundation writes a value that encoded nothing as an empty object.
        if slot.value == nil { slot.value = .object([:]) }
    }

    private static func primitive<T: Encodable>(_ value: T, _ path: [any CodingKey]) throws -> PrettyJSONEncoder.Value? {
        if T.self == String.self, let text = value as? String { return .string(text) }
        if T.self == Bool.self, let flag = value as? Bool { return .bool(flag) }
        if T.self == Double.self, let number = value as? Double { return try PrettyJSONEncoder.number(number, path) }
        if T.self == Float.self, let number = value as? Float { return try PrettyJSONEncoder.number(number, path) }
        if T.self == Int.self, let number = value as? Int { return .number(String(number)) }
        if T.self == Int8.self, let number = value as? Int8 { return .number(String(number)) }
        if T.self == Int16.self, let number = value as? Int16 { return .number(String(number)) }
        if T.self == Int32.self, let number = value as? Int32 { return .number(String(number)) }
        if T.self == Int64.self, let number = value as? Int64 { return .number(String(number)) }
        if T.self == UInt.self, let number = value as? UInt { return .number(String(number)) }
        if T.self == UInt8.self, let number = value as? UInt8 { return .number(String(number)) }
        if T.self == UInt16.self, let number = value as? UInt16 { return .number(String(number)) }
        if T.self == UInt32.self, let number = value as? UInt32 { return .number(String(number)) }
        if T.self == UInt64.self, let number = value as? UInt64 { return .number(String(number)) }
        return nil
    }
}

struct KeyedTree<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: PrettyJSONEncoder.Slot
    let codingPath: [any CodingKey]

    private func child(_ key: Key, _ value: PrettyJSONEncoder.Value? = nil) -> PrettyJSONEncoder.Slot {
        child(named: key.stringValue, value)
    }

    private func child(named name: String, _ value: PrettyJSONEncoder.Value? = nil) -> PrettyJSONEncoder.Slot {
        let child = PrettyJSONEncoder.Slot(value)
        if case var .object(members) = slot.value {
            // Out of the slot first, so the dictionary is changed in place: a copy per member
            // made a document of n members cost n² (a snapshot of a capture whose manifest
            // listed 277k unreadable files ran for over 15 minutes).
            slot.value = nil
            members[name] = child
            slot.value = .object(members)
        }
        return child
    }

    mutating func encodeNil(forKey key: Key) throws { _ = child(key, .null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try TreeValue.encode(value, into: child(key), at: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedTree<NestedKey>(slot: child(key, .object([:])), codingPath: codingPath + [key]))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedTree(slot: child(key, .array([])), codingPath: codingPath + [key])
    }
    /// Foundation's key for a superclass's members.
    mutating func superEncoder() -> any Encoder { TreeEncoder(slot: child(named: "super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { TreeEncoder(slot: child(key), codingPath: codingPath + [key]) }
}

struct UnkeyedTree: UnkeyedEncodingContainer {
    let slot: PrettyJSONEncoder.Slot
    let codingPath: [any CodingKey]
    var count: Int {
        if case let .array(items) = slot.value { return items.count }
        return 0
    }

    private func next(_ value: PrettyJSONEncoder.Value? = nil) -> PrettyJSONEncoder.Slot {
        let child = PrettyJSONEncoder.Slot(value)
        if case var .array(items) = slot.value {
            // Out of the slot first, so the append is in place (see `KeyedTree.child`).
            slot.value = nil
            items.append(child)
            slot.value = .array(items)
        }
        return child
    }

    private var here: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }

    mutating func encodeNil() throws { _ = next(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = here
        try TreeValue.encode(value, into: next(), at: path)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = here
        return KeyedEncodingContainer(KeyedTree<NestedKey>(slot: next(.object([:])), codingPath: path))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = here
        return UnkeyedTree(slot: next(.array([])), codingPath: path)
    }
    mutating func superEncoder() -> any Encoder {
        let path = here
        return TreeEncoder(slot: next(), codingPath: path)
    }
}

struct SingleTree: SingleValueEncodingContainer {
    let slot: PrettyJSONEncoder.Slot
    let codingPath: [any CodingKey]
    mutating func encodeNil() throws { slot.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try TreeValue.encode(value, into: slot, at: codingPath) }
}

/// An array position in a coding path.
struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue ?? 0)" }
    var intValue: Int?
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}
