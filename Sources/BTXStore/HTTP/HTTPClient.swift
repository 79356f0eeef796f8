import CCurl
import Foundation

/// A small, general HTTP(S) client over libcurl: GET to memory or to a file (resuming with
/// `Range`), HEAD, PUT from memory or a file; timeouts, retries with exponential backoff on
/// timeouts, 5xx/429 answers and cut bodies; a size limit; TLS verification always on;
/// credentials from `HTTPCredentials` or `.netrc`, never printed or logged; progress reports.
///
/// `file://` URLs work too (for local sources); redirects may only lead to http(s).
public struct HTTPClient {
    /// The options every request of this client uses.
    public var options: HTTPOptions

    /// A client with `options`.
    public init(options: HTTPOptions = HTTPOptions()) { self.options = options }

    /// GETs `url` into memory.
    public func get(_ url: String) throws -> (Data, HTTPResponse) {
        var body = Data()
        let response = try perform("GET", url) { easy, transfer, _ in
            body.removeAll(keepingCapacity: true)
            transfer.onBody = { body.append($0.bindMemory(to: UInt8.self)); return true }
        }
        return (body, response)
    }

    /// GETs `url` into `file`. With `resume`, bytes already in `file` are kept and only the rest is
    /// requested (HTTP Range); retries after a cut body resume the same way. A server that ignores
    /// the range gets the file rewritten from the start.
    @discardableResult
    public func get(_ url: String, to file: URL, resume: Bool = true) throws -> HTTPResponse {
        if !resume || !FileManager.default.fileExists(atPath: file.path) {
            guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
                throw HTTPError.localFile(path: file.path, reason: "cannot create file")
            }
        }
        return try perform("GET", url) { easy, transfer, attempt in
            let handle = try FileHandle(forWritingTo: file)
            let offset = try handle.seekToEnd()
            if offset > 0 {
                easy.set(CURLOPT_RESUME_FROM_LARGE, offset: Int64(offset))
                transfer.resumedFrom = Int64(offset)
            }
            transfer.onFirstBody = { status in
                // 200 to a ranged request: the server sent the whole body, so start over.
                if offset > 0 && status == 200 {
                    try? handle.truncate(atOffset: 0)
                    try? handle.seek(toOffset: 0)
                    transfer.resumedFrom = 0
                }
            }
            transfer.onBody = { chunk in (try? handle.write(contentsOf: chunk)) != nil }
            attempt.cleanup = { try? handle.close() }
            // NOTE: runs after `cleanup` closed the handle, so it empties the file by path.
            attempt.onRangeNotSatisfiable = { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        }
    }

    /// HEADs `url`: status and headers only.
    public func head(_ url: String) throws -> HTTPResponse {
        try perform("HEAD", url) { easy, _, _ in easy.set(CURLOPT_NOBODY, 1) }
    }

    /// PUTs `body` to `url`.
    @discardableResult
    public func put(_ url: String, data body: Data) throws -> HTTPResponse {
        try perform("PUT", url, payloadHash: { ObjectHash.of(body) }) { easy, transfer, _ in
            easy.set(CURLOPT_UPLOAD, 1)
            easy.set(CURLOPT_INFILESIZE_LARGE, offset: Int64(body.count))
            var offset = 0
            transfer.onUpload = { buffer in
                let n = min(buffer.count, body.count - offset)
                if n > 0 { body.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<(offset + n)) }
                offset += n
                return n
            }
        }
    }

    /// PUTs the contents of `file` to `url`, streaming it.
    @discardableResult
    public func put(_ url: String, contentsOf file: URL) throws -> HTTPResponse {
        try perform("PUT", url, payloadHash: { try HTTPClient.hashOfFile(file) }) { easy, transfer, attempt in
            let source: FileHandle
            do { source = try FileHandle(forReadingFrom: file) } catch {
                throw HTTPError.localFile(path: file.path, reason: "cannot open for reading")
            }
            let size = try source.seekToEnd()
            try source.seek(toOffset: 0)
            easy.set(CURLOPT_UPLOAD, 1)
            easy.set(CURLOPT_INFILESIZE_LARGE, offset: Int64(size))
            transfer.onUpload = { buffer in
                guard let chunk = try? source.read(upToCount: buffer.count), !chunk.isEmpty else { return 0 }
                chunk.copyBytes(to: buffer.bindMemory(to: UInt8.self))
                return chunk.count
            }
            attempt.cleanup = { try? source.close() }
        }
    }

    /// Per-attempt hooks the request-specific setup can install.
    final class Attempt {
        var cleanup: (() -> Void)?
        var onRangeNotSatisfiable: (() -> Void)?
    }

    /// Runs `method url` with retries; `configure` sets up each attempt's body handling.
    /// `payloadHash` gives the body's SHA-256 and is called only when signing with AWS SigV4.
    private func perform(_ method: String, _ url: String, payloadHash: () throws -> ObjectHash = { ObjectHash.of(Data()) },
                         configure: (HTTPEasyHandle, HTTPTransfer, Attempt) throws -> Void) throws -> HTTPResponse {
        let shown = HTTPError.redacted(url)
        var signedPayload: String?
        if case .awsSigV4? = options.credentials { signedPayload = try payloadHash().hex }
        var attempts = 0
        while true {
            attempts += 1
            let easy = try HTTPEasyHandle()
            let transfer = HTTPTransfer(maxBytes: options.maxBytes, progress: options.progress)
            let attempt = Attempt()
            applyOptions(easy, method: method, url: url, payloadHash: signedPayload)
            try configure(easy, transfer, attempt)
            let (code, message) = easy.perform(transfer)
            attempt.cleanup?()
            let status = easy.responseCode
            if transfer.tooLarge || code == CURLE_FILESIZE_EXCEEDED { throw HTTPError.tooLarge(url: shown, limit: options.maxBytes ?? 0) }
            if transfer.cancelled { throw HTTPError.cancelled(url: shown) }
            if code == CURLE_OK {
                if !options.followRedirects && (300..<400).contains(status) {
                    throw HTTPError.redirected(method: method, url: shown, code: status, location: transfer.headers["location"] ?? "")
                }
                return HTTPResponse(status: status, headers: transfer.headers, bytesReceived: transfer.received, attempts: attempts)
            }
            let retryable = HTTPClient.isRetryable(code, status: status)
            let rangeRefused = (code == CURLE_HTTP_RETURNED_ERROR && status == 416) || code == CURLE_RANGE_ERROR
            if rangeRefused, let reset = attempt.onRangeNotSatisfiable, attempts <= options.maxRetries {
                reset()  // the partial file is longer than the body, or the server cannot resume: start over
                continue
            }
            if !retryable || attempts > options.maxRetries {
                if code == CURLE_HTTP_RETURNED_ERROR { throw HTTPError.status(method: method, url: shown, code: status) }
                throw HTTPError.transport(method: method, url: shown, curlCode: Int(code.rawValue), message: message, attempts: attempts)
            }
            let delay = min(options.backoff * pow(2, Double(attempts - 1)), options.maxBackoff)
            Thread.sleep(forTimeInterval: delay)
        }
    }

    private func applyOptions(_ easy: HTTPEasyHandle, method: String, url: String, payloadHash: String?) {
        easy.set(CURLOPT_URL, url)
        easy.set(CURLOPT_PROTOCOLS_STR, "http,https,file")
        easy.set(CURLOPT_REDIR_PROTOCOLS_STR, HTTPClient.redirectProtocols(for: url))
        // NOTE: libcurl (≥ 7.83) drops user/password and a custom Authorization header when a redirect
        // leads to another host, port or scheme; UNRESTRICTED_AUTH stays off to keep it that way.
        easy.set(CURLOPT_UNRESTRICTED_AUTH, 0)
        easy.set(CURLOPT_FOLLOWLOCATION, options.followRedirects ? 1 : 0)
        easy.set(CURLOPT_MAXREDIRS, 10)
        easy.set(CURLOPT_FAILONERROR, 1)
        easy.set(CURLOPT_NOSIGNAL, 1)
        // NOTE: TLS verification is deliberately not configurable.
        easy.set(CURLOPT_SSL_VERIFYPEER, 1)
        easy.set(CURLOPT_SSL_VERIFYHOST, 2)
        easy.set(CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        easy.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        easy.set(CURLOPT_LOW_SPEED_TIME, max(Int(options.idleTimeout.rounded(.up)), 1))
        easy.set(CURLOPT_USERAGENT, "btxpipe")
        if let maxBytes = options.maxBytes { easy.set(CURLOPT_MAXFILESIZE_LARGE, offset: maxBytes) }
        var headers = options.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        // NOTE: an empty "Expect:" stops curl waiting up to 1 s for "100 Continue" before a PUT body.
        if method == "PUT" { headers.append("Expect:") }
        switch HTTPClient.credentials(options, for: url) {
        case let .basic(user, password)?:
            easy.set(CURLOPT_HTTPAUTH, 1)  // CURLAUTH_BASIC (a macro Swift cannot import)
            easy.set(CURLOPT_USERNAME, user)
            easy.set(CURLOPT_PASSWORD, password)
        case let .bearer(token)?:
            headers.append("Authorization: Bearer \(token)")
        case let .awsSigV4(accessKey, secretKey, sessionToken, signing)?:
            easy.set(CURLOPT_USERNAME, accessKey)
            easy.set(CURLOPT_PASSWORD, secretKey)
            easy.set(CURLOPT_AWS_SIGV4, signing)
            // NOTE: S3 signs the payload hash the header states, so it must be the body's real hash.
            headers.append("x-amz-content-sha256: \(payloadHash ?? ObjectHash.of(Data()).hex)")
            if let sessionToken { headers.append("x-amz-security-token: \(sessionToken)") }
        case nil:
            if options.useNetrc {
                easy.set(CURLOPT_NETRC, Int(CURL_NETRC_OPTIONAL.rawValue))
                if let file = options.netrcFile { easy.set(CURLOPT_NETRC_FILE, file) }
            }
        }
        easy.set(headers: headers)
    }

    /// Protocols a redirect from `url` may lead to: an https request never downgrades to http.
    static func redirectProtocols(for url: String) -> String {
        url.lowercased().hasPrefix("https://") ? "https" : "http,https"
    }

    /// The credentials `options` allow for `url` (see `HTTPOptions.credentialHosts`).
    static func credentials(_ options: HTTPOptions, for url: String) -> HTTPCredentials? {
        guard let credentials = options.credentials else { return nil }
        guard let hosts = options.credentialHosts else { return credentials }
        return HTTPCredentials.authorities(of: url).isDisjoint(with: hosts) ? nil : credentials
    }

    /// Whether `url` would send credentials in clear text (plain http to a host they are scoped to).
    public func sendsCredentialsInClear(_ url: String) -> Bool {
        url.lowercased().hasPrefix("http://") && HTTPClient.credentials(options, for: url) != nil
    }

    /// The SHA-256 of a file's content, streamed.
    static func hashOfFile(_ file: URL) throws -> ObjectHash {
        guard let handle = try? FileHandle(forReadingFrom: file) else {
            throw HTTPError.localFile(path: file.path, reason: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = StreamingHasher()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize()
    }

    /// Timeouts, cut or empty bodies, send/receive errors, and 5xx/429 answers are worth retrying.
    static func isRetryable(_ code: CURLcode, status: Int) -> Bool {
        switch code {
        case CURLE_OPERATION_TIMEDOUT, CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
            return true
        case CURLE_HTTP_RETURNED_ERROR:
            return status >= 500 || status == 429
        default:
            return false
        }
    }
}
