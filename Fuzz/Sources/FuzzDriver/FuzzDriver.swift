import Glibc

// The shared libFuzzer entry: SwiftPM renames each executable's entry point, so libFuzzer's own main is
// never reached; `runFuzzer` hands control to it and feeds every input to the target's check.

@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Set once by `runFuzzer` before libFuzzer starts; libFuzzer calls back on a single thread.
nonisolated(unsafe) private var check: ([UInt8]) -> Void = { _ in }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    check(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// Runs libFuzzer with the process's arguments, calling `target` on every input; exits with its status.
public func runFuzzer(_ target: @escaping ([UInt8]) -> Void) -> Never {
    check = target
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(llvmFuzzerRunDriver(&argc, &argv) { fuzzInput($0, $1) })
}
