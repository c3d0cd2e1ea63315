/// A failure the CLI reports as one line (`Error: ...`) and a non-zero exit status, without usage text.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
