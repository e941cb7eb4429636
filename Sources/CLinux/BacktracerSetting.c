// The Swift runtime's crash-backtracer set-up, answered before it runs, in the static binaries.
//
// At start-up the runtime's backtracer initializer (swift/stdlib/public/runtime/Backtrace.cpp,
// `BacktraceInitializer`, a C++ constructor) looks for the `swift-backtrace` helper: it reads
// /proc/self/exe, then stats eight directories and files around the binary, and asks twice
// whether stdout is a terminal. numaguard ships without that helper, so the search always
// fails and the runtime switches backtracing off, after paying 11 system calls at every start
// (every `numaguard run`, measured against numactl). Without /proc mounted (a chroot, an early
// boot script, a container) it is worse: the lookup cannot find the binary's own path and the
// runtime aborts ("Unable to obtain Swift runtime path", SIGABRT) before numaguard's code runs,
// where numactl works.
//
// The runtime reads its settings from SWIFT_BACKTRACE, once, when its first constructor runs.
// So this constructor, placed before every C++ one, puts the settings it ends with anyway into
// the environment (backtracing off; the helper's path given, so it is not searched for;
// interactive and colour off, so the terminal is not asked), and numaguard's main takes the
// variable out again with clinux_restore_environment() before anything else reads the
// environment: the programs numaguard runs and the tool it execs inherit the environment exactly
// as numaguard received it. An operator's own SWIFT_BACKTRACE is left alone and obeyed.
//
// Only numaguard's own executables do this, and only statically linked. Each defines
// `numaguard_front_answers_backtracer` or `numaguard_tool_answers_backtracer` (a @_cdecl
// function in its main.swift), promising that its main
// calls clinux_restore_environment() first; another program that links numaguard's libraries
// defines no such symbol, and its environment is left alone. In a dynamically linked executable
// (the test builds) the runtime is a shared library, initialized before the executable's
// constructors, so the setting would come too late to matter and linger in the environment:
// there is no `_DYNAMIC` in a static non-PIE executable, so that weak reference tells the two
// apart. Crash backtraces stay off, as they were: the helper is never installed beside
// numaguard (with a Swift toolchain under the same prefix the runtime could have found one).

#include <stdlib.h>

#include "CLinux.h"

extern char _DYNAMIC[] __attribute__((weak));
// One name per executable: the test builds link both main modules into one binary.
extern void numaguard_front_answers_backtracer(void) __attribute__((weak));
extern void numaguard_tool_answers_backtracer(void) __attribute__((weak));

// putenv keeps this very array in the environment (no copy), so it must outlive the entry.
static char backtracer_setting[] = "SWIFT_BACKTRACE=enable=no,interactive=no,color=no,swift-backtrace=/nonexistent/swift-backtrace";
static int backtracer_setting_added;

// Priority 102: after the argument capture (101), before any unprioritized C++ constructor,
// which is where the runtime's are.
__attribute__((constructor(102), used)) static void clinux_answer_backtracer(void) {
    if ((numaguard_front_answers_backtracer == 0 && numaguard_tool_answers_backtracer == 0) || _DYNAMIC != 0 || getenv("SWIFT_BACKTRACE") != 0) {
        return;
    }
    if (putenv(backtracer_setting) == 0) {
        backtracer_setting_added = 1;
    }
}

void clinux_restore_environment(void) {
    if (backtracer_setting_added) {
        unsetenv("SWIFT_BACKTRACE");
        backtracer_setting_added = 0;
    }
}
