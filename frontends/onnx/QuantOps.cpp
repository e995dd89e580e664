//===- QuantOps.cpp - quantized op handlers -------------------------------===//

#include "frontends/onnx/Importer.h"

using namespace qtc::onnx;

void qtc::onnx::addQuantOps(OpTable &) {}
