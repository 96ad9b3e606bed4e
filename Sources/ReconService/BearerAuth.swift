import Hummingbird

/// Checks `Authorization: Bearer <token>` on the API routes.
///
/// The comparison takes the same time whatever the first wrong byte, so the
/// token cannot be guessed byte by byte from response times.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), Self.equal(Array(header.utf8.dropFirst(prefix.utf8.count)), Array(token.utf8)) else {
            return HTTPReplies.error(.unauthorized, "unauthorized",
                                     "missing or wrong bearer token: send Authorization: Bearer <token> (RECON_TOKEN or service.token)",
                                     headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}
