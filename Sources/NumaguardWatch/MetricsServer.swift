#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore
import NumaguardHost

/// A tiny HTTP/1.x server for `GET /metrics`, driven by the watch's poll() loop on the same
/// thread: no threads, one request per connection (Connection: close), as Prometheus scrapes.
///
/// Any local user can connect, so no client may hold the loop or the scrapes up: every socket
/// is non-blocking and every connection has a deadline for each phase (`Limits`): its request
/// head, then taking its answer, then closing. A connection past its deadline is dropped.
/// At most `Limits.clients` connections are served at once; beyond that a newcomer takes the
/// place of one already answered (closed now rather than at its linger deadline), else of the
/// oldest one still sending its head if that one has had `evictAfterSeconds` (it is answered
/// 408), else it is answered 503 with Retry-After at once, up to
/// `Limits.refusals` such answers in flight. Past both, connections wait in the kernel's
/// accept queue (listen(2) with SOMAXCONN) for a place. Nobody is closed without an answer
/// but a client that does not send a whole head or does not read.
final class MetricsServer {
    /// The bounds that keep one client, or many, from holding the watch or the scrapes up.
    struct Limits {
        /// Connections being served at once: reading a head, writing its answer, or closing.
        var clients = 64
        /// Connections beyond `clients` being answered 503 at once.
        var refusals = 192
        /// From accept to the blank line that ends the request head.
        var headSeconds = 3.0
        /// To take the whole answer: a client that does not read is dropped then.
        var writeSeconds = 10.0
        /// After the answer and our FIN, for the client to close first. Closing a socket with
        /// request bytes still unread sends a reset, which can make the client's kernel throw
        /// the answer away before it is read; so the server reads and discards until the
        /// client's own FIN, for this long at most (as nginx's lingering close).
        var lingerSeconds = 2.0
        /// Bytes discarded while lingering before giving up on a client that keeps sending.
        var lingerBytes = 65536
        /// When all `clients` places are taken, one still sending its head after this long
        /// gives its place to a newcomer: idle connections cannot keep a scraper out.
        var evictAfterSeconds = 1.0

        static let standard = Limits()
    }

    private enum Phase: Equatable { case reading, writing, lingering }

    private struct Client {
        var fd: Int32
        var phase: Phase
        /// Answered 503 or 408: counts against `Limits.refusals`, not `Limits.clients`.
        var refused: Bool
        var accepted: Double
        var deadline: Double
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        var discarded = 0
    }

    /// How long the listener is left alone after accept fails for a reason other than "no
    /// one waiting" (EMFILE, ENFILE, ENOBUFS): the pending connection keeps the listener
    /// readable, so polling it again at once would spin.
    static let backoffSeconds = 1.0

    /// With the port the kernel chose when asked for port 0.
    let address: ListenAddress
    let limits: Limits
    private let listener: Int32
    private var clients: [Client] = []
    /// Until when the listener is not polled, after an accept failure.
    private var pausedUntil: Double?
    /// The accept failure already reported; cleared by the next successful accept.
    private var acceptProblem: String?

    init(_ address: ListenAddress, limits: Limits = .standard) throws(SystemCallError) {
        let subject = address.description
        let fd = try SystemCall.check("socket", subject) {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        var bound = sockaddr_in()
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
            // A burst of scrapes (or of anything) waits here rather than being refused by the kernel.
            try SystemCall.check("listen", subject) { listen(fd, SOMAXCONN) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try SystemCall.check("getsockname", subject) {
                withUnsafeMutablePointer(to: &bound) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
                }
            }
        } catch {
            close(fd)
            throw error
        }
        self.address = ListenAddress(octets: address.octets, port: UInt16(bigEndian: bound.sin_port))
        self.limits = limits
        listener = fd
    }

    deinit {
        for client in clients { close(client.fd) }
        close(listener)
    }

    private var serving: Int { clients.count { !$0.refused } }
    private var refusing: Int { clients.count { $0.refused } }
    private var hasRoom: Bool { serving < limits.clients || refusing < limits.refusals }

    /// The descriptors to poll: the listener first unless backing off or full, then the clients.
    func pollDescriptors(now: Double) -> [pollfd] {
        let listening = (pausedUntil.map { now >= $0 } ?? true) && hasRoom
        return (listening ? [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)] : []) + clients.map {
            pollfd(fd: $0.fd, events: Int16($0.phase == .writing ? POLLOUT : POLLIN), revents: 0)
        }
    }

    /// The earliest client deadline or end of a back-off, for the poll timeout.
    var nextDeadline: Double? { (clients.map(\.deadline) + (pausedUntil.map { [$0] } ?? [])).min() }

    /// Serves whatever `ready` (the result of polling `pollDescriptors`) says is ready, and
    /// then drops the clients past their deadline. Returns an accept failure the first time it
    /// happens (the watch reports it once); the listener then rests for `backoffSeconds` at
    /// a time until accept works again.
    func serve(_ ready: ArraySlice<pollfd>, now: Double, metrics: () -> String) -> String? {
        var readable: Set<Int32> = []
        for descriptor in ready where descriptor.revents != 0 { readable.insert(descriptor.fd) }
        if let until = pausedUntil, now >= until { pausedUntil = nil }
        // Clients first, so the places they free are there for the connections waiting.
        var index = 0
        while index < clients.count {
            var client = clients[index]
            // What arrived is taken before the deadline is looked at: a sample that held the
            // loop past a deadline must not cost a client whose request came in meanwhile.
            var done = readable.contains(client.fd) && step(&client, now: now, metrics: metrics)
            if !done && now >= client.deadline { done = true }
            if done {
                close(client.fd)
                clients.remove(at: index)
            } else {
                clients[index] = client
                index += 1
            }
        }
        guard readable.contains(listener) && pausedUntil == nil else { return nil }
        return accept(now: now, metrics: metrics)
    }

    /// Takes waiting connections while there is room for them. Returns a failure not reported before.
    private func accept(now: Double, metrics: () -> String) -> String? {
        while hasRoom {
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
            if serving >= limits.clients, let answered = clients.firstIndex(where: { !$0.refused && $0.phase == .lingering }) {
                // It has its whole answer and our FIN: closing it now costs it nothing it asked for.
                close(clients[answered].fd)
                clients.remove(at: answered)
            }
            if serving >= limits.clients {
                // hasRoom: there is room among the refusals, for the evicted one or the newcomer.
                guard let oldest = evictable(now: now) else {
                    admit(Client(fd: fd, phase: .writing, refused: true, accepted: now, deadline: now + limits.writeSeconds,
                                 response: MetricsResponse.busy), now: now, metrics: metrics)
                    continue
                }
                clients[oldest].refused = true
                clients[oldest].phase = .writing
                clients[oldest].response = MetricsResponse.timedOut
                clients[oldest].deadline = now + limits.writeSeconds
            }
            admit(Client(fd: fd, phase: .reading, refused: false, accepted: now, deadline: now + limits.headSeconds),
                  now: now, metrics: metrics)
        }
        return nil
    }

    /// The oldest client still sending its head, if it has had `evictAfterSeconds`.
    private func evictable(now: Double) -> Int? {
        let waiting = clients.indices.filter { !clients[$0].refused && clients[$0].phase == .reading }
        guard let oldest = waiting.min(by: { clients[$0].accepted < clients[$1].accepted }),
              now - clients[oldest].accepted >= limits.evictAfterSeconds else { return nil }
        return oldest
    }

    /// Adds a new client after trying it once: a scraper's request (or the socket's room for
    /// an answer) is usually there already, which saves a turn of the loop.
    private func admit(_ client: Client, now: Double, metrics: () -> String) {
        var client = client
        if step(&client, now: now, metrics: metrics) {
            close(client.fd)
        } else {
            clients.append(client)
        }
    }

    /// Advances a ready client by what its socket allows. True when it is finished.
    private func step(_ client: inout Client, now: Double, metrics: () -> String) -> Bool {
        switch client.phase {
        case .reading: return receive(&client, now: now, metrics: metrics)
        case .writing: return transmit(&client, now: now)
        case .lingering: return discard(&client)
        }
    }

    /// Reads what is there; answers once the head is complete or refused.
    private func receive(_ client: inout Client, now: Double, metrics: () -> String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count: Int
        switch Self.transfer(client.fd, "read", { fd in buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) } }) {
        case .wouldBlock: return false
        case .ended: return true
        case let .moved(bytes): count = bytes
        }
        client.request += buffer[0..<count]
        // Only a new line can complete a head or refuse a line; parsing on every byte of a
        // slow client would cost the square of its head.
        guard buffer[0..<count].contains(0x0A) || client.request.count > HTTPRequestHead.maximumBytes else { return false }
        switch HTTPRequestHead.parse(client.request) {
        case .incomplete: return false
        case let .complete(head): client.response = MetricsResponse.to(head, metrics: metrics)
        case let .refused(refusal): client.response = MetricsResponse.refusing(refusal)
        }
        client.request = []
        client.phase = .writing
        client.deadline = now + limits.writeSeconds
        return transmit(&client, now: now)
    }

    /// Sends what the socket takes; once all is sent, half-closes and lingers.
    private func transmit(_ client: inout Client, now: Double) -> Bool {
        let sent = client.sent
        let result = Self.transfer(client.fd, "send") { fd in
            client.response[sent...].withUnsafeBytes { systemSend(fd, $0.baseAddress, $0.count) }
        }
        switch result {
        case .wouldBlock: return false
        case .ended: return true
        case let .moved(count): client.sent += count
        }
        guard client.sent >= client.response.count else { return false }
        client.response = []
        client.phase = .lingering
        client.deadline = now + limits.lingerSeconds
        // Our FIN follows the answer; a failure means the client is gone.
        do {
            try SystemCall.check("shutdown", "/metrics client") { shutdown(client.fd, Int32(SHUT_WR)) }
        } catch {
            return true
        }
        return false
    }

    /// Reads and drops what the client still sends until it closes.
    private func discard(_ client: inout Client) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        switch Self.transfer(client.fd, "read", { fd in buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) } }) {
        case .wouldBlock: return false
        case .ended: return true
        case let .moved(count):
            client.discarded += count
            return client.discarded > limits.lingerBytes
        }
    }

    private enum Transfer { case moved(Int), wouldBlock, ended }

    /// One non-blocking read or send through the errno funnel. A client's own failure
    /// (reset, ...) or end of file ends that client only.
    private static func transfer(_ fd: Int32, _ call: String, _ body: (Int32) -> Int) -> Transfer {
        do {
            let count = try SystemCall.check(call, "/metrics client") { body(fd) }
            return count == 0 && call == "read" ? .ended : .moved(count)
        } catch {
            return isRetryLater(error.errno) ? .wouldBlock : .ended
        }
    }

    /// "Nothing there now": the end of a non-blocking accept, read or send. ECONNABORTED:
    /// a client that gave up while queued, not the server's failure.
    static func isRetryLater(_ errno: Errno) -> Bool {
        errno.rawValue == EAGAIN || errno.rawValue == EWOULDBLOCK || errno.rawValue == ECONNABORTED
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
