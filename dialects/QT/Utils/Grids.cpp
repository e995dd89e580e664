//===- Grids.cpp - Named non-uniform code grids ---------------------------===//

#include "dialects/QT/Utils/Grids.h"

using namespace qtc;

bool qtc::namedGrid(llvm::StringRef name, unsigned bits,
                    std::vector<float> &levels) {
  levels.clear();
  if (name == "uniform")
    return true;
  if (bits != 4)
    return false;
  if (name == "nf4") {
    // NormalFloat 4 (Dettmers et al., 2023): quantiles of N(0, 1) scaled to
    // [-1, 1], with an exact 0; the values bitsandbytes stores.
    levels = {-1.0f,         -0.6961928f,  -0.52507305f, -0.3949175f,
              -0.28444138f,  -0.18477343f, -0.091050036f, 0.0f,
              0.0795803f,    0.1609302f,   0.2461123f,   0.33791524f,
              0.44070983f,   0.562617f,    0.72295684f,  1.0f};
    return true;
  }
  if (name == "iq4nl") {
    // GGUF IQ4_NL's signed 8-bit table, as a fraction of 127.
    for (int v : {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53,
                  69, 89, 113})
      levels.push_back(static_cast<float>(v) / 127.0f);
    return true;
  }
  return false;
}

const char *qtc::gridNames() { return "uniform, nf4 or iq4nl"; }
