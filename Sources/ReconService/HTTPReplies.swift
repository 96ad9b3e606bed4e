import Hummingbird
import NIOCore
import ReconCore

/// JSON answers, errors included: `{"error": code, "message": …, "line": n, "field": f}`.
enum HTTPReplies {
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        var body = bytes
        body.append(0x0A)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func text(_ bytes: [UInt8], contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, line: Int? = nil, field: String? = nil,
                      seq: UInt64? = nil, headers: HTTPFields = [:]) -> Response {
        var w = JSONWriter()
        w.beginObject()
        w.field("error", code)
        w.field("message", message)
        if let line {
            w.key("line")
            w.int(line)
        }
        if let field { w.field("field", field) }
        if let seq {
            w.key("seq")
            w.uint(seq)
        }
        w.endObject()
        return json(w.bytes, status: status, headers: headers)
    }
}
