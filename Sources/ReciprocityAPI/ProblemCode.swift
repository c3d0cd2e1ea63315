/// Every problem the server answers, as one table: the code (the `<code>` of the problem's `type`
/// `urn:reciprocity:problem:<code>`, in kebab-case), its HTTP status and its RFC 9457 title. A new code is a case
/// and a row here; Specs/openapi.yaml, docs/api.md and the web page's sentences (sentences.js) must then name it,
/// which `ProblemCodeTests` checks. A storage error's code (`StoreError.Code`) is spelled as the problem it is
/// answered with.
public enum ProblemCode: String, CaseIterable, Sendable {
    case invalidBody = "invalid-body"
    case invalidParameter = "invalid-parameter"
    case invalidHandle = "invalid-handle"
    case invalidProgram = "invalid-program"
    case invalidProfile = "invalid-profile"
    case invalidEncoding = "invalid-encoding"
    case invalidPublicKey = "invalid-public-key"
    case invalidInput = "invalid-input"
    case invalidBatch = "invalid-batch"
    case invalidArgument = "invalid-argument"
    case unauthorized = "unauthorized"
    case memberSuspended = "member-suspended"
    case inviteInvalid = "invite-invalid"
    case notFound = "not-found"
    case memberNotFound = "member-not-found"
    case markNotFound = "mark-not-found"
    case programNotFound = "program-not-found"
    case proofNotFound = "proof-not-found"
    case adminDisabled = "admin-disabled"
    case metricsDisabled = "metrics-disabled"
    case methodNotAllowed = "method-not-allowed"
    case requestTimeout = "request-timeout"
    case handleTaken = "handle-taken"
    case keyTaken = "key-taken"
    case programExists = "program-exists"
    case quotaExceeded = "quota-exceeded"
    case wrongEpoch = "wrong-epoch"
    case tokenUnavailable = "token-unavailable"
    case bodyTooLarge = "body-too-large"
    case rateLimited = "rate-limited"
    case rotationLimited = "rotation-limited"
    case `internal` = "internal"
    case notReady = "not-ready"
    case queryTooSlow = "query-too-slow"
    case tooManyConnections = "too-many-connections"
    case operatorOnly = "operator-only"
    case inviteNotFound = "invite-not-found"
    case organizerNotFound = "organizer-not-found"
    case organizerExists = "organizer-exists"
    case invalidEnvelope = "invalid-envelope"
    case conversationNotFound = "conversation-not-found"
    case conversationEnded = "conversation-ended"
    case conversationFull = "conversation-full"
    case messagesLimited = "messages-limited"
    case invalidEmail = "invalid-email"
    case noticesOff = "notices-off"
    case invalidTime = "invalid-time"
    case timePassed = "time-passed"
    case reminderLimited = "reminder-limited"

    /// The HTTP status of every answer with this code.
    public var status: Int { row.status }

    /// The same for every occurrence (RFC 9457 section 3.1.3): what varies goes in the problem's `detail`.
    public var title: String { row.title }

    private var row: (status: Int, title: String) {
        switch self {
        case .invalidBody: (400, "The request body is not valid JSON of the expected shape")
        case .invalidParameter: (400, "A path or query parameter is not valid")
        case .invalidHandle, .invalidProgram, .invalidProfile, .invalidEncoding, .invalidPublicKey, .invalidInput:
            (400, "A value in the request is not valid")
        case .invalidBatch: (400, "A batch of marks is empty or too large")
        case .invalidArgument: (400, "An argument is out of range")
        case .unauthorized: (401, "A valid bearer credential is required")
        case .memberSuspended: (403, "This member is suspended")
        case .inviteInvalid: (403, "The invite code is not valid")
        case .notFound: (404, "No such resource")
        case .memberNotFound: (404, "No such member")
        case .markNotFound: (404, "No such mark")
        case .programNotFound: (404, "No such program")
        case .proofNotFound: (404, "No consistency proof between these sizes")
        case .adminDisabled: (404, "The admin API is off")
        case .metricsDisabled: (404, "The metrics endpoint is off")
        case .methodNotAllowed: (405, "Method not allowed")
        case .requestTimeout: (408, "The request did not arrive in time")
        case .handleTaken: (409, "The handle is taken")
        case .keyTaken: (409, "The public key is already registered")
        case .programExists: (409, "The program already exists")
        case .quotaExceeded: (409, "Too many marks this epoch")
        case .wrongEpoch: (409, "Marks must be for the program's current epoch")
        case .tokenUnavailable: (409, "A token cannot be accepted")
        case .bodyTooLarge: (413, "The request body is too large")
        case .rateLimited: (429, "Too many requests")
        case .rotationLimited: (429, "Too many key rotations")
        case .internal: (500, "Internal server error")
        case .notReady: (503, "The database is not writable")
        case .queryTooSlow: (503, "The search took too long")
        case .tooManyConnections: (503, "The server has too many open connections")
        case .operatorOnly: (403, "Only the operator's credential may do this")
        case .inviteNotFound: (404, "No such invite")
        case .organizerNotFound: (404, "No such organizer")
        case .organizerExists: (409, "The organizer already exists")
        case .invalidEnvelope: (400, "The message envelope is not well formed")
        case .conversationNotFound: (404, "No such conversation")
        case .conversationEnded: (409, "The conversation was ended")
        case .conversationFull: (413, "The conversation holds as much as it may")
        case .messagesLimited: (429, "Too many messages in this conversation today")
        case .invalidEmail: (400, "The email address is not valid")
        case .noticesOff: (409, "Email notices are off on this server")
        case .invalidTime: (400, "The time is not an RFC 3339 time within the allowed range")
        case .timePassed: (400, "The time has passed")
        case .reminderLimited: (429, "A reminder of this kind was sent to this program today")
        }
    }
}
