import NumaguardCore

/// How the fleet commands name a host: by the collector's layout, not by what the host says
/// about itself. The directory a collector fetched into (Ansible's inventory_hostname) is
/// unique per host and is what its failure messages name; a certificate's or snapshot's own
/// hostname is shown beside it when it differs, never instead of it, so a copied certificate
/// cannot take over another row's name.
public enum FleetNames {
    /// Each directory's base name; where two share one, those keep the path as given.
    public static func forDirectories(_ directories: [String]) -> [String] {
        unique(directories, directories.map(baseName))
    }

    /// A snapshot file's base name without `.json`; for a file named `snapshot.json`
    /// (`<collect>/<host>/snapshot.json`), its directory's base name.
    public static func forSnapshots(_ files: [String]) -> [String] {
        unique(files, files.map { file in
            var base = baseName(file)
            if base == "snapshot.json" {
                var directory = Substring(file)
                while directory.hasSuffix("/") { directory.removeLast() }
                directory = directory.dropLast("snapshot.json".count)
                let parent = baseName(String(directory))
                if !parent.isEmpty, parent != "/", parent != ".", parent != ".." { return parent }
            }
            if base.hasSuffix(".json"), base.count > 5 { base.removeLast(5) }
            return base
        })
    }

    static func unique(_ given: [String], _ names: [String]) -> [String] {
        var counts: [String: Int] = [:]
        for name in names { counts[name, default: 0] += 1 }
        return zip(given, names).map { path, name in (counts[name] ?? 0) > 1 ? path : name }
    }

    /// `a/b/host-1/` → `host-1`; `/` stays `/`; `` stays ``.
    static func baseName(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.utf8.count > 1, trimmed.utf8.last == 0x2F { trimmed = trimmed.dropLast() }
        guard trimmed.utf8.count > 1, let cut = PathText.cutAtLastSlash(trimmed) else { return String(trimmed) }
        return String(cut.after)
    }
}
