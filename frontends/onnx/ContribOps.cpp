//===- ContribOps.cpp - com.microsoft op handlers -------------------------===//

#include "frontends/onnx/Importer.h"

using namespace qtc::onnx;

void qtc::onnx::addContribOps(OpTable &) {}
