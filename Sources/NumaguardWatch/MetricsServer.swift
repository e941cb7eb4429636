#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import NumaguardCore
import NumaguardHost

/// A tiny HTTP/1.x server for `GET /metrics`, driven by the watch's poll() loop on the same
/// thread: no threads, one request per connection (Connection: close), as Prometheus scrapes.
///
/// Any local user can connect, so no client may hold the loop or the scrapes up: every socket
/// is non-blocking and every connection has a deadline for each phase (`Limits`): its request
/// head, then taking its answer, then closing. A connection past its deadline is dropped.
///
/// A newcomer is read as soon as it is accepted: a scraper sends its request right after
/// connecting, so it is usually there, and a complete head is answered at once whatever the
/// other connections are doing (the answer costs what a 503 would). Only a newcomer still
/// sending its head needs one of the `Limits.readers` places. When they are all taken, the
/// oldest reader that has sent nothing gives way (closed: it never asked), after a last read
/// in case its request has just come; else the oldest still sending its head after
/// `evictAfterSeconds` (answered 408); else the newcomer is answered 503 with Retry-After.
/// At most `Limits.connections` are held in all; past that, one already answered and closing
/// gives way, else one that has sent nothing. So a flood of idle connections costs the server
/// an accept, a read and a close each, and cannot keep a scraper out: it keeps no place
/// longer than it takes `readers` newer connections to arrive. Connections wait in the
/// kernel's accept queue (listen(2) with SOMAXCONN) only while nothing can give way.
/// Nobody is closed without an answer but a client that does not send a whole head (or
/// sends nothing while its place is needed) or does not read.
final class MetricsServer {
    /// The bounds that keep one client, or many, from holding the watch or the scrapes up.
    struct Limits {
        /// Connections still sending their request head at once (each needs a read per byte
        /// burst and a parse per line; the others only take their answer or close).
        var readers = 64
        /// Connections held in all: reading, writing an answer (200, 4xx, 503) or closing.
        var connections = 256
        /// Connections accepted per turn of the loop at most, so that a flood, however fast,
        /// leaves the watch its samples and signals between turns.
        var acceptsPerTurn = 128
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
        /// When all `readers` places are taken and every one of them has sent something, the
        /// oldest still sending its head after this long gives its place to a newcomer:
        /// slow heads cannot keep a scraper out either.
        var evictAfterSeconds = 1.0

        static let standard = Limits()
    }

    private enum Phase: Equatable { case reading, writing, lingering }

    private struct Client {
        var fd: Int32
        var phase: Phase
        var accepted: Double
        var deadline: Double
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        var discarded = 0

        /// Still waiting for its first byte: the first to give way to a newcomer.
        var isIdle: Bool { phase == .reading && request.isEmpty }
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
            // A burst of scrapes (or of anything) waits here rather than being refused by the
            // kernel: a dropped SYN costs a client a second or more, while a place in the queue
            // costs it microseconds, since each connection ahead that sends nothing takes the
            // server an accept, a read and a close (see `admit`).
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

    private var readers: Int { clients.count { $0.phase == .reading } }
    /// A newcomer can be taken: a connection is free, or one can give way (`makeRoom`).
    private var hasRoom: Bool {
        clients.count < limits.connections || clients.contains { $0.phase == .lingering || $0.isIdle }
    }

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

    /// Takes waiting connections, up to `acceptsPerTurn`, while there is room for them.
    /// Returns a failure not reported before.
    private func accept(now: Double, metrics: () -> String) -> String? {
        for _ in 0..<limits.acceptsPerTurn {
            guard hasRoom else { return nil }
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
            admit(Client(fd: fd, phase: .reading, accepted: now, deadline: now + limits.headSeconds), now: now, metrics: metrics)
        }
        return nil
    }

    /// Reads a newcomer at once, before looking for its place: a scraper's request is
    /// usually there already, and a complete head is answered (a 200 costs what a 503
    /// would) however many idle connections hold the places for heads.
    private func admit(_ newcomer: Client, now: Double, metrics: () -> String) {
        var client = newcomer
        if step(&client, now: now, metrics: metrics) {
            close(client.fd)
            return
        }
        let room = makeRoom(forReader: false, now: now, metrics: metrics)
        if client.phase == .reading && !(room && makeRoom(forReader: true, now: now, metrics: metrics)) {
            // Every place for heads is held by one that has sent part of its own, not for long.
            client.phase = .writing
            client.response = MetricsResponse.busy
            client.deadline = now + limits.writeSeconds
            if transmit(&client, now: now) {
                close(client.fd)
                return
            }
        }
        if room {
            clients.append(client)
        } else {
            // Nothing could give way after all (the last reads gave the idle ones their first
            // bytes): the newcomer is the one closed, with its answer (and our FIN) if it fit.
            close(client.fd)
        }
    }

    /// Frees a place for one more reader (`forReader`) or one more connection, in the least
    /// costly way: a connection already answered and closing (for a connection only: it has
    /// its answer and our FIN, so closing it now loses it nothing it asked for), else the
    /// oldest that has sent nothing (closed without an answer: it never asked), else (for a
    /// reader) the oldest still sending its head after `evictAfterSeconds` (answered 408).
    /// Each gets a last read first, in case its request has just come. False when none can
    /// give way.
    private func makeRoom(forReader: Bool, now: Double, metrics: () -> String) -> Bool {
        // Each round frees the room or moves one client on for good (closed, past its first
        // byte, or answered), so there are at most two rounds per client.
        for _ in 0...(2 * clients.count) {
            guard forReader ? readers >= limits.readers : clients.count >= limits.connections else { return true }
            if !forReader, let answered = clients.firstIndex(where: { $0.phase == .lingering }) {
                close(clients[answered].fd)
                clients.remove(at: answered)
                continue
            }
            guard let candidate = clients.firstIndex(where: \.isIdle) ?? (forReader ? evictable(now: now) : nil) else {
                return false
            }
            var client = clients[candidate]
            let idle = client.isIdle
            if step(&client, now: now, metrics: metrics) || (idle && client.isIdle) {
                close(client.fd)
                clients.remove(at: candidate)
                continue
            }
            if !idle && client.phase == .reading {
                client.phase = .writing
                client.response = MetricsResponse.timedOut
                client.deadline = now + limits.writeSeconds
            }
            clients[candidate] = client
        }
        return false
    }

    /// The oldest client still sending its head, if it has had `evictAfterSeconds`.
    private func evictable(now: Double) -> Int? {
        let waiting = clients.indices.filter { clients[$0].phase == .reading }
        guard let oldest = waiting.min(by: { clients[$0].accepted < clients[$1].accepted }),
              now - clients[oldest].accepted >= limits.evictAfterSeconds else { return nil }
        return oldest
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

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC: a client that blocked would stall the loop, and
/// none may leak into a program watch runs.
private func systemAccept(_ fd: Int32) -> Int32 {
    clinux_accept_nonblocking(fd)
}
