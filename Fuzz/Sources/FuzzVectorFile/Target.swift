import Foundation
import ReciprocityVectors

/// Vector files come from anyone: a bad one must be an error or a failed test, never a crash.
func fuzzOne(_ bytes: [UInt8]) {
    if let report = try? VectorVerifier.verify(Data(bytes), file: "fuzz.json") {
        precondition(report.passed >= 0 && report.failed >= 0)
    }
}
