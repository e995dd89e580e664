/*===- weights.c - memory-mapped weight side files ------------------------===*
 *
 * The side file's data is mapped read-only and private over the model's
 * zero-filled weight region (qtc_weights_data, see qt-externalize-weights):
 * pages load on first touch, and processes running the same model share
 * them through the page cache. The mapping lives as long as the process.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include "runtime/weights.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { kHeaderBytes = 40, kVersion = 1 };
static const char kMagic[8] = {'Q', 'T', 'C', 'W', 'G', 'H', 'T', 'S'};

static uint64_t read_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i)
    v = v << 8 | p[i];
  return v;
}

static void lock(qtc_weights *w) {
  while (__atomic_exchange_n(&w->lock, 1, __ATOMIC_ACQUIRE))
    sched_yield();
}

static void unlock(qtc_weights *w) { __atomic_store_n(&w->lock, 0, __ATOMIC_RELEASE); }

const char *qtc_weights_error(const qtc_weights *w) { return w->error; }

static int failf(qtc_weights *w, const char *path, const char *what) {
  snprintf(w->error, sizeof w->error, "%s: %s", path, what);
  return 1;
}

/* Maps and checks PATH; the caller holds the lock. */
static int load_locked(qtc_weights *w, const char *path, uint64_t id, uint64_t bytes,
                       void *region) {
  if (w->base)
    return failf(w, path, "the model's weights are already loaded");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return failf(w, path, strerror(errno));
  struct stat st;
  unsigned char header[kHeaderBytes];
  if (fstat(fd, &st) || pread(fd, header, sizeof header, 0) != (ssize_t)sizeof header ||
      memcmp(header, kMagic, sizeof kMagic)) {
    close(fd);
    return failf(w, path, "not a qtc weights file");
  }
  uint64_t version = read_le(header + 8, 4), file_id = read_le(header + 16, 8),
           offset = read_le(header + 24, 8), size = read_le(header + 32, 8);
  char message[200];
  if (version != kVersion) {
    close(fd);
    snprintf(message, sizeof message, "weights file version %llu, this runtime reads %d",
             (unsigned long long)version, kVersion);
    return failf(w, path, message);
  }
  if (file_id != id || size != bytes) {
    close(fd);
    return failf(w, path, "written by another compile of the model (its id and size do "
                          "not match the library's); use the .weights file produced "
                          "with this library");
  }
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  if (offset % page || offset > (uint64_t)st.st_size || (uint64_t)st.st_size - offset < size) {
    close(fd);
    snprintf(message, sizeof message, "truncated: %lld bytes, expected %llu",
             (long long)st.st_size, (unsigned long long)(offset + size));
    return failf(w, path, message);
  }
  /* Over the model's zero pages: the code addresses the weights at fixed
   * offsets in that region. The last page may extend past the end of the
   * file; only its tail, which nothing reads, is beyond it. */
  size_t length = (size_t)((size + page - 1) / page * page);
  if (length &&
      mmap(region, length, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, (off_t)offset) == MAP_FAILED) {
    int map_errno = errno;
    close(fd);
    return failf(w, path, strerror(map_errno));
  }
  close(fd);
  __atomic_store_n(&w->base, region, __ATOMIC_RELEASE);
  w->error[0] = 0;
  return 0;
}

int qtc_weights_load(qtc_weights *w, const char *path, uint64_t id, uint64_t bytes,
                     void *region) {
  lock(w);
  int status = load_locked(w, path, id, bytes, region);
  unlock(w);
  return status;
}

int qtc_weights_ensure(qtc_weights *w, const void *symbol, int is_exe, uint64_t id,
                       uint64_t bytes, void *region) {
  if (__atomic_load_n(&w->base, __ATOMIC_ACQUIRE))
    return 0;
  lock(w);
  int status = 0;
  if (!w->base) {
    char path[4096 + 16];
    const char *object = NULL;
    Dl_info info;
    if (is_exe) {
      ssize_t n = readlink("/proc/self/exe", path, 4096);
      if (n > 0) {
        path[n] = 0;
        object = path;
      }
    } else if (dladdr(symbol, &info) && info.dli_fname && *info.dli_fname) {
      snprintf(path, 4096, "%s", info.dli_fname);
      object = path;
    }
    if (!object) {
      snprintf(w->error, sizeof w->error,
               "cannot tell where the model was loaded from; call "
               "qtc_model_load_weights(PATH) first");
      status = 1;
    } else {
      size_t n = strlen(path);
      if (n > 3 && !strcmp(path + n - 3, ".so"))
        path[n -= 3] = 0;
      snprintf(path + n, sizeof path - n, ".weights");
      status = load_locked(w, path, id, bytes, region);
    }
  }
  unlock(w);
  return status;
}
