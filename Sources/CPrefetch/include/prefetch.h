#ifndef RECON_PREFETCH_H
#define RECON_PREFETCH_H

/// Asks the CPU to start loading the cache line holding `address`, for a read
/// soon, without waiting for it. Swift has no such hint of its own.
static inline void recon_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
