import Foundation
import Hummingbird
import ReciprocityAPI
import ReciprocityCore

extension Request {
    /// Collects the body (at most the context's upload limit, else 413) and decodes it. A body that is not
    /// JSON of the expected shape is a 400 `invalid-body` naming the offending field, never echoing values; so
    /// is one with an object that names a member twice (``DuplicateNames``), which the decoder would take.
    mutating func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext) async throws -> T {
        let data = Data(buffer: try await collectBody(upTo: context.maxUploadSize))
        let value: T
        do {
            value = try APICoding.decoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw Problem.invalidBody(Self.describe(error))
        }
        guard !DuplicateNames.present(in: data) else {
            throw Problem.invalidBody("an object in the body names the same field twice")
        }
        return value
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "the top level" : "'" + keys.dropFirst(keys.hasPrefix(".") ? 1 : 0) + "'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "missing field '\(key.stringValue)'\(parent)"
        case .typeMismatch(let type, let context): return "\(path(context)) must be \(describe(type))"
        case .valueNotFound(let type, let context): return "\(path(context)) must be \(describe(type)), not null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)) has an invalid value"
        @unknown default: return "the body cannot be decoded"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is UInt32.Type: "an integer"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}

/// A JSON response with the API's coders.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try APICoding.encoder().encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
