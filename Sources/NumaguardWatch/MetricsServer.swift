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
    /// How long the listener is left alone after accept fails for a reason other than "no
    /// one waiting" (EMFILE, ENFILE, ENOBUFS): the pending connection keeps the listener
    /// readable, so polling it again at once would spin.
    static let backoffSeconds = 1.0

    let address: ListenAddress
    private let listener: Int32
    private var clients: [Client] = []
    /// Until when the listener is not polled, after an accept failure.
    private var pausedUntil: Double?
    /// The accept failure already reported; cleared by the next successful accept.
    private var acceptProblem: String?

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

    /// The descriptors to poll: the listener first unless backing off, then the clients.
    func pollDescriptors(now: Double) -> [pollfd] {
        let listening = pausedUntil.map { now >= $0 } ?? true
        return (listening ? [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] : []) + clients.map {
            pollfd(fd: $0.fd, events: Int16($0.response.isEmpty ? POLLIN : POLLOUT), revents: 0)
        }
    }

    /// The earliest client deadline or end of a back-off, for the poll timeout.
    var nextDeadline: Double? { (clients.map(\.deadline) + (pausedUntil.map { [$0] } ?? [])).min() }

    /// Serves whatever `ready` (the result of polling `pollDescriptors`) says is ready.
    /// Returns an accept failure the first time it happens (the watch reports it once);
    /// the listener then rests for `backoffSeconds` at a time until accept works again.
    func serve(_ ready: ArraySlice<pollfd>, now: Double, metrics: () -> String) -> String? {
        var readable: Set<Int32> = []
        for descriptor in ready where descriptor.revents != 0 { readable.insert(descriptor.fd) }
        if let until = pausedUntil, now >= until { pausedUntil = nil }
        var problem: String?
        if readable.contains(listener) && pausedUntil == nil { problem = accept(now: now) }
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
        return problem
    }

    /// Takes every waiting connection. Returns a failure not reported before.
    private func accept(now: Double) -> String? {
        while true {
            let fd: Int32
            do {
                fd = try SystemCall.check("accept", address.description) { systemAccept(listener) }
            } catch {
                if Self.isRetryLater(error.errno) { return nil }
                pausedUntil = now + Self.backoffSeconds
                let problem = "/metrics on \(address): \(error); not accepting for \(WatchEvent.number(Self.backoffSeconds))s at a time until it works again"
                defer { acceptProblem = problem }
                return problem == acceptProblem ? nil : problem
            }
            acceptProblem = nil
            do {
                // accept(2) does not pass the listener's flags on (accept4 needs _GNU_SOURCE).
                try SystemCall.check("fcntl", "F_SETFD \(address)") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
                let flags = try SystemCall.check("fcntl", "F_GETFL \(address)") { fcntl(fd, F_GETFL) }
                try SystemCall.check("fcntl", "F_SETFL \(address)") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
            } catch {
                // A client socket that cannot be made non-blocking would stall the loop.
                close(fd)
                continue
            }
            if clients.count >= Self.maxClients {
                close(fd)
                continue
            }
            clients.append(Client(fd: fd, deadline: now + Self.timeoutSeconds))
        }
    }

    /// "Nothing there now": the end of a non-blocking accept, read or send. ECONNABORTED:
    /// a client that gave up while queued, not the server's failure.
    static func isRetryLater(_ errno: Errno) -> Bool {
        errno.rawValue == EAGAIN || errno.rawValue == EWOULDBLOCK || errno.rawValue == ECONNABORTED
    }

    /// Reads what is there; answers once the request head is complete. True when finished.
    private func read(_ client: inout Client, metrics: () -> String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let fd = client.fd
        let result = buffer.withUnsafeMutableBytes { bytes in
            Result { () throws(SystemCallError) in try SystemCall.check("read", "/metrics client") { systemRead(fd, bytes.baseAddress, bytes.count) } }
        }
        let count: Int
        switch result {
        case let .success(value): count = value
        // A client's own failure (reset, ...) ends that client only.
        case let .failure(error): return !Self.isRetryLater(error.errno)
        }
        if count == 0 { return true }
        client.request += buffer[0..<count]
        guard let head = Self.requestHead(client.request) else {
            return client.request.count > Self.maxRequest
        }
        client.response = Self.respond(to: head, metrics: metrics)
        return write(&client)
    }

    private func write(_ client: inout Client) -> Bool {
        let fd = client.fd
        let result = client.response[client.sent...].withUnsafeBytes { bytes in
            Result { () throws(SystemCallError) in try SystemCall.check("send", "/metrics client") { systemSend(fd, bytes.baseAddress, bytes.count) } }
        }
        let count: Int
        switch result {
        case let .success(value): count = value
        case let .failure(error): return !Self.isRetryLater(error.errno)
        }
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
