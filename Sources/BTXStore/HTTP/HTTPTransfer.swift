import CCurl
import Foundation

/// The state one libcurl transfer shares with its C callbacks (passed as the callback context).
final class HTTPTransfer {
    /// Receives body bytes; returns false to abort (a local write failed).
    var onBody: ((UnsafeRawBufferPointer) -> Bool)?
    /// Supplies upload bytes into the buffer; returns how many (0 at the end).
    var onUpload: ((UnsafeMutableRawBufferPointer) -> Int)?
    /// Called before the first body byte with the final status (to undo a resume the server ignored).
    var onFirstBody: ((Int) -> Void)?
    let maxBytes: Int64?
    let progress: ((HTTPProgress) -> Bool)?
    /// Bytes already on disk from earlier attempts (for progress totals).
    var resumedFrom: Int64 = 0

    private(set) var headers: [String: String] = [:]
    private(set) var received: Int64 = 0
    private(set) var tooLarge = false
    private(set) var cancelled = false
    private var sawBody = false
    private let started = Date()
    weak var handleOwner: HTTPEasyHandle?

    init(maxBytes: Int64?, progress: ((HTTPProgress) -> Bool)?) {
        self.maxBytes = maxBytes
        self.progress = progress
    }

    fileprivate func body(_ data: UnsafeRawBufferPointer) -> Int {
        if !sawBody {
            sawBody = true
            onFirstBody?(handleOwner?.responseCode ?? 0)
        }
        received += Int64(data.count)
        if let maxBytes, resumedFrom + received > maxBytes { tooLarge = true; return 0 }
        return onBody?(data) ?? true ? data.count : 0
    }

    fileprivate func header(_ line: String) {
        if line.hasPrefix("HTTP/") { headers = [:]; return }  // a new answer (redirect, 100-continue)
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    fileprivate func report(total: Int64, now: Int64) -> Bool {
        guard let progress else { return true }
        let elapsed = max(Date().timeIntervalSince(started), 1e-3)
        let rate = Double(now) / elapsed
        let fullTotal: Int64? = total > 0 ? resumedFrom + total : nil
        let eta = fullTotal.flatMap { rate > 0 ? Double($0 - resumedFrom - now) / rate : nil }
        if !progress(HTTPProgress(bytes: resumedFrom + now, total: fullTotal, bytesPerSecond: rate, etaSeconds: eta)) {
            cancelled = true
        }
        return !cancelled
    }
}

/// One libcurl easy handle with the C callbacks wired to an `HTTPTransfer`.
final class HTTPEasyHandle {
    let handle: UnsafeMutableRawPointer
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    init() throws {
        HTTPEasyHandle.globalInit
        guard let h = curl_easy_init() else { throw HTTPError.setup("curl_easy_init failed") }
        handle = h
    }

    deinit {
        for l in lists { curl_slist_free_all(l) }
        curl_easy_cleanup(handle)
    }

    /// curl_global_init runs once per process, before the first handle.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    func set(_ option: CURLoption, _ value: Int) { _ = btx_curl_setopt_long(handle, option, value) }
    func set(_ option: CURLoption, _ value: String) { _ = btx_curl_setopt_string(handle, option, value) }
    func set(_ option: CURLoption, offset value: Int64) { _ = btx_curl_setopt_offset(handle, option, curl_off_t(value)) }

    func set(headers: [String]) {
        guard !headers.isEmpty else { return }
        var list: UnsafeMutablePointer<curl_slist>?
        for h in headers { list = curl_slist_append(list, h) }
        if let list {
            lists.append(list)
            _ = btx_curl_setopt_list(handle, CURLOPT_HTTPHEADER, list)
        }
    }

    var responseCode: Int {
        var code = 0
        _ = btx_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// Wires the callbacks to `transfer` and runs the transfer; returns curl's result code.
    func perform(_ transfer: HTTPTransfer) -> (code: CURLcode, message: String) {
        transfer.handleOwner = self
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        _ = btx_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, ctx in
            let t = Unmanaged<HTTPTransfer>.fromOpaque(ctx!).takeUnretainedValue()
            return t.body(UnsafeRawBufferPointer(start: data, count: size * count))
        }
        _ = btx_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = btx_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, ctx in
            let t = Unmanaged<HTTPTransfer>.fromOpaque(ctx!).takeUnretainedValue()
            let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
            t.header(String(decoding: bytes, as: UTF8.self))
            return size * count
        }
        _ = btx_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        if transfer.onUpload != nil {
            _ = btx_curl_setopt_data_callback(handle, CURLOPT_READFUNCTION) { data, size, count, ctx in
                let t = Unmanaged<HTTPTransfer>.fromOpaque(ctx!).takeUnretainedValue()
                return t.onUpload!(UnsafeMutableRawBufferPointer(start: data, count: size * count))
            }
            _ = btx_curl_setopt_pointer(handle, CURLOPT_READDATA, context)
        }
        set(CURLOPT_NOPROGRESS, 0)
        _ = btx_curl_setopt_progress_callback(handle, CURLOPT_XFERINFOFUNCTION) { ctx, dltotal, dlnow, ultotal, ulnow in
            let t = Unmanaged<HTTPTransfer>.fromOpaque(ctx!).takeUnretainedValue()
            let uploading = ultotal > 0
            return t.report(total: Int64(uploading ? ultotal : dltotal), now: Int64(uploading ? ulnow : dlnow)) ? 0 : 1
        }
        _ = btx_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            _ = btx_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            let code = curl_easy_perform(handle)
            _ = btx_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil)
            return code
        }
        let detail = String(cString: errorBuffer)
        return (code, detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
    }
}
