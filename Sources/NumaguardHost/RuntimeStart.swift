import CLinux

/// What the executables do first in main, about the Swift runtime's own start-up.
public enum RuntimeStart {
    /// Takes out of the environment the backtracer setting CLinux answered the static runtime's
    /// start-up with (CLinux/BacktracerSetting.c: it saves 11 system calls at every start and
    /// keeps a binary started without /proc from aborting), so the programs `run` execs and the
    /// tool the front execs inherit the environment exactly as numaguard received it. Call it
    /// before anything reads or passes on the environment; it does nothing when no setting was
    /// added (an operator's own SWIFT_BACKTRACE, a dynamically linked build) or on a second call.
    /// An executable that calls it first says so by defining `numaguard_front_answers_backtracer`
    /// or `numaguard_tool_answers_backtracer` (see the two main.swift files); only then is the
    /// setting made.
    public static func restoreEnvironment() {
        clinux_restore_environment()
    }
}
