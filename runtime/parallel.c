/*===- parallel.c - the thread pool parallel loops run on -----------------===*
 *
 * Part of qtc's runtime. qt-cpu-pipeline turns the loops it parallelizes
 * (the weight tiles of quantized matmuls) into OpenMP regions through
 * upstream MLIR, and LLVM's OpenMP lowering calls the __kmpc_* entry points
 * below. They are implemented here, on a pool of pthreads, so that compiled
 * models need no OpenMP runtime: libc, libm and pthreads only. Only what
 * that lowering emits is provided: fork/join of a team, static worksharing
 * (chunked and unchunked), barriers, thread numbers.
 *
 * The team size is the calling thread's qtc_set_call_threads(n) if set,
 * else qtc_set_num_threads(n) if called, else the environment variable
 * QTC_NUM_THREADS, else the number of online processors. A region entered
 * from inside another one runs on the calling thread alone.
 *
 * Any number of threads may run models at once: the pool serves one region
 * at a time, and a region forked while another thread's region holds the
 * pool runs on its own calling thread alone (the same static worksharing
 * with a team of one). Nothing waits for the pool, so concurrent callers
 * cannot deadlock, and each call's results do not depend on how many
 * threads ran it (the parallel loops split independent output tiles).
 *
 *===----------------------------------------------------------------------===*/

#include "include/qtc-c/runtime.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Thread-local state in the initial-exec model: a library qtc builds is
 * loaded with dlopen, where the general model reaches each variable through
 * __tls_get_addr, and glibc before 2.39 then takes its slow path on every
 * access once another library with thread-locals (a second model) has been
 * loaded and not yet used by this thread: a generator's decoding step ran
 * four times slower beside its prefill library. */
#define QTC_TLS _Thread_local __attribute__((tls_model("initial-exec")))

typedef void (*QtcMicrotask)(int32_t *gtid, int32_t *btid, ...);

enum { kMaxArgs = 8, kMaxThreads = 256 };

/* A thread waiting for the pool (a worker for the next region, the caller
 * at the join, a thread at the barrier) spins, pausing, for this long
 * before it sleeps (or, at the barrier, yields). A model forks the pool
 * once per tiled matmul, every few hundred microseconds, and a wake-up
 * through the kernel costs tens of microseconds (more in a VM), more than
 * a small matmul's share: with a few tens of microseconds of spinning, and
 * a mutex, condition variable and pthread barrier on every fork, the
 * workers of all-MiniLM-L6-v2 (int8) slept at almost every fork and two
 * threads were no faster than one. */
static const int64_t kSpinNs = 2000000;

static int64_t nowNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int configured; /* 0: not decided yet */

/* Per thread: its number in the current team and the team's size. */
static QTC_TLS int32_t threadNum;
static QTC_TLS int32_t teamSize = 1;
static QTC_TLS int inRegion;
static QTC_TLS int32_t pushedThreads;
/* qtc_set_call_threads: this thread's team size for the calls it makes. */
static QTC_TLS int32_t callThreads;

/* Held by the thread whose region the pool is running. */
static pthread_mutex_t poolBusy = PTHREAD_MUTEX_INITIALIZER;

/* The pool. Workers 1..started-1 wait for a new generation of work. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t workReady = PTHREAD_COND_INITIALIZER;
static pthread_cond_t workDone = PTHREAD_COND_INITIALIZER;
static int started = 1; /* threads in the pool, the caller included */
static _Atomic uint64_t generation;
static _Atomic int jobTeam;
static _Atomic int pending;
static QtcMicrotask jobFn;
static int32_t jobArgc;
static void *jobArgs[kMaxArgs];
/* Workers asleep on workReady, and whether the caller sleeps on workDone:
 * the publishing side only takes the lock to wake someone who sleeps, so a
 * fork and a join between spinning threads make no system call. */
static _Atomic int sleepers;
static _Atomic int joinWaiting;
/* The team's barrier: arrivals, and a phase the last arrival advances. */
static _Atomic int barrierArrived;
static _Atomic uint32_t barrierPhase;

int qtc_get_num_threads(void) {
  if (configured > 0)
    return configured;
  const char *env = getenv("QTC_NUM_THREADS");
  long n = env ? strtol(env, NULL, 10) : 0;
  if (n <= 0)
    n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n <= 0)
    n = 1;
  return (int)(n > kMaxThreads ? kMaxThreads : n);
}

void qtc_set_num_threads(int n) {
  configured = n < 1 ? 1 : (n > kMaxThreads ? kMaxThreads : n);
}

void qtc_set_call_threads(int n) {
  callThreads = n < 0 ? 0 : (n > kMaxThreads ? kMaxThreads : n);
}

static void invoke(QtcMicrotask fn, int32_t argc, void **a) {
  int32_t gtid = threadNum, btid = threadNum;
  switch (argc) {
  case 0: fn(&gtid, &btid); break;
  case 1: fn(&gtid, &btid, a[0]); break;
  case 2: fn(&gtid, &btid, a[0], a[1]); break;
  case 3: fn(&gtid, &btid, a[0], a[1], a[2]); break;
  case 4: fn(&gtid, &btid, a[0], a[1], a[2], a[3]); break;
  case 5: fn(&gtid, &btid, a[0], a[1], a[2], a[3], a[4]); break;
  case 6: fn(&gtid, &btid, a[0], a[1], a[2], a[3], a[4], a[5]); break;
  case 7: fn(&gtid, &btid, a[0], a[1], a[2], a[3], a[4], a[5], a[6]); break;
  case 8: fn(&gtid, &btid, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); break;
  default:
    abort(); /* argc was checked by __kmpc_fork_call */
  }
}

/* One step of a wait: a pause, and every 256 steps a yield of the
 * processor (so that with more threads than processors the thread being
 * waited for gets to run) and a look at the clock. Returns 1 once the
 * wait has lasted `until`. */
static int spinStep(int i, int64_t until) {
  relax();
  if (i % 256 != 255)
    return 0;
  sched_yield();
  return nowNs() > until;
}

/* The generation counter is a sequence lock over the job fields: odd
 * while the caller writes them, even once a region is published. */
static int published(uint64_t g, uint64_t seen) { return g != seen && !(g & 1); }

/* Spins until a generation after `seen` is published, then sleeps on
 * workReady if that takes longer than kSpinNs. Returns that generation. */
static uint64_t waitForWork(uint64_t seen) {
  int64_t until = nowNs() + kSpinNs;
  uint64_t g;
  for (int i = 0; !published(g = atomic_load(&generation), seen); ++i) {
    if (spinStep(i, until)) {
      /* sleepers goes up before generation is read again, under the lock
       * the caller takes to broadcast: no wake-up can be lost. */
      pthread_mutex_lock(&lock);
      atomic_fetch_add(&sleepers, 1);
      while (!published(g = atomic_load(&generation), seen))
        pthread_cond_wait(&workReady, &lock);
      atomic_fetch_sub(&sleepers, 1);
      pthread_mutex_unlock(&lock);
      break;
    }
  }
  return g;
}

/* The generation each worker was created at: it waits for the next one. */
static uint64_t startGeneration[kMaxThreads];

static void *worker(void *arg) {
  int32_t me = (int32_t)(intptr_t)arg;
  uint64_t seen = startGeneration[me];
  for (;;) {
    uint64_t g = waitForWork(seen);
    int team = atomic_load(&jobTeam);
    QtcMicrotask fn = jobFn;
    int32_t argc = jobArgc;
    void *args[kMaxArgs];
    for (int32_t i = 0; i < argc && i < kMaxArgs; ++i)
      args[i] = jobArgs[i];
    /* The caller waits for its team before writing the next region, so a
     * generation that moved while this copy was made means this thread
     * was not in generation g's team (and the copy may be torn): skip it. */
    atomic_thread_fence(memory_order_acquire);
    seen = g;
    if (atomic_load(&generation) != g || me >= team)
      continue;
    threadNum = me;
    teamSize = team;
    inRegion = 1;
    invoke(fn, argc, args);
    inRegion = 0;
    if (atomic_fetch_sub(&pending, 1) == 1 && atomic_load(&joinWaiting)) {
      pthread_mutex_lock(&lock);
      pthread_cond_signal(&workDone);
      pthread_mutex_unlock(&lock);
    }
  }
  return NULL;
}

int32_t __kmpc_global_thread_num(void *loc) {
  (void)loc;
  return threadNum;
}

void __kmpc_push_num_threads(void *loc, int32_t gtid, int32_t n) {
  (void)loc;
  (void)gtid;
  pushedThreads = n;
}

void __kmpc_fork_call(void *loc, int32_t argc, QtcMicrotask fn, ...) {
  (void)loc;
  if (argc < 0 || argc > kMaxArgs) {
    /* LLVM's OpenMP lowering passes one aggregate; more than 8 separate
     * arguments would be a different code generator. */
    fprintf(stderr, "qtc runtime: parallel region with %d arguments\n", (int)argc);
    abort();
  }
  void *args[kMaxArgs];
  va_list ap;
  va_start(ap, fn);
  for (int32_t i = 0; i < argc; ++i)
    args[i] = va_arg(ap, void *);
  va_end(ap);
  int team = pushedThreads > 0 ? pushedThreads
             : callThreads > 0  ? callThreads
                                : qtc_get_num_threads();
  pushedThreads = 0;
  if (team > kMaxThreads)
    team = kMaxThreads;
  /* Another thread's region holds the pool: this one runs alone. */
  int pooled = team > 1 && !inRegion && pthread_mutex_trylock(&poolBusy) == 0;
  if (!pooled) {
    /* A team of one: the calling thread, numbered 0 in this region. */
    int32_t savedNum = threadNum, savedSize = teamSize;
    int savedIn = inRegion;
    threadNum = 0;
    teamSize = 1;
    inRegion = 1;
    invoke(fn, argc, args);
    threadNum = savedNum;
    teamSize = savedSize;
    inRegion = savedIn;
    return;
  }
  pthread_mutex_lock(&lock);
  while (started < team) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    startGeneration[started] = atomic_load(&generation);
    int failed = pthread_create(&t, &attr, worker, (void *)(intptr_t)started);
    pthread_attr_destroy(&attr);
    if (failed)
      break;
    ++started;
  }
  if (team > started)
    team = started;
  pthread_mutex_unlock(&lock);
  atomic_fetch_add(&generation, 1); /* odd: the job is being written */
  atomic_store(&barrierArrived, 0);
  atomic_store(&jobTeam, team);
  jobFn = fn;
  jobArgc = argc;
  for (int32_t i = 0; i < argc; ++i)
    jobArgs[i] = args[i];
  atomic_store(&pending, team - 1);
  atomic_fetch_add(&generation, 1); /* even: published */
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&lock);
    pthread_cond_broadcast(&workReady);
    pthread_mutex_unlock(&lock);
  }

  threadNum = 0;
  teamSize = team;
  inRegion = 1;
  invoke(fn, argc, args);
  inRegion = 0;
  teamSize = 1;

  int64_t until = nowNs() + kSpinNs;
  for (int i = 0; atomic_load(&pending) > 0; ++i) {
    if (spinStep(i, until)) {
      pthread_mutex_lock(&lock);
      atomic_store(&joinWaiting, 1);
      while (atomic_load(&pending) > 0)
        pthread_cond_wait(&workDone, &lock);
      atomic_store(&joinWaiting, 0);
      pthread_mutex_unlock(&lock);
      break;
    }
  }
  pthread_mutex_unlock(&poolBusy);
}

void __kmpc_barrier(void *loc, int32_t gtid) {
  (void)loc;
  (void)gtid;
  if (teamSize <= 1)
    return;
  uint32_t phase = atomic_load(&barrierPhase);
  if (atomic_fetch_add(&barrierArrived, 1) == teamSize - 1) {
    atomic_store(&barrierArrived, 0);
    atomic_fetch_add(&barrierPhase, 1);
    return;
  }
  /* Spin (spinStep yields the processor now and then). */
  for (int i = 0; atomic_load(&barrierPhase) == phase; ++i)
    spinStep(i, INT64_MAX);
}

enum { kStaticChunked = 33, kStatic = 34 };

/* This thread's share of the inclusive range [*lower, *upper] step incr:
 * one contiguous block (kStatic), or every team-size-th chunk of `chunk`
 * iterations starting at the thread's own (kStaticChunked; *stride then
 * steps from one of the thread's chunks to the next). */
#define QTC_STATIC_INIT(NAME, T, UT)                                           \
  void NAME(void *loc, int32_t gtid, int32_t schedule, int32_t *last,          \
            T *lower, T *upper, T *stride, T incr, T chunk) {                  \
    (void)loc;                                                                 \
    (void)gtid;                                                                \
    UT trip = incr > 0 ? (UT)(*upper - *lower) / (UT)incr + 1                  \
                       : (UT)(*lower - *upper) / (UT)(-incr) + 1;              \
    UT team = (UT)teamSize, me = (UT)threadNum;                                \
    if (schedule == kStaticChunked && chunk > 0) {                             \
      *lower = (T)(*lower + (T)(me * (UT)chunk) * incr);                       \
      *upper = (T)(*lower + (chunk - 1) * incr);                               \
      *stride = (T)((T)(team * (UT)chunk) * incr);                             \
      if (last)                                                                \
        *last = (trip - 1) / (UT)chunk % team == me;                           \
      return;                                                                  \
    }                                                                          \
    if (schedule != kStatic && schedule != kStaticChunked) {                   \
      fprintf(stderr, "qtc runtime: unsupported OpenMP schedule %d\n",         \
              (int)schedule);                                                  \
      abort();                                                                 \
    }                                                                          \
    UT base = trip / team, extra = trip % team;                                \
    UT first = me * base + (me < extra ? me : extra);                          \
    UT count = base + (me < extra ? 1 : 0);                                    \
    T start = *lower;                                                          \
    if (count == 0) {                                                          \
      *lower = (T)1;                                                           \
      *upper = (T)0;                                                           \
    } else {                                                                   \
      *lower = (T)(start + (T)first * incr);                                   \
      *upper = (T)(start + (T)(first + count - 1) * incr);                     \
    }                                                                          \
    *stride = (T)((T)trip * incr);                                             \
    if (last)                                                                  \
      *last = count > 0 && first + count == trip;                              \
  }

QTC_STATIC_INIT(__kmpc_for_static_init_8u, uint64_t, uint64_t)
QTC_STATIC_INIT(__kmpc_for_static_init_8, int64_t, uint64_t)
QTC_STATIC_INIT(__kmpc_for_static_init_4u, uint32_t, uint32_t)
QTC_STATIC_INIT(__kmpc_for_static_init_4, int32_t, uint32_t)

void __kmpc_for_static_fini(void *loc, int32_t gtid) {
  (void)loc;
  (void)gtid;
}

int omp_get_thread_num(void) { return threadNum; }
int omp_get_num_threads(void) { return teamSize; }
