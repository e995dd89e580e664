//===- AllocTest.cpp - the runtime's caching allocator --------------------===//
//
// The entry points generated code calls for memref.alloc / dealloc
// (finalize-memref-to-llvm with use-generic-functions).
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

extern "C" {
void *_mlir_memref_to_llvm_alloc(uint64_t size);
void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment, uint64_t size);
void _mlir_memref_to_llvm_free(void *ptr);
}

namespace {

TEST(Alloc, HonoursAlignmentAndSize) {
  for (uint64_t alignment : {8u, 16u, 64u, 128u, 4096u})
    for (uint64_t size : {0u, 1u, 63u, 64u, 65u, 1000u, 1u << 20}) {
      auto *p = static_cast<unsigned char *>(
          _mlir_memref_to_llvm_aligned_alloc(alignment, size));
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u)
          << "alignment " << alignment << ", size " << size;
      std::memset(p, 0xab, size); // the whole payload is writable
      _mlir_memref_to_llvm_free(p);
    }
  void *p = _mlir_memref_to_llvm_alloc(100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
  _mlir_memref_to_llvm_free(p);
  _mlir_memref_to_llvm_free(nullptr);
}

TEST(Alloc, FreedBlocksAreReusedWithinTheirSizeClass) {
  // A model frees and re-allocates the same temporaries on every call.
  void *a = _mlir_memref_to_llvm_aligned_alloc(64, 3 << 20);
  _mlir_memref_to_llvm_free(a);
  void *b = _mlir_memref_to_llvm_aligned_alloc(64, (3 << 20) + 100); // same class (4 MiB)
  EXPECT_EQ(a, b);
  void *c = _mlir_memref_to_llvm_aligned_alloc(64, 5 << 20); // next class
  EXPECT_NE(b, c);
  _mlir_memref_to_llvm_free(b);
  _mlir_memref_to_llvm_free(c);
  // Over-aligned blocks are never handed out for a smaller alignment's
  // request from the cache in a misaligned way.
  void *d = _mlir_memref_to_llvm_aligned_alloc(4096, 100);
  _mlir_memref_to_llvm_free(d);
  void *e = _mlir_memref_to_llvm_aligned_alloc(4096, 100);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(e) % 4096, 0u);
  _mlir_memref_to_llvm_free(e);
}

TEST(Alloc, AThreadsCachedBlocksOutliveIt) {
  // Blocks up to 1 MiB are cached per thread without the lock; when the
  // thread exits they go back to the shared lists, not lost. 300 KiB:
  // a class (512 KiB) no other test here uses.
  void *freedThere = nullptr;
  std::thread t([&] {
    void *p = _mlir_memref_to_llvm_aligned_alloc(64, 300 << 10);
    void *q = _mlir_memref_to_llvm_aligned_alloc(64, 300 << 10);
    _mlir_memref_to_llvm_free(q);
    // Reused by the same thread from its own cache.
    EXPECT_EQ(_mlir_memref_to_llvm_aligned_alloc(64, 300 << 10), q);
    _mlir_memref_to_llvm_free(q);
    _mlir_memref_to_llvm_free(p);
    freedThere = p;
  });
  t.join();
  // This thread's own cache holds at most 4 blocks of the class (more on a
  // repeated run): past those, the shared lists hand out the exited
  // thread's blocks first.
  std::vector<void *> got;
  bool found = false;
  for (int i = 0; i < 6; ++i) {
    got.push_back(_mlir_memref_to_llvm_aligned_alloc(64, 300 << 10));
    found |= got.back() == freedThere;
  }
  EXPECT_TRUE(found) << "a block the exited thread cached was not handed out again";
  for (void *p : got)
    _mlir_memref_to_llvm_free(p);
}

TEST(Alloc, ConcurrentAllocationsDoNotShareBlocks) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 2000; ++i) {
        uint64_t size = 64 + (i % 7) * 1000;
        auto *p = static_cast<unsigned char *>(
            _mlir_memref_to_llvm_aligned_alloc(64, size));
        std::memset(p, t + 1, size);
        for (uint64_t j = 0; j < size; j += 97)
          failures[t] += p[j] != t + 1;
        _mlir_memref_to_llvm_free(p);
      }
    });
  for (auto &th : threads)
    th.join();
  for (int f : failures)
    EXPECT_EQ(f, 0);
}

} // namespace
