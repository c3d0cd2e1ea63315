import Foundation

/// Runs `wrk` (Debian package `wrk`) against the fixture's server: C is far lighter than any Swift client,
/// so on a 2-core machine the load generator leaves the server most of the CPU.
struct Wrk {
    struct Result {
        var requestsPerSecond: Double
        var failed: Int
        /// Percentile (50, 99, ...) to milliseconds, from `--latency`.
        var latencyMs: [Int: Double]
    }

    let fixture: ServerFixture

    /// Runs one wrk per server instance at once (instance k on `fixture.port + k`, with every `instances`-th
    /// credential from the k-th, so no member is used through two instances), `connections` split among them.
    /// The rates and failures are summed; each percentile is the worst instance's.
    func run(instances: Int = 1, threads: Int, connections: Int, seconds: Int, delayMs: Double = 0) throws -> Result {
        let directory = fixture.directory
        let script = directory.appendingPathComponent("single-mark.lua")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        var running: [(Process, Pipe)] = []
        for instance in 0..<instances {
            let credentials = directory.appendingPathComponent("credentials-\(instance).txt")
            try stride(from: instance, to: fixture.credentials.count, by: instances).map { fixture.credentials[$0] }
                .joined(separator: "\n").write(to: credentials, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "wrk", "-t\(max(1, threads / instances))", "-c\(max(1, connections / instances))", "-d\(seconds)s",
                "--latency", "-s", script.path, "http://127.0.0.1:\(fixture.port + instance)/",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["RECIPROCITY_BENCH_CREDENTIALS"] = credentials.path
            environment["RECIPROCITY_BENCH_DELAY_MS"] = String(format: "%.3f", delayMs)
            process.environment = environment
            let pipe = Pipe()
            process.standardOutput = pipe
            do {
                try process.run()
            } catch {
                throw BenchFailure("cannot run wrk (apt-get install wrk): \(error)")
            }
            running.append((process, pipe))
        }
        var total = Result(requestsPerSecond: 0, failed: 0, latencyMs: [:])
        for (process, pipe) in running {
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw BenchFailure("wrk failed (apt-get install wrk?):\n\(output)")
            }
            let result = try Self.parse(output)
            total.requestsPerSecond += result.requestsPerSecond
            total.failed += result.failed
            total.latencyMs.merge(result.latencyMs, uniquingKeysWith: max)
        }
        return total
    }

    static func parse(_ output: String) throws -> Result {
        var result = Result(requestsPerSecond: 0, failed: 0, latencyMs: [:])
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), let value = fields.last.flatMap({ Double($0) }) {
                result.requestsPerSecond = value
            } else if line.contains("Non-2xx or 3xx responses:"), let value = fields.last.flatMap({ Int($0) }) {
                result.failed += value
            } else if line.contains("Socket errors:") {
                result.failed += line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.reduce(0, +)
            } else if fields.count == 2, fields[0].hasSuffix("%"), let percentile = Int(fields[0].dropLast()) {
                result.latencyMs[percentile] = milliseconds(String(fields[1]))
            }
        }
        guard result.requestsPerSecond > 0 else { throw BenchFailure("cannot read wrk's output:\n\(output)") }
        return result
    }

    /// "850.00us", "1.23ms", "2.00s" to milliseconds.
    static func milliseconds(_ text: String) -> Double? {
        for (suffix, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return nil
    }

    static let script = """
        -- wrk script for `reciprocity-bench requests`: each request submits one fresh random mark (token, tag and a
        -- 540-byte sealed note, as every mark a client sends has), rotating over
        -- the member credentials in the file named by RECIPROCITY_BENCH_CREDENTIALS. With RECIPROCITY_BENCH_DELAY_MS
        -- set, each connection waits that long between requests (a paced load for the latency phase).
        local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        local last = "AEIMQUYcgkosw048" -- the final character of 32 bytes in base64url keeps its 2 unused bits zero
        local threads = {}
        local credentials = {}
        local counter = 0
        local pause = tonumber(os.getenv("RECIPROCITY_BENCH_DELAY_MS") or "0")

        function setup(thread)
          thread:set("id", #threads + 1)
          table.insert(threads, thread)
        end

        function init(args)
          math.randomseed(os.time() * 1000 + id * 7919)
          for line in io.lines(os.getenv("RECIPROCITY_BENCH_CREDENTIALS")) do
            table.insert(credentials, line)
          end
        end

        -- `count` random base64url characters; 540 bytes are exactly 720 of them, and any 720 decode.
        local function text(count)
          local chars = {}
          for i = 1, count do
            local r = math.random(1, 64)
            chars[i] = alphabet:sub(r, r)
          end
          return table.concat(chars)
        end

        local function blinded()
          local r = math.random(1, 16)
          return text(42) .. last:sub(r, r)
        end

        function request()
          counter = counter + 1
          local credential = credentials[(counter % #credentials) + 1]
          local body = '{"epoch":0,"marks":[{"token":"' .. blinded() .. '","tag":"' .. blinded() .. '","note":"' .. text(720) .. '"}]}'
          return wrk.format("POST", "/v1/marks",
            { ["Authorization"] = "Bearer " .. credential, ["Content-Type"] = "application/json" }, body)
        end

        function delay()
          return pause
        end
        """
}
