// The log checks a CRC-32C on every record it reads and writes; the SSE4.2
// instruction does 8 bytes per step where the software table does one. Only
// this function is compiled for SSE4.2, so the binary still runs on a CPU
// without it (the caller asks first and falls back to software).
#include "crc32c_hardware.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int recon_crc32c_hardware_available(void) {
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

// The instruction's result is ready three cycles after it starts, but a new one
// can start every cycle, so one dependent chain over a record runs at a third of
// the unit's speed (the CRC is 7-9 % of decoding a log, whose snapshots run to
// kilobytes; a fifth with the log's pages cold, where it waits on memory more
// than on the chain). A long record is therefore taken in blocks of three lanes of
// `LANE` bytes, each lane its own chain from a zero register, and the lanes are
// joined at the block's end. The register is linear in what it started from:
// running it over n bytes from r gives (r run over n zero bytes) xor (0 run over
// the bytes), so the block's result is shift(a, 2·LANE) ^ shift(b, LANE) ^ c,
// where shift(r, n) is r run over n zero bytes, itself linear in r and so four
// table lookups, one per byte of r.
enum { LANE = 256 };

static uint32_t shift_one_lane[4][256];
static uint32_t shift_two_lanes[4][256];

// The register `r` run over `count` zero bytes, one bit at a time (the tables'
// construction only).
static uint32_t run_over_zeros(uint32_t r, size_t count) {
    for (size_t bit = 0; bit < 8 * count; bit++) {
        r = (r >> 1) ^ (0x82F63B78u & (0u - (r & 1u)));
    }
    return r;
}

static void fill_shift_table(uint32_t table[4][256], size_t count) {
    uint32_t single_bits[32];
    for (int bit = 0; bit < 32; bit++) {
        single_bits[bit] = run_over_zeros(1u << bit, count);
    }
    for (int byte = 0; byte < 4; byte++) {
        for (uint32_t value = 0; value < 256; value++) {
            uint32_t shifted = 0;
            for (int bit = 0; bit < 8; bit++) {
                if (value & (1u << bit)) shifted ^= single_bits[8 * byte + bit];
            }
            table[byte][value] = shifted;
        }
    }
}

// Before main (about 200,000 bit steps, well under a millisecond), so no call
// pays for a check that they are ready.
__attribute__((constructor))
static void fill_shift_tables(void) {
    fill_shift_table(shift_one_lane, LANE);
    fill_shift_table(shift_two_lanes, 2 * LANE);
}

static inline uint32_t shift(const uint32_t table[4][256], uint32_t r) {
    return table[0][r & 0xFF] ^ table[1][(r >> 8) & 0xFF] ^ table[2][(r >> 16) & 0xFF] ^ table[3][r >> 24];
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t word;
    memcpy(&word, p, sizeof word);  // records are not 8-byte aligned
    return word;
}

__attribute__((target("sse4.2")))
uint32_t recon_crc32c_hardware(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t wide = crc;
    while (count >= 3 * LANE) {
        uint64_t second = 0, third = 0;
        for (const unsigned char *end = p + LANE; p < end; p += 8) {
            wide = _mm_crc32_u64(wide, load64(p));
            second = _mm_crc32_u64(second, load64(p + LANE));
            third = _mm_crc32_u64(third, load64(p + 2 * LANE));
        }
        wide = shift(shift_two_lanes, (uint32_t)wide) ^ shift(shift_one_lane, (uint32_t)second) ^ (uint32_t)third;
        p += 2 * LANE;
        count -= 3 * LANE;
    }
    while (count >= 8) {
        wide = _mm_crc32_u64(wide, load64(p));
        p += 8;
        count -= 8;
    }
    uint32_t narrow = (uint32_t)wide;
    while (count > 0) {
        narrow = _mm_crc32_u8(narrow, *p);
        p += 1;
        count -= 1;
    }
    return narrow;
}

#else

int recon_crc32c_hardware_available(void) { return 0; }

uint32_t recon_crc32c_hardware(uint32_t crc, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;
}

#endif
