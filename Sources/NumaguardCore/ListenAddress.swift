/// Where `numaguard watch` serves /metrics: an IPv4 address and a TCP port. A bare port
/// means loopback, so nothing is exposed beyond the host unless an address says so.
/// Names other than `localhost` are refused: the static binary does no name service
/// lookups, and a metrics endpoint bound to whatever a name resolves to today is a surprise.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public var octets: [UInt8]
    public var port: UInt16

    public init(octets: [UInt8], port: UInt16) {
        self.octets = octets
        self.port = port
    }

    public var isLoopback: Bool { octets.first == 127 }
    public var host: String { octets.map(String.init).joined(separator: ".") }
    public var description: String { "\(host):\(port)" }

    /// `9464`, `127.0.0.1:9464`, `localhost:9464`, `0.0.0.0:9464`.
    public static func parse(_ text: String) -> Result<ListenAddress, Invalid> {
        let trimmed = Quantity.spacesTrimmed(text)
        let refusal = Invalid("\"\(text)\" is not a listen address: expected PORT or IPV4:PORT (e.g. 127.0.0.1:9464)")
        let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let portText = parts.last, let port = Lex.decimal(portText) else { return .failure(refusal) }
        guard (1...65535).contains(port) else { return .failure(Invalid("\"\(text)\": port \(port) is outside 1...65535")) }
        guard parts.count == 2 else { return .success(ListenAddress(octets: [127, 0, 0, 1], port: UInt16(port))) }
        if parts[0] == "localhost" { return .success(ListenAddress(octets: [127, 0, 0, 1], port: UInt16(port))) }
        let fields = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        let octets = fields.compactMap { field -> UInt8? in
            guard field.count <= 3, let value = Lex.decimal(field), value <= 255 else { return nil }
            return UInt8(value)
        }
        guard fields.count == 4, octets.count == 4 else { return .failure(refusal) }
        return .success(ListenAddress(octets: octets, port: UInt16(port)))
    }
}
