//===- Generate.h - qtc generate --------------------------------*- C++ -*-===//

#ifndef QTC_TOOLS_QTC_GENERATE_H
#define QTC_TOOLS_QTC_GENERATE_H

#include "compiler/Options.h"
#include "compiler/generate/Sampler.h"

#include <string>
#include <vector>

namespace qtc::tools {

struct GenerateRequest {
  std::string model, prompt;
  int64_t maxTokens = 128;
  qtc::generate::SamplingOptions sampling;
  bool chat = false, echo = false, verbose = false;
  std::vector<std::string> stop;
  int threads = 0;
  int64_t prefillChunk = 32;
  /// --max-context when not given.
  int64_t defaultContext = 2048;
  /// The artifact cache ("" : compile in process).
  std::string cacheDir;
};

struct PerplexityRequest {
  std::string model, textFile;
  int64_t context = 512;
  /// Windows to score at most (0: all).
  int64_t maxChunks = 0;
  int64_t prefillChunk = 128;
  int threads = 0;
  bool verbose = false;
  /// The artifact cache ("" : compile in process).
  std::string cacheDir;
};

/// Runs `qtc eval MODEL --perplexity FILE.txt`; returns the exit code.
int perplexity(const PerplexityRequest &request,
               const qtc::CompilerOptions &compileOptions);

/// Runs `qtc generate`; returns the exit code.
int generate(const GenerateRequest &request,
             const qtc::CompilerOptions &compileOptions);

} // namespace qtc::tools

#endif // QTC_TOOLS_QTC_GENERATE_H
