import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
import ReconTestSupport

/// What a bad day looks like: a killed server, bad clients.
@Suite(.serialized)
struct ServeRobustnessTests {
    static func order(_ i: Int) -> String {
        #"{"type":"order_submitted","id":"k-\#(i)","account":"bot1","ts_ms":\#(1_763_000_000_000 + i),"order_id":"o-\#(i)","symbol":"BTC-PERP","side":"buy","qty":"0.001","price":"50000","order_type":"limit","post_only":true,"reduce_only":false}"#
    }

    @Test func killedMidIngestLosesNoAcknowledgedEventAndRetriesMakeNoDuplicates() throws {
        let folder = TempFolder("recon-serve-kill")
        let first = try ServerProcess(folder: folder.path, name: "first")
        let batches = (0..<120).map { b in (0..<40).map { Self.order(b * 40 + $0) }.joined(separator: "\n") + "\n" }
        let acks = Mutex<[Int: [Int]]>([:])
        let port = first.port
        // Four bot threads post their batches in order; the server dies under them.
        let killer = Thread {
            while acks.withLock({ $0.count }) < 20 { usleep(1_000) }
            first.child.signal(SIGKILL)
        }
        killer.start()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for b in stride(from: worker, to: batches.count, by: 4) {
                guard let reply = try? HTTP.request(port: port, "POST", "/v1/events", body: Array(batches[b].utf8), token: ServerProcess.token),
                      reply.status == 200,
                      let results = (try? reply.json())?["results"] as? [[String: Any]] else { return }
                acks.withLock { $0[b] = results.compactMap { $0["seq"] as? Int } }
            }
        }
        #expect(first.child.wait(timeoutS: 10) != nil)
        let acked = acks.withLock { $0 }
        #expect(acked.count >= 20 && acked.count < batches.count)

        // Restart on the same data; the bots retry every batch they sent.
        let server = try ServerProcess(folder: folder.path, name: "second")
        for (b, body) in batches.enumerated() {
            let reply = try server.post("/v1/events", body)
            #expect(reply.status == 200, "\(reply.text)")
            let results = try reply.json()["results"] as? [[String: Any]] ?? []
            let seqs = results.compactMap { $0["seq"] as? Int }
            if let before = acked[b] {
                // Acknowledged before the kill: still there, same seqs, all duplicates.
                #expect(seqs == before)
                #expect(results.allSatisfy { $0["duplicate"] as? Bool == true })
            }
        }
        #expect(server.stop() == 0)
        let events = try runRecon(["events", "--data", server.data], folder: folder.path)
        let ids = events.stdout.split(separator: "\n").compactMap { line -> String? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        #expect(ids.count == 120 * 40)
        #expect(Set(ids).count == ids.count)
        let verify = try runRecon(["verify", "--data", server.data], folder: folder.path)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }

    @Test func badClientsGetClear4xxAndTheLogStaysUnchanged() throws {
        let folder = TempFolder("recon-serve-bad")
        let server = try ServerProcess(folder: folder.path, extra: ["--body-limit-bytes", "2048", "--body-timeout-ms", "500"])
        #expect(try server.post("/v1/events", Self.order(1)).status == 200)

        // Auth.
        let noToken = try server.post("/v1/events", Self.order(2), token: nil)
        #expect(noToken.status == 401)
        #expect(noToken.text.contains("unauthorized"))
        #expect(try server.post("/v1/events", Self.order(2), token: "wrong").status == 401)
        #expect(try server.get("/v1/runs", token: "wrong").status == 401)

        // Too large, by Content-Length and by a chunked body that keeps going.
        let big = (2..<40).map(Self.order).joined(separator: "\n")
        let tooLarge = try server.post("/v1/events", big)
        #expect(tooLarge.status == 413)
        #expect(tooLarge.text.contains("2048"))
        let chunk = String(repeating: " ", count: 1_000)
        var chunked = ""
        for _ in 0..<4 { chunked += "\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n" }
        chunked += "0\r\n\r\n"
        let s = try TestSocket(port: server.port)
        try s.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ServerProcess.token)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
        #expect(try HTTP.parse(s.receiveAll()).status == 413)

        // Malformed lines: the line and field are named; nothing of the batch is stored.
        let bad = try server.post("/v1/events", Self.order(3) + "\n" + #"{"type":"order_submitted","id":"k-x","account":"bot1","ts_ms":1}"# + "\n")
        #expect(bad.status == 400)
        let badJSON = try bad.json()
        #expect(badJSON["line"] as? Int == 2)
        #expect(badJSON["field"] as? String != nil)
        let notJSON = try server.post("/v1/events", "{\"type\": \n")
        #expect(notJSON.status == 400)
        #expect(try server.post("/v1/events", #"[{"type":"nope","id":"a","account":"b","ts_ms":1}]"#).status == 400)
        #expect(try server.post("/v1/events", "").status == 400)

        // The same id with another body is a conflict naming the original seq.
        let conflict = try server.post("/v1/events", Self.order(1).replacingOccurrences(of: "0.001", with: "0.002"))
        #expect(conflict.status == 409)
        #expect(try conflict.json()["seq"] as? Int == 1)

        // A slow client that stops mid-body gets 408, not a held slot.
        let slow = try TestSocket(port: server.port)
        try slow.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ServerProcess.token)\r\nContent-Length: 500\r\n\r\n{\"type\":")
        let started = Date()
        let slowReply = try HTTP.parse(slow.receiveAll(timeoutMs: 5_000))
        #expect(slowReply.status == 408)
        #expect(Date().timeIntervalSince(started) < 4)

        // Still up, and the log holds only the one good event.
        #expect(try server.get("/healthz", token: nil).status == 200)
        let health = try server.get("/healthz", token: nil).json()
        #expect(health["committed_seq"] as? Int == 1)
        #expect(try server.post("/v1/events", Self.order(2)).status == 200)
        #expect(server.stop() == 0)
        let events = try runRecon(["events", "--data", server.data], folder: folder.path)
        #expect(events.stdout.split(separator: "\n").count == 2)
    }

    @Test func refusesToStartWithoutATokenUnlessToldSo() throws {
        let folder = TempFolder("recon-serve-noauth")
        let child = try ChildProcess(reconBinary, ["serve", "--data", folder.path + "/d", "--listen", "127.0.0.1:0"],
                                     folder: folder.path, name: "noauth")
        #expect(child.wait(timeoutS: 20) != 0)
        #expect(child.stderr.contains("RECON_TOKEN"))
    }
}
