/// numaguard's version, written into reports, snapshots and launch records. Here rather
/// than in the CLI so both executables (the launcher front and the tool) say the same.
public enum NumaguardVersion {
    public static let string = "0.1.0-dev"
}
