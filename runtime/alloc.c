/*===- alloc.c - the allocator of compiled models' temporary buffers ------===*
 *
 * Part of qtc's runtime. qt-cpu-pipeline lowers memref.alloc / dealloc to
 * the generic entry points below (finalize-memref-to-llvm with
 * use-generic-functions). A model allocates and frees the same temporaries
 * on every call; through malloc, the large ones come from fresh mmaps and
 * are faulted in page by page each time (about a tenth of a MiniLM call).
 * Here freed blocks are kept in power-of-two size classes and handed out
 * again, so after the first call a model's temporaries are resident and
 * reused: an arena that lives across calls. At most kCacheBytes of free
 * blocks are kept; beyond that, and for blocks over 1 GiB, memory goes back
 * to the system.
 *
 * Thread-safe: parallel loops allocate their tiles' panels concurrently.
 *
 *===----------------------------------------------------------------------===*/

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Thread-local state in the initial-exec model: a library qtc builds is
 * loaded with dlopen, where the general model reaches each variable through
 * __tls_get_addr, and glibc before 2.39 then takes its slow path on every
 * access once another library with thread-locals (a second model) has been
 * loaded and not yet used by this thread: a generator's decoding step ran
 * four times slower beside its prefill library. */
#define QTC_TLS _Thread_local __attribute__((tls_model("initial-exec")))

enum {
  kHeader = 64,    /* bytes before the payload; keeps it 64-byte aligned */
  kMinShift = 6,   /* smallest class: 64 bytes */
  kMaxShift = 30,  /* largest class: 1 GiB */
  kClasses = kMaxShift + 1,
};
static const uint64_t kCacheBytes = (uint64_t)1 << 30;
static const uint64_t kMagic = 0x7174632d616c6c63ull; /* "qtc-allc" */

/* The last 16 bytes of a block's header. */
typedef struct {
  uint64_t shift; /* size class, or 0: not cached (own allocation) */
  uint64_t magic;
} Tag;

typedef struct Free {
  struct Free *next;
} Free;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Free *lists[kClasses];
static uint64_t cached;

/* Each thread also keeps a few free blocks of up to 1 MiB for itself,
 * taken and returned without the lock: the tiles of a parallel matmul
 * allocate and free a decoded panel per step (an int4 GEMV: 4096 a call),
 * and with the lock alone two threads spent a sixth of their time in
 * pthread_mutex_lock. A thread's blocks go back to the shared lists when
 * it exits. */
enum { kLocalMaxShift = 20, kLocalPerClass = 4 };
typedef struct LocalCache {
  Free *lists[kLocalMaxShift + 1];
  unsigned count[kLocalMaxShift + 1];
} LocalCache;
/* One pointer of static TLS per library (the cache itself is allocated on
 * first use), so that many models fit in glibc's static TLS surplus. */
static QTC_TLS LocalCache *local;
static pthread_key_t exitKey;
static pthread_once_t exitKeyOnce = PTHREAD_ONCE_INIT;

static void flushLocal(void *cache) {
  LocalCache *c = (LocalCache *)cache;
  pthread_mutex_lock(&lock);
  for (unsigned shift = 0; shift <= kLocalMaxShift; ++shift) {
    while (c->lists[shift]) {
      Free *block = c->lists[shift];
      c->lists[shift] = block->next;
      block->next = lists[shift];
      lists[shift] = block;
      cached += (uint64_t)1 << shift;
    }
    c->count[shift] = 0;
  }
  pthread_mutex_unlock(&lock);
  if (c == local)
    local = NULL;
  free(c);
}

static void makeExitKey(void) { pthread_key_create(&exitKey, flushLocal); }

/* Keeps `block` of class `shift` in this thread's cache if there is room. */
static int keepLocal(Free *block, unsigned shift) {
  if (shift > kLocalMaxShift)
    return 0;
  if (!local) {
    LocalCache *c = (LocalCache *)calloc(1, sizeof(LocalCache));
    if (!c)
      return 0;
    /* The key's destructor gets the cache back at thread exit. */
    pthread_once(&exitKeyOnce, makeExitKey);
    if (pthread_setspecific(exitKey, c) != 0) {
      free(c);
      return 0;
    }
    local = c;
  }
  if (local->count[shift] >= kLocalPerClass)
    return 0;
  block->next = local->lists[shift];
  local->lists[shift] = block;
  ++local->count[shift];
  return 1;
}

static Tag *tagOf(void *payload) { return (Tag *)((char *)payload - sizeof(Tag)); }

static unsigned classOf(uint64_t bytes) {
  unsigned shift = kMinShift;
  while (shift < kMaxShift && ((uint64_t)1 << shift) < bytes)
    ++shift;
  return shift;
}

/* A block of at least `size` payload bytes aligned to `alignment`. */
static void *allocate(uint64_t alignment, uint64_t size) {
  if (size == 0)
    size = 1;
  if (alignment <= kHeader && size <= ((uint64_t)1 << kMaxShift)) {
    unsigned shift = classOf(size);
    LocalCache *c = local;
    Free *block = c && shift <= kLocalMaxShift ? c->lists[shift] : NULL;
    if (block) {
      c->lists[shift] = block->next;
      --c->count[shift];
    } else {
      pthread_mutex_lock(&lock);
      block = lists[shift];
      if (block) {
        lists[shift] = block->next;
        cached -= (uint64_t)1 << shift;
      }
      pthread_mutex_unlock(&lock);
    }
    char *base = (char *)block;
    if (!base && posix_memalign((void **)&base, kHeader,
                                kHeader + ((size_t)1 << shift)))
      return NULL;
    char *payload = base + kHeader;
    Tag *tag = tagOf(payload);
    tag->shift = shift;
    tag->magic = kMagic;
    return payload;
  }
  /* Over-aligned or huge: a block of its own, freed to the system. */
  uint64_t header = alignment > kHeader ? alignment : kHeader;
  char *base;
  if (posix_memalign((void **)&base, (size_t)header, (size_t)(header + size)))
    return NULL;
  char *payload = base + header;
  Tag *tag = tagOf(payload);
  tag->shift = header; /* >= 64 and not a class index below 31: own block */
  tag->magic = kMagic;
  return payload;
}

void *_mlir_memref_to_llvm_alloc(uint64_t size) { return allocate(16, size); }

void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment, uint64_t size) {
  return allocate(alignment, size);
}

void _mlir_memref_to_llvm_free(void *payload) {
  if (!payload)
    return;
  Tag *tag = tagOf(payload);
  if (tag->magic != kMagic)
    abort(); /* not ours: a corrupted header or a foreign pointer */
  uint64_t shift = tag->shift;
  if (shift < kClasses) {
    uint64_t bytes = (uint64_t)1 << shift;
    Free *block = (Free *)((char *)payload - kHeader);
    if (keepLocal(block, (unsigned)shift))
      return;
    pthread_mutex_lock(&lock);
    if (cached + bytes <= kCacheBytes) {
      block->next = lists[shift];
      lists[shift] = block;
      cached += bytes;
      block = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(block);
    return;
  }
  free((char *)payload - shift);
}
