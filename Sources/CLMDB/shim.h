#include <lmdb.h>
#include <sys/stat.h>

/// The size of the file behind `fd`, -1 on error. `fstat`, because the caller's
/// descriptor is LMDB's own: `lseek` would move the offset LMDB's writer sets
/// before each `writev` of a run of pages.
static inline long long recon_file_size(int fd) {
    struct stat status;
    return fstat(fd, &status) == 0 ? (long long)status.st_size : -1;
}
