#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Reads the rest of a file on a second thread, one chunk ahead of its consumer.
///
/// The kernel generates numa_maps inside read(): for a process with 30k mappings that is
/// most of the cost (`cat` takes ~34 ms), and parsing what came back is another ~5 ms. Read
/// one chunk ahead, the two overlap on two cores instead of adding up. Two buffers and four
/// semaphores (filled and free per buffer) carry each chunk from the reader to the consumer;
/// the semaphores also order the memory both threads touch, so the counts and buffers need
/// no other lock. Only `HostRoot.streamContents` uses it, and only once a first full chunk
/// says the file is large: a small file is not worth a thread.
final class ReadAhead: @unchecked Sendable {
    /// Read ahead only once this much has come without reaching the end: most files are
    /// smaller and not worth a thread (readBytes streams with 16 KiB chunks and never gets here).
    static let minimumChunk = 64 * 1024

    private let fd: Int32
    private let chunkSize: Int
    private let buffers: [UnsafeMutablePointer<UInt8>]
    /// Bytes read into each buffer, or -errno.
    private let counts: UnsafeMutablePointer<Int>
    /// filled[0], filled[1], free[0], free[1].
    private let semaphores: UnsafeMutablePointer<sem_t>
    /// Set by the consumer when it wants no more chunks. Atomic: the reader may test it after
    /// a `free` posted before the consumer set it, so no semaphore orders the two.
    private let stopping = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var next = 0
    private var handedOut = false
    private var finished = false

    /// Both buffers, one mapping whose pages the kernel makes present in the mmap call itself
    /// (MAP_POPULATE): filled a page per read(), they were otherwise faulted in one trap per
    /// page, 128 of them per large read, each dearer than zeroing the page (in a VM above all).
    private let region: UnsafeMutableRawPointer

    private init?(fd: Int32, chunkSize: Int) {
        let mapped = try? SystemCall.checkPointer("mmap", "read-ahead buffers") { () -> UnsafeMutableRawPointer? in
            let address = mmap(nil, 2 * chunkSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
            return address == UnsafeMutableRawPointer(bitPattern: -1) ? nil : address
        }
        guard let mapped else { return nil }
        self.fd = fd
        self.chunkSize = chunkSize
        region = mapped
        let first = mapped.bindMemory(to: UInt8.self, capacity: 2 * chunkSize)
        buffers = [first, first + chunkSize]
        counts = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        counts.initialize(repeating: 0, count: 2)
        semaphores = UnsafeMutablePointer<sem_t>.allocate(capacity: 4)
        for index in 0..<4 { sem_init(semaphores + index, 0, index < 2 ? 0 : 1) }
    }

    deinit {
        for index in 0..<4 { sem_destroy(semaphores + index) }
        semaphores.deallocate()
        counts.deallocate()
        munmap(region, 2 * chunkSize)
    }

    /// Starts reading `fd` from its current offset; nil when no buffers could be mapped or no
    /// thread started (the caller then reads on its own thread, as it would for a small file).
    static func start(fd: Int32, chunkSize: Int) -> ReadAhead? {
        guard let ahead = ReadAhead(fd: fd, chunkSize: chunkSize) else { return nil }
        let context = Unmanaged.passRetained(ahead).toOpaque()
        let created = pthread_create(&ahead.thread, nil, { context in
            guard let context else { return nil }
            let ahead = Unmanaged<ReadAhead>.fromOpaque(context).takeRetainedValue()
            ahead.readAll()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<ReadAhead>.fromOpaque(context).release()
            return nil
        }
        return ahead
    }

    /// The reader thread: fill a free buffer, mark it filled, until EOF or an error.
    private func readAll() {
        var index = 0
        while true {
            wait(semaphores + 2 + index)
            if stopping.load(ordering: .acquiring) { return }
            // Fill the whole buffer before handing it over: seq_file returns about a page per
            // read, and a hand-over per page would cost more in wake-ups than it saves.
            var filled = 0
            var failure: Int32 = 0
            while filled < chunkSize {
                let count = read(fd, buffers[index] + filled, chunkSize - filled)
                if count > 0 { filled += count; continue }
                if count == -1, errno == EINTR { continue }
                if count == -1 { failure = errno }
                break
            }
            // Bytes already read go first; an error after them comes with the next hand-over.
            counts[index] = filled > 0 ? filled : (failure != 0 ? -Int(failure) : 0)
            sem_post(semaphores + index)
            if filled == 0 { return }
            index ^= 1
        }
    }

    /// The next chunk, valid until the following call; empty at EOF. A failed read gives its
    /// errno.
    func nextChunk() -> Result<UnsafeBufferPointer<UInt8>, Errno> {
        if finished { return .success(UnsafeBufferPointer(start: nil, count: 0)) }
        let index = next
        // The buffer handed out last time is free again: the caller is done with it.
        if handedOut { sem_post(semaphores + 2 + (index ^ 1)) }
        handedOut = true
        wait(semaphores + index)
        let count = counts[index]
        next ^= 1
        if count < 0 {
            finished = true
            return .failure(Errno(Int32(-count)))
        }
        if count == 0 { finished = true }
        return .success(UnsafeBufferPointer(start: buffers[index], count: count))
    }

    /// Stops the reader (it finishes a read in progress) and waits for it: after this the
    /// descriptor and the buffers are the caller's again.
    func finish() {
        if !finished {
            stopping.store(true, ordering: .releasing)
            sem_post(semaphores + 2)
            sem_post(semaphores + 3)
        }
        pthread_join(thread, nil)
    }

    private func wait(_ semaphore: UnsafeMutablePointer<sem_t>) {
        while sem_wait(semaphore) == -1, errno == EINTR {}
    }
}
