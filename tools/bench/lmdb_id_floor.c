/*
 * What LMDB alone costs per event when appending with an id index: the floor
 * under `recon bench append`'s engine figure (BENCHMARKS.md, "What bounds
 * engine append"). Appends N records of 423 bytes (the generator's average) in
 * durable batches, each with an id insert like the log's (`MDB_NOOVERWRITE`,
 * ids shaped like the generator's), and prints the microseconds per event of
 * the id inserts, the record puts (`MDB_APPEND`) and the commits.
 *
 *   cc -O2 tools/bench/lmdb_id_floor.c -llmdb -o /tmp/lmdb_id_floor
 *   /tmp/lmdb_id_floor [events] [batch] [folder]      # 100000 10000 /tmp/lmdb-floor
 */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void check(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, mdb_strerror(rc));
        exit(1);
    }
}

int main(int argc, char **argv) {
    int events = argc > 1 ? atoi(argv[1]) : 100000;
    int batch = argc > 2 ? atoi(argv[2]) : 10000;
    const char *folder = argc > 3 ? argv[3] : "/tmp/lmdb-floor";
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", folder);
    if (system(command) != 0) return 1;
    mkdir(folder, 0755);

    MDB_env *env;
    check(mdb_env_create(&env), "mdb_env_create");
    check(mdb_env_set_mapsize(env, (size_t)1 << 32), "mdb_env_set_mapsize");
    check(mdb_env_set_maxdbs(env, 4), "mdb_env_set_maxdbs");
    check(mdb_env_open(env, folder, MDB_NOTLS, 0644), "mdb_env_open");
    MDB_txn *txn;
    MDB_dbi ids, records;
    check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, "ids", MDB_CREATE, &ids), "mdb_dbi_open");
    check(mdb_dbi_open(txn, "events", MDB_CREATE, &records), "mdb_dbi_open");
    check(mdb_txn_commit(txn), "mdb_txn_commit");

    char record[423];
    memset(record, 7, sizeof record);
    unsigned char entry[16] = {0};
    char id[32];
    double idSeconds = 0, putSeconds = 0, commitSeconds = 0;
    for (int first = 0; first < events; first += batch) {
        int end = first + batch < events ? first + batch : events;
        check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        double t0 = now();
        for (int i = first; i < end; i++) {
            int n = snprintf(id, sizeof id, "acct%d-%d", 1 + i % 2, i + 1);
            MDB_val k = {(size_t)n, id}, v = {sizeof entry, entry};
            check(mdb_put(txn, ids, &k, &v, MDB_NOOVERWRITE), "id insert");
        }
        double t1 = now();
        for (int i = first; i < end; i++) {
            uint64_t key = __builtin_bswap64((uint64_t)i + 1);
            MDB_val k = {sizeof key, &key}, v = {sizeof record, record};
            check(mdb_put(txn, records, &k, &v, MDB_APPEND), "record put");
        }
        double t2 = now();
        check(mdb_txn_commit(txn), "mdb_txn_commit");
        idSeconds += t1 - t0;
        putSeconds += t2 - t1;
        commitSeconds += now() - t2;
    }
    printf("per event: id insert %.3f us, record put %.3f us, commit %.3f us\n",
           idSeconds * 1e6 / events, putSeconds * 1e6 / events, commitSeconds * 1e6 / events);
    mdb_env_close(env);
    return 0;
}
