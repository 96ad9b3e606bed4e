import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// An LMDB result code with its message; raw codes never reach callers of the store.
public struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int32
    public let context: String

    public static let mapFull = MDB_MAP_FULL
    public static let mapResized = MDB_MAP_RESIZED
    public static let notFound = MDB_NOTFOUND
    public static let keyExists = MDB_KEYEXIST
    public static let readersFull = MDB_READERS_FULL
    public static let versionMismatch = MDB_VERSION_MISMATCH
    public static let invalid = MDB_INVALID

    public var message: String { String(cString: mdb_strerror(code)) }
    public var description: String { "\(context): \(message) (code \(code))" }
}

@inline(__always)
func check(_ code: Int32, _ context: @autoclosure () -> String) throws(LMDBError) {
    if code != 0 { throw LMDBError(code: code, context: context()) }
}

/// The LMDB environment: one per data folder per process, closed on deinit.
///
/// Opened with `MDB_NOTLS` because Swift tasks hop threads: a read transaction
/// belongs to the code that began it, not to a thread.
final class LMDBEnvironment: @unchecked Sendable {
    let handle: OpaquePointer
    private(set) var mapSizeBytes: Int
    let maxMapSizeBytes: Int
    /// Readers hold it shared; a map resize takes it exclusively, because LMDB
    /// allows `mdb_env_set_mapsize` only with no transaction open in this process.
    let resizeLock = ReadWriteLock()

    struct Options {
        var mapSizeBytes: Int
        var maxMapSizeBytes: Int
        var maxDatabases: UInt32 = 8
        var maxReaders: UInt32 = 126
        var readOnly = false
    }

    init(path: String, options: Options) throws(LMDBError) {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: MDB_PANIC, context: "mdb_env_create returned no handle") }
        // Close the handle on every failed path below: it is ours until init returns.
        do {
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, options.mapSizeBytes), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            if options.readOnly { flags |= UInt32(MDB_RDONLY) }
            try check(mdb_env_open(env, path, flags, 0o644), "opening the log at \(path)")
            var dead: Int32 = 0
            // Slots of killed processes would otherwise pin old pages forever.
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
        } catch {
            mdb_env_close(env)
            throw error
        }
        handle = env
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        mapSizeBytes = max(options.mapSizeBytes, info.me_mapsize)
        maxMapSizeBytes = options.maxMapSizeBytes
        locateMap()
    }

    deinit {
        mdb_env_close(handle)
    }

    /// Doubles the map (up to the maximum). Call with no transaction open.
    func grow() throws(LMDBError) {
        guard mapSizeBytes < maxMapSizeBytes else {
            throw LMDBError(code: MDB_MAP_FULL, context: "the log reached its size limit of \(maxMapSizeBytes) bytes")
        }
        let newSize = min(mapSizeBytes * 2, maxMapSizeBytes)
        try resizeLock.withWriteLock { () throws(LMDBError) in
            try check(mdb_env_set_mapsize(handle, newSize), "growing the map to \(newSize) bytes")
            locateMap()
        }
        mapSizeBytes = newSize
    }

    /// Adopts a map size another process set (after `MDB_MAP_RESIZED`).
    func adoptResize() throws(LMDBError) {
        try resizeLock.withWriteLock { () throws(LMDBError) in
            try check(mdb_env_set_mapsize(handle, 0), "adopting the map size")
            locateMap()
        }
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        mapSizeBytes = info.me_mapsize
    }

    /// Where the data file's bytes are mapped in this process: each mapping's
    /// start up to the file's current size (bytes past the end of the file fault
    /// with SIGBUS). LMDB does not expose its map address, so it is looked up in
    /// `/proc/self/maps` by the file's path after open and after each resize.
    /// Usually one range; more if the file is mapped twice (LMDB forbids opening
    /// one environment twice in a process, but a test or a leak may). Elsewhere,
    /// or if not found, the range is unbounded (no check).
    ///
    /// The size comes from `fstat`, never `lseek`: LMDB's writer stores a run of
    /// pages by moving this descriptor's offset and then calling `writev`, so a
    /// reader moving it in between sends the pages to the end of the file and
    /// leaves stale ones where the tree points (servers under load lost id index
    /// entries that way, and then met damaged pages).
    func mappedFileBytes() -> [Range<UInt>] {
        guard !mapStarts.isEmpty, let fd = dataFileDescriptor else { return [0..<UInt.max] }
        let size = recon_file_size(fd)
        guard size >= 0 else { return [0..<UInt.max] }
        return mapStarts.map { $0..<($0 &+ UInt(size)) }
    }

    /// The data file's descriptor (LMDB's own: only `fstat` it; tests check that
    /// nothing here moves its offset).
    var dataFileDescriptor: Int32? {
        var fd: Int32 = -1
        return mdb_env_get_fd(handle, &fd) == 0 ? fd : nil
    }

    private(set) var mapStarts: [UInt] = []

    /// Finds the mapping of this environment's data file.
    func locateMap() {
        mapStarts = []
        #if os(Linux)
        var dir: UnsafePointer<CChar>?
        guard mdb_env_get_path(handle, &dir) == 0, let dir, let real = realpath(dir, nil) else { return }
        let suffix = " " + String(cString: real) + "/data.mdb\n"
        free(real)
        guard let file = fopen("/proc/self/maps", "r") else { return }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // start-end perms offset dev inode path; LMDB maps the file from offset 0.
            guard text.hasSuffix(suffix), let dash = text.firstIndex(of: "-"),
                  let start = UInt(text[..<dash], radix: 16) else { continue }
            mapStarts.append(start)
        }
        #endif
    }

    /// Reader slots in use by any process (live or dead), from `mdb_reader_list`.
    func readerSlotsInUse() -> Int {
        var count = 0
        withUnsafeMutablePointer(to: &count) { pointer in
            _ = mdb_reader_list(handle, { message, context in
                guard let message, let context else { return 0 }
                let line = String(cString: message)
                // A header line ("pid thread txnid") or "(no active readers)"; else one slot.
                if !line.contains("pid") && !line.contains("no active") {
                    context.assumingMemoryBound(to: Int.self).pointee += 1
                }
                return 0
            }, pointer)
        }
        return count
    }

    /// Clears reader slots left by dead processes; returns how many.
    @discardableResult
    func clearStaleReaders() -> Int {
        var dead: Int32 = 0
        mdb_reader_check(handle, &dead)
        return Int(dead)
    }

    func sync() throws(LMDBError) {
        try check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }
}

/// A transaction that must end exactly once: `commit()` consumes it, and a
/// transaction dropped without commit is aborted.
struct LMDBTransaction: ~Copyable {
    let handle: OpaquePointer
    let readOnly: Bool

    /// Throws `MDB_MAP_RESIZED` when another process grew the map past this one's:
    /// the caller must leave the resize lock, call `adoptResize()` and try again
    /// (adopting here, under the caller's shared resize lock, would deadlock).
    init(_ env: LMDBEnvironment, readOnly: Bool) throws(LMDBError) {
        var txn: OpaquePointer?
        let code = mdb_txn_begin(env.handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        try check(code, readOnly ? "beginning a read transaction" : "beginning a write transaction")
        self.handle = txn!
        self.readOnly = readOnly
    }

    consuming func commit() throws(LMDBError) {
        let h = handle
        discard self
        try check(mdb_txn_commit(h), "committing")
    }

    consuming func abort() {
        let h = handle
        discard self
        mdb_txn_abort(h)
    }

    deinit {
        mdb_txn_abort(handle)
    }

    func openDatabase(_ name: String, create: Bool) throws(LMDBError) -> MDB_dbi {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(handle, name, create ? UInt32(MDB_CREATE) : 0, &dbi), "opening table \(name)")
        return dbi
    }

    /// Calls `body` with the stored bytes, valid only inside `body`; nil if absent.
    func get<R>(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let code = mdb_get(handle, dbi, &k, &v)
        if code == MDB_NOTFOUND { return nil }
        try check(code, "reading")
        return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    func put(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: Int32) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(handle, dbi, &k, &v, UInt32(flags)), "writing")
    }

    /// Puts `value` under `key` unless the key is there already; then nothing is
    /// written and `existing` gets the stored value. One descent of the tree
    /// instead of a lookup and a put.
    func insert<R>(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                   existing: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let code = mdb_put(handle, dbi, &k, &v, UInt32(MDB_NOOVERWRITE))
        if code == MDB_KEYEXIST { return try existing(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)) }
        try check(code, "writing")
        return nil
    }

    /// Deletes a key; returns false if it was absent.
    @discardableResult
    func delete(_ dbi: MDB_dbi, key: UnsafeRawBufferPointer) throws(LMDBError) -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let code = mdb_del(handle, dbi, &k, nil)
        if code == MDB_NOTFOUND { return false }
        try check(code, "deleting")
        return true
    }

    func drop(_ dbi: MDB_dbi) throws(LMDBError) {
        try check(mdb_drop(handle, dbi, 0), "emptying a table")
    }

    func entryCount(_ dbi: MDB_dbi) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, dbi, &stat), "mdb_stat")
        return stat.ms_entries
    }
}

/// A cursor over one table, closed on deinit (before its transaction ends).
struct LMDBCursor: ~Copyable {
    let handle: OpaquePointer

    init(_ txn: borrowing LMDBTransaction, _ dbi: MDB_dbi) throws(LMDBError) {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn.handle, dbi, &cursor), "opening a cursor")
        handle = cursor!
    }

    deinit {
        mdb_cursor_close(handle)
    }

    /// Positions the cursor and returns key and value bytes, nil at the end.
    func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws(LMDBError) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val()
        let code = mdb_cursor_get(handle, &k, &v, op)
        if code == MDB_NOTFOUND { return nil }
        try check(code, "moving a cursor")
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }
}

/// A pthread reader-writer lock.
final class ReadWriteLock: @unchecked Sendable {
    private var lock = pthread_rwlock_t()

    init() {
        pthread_rwlock_init(&lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(&lock)
    }

    func withReadLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }

    func withWriteLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }
}

/// A pthread mutex for the single in-process writer.
final class Mutex: @unchecked Sendable {
    private var mutex = pthread_mutex_t()

    init() {
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
    }

    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

extension UInt64 {
    /// Big-endian bytes: LMDB's byte-wise key order then equals numeric order.
    var bigEndianBytes: [UInt8] {
        withUnsafeBytes(of: self.bigEndian) { Array($0) }
    }

    init(bigEndianBytes bytes: UnsafeRawBufferPointer) {
        var v: UInt64 = 0
        for byte in bytes.prefix(8) { v = v << 8 | UInt64(byte) }
        self = v
    }
}
