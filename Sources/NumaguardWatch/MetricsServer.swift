#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// A tiny HTTP/1.x server for `GET /metrics`, driven by the watch's poll() loop on the same
/// thread: no threads, no allocation beyond a few bounded buffers, one response per
/// connection (Connection: close), as Prometheus scrapes. Requests larger than 8 KiB,
/// clients beyond 16 at once, and clients silent for 5 s are dropped.
final class MetricsServer {
    private struct Client {
        var fd: Int32
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        var deadline: Double
    }

    static let maxClients = 16
    static let maxRequest = 8192
    static let timeoutSeconds = 5.0

    let address: ListenAddress
    private let listener: Int32
    private var clients: [Client] = []

    init(_ address: ListenAddress) throws(SystemCallError) {
        self.address = address
        let subject = address.description
        let fd = try SystemCall.check("socket", subject) {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        do throws(SystemCallError) {
            var one: Int32 = 1
            try SystemCall.check("setsockopt", "\(subject) SO_REUSEADDR") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = address.port.bigEndian
            let octets = address.octets.map(UInt32.init)
            socketAddress.sin_addr.s_addr = (octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3]).bigEndian
            try SystemCall.check("bind", subject) {
                withUnsafePointer(to: &socketAddress) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            try SystemCall.check("listen", subject) { listen(fd, 16) }
        } catch {
            close(fd)
            throw error
        }
        listener = fd
    }

    deinit {
        for client in clients { close(client.fd) }
        close(listener)
    }

    /// The descriptors to poll, listener first.
    var pollDescriptors: [pollfd] {
        [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] + clients.map {
            pollfd(fd: $0.fd, events: Int16($0.response.isEmpty ? POLLIN : POLLOUT), revents: 0)
        }
    }

    /// The earliest client deadline, for the poll timeout.
    var nextDeadline: Double? { clients.map(\.deadline).min() }

    /// Serves whatever `ready` (the result of polling `pollDescriptors`) says is ready.
    func serve(_ ready: ArraySlice<pollfd>, now: Double, metrics: () -> String) {
        var readable: Set<Int32> = []
        for descriptor in ready where descriptor.revents != 0 { readable.insert(descriptor.fd) }
        if readable.contains(listener) { accept(now: now) }
        var index = 0
        while index < clients.count {
            var client = clients[index]
            var done = now >= client.deadline
            if !done && readable.contains(client.fd) {
                done = client.response.isEmpty ? read(&client, metrics: metrics) : write(&client)
            }
            if done {
                close(client.fd)
                clients.remove(at: index)
            } else {
                clients[index] = client
                index += 1
            }
        }
    }

    private func accept(now: Double) {
        while true {
            let fd = systemAccept(listener)
            guard fd >= 0 else { return }
            // accept(2) does not pass the listener's flags on (accept4 needs _GNU_SOURCE).
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if clients.count >= Self.maxClients {
                close(fd)
                continue
            }
            clients.append(Client(fd: fd, deadline: now + Self.timeoutSeconds))
        }
    }

    /// Reads what is there; answers once the request head is complete. True when finished.
    private func read(_ client: inout Client, metrics: () -> String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = buffer.withUnsafeMutableBytes { systemRead(client.fd, $0.baseAddress, $0.count) }
        if count < 0 { return errno != EAGAIN && errno != EINTR }
        if count == 0 { return true }
        client.request += buffer[0..<count]
        guard let head = Self.requestHead(client.request) else {
            return client.request.count > Self.maxRequest
        }
        client.response = Self.respond(to: head, metrics: metrics)
        return write(&client)
    }

    private func write(_ client: inout Client) -> Bool {
        let count = client.response[client.sent...].withUnsafeBytes { systemSend(client.fd, $0.baseAddress, $0.count) }
        if count < 0 { return errno != EAGAIN && errno != EINTR }
        client.sent += count
        return client.sent >= client.response.count
    }

    /// The request line once the head (up to a blank line) has arrived.
    static func requestHead(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("\r\n\r\n") || text.contains("\n\n") else { return nil }
        // "\r\n" is one Character in Swift: split on anything that ends a line.
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }

    /// A whole HTTP response for a request line.
    static func respond(to requestLine: String, metrics: () -> String) -> [UInt8] {
        let words = requestLine.split(separator: " ")
        let method = words.first.map(String.init) ?? ""
        let target = words.count > 1 ? String(words[1]) : ""
        let path = String(target.prefix { $0 != "?" })
        func response(_ status: String, _ type: String, _ body: String, head: Bool = false) -> [UInt8] {
            let bytes = Array(body.utf8)
            let header = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
            return Array(header.utf8) + (head ? [] : bytes)
        }
        guard method == "GET" || method == "HEAD" else {
            return response("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET /metrics\n")
        }
        switch path {
        case "/metrics":
            return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics(), head: method == "HEAD")
        case "/":
            return response("200 OK", "text/plain; charset=utf-8", "numaguard watch: metrics at /metrics\n", head: method == "HEAD")
        default:
            return response("404 Not Found", "text/plain; charset=utf-8", "not found: \(path); metrics are at /metrics\n")
        }
    }
}

private func systemSend(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    send(fd, buffer, count, Int32(MSG_NOSIGNAL))
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

private func systemAccept(_ fd: Int32) -> Int32 {
    accept(fd, nil, nil)
}
