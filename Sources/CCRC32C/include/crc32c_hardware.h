#ifndef RECON_CRC32C_HARDWARE_H
#define RECON_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SSE4.2 CRC32 instruction, else 0.
int recon_crc32c_hardware_available(void);

/// Runs the CRC-32C (Castagnoli) register `crc` over `count` bytes with the
/// CPU's instruction: no initial or final inversion, the caller does both.
/// Call only when `recon_crc32c_hardware_available()` says so.
uint32_t recon_crc32c_hardware(uint32_t crc, const void *bytes, size_t count);

#endif
