import NumaguardHost

/// Reads each host's directory for `fleet report` (the only I/O of the report): the three
/// files that judge it, each through CollectedFiles (no symbolic links, regular files only)
/// and each bounded, so a hostile directory costs at most those bounds.
public enum CollectedHostReader {
    /// A certificate is a few KB (bench/fleet.sh's are 2 and 5.5 KB); 4 MiB leaves room for a
    /// host with very many findings and bounds what a hostile directory costs while judged.
    public static let certificateBytes = 4 << 20
    public static let exitStatusBytes = 64

    /// One host per directory, named by its base name (or by the directory as given, for
    /// base names that occur twice). A directory that cannot be opened at all throws: it is
    /// an input that is not there (exit 66), not a host that failed.
    public static func read(_ directories: [String]) throws(InputFileError) -> [CollectedHost] {
        var hosts: [CollectedHost] = []
        hosts.reserveCapacity(directories.count)
        for (directory, name) in zip(directories, FleetNames.forDirectories(directories)) {
            hosts.append(try read(directory, name: name))
        }
        return hosts
    }

    /// One host's directory (FleetReport.make(reading:) judges each before reading the next).
    public static func read(_ directory: String, name: String) throws(InputFileError) -> CollectedHost {
        let files = try CollectedFiles(directory)
        func file(_ name: String, _ limit: Int) -> CollectedHost.File {
            do {
                return try files.read(name, atMost: limit).map { .bytes($0) } ?? .absent
            } catch {
                return .refused(error.reason)
            }
        }
        return CollectedHost(
            name: name, directory: directory, certificate: file("certificate.json", certificateBytes),
            digest: file("certificate.sha256", DigestLine.maximumBytes), exitStatus: file("exit-status", exitStatusBytes))
    }
}
