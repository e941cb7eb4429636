// The command line, handed to the Swift runtime without its start-up scan of /proc/self/maps.
//
// A statically linked Swift program on Linux finds argc/argv with a C++ constructor in the
// runtime (stdlib CommandLineSupport, `ArgvGrabber`): it opens /proc/self/maps with stdio,
// sscanf's every line to find the stack, and walks back from `environ`. On `numaguard run`'s
// path that was 56k of the 327k instructions before exec, five system calls and the stdio
// pages it faults in, at every launch. glibc calls every constructor with (argc, argv, envp)
// (csu/libc-start.c `call_init`, static and dynamic alike), so the vector is captured here
// and served through the two entry points the runtime's CommandLine object file defines.
// Defining both keeps the linker from pulling that object (and its constructor) out of the
// static libswiftCore.a; a dynamically linked binary (the test builds) keeps the runtime's
// own, and then this one is simply not called.
//
// Same contract as the runtime's (swift/stdlib/public/CommandLineSupport/CommandLine.cpp):
// `_swift_stdlib_overrideUnsafeArgvArgc` replaces what is returned (the interpreter uses it);
// the result is not owned by the caller. Both use the Swift calling convention, as declared
// there (SWIFT_CC(swift)).

static char **captured_argv;
static int captured_argc;

// Priority 101, the first allowed to programs: before any C++ constructor that could ask.
__attribute__((constructor(101), used)) static void clinux_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}

__attribute__((swiftcall, visibility("default"))) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    static char *empty[] = {0};
    if (captured_argv == 0) {
        *outArgLen = 0;
        return empty;
    }
    *outArgLen = captured_argc;
    return captured_argv;
}

__attribute__((swiftcall, visibility("default"))) void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    captured_argv = argv;
    captured_argc = argc;
}
