//===- ParallelTest.cpp - the runtime's OpenMP-compatible thread pool -----===//
//
// Calls the entry points LLVM's OpenMP lowering emits the way generated code
// does: fork a team, split an inclusive iteration range with static
// worksharing, meet at a barrier.
//
//===----------------------------------------------------------------------===//

#include "include/qtc-c/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <vector>

extern "C" {
typedef void (*Microtask)(int32_t *, int32_t *, ...);
void __kmpc_fork_call(void *loc, int32_t argc, Microtask fn, ...);
int32_t __kmpc_global_thread_num(void *loc);
void __kmpc_for_static_init_8u(void *loc, int32_t gtid, int32_t schedule,
                               int32_t *last, uint64_t *lower, uint64_t *upper,
                               uint64_t *stride, uint64_t incr, uint64_t chunk);
void __kmpc_for_static_fini(void *loc, int32_t gtid);
void __kmpc_barrier(void *loc, int32_t gtid);
int omp_get_num_threads(void);
}

namespace {

struct Job {
  uint64_t lower, upper, chunk;
  int32_t schedule;
  std::vector<std::atomic<int>> *hits;
  std::atomic<int> *lastCount;
  std::atomic<int> *team;
  std::atomic<int> *arrived;
  bool barrierOk = true;
};

/// The shape of an outlined region: split the range, mark every iteration
/// this thread gets, then check the barrier holds everyone back.
void region(int32_t *, int32_t *btidp, ...) {
  va_list ap;
  va_start(ap, btidp);
  Job *job = va_arg(ap, Job *);
  va_end(ap);
  int32_t gtid = __kmpc_global_thread_num(nullptr);
  job->team->store(omp_get_num_threads());
  uint64_t lo = job->lower, hi = job->upper, stride = 0;
  int32_t last = 0;
  __kmpc_for_static_init_8u(nullptr, gtid, job->schedule, &last, &lo, &hi,
                            &stride, 1, job->chunk);
  if (job->schedule == 34) {
    for (uint64_t i = lo; i - lo < hi - lo + 1 && i <= job->upper; ++i)
      (*job->hits)[i]++;
  } else {
    for (uint64_t start = lo; start <= job->upper; start += stride)
      for (uint64_t i = start; i < start + job->chunk && i <= job->upper; ++i)
        (*job->hits)[i]++;
  }
  if (last)
    job->lastCount->fetch_add(1);
  __kmpc_for_static_fini(nullptr, gtid);
  job->arrived->fetch_add(1);
  __kmpc_barrier(nullptr, gtid);
  if (job->arrived->load() != omp_get_num_threads())
    job->barrierOk = false;
}

void runRange(int threads, uint64_t trip, int32_t schedule, uint64_t chunk) {
  qtc_set_num_threads(threads);
  std::vector<std::atomic<int>> hits(trip + 1);
  std::atomic<int> lastCount{0}, team{0}, arrived{0};
  Job job{0, trip - 1, chunk, schedule, &hits, &lastCount, &team, &arrived};
  __kmpc_fork_call(nullptr, 1, &region, &job);
  EXPECT_EQ(team.load(), threads);
  for (uint64_t i = 0; i < trip; ++i)
    ASSERT_EQ(hits[i].load(), 1) << "iteration " << i << " of " << trip
                                 << " with " << threads << " threads";
  EXPECT_EQ(lastCount.load(), 1) << "exactly one thread runs the last iteration";
  EXPECT_TRUE(job.barrierOk) << "a thread passed the barrier early";
}

TEST(Parallel, StaticSplitCoversEveryIterationOnce) {
  for (int threads : {1, 2, 3, 5})
    for (uint64_t trip : {1, 2, 3, 7, 64, 1000})
      runRange(threads, trip, /*kStatic=*/34, 0);
}

TEST(Parallel, ChunkedSplitCoversEveryIterationOnce) {
  for (int threads : {2, 3})
    for (uint64_t trip : {1, 5, 64, 101})
      for (uint64_t chunk : {1, 4, 16})
        runRange(threads, trip, /*kStaticChunked=*/33, chunk);
}

std::atomic<int> innerTeams{0};
void innerRegion(int32_t *, int32_t *, ...) {
  innerTeams.fetch_add(omp_get_num_threads());
}
void outerRegion(int32_t *, int32_t *, ...) {
  __kmpc_fork_call(nullptr, 0, &innerRegion);
}

TEST(Parallel, NestedRegionRunsOnTheCallingThread) {
  qtc_set_num_threads(3);
  innerTeams = 0;
  __kmpc_fork_call(nullptr, 0, &outerRegion);
  // Three outer threads, each running an inner team of one.
  EXPECT_EQ(innerTeams.load(), 3);
}

std::atomic<int> regionRuns{0};
void countRegion(int32_t *, int32_t *, ...) {
  regionRuns.fetch_add(1);
  __kmpc_barrier(nullptr, 0);
}

// Back-to-back regions whose teams alternate between 2 and 4 threads:
// workers outside one region's team must neither run it nor run the next
// one twice. Each region runs exactly once per team member, and has
// finished everywhere when the fork returns.
TEST(Parallel, AlternatingTeamsRunEachRegionOnce) {
  for (int i = 0; i < 1000; ++i) {
    int team = i % 2 ? 2 : 4;
    qtc_set_num_threads(team);
    regionRuns = 0;
    __kmpc_fork_call(nullptr, 0, &countRegion);
    ASSERT_EQ(regionRuns.load(), team) << "region " << i;
  }
  qtc_set_num_threads(2);
}

TEST(Parallel, ThreadCountIsClamped) {
  qtc_set_num_threads(0);
  EXPECT_EQ(qtc_get_num_threads(), 1);
  qtc_set_num_threads(100000);
  EXPECT_EQ(qtc_get_num_threads(), 256);
  qtc_set_num_threads(2);
  EXPECT_EQ(qtc_get_num_threads(), 2);
}

} // namespace
