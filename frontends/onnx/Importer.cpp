//===- Importer.cpp - ONNX importer core ----------------------------------===//
//
// Reads the ModelProto with ONNX's own protobuf definitions, turns graph
// inputs into function arguments, initializers into resource constants
// (sharing the bytes the protobuf or the external-data mapping holds), and
// dispatches every node to the handler registered for (domain, op type,
// opset).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/Importer.h"
#include "frontends/onnx/Fusion.h"

#include "dialects/QT/IR/QTDialect.h"
#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/onnx_pb.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <cstring>

using namespace mlir;
using namespace qtc::onnx;
using llvm::Error;
using llvm::Expected;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

std::string qtc::onnx::dtypeName(int32_t dtype) {
  switch (dtype) {
  case kFloat: return "FLOAT";
  case kUInt8: return "UINT8";
  case kInt8: return "INT8";
  case kUInt16: return "UINT16";
  case kInt16: return "INT16";
  case kInt32: return "INT32";
  case kInt64: return "INT64";
  case kString: return "STRING";
  case kBool: return "BOOL";
  case kFloat16: return "FLOAT16";
  case kDouble: return "DOUBLE";
  case kUInt32: return "UINT32";
  case kUInt64: return "UINT64";
  case kBFloat16: return "BFLOAT16";
  case kUInt4: return "UINT4";
  case kInt4: return "INT4";
  case kUInt2: return "UINT2";
  case kInt2: return "INT2";
  default: return "type " + std::to_string(dtype);
  }
}

unsigned qtc::onnx::dtypeBits(int32_t dtype) {
  switch (dtype) {
  case kFloat: case kInt32: case kUInt32: return 32;
  case kUInt8: case kInt8: case kBool: return 8;
  case kUInt16: case kInt16: case kFloat16: case kBFloat16: return 16;
  case kInt64: case kDouble: case kUInt64: return 64;
  case kUInt4: case kInt4: return 4;
  case kUInt2: case kInt2: return 2;
  default: return 0;
  }
}

bool qtc::onnx::dtypeIsFloat(int32_t dtype) {
  return dtype == kFloat || dtype == kFloat16 || dtype == kBFloat16 ||
         dtype == kDouble;
}

bool qtc::onnx::dtypeIsSigned(int32_t dtype) {
  return dtype == kInt8 || dtype == kInt16 || dtype == kInt32 ||
         dtype == kInt64 || dtype == kInt4 || dtype == kInt2;
}

//===----------------------------------------------------------------------===//
// ConstData
//===----------------------------------------------------------------------===//

int64_t ConstData::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

int64_t ConstData::intAt(int64_t i) const {
  const char *p = bytes.data();
  switch (dtype) {
  case kInt64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return v; }
  case kUInt64: { uint64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<int64_t>(v); }
  case kInt32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case kUInt32: { uint32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case kInt16: { int16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
  case kUInt16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
  case kInt8: return static_cast<int8_t>(p[i]);
  case kUInt8: case kBool: return static_cast<uint8_t>(p[i]);
  case kInt4: case kUInt4: {
    uint8_t byte = static_cast<uint8_t>(p[i / 2]);
    uint8_t code = (i % 2) ? (byte >> 4) : (byte & 0xF);
    return dtype == kInt4 ? (static_cast<int8_t>(code << 4) >> 4) : code;
  }
  case kInt2: case kUInt2: {
    uint8_t byte = static_cast<uint8_t>(p[i / 4]);
    uint8_t code = (byte >> (2 * (i % 4))) & 0x3;
    return dtype == kInt2 ? (static_cast<int8_t>(code << 6) >> 6) : code;
  }
  default:
    return static_cast<int64_t>(floatAt(i));
  }
}

double ConstData::floatAt(int64_t i) const {
  const char *p = bytes.data();
  switch (dtype) {
  case kFloat: { float v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case kDouble: { double v; std::memcpy(&v, p + 8 * i, 8); return v; }
  case kFloat16: case kBFloat16: {
    uint16_t bits; std::memcpy(&bits, p + 2 * i, 2);
    const llvm::fltSemantics &sem = dtype == kFloat16
                                        ? llvm::APFloat::IEEEhalf()
                                        : llvm::APFloat::BFloat();
    return llvm::APFloat(sem, llvm::APInt(16, bits)).convertToDouble();
  }
  default:
    return static_cast<double>(intAt(i));
  }
}

llvm::SmallVector<int64_t> ConstData::ints() const {
  llvm::SmallVector<int64_t> out;
  for (int64_t i = 0, e = numElements(); i < e; ++i)
    out.push_back(intAt(i));
  return out;
}

//===----------------------------------------------------------------------===//
// OpTable
//===----------------------------------------------------------------------===//

void OpTable::add(llvm::StringRef domain, llvm::StringRef opType,
                  int64_t sinceVersion, OpHandler handler) {
  entries[(domain + "::" + opType).str()].push_back(
      {sinceVersion, std::move(handler)});
}

const OpHandler *OpTable::lookup(llvm::StringRef domain,
                                 llvm::StringRef opType, int64_t opset,
                                 int64_t *sinceVersion) const {
  auto it = entries.find((domain + "::" + opType).str());
  if (it == entries.end())
    return nullptr;
  const Entry *best = nullptr;
  for (const Entry &e : it->second)
    if (e.sinceVersion <= opset && (!best || e.sinceVersion > best->sinceVersion))
      best = &e;
  if (!best)
    return nullptr;
  *sinceVersion = best->sinceVersion;
  return &best->handler;
}

bool OpTable::knowsOp(llvm::StringRef domain, llvm::StringRef opType) const {
  return entries.count((domain + "::" + opType).str());
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

NodeContext::NodeContext(GraphImporter &importer, const ::onnx::NodeProto &node,
                         llvm::StringRef domain, int64_t opset, Location loc)
    : importer(importer), node(node), domain(domain.str()), opset(opset),
      loc(loc) {}

OpBuilder &NodeContext::builder() { return importer.builder; }
MLIRContext *NodeContext::context() { return &importer.context; }

Error NodeContext::error(const llvm::Twine &message) const {
  std::string name = node.name().empty() ? "<unnamed>" : node.name();
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      llvm::formatv("{0}: node '{1}' ({2}, domain {3}, opset {4}): {5}",
                    importer.fileName, name, node.op_type(),
                    domain.empty() ? "ai.onnx" : domain, opset, message.str())
          .str());
}

Expected<Value> NodeContext::input(size_t i) {
  if (!hasInput(i))
    return error("input " + llvm::Twine(i) + " is required");
  Value v = importer.materialize(*inputs[i]);
  if (!v)
    return error("input " + llvm::Twine(i) + " ('" + node.input(i) +
                 "') of element type " + dtypeName(inputs[i]->dtype) +
                 " cannot be used here");
  return v;
}

Expected<RankedTensorType> NodeContext::inputType(size_t i) {
  Expected<Value> v = input(i);
  if (!v)
    return v.takeError();
  return cast<RankedTensorType>(v->getType());
}

Expected<const ConstData *> NodeContext::constantInput(size_t i,
                                                       llvm::StringRef what) {
  if (!hasInput(i))
    return error(what + " (input " + llvm::Twine(i) + ") is required");
  if (!inputs[i]->constant)
    return error(what + " (input " + llvm::Twine(i) + ", '" + node.input(i) +
                 "') must be a constant or initializer");
  return inputs[i]->constant.get();
}

const ::onnx::AttributeProto *NodeContext::attr(llvm::StringRef name) const {
  for (const ::onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::intAttr(llvm::StringRef name, int64_t defaultValue) const {
  const ::onnx::AttributeProto *a = attr(name);
  return a ? a->i() : defaultValue;
}

float NodeContext::floatAttr(llvm::StringRef name, float defaultValue) const {
  const ::onnx::AttributeProto *a = attr(name);
  return a ? a->f() : defaultValue;
}

std::string NodeContext::stringAttr(llvm::StringRef name,
                                    llvm::StringRef defaultValue) const {
  const ::onnx::AttributeProto *a = attr(name);
  return a ? a->s() : defaultValue.str();
}

std::optional<llvm::SmallVector<int64_t>>
NodeContext::intsAttr(llvm::StringRef name) const {
  const ::onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

Error NodeContext::checkAttributes(
    llvm::ArrayRef<llvm::StringRef> known) const {
  for (const ::onnx::AttributeProto &a : node.attribute())
    if (!llvm::is_contained(known, llvm::StringRef(a.name())))
      return error("unsupported attribute '" + a.name() + "'");
  return Error::success();
}

Expected<int64_t> NodeContext::normalizeAxis(int64_t axis, int64_t rank,
                                             llvm::StringRef what) const {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return error(what + " " + llvm::Twine(axis) + " is out of range for rank " +
                 llvm::Twine(rank));
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

GraphImporter::GraphImporter(MLIRContext &context, std::string fileName,
                             ::onnx::ModelProto &model,
                             const ImportOptions &options)
    : context(context), builder(&context), fileName(std::move(fileName)),
      model(model), options(options) {
  addStandardOps(table);
  addQuantOps(table);
  addContribOps(table);
  addTensorOps(table);
}

Type GraphImporter::elementType(int32_t dtype) {
  Builder b(&context);
  switch (dtype) {
  case kFloat: return b.getF32Type();
  case kFloat16: return b.getF16Type();
  case kBFloat16: return b.getBF16Type();
  case kDouble: return b.getF64Type();
  case kInt64: case kUInt64: return b.getI64Type();
  case kInt32: case kUInt32: return b.getI32Type();
  case kInt16: case kUInt16: return b.getI16Type();
  case kInt8: case kUInt8: return b.getI8Type();
  case kBool: return b.getI1Type();
  default: return {};
  }
}

Value GraphImporter::constantFromBytes(llvm::ArrayRef<char> bytes,
                                       llvm::ArrayRef<int64_t> shape,
                                       Type elementType, llvm::StringRef name,
                                       std::shared_ptr<void> owner) {
  OpBuilder::InsertionGuard guard(builder);
  if (lastConstant)
    builder.setInsertionPointAfter(lastConstant);
  else
    builder.setInsertionPointToStart(constantBlock);
  auto type = RankedTensorType::get(shape, elementType);
  Location loc = NameLoc::get(builder.getStringAttr(name),
                              FileLineColLoc::get(&context, fileName, 0, 0));
  ElementsAttr attr;
  int64_t numElements = type.getNumElements();
  // Small constants (shapes, scalars, epsilons) stay readable in the IR;
  // weights go to resource blobs.
  if (numElements <= 16 || elementType.isInteger(1)) {
    if (elementType.isInteger(1)) {
      llvm::SmallVector<bool> values;
      for (char c : bytes.take_front(numElements))
        values.push_back(c != 0);
      attr = DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
    } else {
      attr = DenseElementsAttr::getFromRawBuffer(type, bytes);
    }
  } else {
    size_t align = std::max<size_t>(1, elementType.getIntOrFloatBitWidth() / 8);
    AsmResourceBlob blob;
    if (reinterpret_cast<uintptr_t>(bytes.data()) % align == 0 && owner) {
      blob = AsmResourceBlob(
          bytes, align,
          [owner](void *, size_t, size_t) mutable { owner.reset(); },
          /*dataIsMutable=*/false);
    } else {
      blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, align);
    }
    attr = DenseResourceElementsAttr::get(type, resourceKey(name),
                                          std::move(blob));
  }
  auto op = arith::ConstantOp::create(builder, loc, type, cast<TypedAttr>(attr));
  lastConstant = op;
  return op;
}

Value GraphImporter::materialize(Tensor &tensor) {
  if (tensor.value)
    return tensor.value;
  if (tensor.packed) {
    // Decode [N, K] and transpose to the [K, N] that DequantizeLinear means.
    PackedWeight &p = *tensor.packed;
    Location loc = builder.getUnknownLoc();
    auto nk = RankedTensorType::get({p.n, p.k}, p.resultElement);
    Value w = mlir::qt::DequantizeOp::create(builder, loc, nk, p.weights,
                                             p.scales, p.zeroPoints, p.format);
    tensor.value = transpose(builder, loc, w, {1, 0});
    return tensor.value;
  }
  if (tensor.constant && dtypeBits(tensor.constant->dtype) < 8 &&
      dtypeBits(tensor.constant->dtype) > 0) {
    // Sub-byte codes become one i8 per element (sign-extended if signed).
    const ConstData &c = *tensor.constant;
    auto bytes = std::make_shared<std::vector<char>>(c.numElements());
    for (int64_t i = 0, e = c.numElements(); i < e; ++i)
      (*bytes)[i] = static_cast<char>(c.intAt(i));
    tensor.value = constantFromBytes(*bytes, c.dims, builder.getI8Type(),
                                     c.name, bytes);
    return tensor.value;
  }
  if (tensor.constant) {
    Type elem = elementType(tensor.constant->dtype);
    if (!elem)
      return {};
    tensor.value = constantFromBytes(tensor.constant->bytes,
                                     tensor.constant->dims, elem,
                                     tensor.constant->name,
                                     tensor.constant->owner);
    return tensor.value;
  }
  if (tensor.known) {
    // A shape vector known by entries: build it from constants and dims.
    OpBuilder &b = builder;
    Location loc = b.getUnknownLoc();
    llvm::SmallVector<Value> elems;
    for (const ShapeEntry &e : *tensor.known) {
      if (e.isConstant()) {
        elems.push_back(arith::ConstantIntOp::create(b, loc, e.constant, 64));
      } else if (e.isSymbol()) {
        Value dim = tensor::DimOp::create(b, loc, e.source, e.dim);
        elems.push_back(
            arith::IndexCastOp::create(b, loc, b.getI64Type(), dim));
      } else if (e.runtime) {
        elems.push_back(
            arith::IndexCastOp::create(b, loc, b.getI64Type(), e.runtime));
      } else {
        return {};
      }
    }
    if (tensor.knownIsScalar)
      tensor.value = tensor::FromElementsOp::create(
          b, loc, RankedTensorType::get({}, b.getI64Type()), elems);
    else
      tensor.value = tensor::FromElementsOp::create(
          b, loc,
          RankedTensorType::get({static_cast<int64_t>(elems.size())},
                                b.getI64Type()),
          elems);
    return tensor.value;
  }
  return {};
}

Expected<llvm::ArrayRef<char>>
GraphImporter::externalData(const ::onnx::TensorProto &proto,
                            std::shared_ptr<void> &owner) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const ::onnx::StringStringEntryProto &kv : proto.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v;
      if (llvm::StringRef(kv.value()).getAsInteger(10, v) || v < 0)
        return llvm::createStringError(
            llvm::formatv("{0}: initializer '{1}': external data {2} '{3}' "
                          "is not a non-negative integer",
                          fileName, proto.name(), kv.key(), kv.value())
                .str());
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty())
    return llvm::createStringError(
        llvm::formatv("{0}: initializer '{1}': external data has no location",
                      fileName, proto.name())
            .str());
  if (llvm::sys::path::is_absolute(location) ||
      llvm::is_contained(llvm::make_range(llvm::sys::path::begin(location),
                                          llvm::sys::path::end(location)),
                         ".."))
    return llvm::createStringError(
        llvm::formatv("{0}: initializer '{1}': external data location '{2}' "
                      "must be a relative path inside the model's folder",
                      fileName, proto.name(), location)
            .str());
  std::string dir = options.externalDataDir;
  if (dir.empty())
    dir = llvm::sys::path::parent_path(fileName).str();
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, location);
  std::shared_ptr<void> &mapped = mappedFiles[path.str()];
  if (!mapped) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return llvm::createStringError(
          llvm::formatv("{0}: initializer '{1}': cannot open external data "
                        "file '{2}': {3}",
                        fileName, proto.name(), path.str(),
                        buffer.getError().message())
              .str());
    mapped = std::shared_ptr<llvm::MemoryBuffer>(std::move(*buffer));
  }
  auto *buffer = static_cast<llvm::MemoryBuffer *>(mapped.get());
  int64_t size = static_cast<int64_t>(buffer->getBufferSize());
  if (length < 0)
    length = size - offset;
  if (offset > size || length > size - offset)
    return llvm::createStringError(
        llvm::formatv("{0}: initializer '{1}': external data [{2}, {3}) is "
                      "outside '{4}' ({5} bytes)",
                      fileName, proto.name(), offset, offset + length,
                      location, size)
            .str());
  owner = mapped;
  return llvm::ArrayRef<char>(buffer->getBufferStart() + offset, length);
}

Expected<std::shared_ptr<ConstData>>
GraphImporter::readTensor(const ::onnx::TensorProto &proto) {
  auto data = std::make_shared<ConstData>();
  data->name = proto.name();
  data->dtype = proto.data_type();
  for (int64_t d : proto.dims()) {
    if (d < 0)
      return llvm::createStringError(
          llvm::formatv("{0}: tensor '{1}': negative dimension {2}", fileName,
                        proto.name(), d)
              .str());
    data->dims.push_back(d);
  }
  unsigned bits = dtypeBits(data->dtype);
  if (!bits)
    return llvm::createStringError(
        llvm::formatv("{0}: tensor '{1}': unsupported element type {2}",
                      fileName, proto.name(), dtypeName(data->dtype))
            .str());
  // Overflow-safe element count.
  int64_t numElements = 1;
  for (int64_t d : data->dims) {
    if (d != 0 && numElements > (INT64_MAX / 8) / d)
      return llvm::createStringError(
          llvm::formatv("{0}: tensor '{1}': too many elements", fileName,
                        proto.name())
              .str());
    numElements *= d;
  }
  int64_t expectedBytes = (numElements * bits + 7) / 8;

  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    Expected<llvm::ArrayRef<char>> bytes = externalData(proto, data->owner);
    if (!bytes)
      return bytes.takeError();
    data->bytes = *bytes;
  } else if (proto.has_raw_data()) {
    // Move the bytes out of the protobuf rather than copying them.
    auto owned = std::make_shared<std::string>(
        std::move(*const_cast<::onnx::TensorProto &>(proto).mutable_raw_data()));
    data->bytes = llvm::ArrayRef<char>(owned->data(), owned->size());
    data->owner = owned;
  } else {
    // Typed fields: copy into the raw layout (after checking the count, so
    // a bogus shape cannot ask for a huge buffer).
    int64_t have = proto.float_data_size() + proto.double_data_size() +
                   proto.int64_data_size() + proto.uint64_data_size() +
                   proto.int32_data_size();
    if (have != numElements)
      return llvm::createStringError(
          llvm::formatv("{0}: tensor '{1}': holds {2} values, shape needs {3}",
                        fileName, proto.name(), have, numElements)
              .str());
    auto owned = std::make_shared<std::vector<char>>(expectedBytes);
    char *out = owned->data();
    auto need = [&](int64_t have) -> Error {
      if (have != numElements)
        return llvm::createStringError(
            llvm::formatv("{0}: tensor '{1}': holds {2} values, shape needs {3}",
                          fileName, proto.name(), have, numElements)
                .str());
      return Error::success();
    };
    switch (data->dtype) {
    case kFloat:
      if (Error e = need(proto.float_data_size())) return std::move(e);
      std::memcpy(out, proto.float_data().data(), 4 * numElements);
      break;
    case kDouble:
      if (Error e = need(proto.double_data_size())) return std::move(e);
      std::memcpy(out, proto.double_data().data(), 8 * numElements);
      break;
    case kInt64:
      if (Error e = need(proto.int64_data_size())) return std::move(e);
      std::memcpy(out, proto.int64_data().data(), 8 * numElements);
      break;
    case kUInt64: case kUInt32:
      if (Error e = need(proto.uint64_data_size())) return std::move(e);
      for (int64_t i = 0; i < numElements; ++i) {
        uint64_t v = proto.uint64_data(i);
        std::memcpy(out + i * (bits / 8), &v, bits / 8);
      }
      break;
    case kInt32: case kInt16: case kUInt16: case kInt8: case kUInt8:
    case kBool: case kFloat16: case kBFloat16:
      if (Error e = need(proto.int32_data_size())) return std::move(e);
      for (int64_t i = 0; i < numElements; ++i) {
        int32_t v = proto.int32_data(i);
        std::memcpy(out + i * (bits / 8), &v, bits / 8);
      }
      break;
    default:
      return llvm::createStringError(
          llvm::formatv("{0}: tensor '{1}': {2} data must be in raw_data",
                        fileName, proto.name(), dtypeName(data->dtype))
              .str());
    }
    data->bytes = llvm::ArrayRef<char>(owned->data(), owned->size());
    data->owner = owned;
  }
  if (static_cast<int64_t>(data->bytes.size()) != expectedBytes)
    return llvm::createStringError(
        llvm::formatv("{0}: tensor '{1}': holds {2} bytes, {3} {4} needs {5}",
                      fileName, proto.name(), data->bytes.size(),
                      dtypeName(data->dtype),
                      "[" + llvm::join(llvm::map_range(data->dims,
                                                       [](int64_t d) {
                                                         return std::to_string(d);
                                                       }),
                                       ", ") +
                          "]",
                      expectedBytes)
            .str());
  return data;
}

Expected<Type> GraphImporter::inputType(const void *valueInfoPtr,
                                        llvm::StringRef name) {
  const auto &vi = *static_cast<const ::onnx::ValueInfoProto *>(valueInfoPtr);
  if (!vi.type().has_tensor_type())
    return llvm::createStringError(
        llvm::formatv("{0}: graph input '{1}' is not a tensor", fileName, name)
            .str());
  const auto &tt = vi.type().tensor_type();
  Type elem = elementType(tt.elem_type());
  if (!elem)
    return llvm::createStringError(
        llvm::formatv("{0}: graph input '{1}' has unsupported element type {2}",
                      fileName, name, dtypeName(tt.elem_type()))
            .str());
  llvm::SmallVector<int64_t> shape;
  if (!tt.has_shape())
    return llvm::createStringError(
        llvm::formatv("{0}: graph input '{1}' has no shape (rank unknown); "
                      "give one with --input-shape {1}=d0,d1,...",
                      fileName, name)
            .str());
  for (const auto &d : tt.shape().dim()) {
    int64_t size = ShapedType::kDynamic;
    if (d.has_dim_value() && d.dim_value() >= 0)
      size = d.dim_value();
    else if (d.has_dim_param()) {
      auto it = options.dimParams.find(d.dim_param());
      if (it != options.dimParams.end())
        size = it->second;
    }
    shape.push_back(size);
  }
  auto bound = options.inputShapes.find(name);
  if (bound != options.inputShapes.end()) {
    if (bound->second.size() != shape.size())
      return llvm::createStringError(
          llvm::formatv("{0}: --input-shape {1} gives {2} dims, the model's "
                        "input has rank {3}",
                        fileName, name, bound->second.size(), shape.size())
              .str());
    for (size_t i = 0; i < shape.size(); ++i) {
      int64_t want = bound->second[i];
      if (want < 0)
        continue;
      if (!ShapedType::isDynamic(shape[i]) && shape[i] != want)
        return llvm::createStringError(
            llvm::formatv("{0}: --input-shape {1}: dim {2} is {3} in the "
                          "model, not {4}",
                          fileName, name, i, shape[i], want)
                .str());
      shape[i] = want;
    }
  }
  return RankedTensorType::get(shape, elem);
}

Error GraphImporter::importNode(const ::onnx::NodeProto &node, size_t index) {
  llvm::StringRef domain = node.domain();
  if (domain == "ai.onnx")
    domain = "";
  auto opsetIt = opsets.find(domain);
  std::string nodeName =
      node.name().empty() ? (node.op_type() + "_" + std::to_string(index))
                          : node.name();
  Location loc = NameLoc::get(builder.getStringAttr(nodeName),
                              FileLineColLoc::get(&context, fileName, 0, 0));
  int64_t opset = opsetIt == opsets.end() ? 0 : opsetIt->second;
  NodeContext ctx(*this, node, domain, opset, loc);
  if (opsetIt == opsets.end())
    return ctx.error("the model imports no opset for domain '" +
                     (domain.empty() ? llvm::StringRef("ai.onnx") : domain) +
                     "'");
  int64_t since = 0;
  const OpHandler *handler = table.lookup(domain, node.op_type(), opset, &since);
  if (!handler) {
    if (table.knowsOp(domain, node.op_type()))
      return ctx.error("opset " + llvm::Twine(opset) +
                       " of this op is not supported");
    return ctx.error("unsupported op");
  }
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      ctx.inputs.push_back(nullptr);
      continue;
    }
    auto it = values.find(name);
    if (it == values.end())
      return ctx.error("input '" + name +
                       "' is not produced by any earlier node, input or "
                       "initializer");
    ctx.inputs.push_back(&it->second);
  }
  while (!ctx.inputs.empty() && !ctx.inputs.back())
    ctx.inputs.pop_back();

  llvm::SmallVector<Tensor> results;
  if (Error e = (*handler)(ctx, results))
    return e;
  if (results.size() < static_cast<size_t>(node.output_size())) {
    // Optional outputs a handler does not produce must be unused.
    for (int i = results.size(); i < node.output_size(); ++i)
      if (!node.output(i).empty())
        return ctx.error("output " + llvm::Twine(i) + " ('" + node.output(i) +
                         "') is not supported");
  }
  for (int i = 0; i < node.output_size() && i < static_cast<int>(results.size());
       ++i) {
    if (node.output(i).empty())
      continue;
    values[node.output(i)] = std::move(results[i]);
  }
  return Error::success();
}

Error GraphImporter::importGraph() {
  const ::onnx::GraphProto &graph = model.graph();
  module = ModuleOp::create(FileLineColLoc::get(&context, fileName, 0, 0));
  builder.setInsertionPointToEnd(module->getBody());

  // Initializers first: graph inputs that share a name with an initializer
  // are constants with a default (opset < 9 models list them as inputs).
  for (const ::onnx::TensorProto &init : graph.initializer()) {
    Expected<std::shared_ptr<ConstData>> data = readTensor(init);
    if (!data)
      return data.takeError();
    Tensor t;
    t.dtype = init.data_type();
    t.constant = std::move(*data);
    values[init.name()] = std::move(t);
  }

  llvm::SmallVector<Type> argTypes;
  llvm::SmallVector<std::string> argNames;
  for (const ::onnx::ValueInfoProto &vi : graph.input()) {
    if (values.count(vi.name()))
      continue;
    Expected<Type> type = inputType(&vi, vi.name());
    if (!type)
      return type.takeError();
    argTypes.push_back(*type);
    argNames.push_back(vi.name());
  }
  for (const auto &entry : options.inputShapes)
    if (!llvm::is_contained(argNames, entry.getKey().str()))
      return llvm::createStringError(
          llvm::formatv("{0}: --input-shape names '{1}', which is not a graph "
                        "input",
                        fileName, entry.getKey())
              .str());

  auto funcType = builder.getFunctionType(argTypes, {});
  func = func::FuncOp::create(builder, FileLineColLoc::get(&context, fileName, 0, 0),
                              options.functionName, funcType);
  Block *entry = func.addEntryBlock();
  constantBlock = entry;
  for (auto [i, name] : llvm::enumerate(argNames)) {
    Tensor t;
    t.value = entry->getArgument(i);
    for (const ::onnx::ValueInfoProto &vi : graph.input())
      if (vi.name() == name)
        t.dtype = vi.type().tensor_type().elem_type();
    func.setArgAttr(i, "onnx.name", builder.getStringAttr(name));
    values[name] = std::move(t);
  }
  builder.setInsertionPointToEnd(entry);

  // Raise exporter decompositions (RMSNorm, GELU, SiLU, attention) first.
  for (const ::onnx::NodeProto &node : graph.node())
    if (node.op_type() == "Constant" && node.domain().empty() &&
        node.output_size() == 1)
      constantNodes[node.output(0)] = &node;
  std::vector<Fusion> fusions = findFusions(
      graph, [&](llvm::StringRef name) { return scalarConstant(name); });
  llvm::DenseMap<size_t, const Fusion *> roots;
  llvm::DenseSet<size_t> covered;
  for (const Fusion &f : fusions) {
    roots[f.root] = &f;
    covered.insert(f.nodes.begin(), f.nodes.end());
  }
  for (auto [i, node] : llvm::enumerate(graph.node())) {
    auto root = roots.find(i);
    if (root != roots.end()) {
      Expected<bool> fused = importFusion(*root->second);
      if (!fused)
        return fused.takeError();
      if (*fused)
        continue;
      for (size_t k : root->second->nodes)
        if (Error e = importNode(graph.node(k), k))
          return e;
      continue;
    }
    if (covered.contains(i))
      continue;
    if (Error e = importNode(node, i))
      return e;
  }

  llvm::SmallVector<Value> results;
  llvm::SmallVector<Type> resultTypes;
  for (const ::onnx::ValueInfoProto &vi : graph.output()) {
    auto it = values.find(vi.name());
    if (it == values.end())
      return llvm::createStringError(
          llvm::formatv("{0}: graph output '{1}' is not produced by any node",
                        fileName, vi.name())
              .str());
    Value v = materialize(it->second);
    if (!v)
      return llvm::createStringError(
          llvm::formatv("{0}: graph output '{1}' of element type {2} is not "
                        "supported",
                        fileName, vi.name(), dtypeName(it->second.dtype))
              .str());
    results.push_back(v);
    resultTypes.push_back(v.getType());
  }
  func::ReturnOp::create(builder, func.getLoc(), results);
  func.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, vi] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "onnx.name", builder.getStringAttr(vi.name()));
  return Error::success();
}

std::optional<double> GraphImporter::scalarConstant(llvm::StringRef name) {
  auto read = [](const ConstData &c) -> std::optional<double> {
    if (c.numElements() != 1 || dtypeBits(c.dtype) < 8)
      return std::nullopt;
    return c.floatAt(0);
  };
  auto it = values.find(name);
  if (it != values.end())
    return it->second.constant ? read(*it->second.constant) : std::nullopt;
  auto cn = constantNodes.find(name);
  if (cn == constantNodes.end())
    return std::nullopt;
  for (const ::onnx::AttributeProto &a : cn->second->attribute()) {
    if (a.name() == "value") {
      // readTensor moves raw bytes out of its argument: read a copy, and
      // only of small tensors.
      int64_t n = 1;
      for (int64_t d : a.t().dims())
        n *= d;
      if (n != 1)
        return std::nullopt;
      ::onnx::TensorProto copy = a.t();
      Expected<std::shared_ptr<ConstData>> t = readTensor(copy);
      if (!t) {
        llvm::consumeError(t.takeError());
        return std::nullopt;
      }
      return read(**t);
    }
    if (a.name() == "value_float")
      return a.f();
    if (a.name() == "value_int")
      return static_cast<double>(a.i());
  }
  return std::nullopt;
}

Expected<bool> GraphImporter::importFusion(const Fusion &fusion) {
  const ::onnx::NodeProto &rootNode = model.graph().node(fusion.root);
  auto get = [&](const std::string &name) -> Tensor * {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  };
  SmallVector<Tensor *> ins;
  for (const std::string &name : fusion.inputs) {
    if (name.empty()) {
      ins.push_back(nullptr);
      continue;
    }
    Tensor *t = get(name);
    if (!t)
      return false;
    ins.push_back(t);
  }
  Value x = materialize(*ins[0]);
  if (!x)
    return false;
  auto xt = cast<RankedTensorType>(x.getType());
  if (!isa<FloatType>(xt.getElementType()))
    return false;
  Location loc = NameLoc::get(builder.getStringAttr(rootNode.name()),
                              FileLineColLoc::get(&context, fileName, 0, 0));
  Value result;
  switch (fusion.kind) {
  case Fusion::RmsNorm: {
    Value w = materialize(*ins[1]);
    if (!w || xt.getRank() < 1)
      return false;
    auto wt = cast<RankedTensorType>(w.getType());
    if (wt.getRank() != 1 || wt.getElementType() != xt.getElementType() ||
        wt.getDimSize(0) != xt.getDimSize(xt.getRank() - 1))
      return false;
    result = mlir::qt::RmsNormOp::create(
        builder, loc, xt, x, w,
        builder.getF32FloatAttr(static_cast<float>(fusion.epsilon)));
    break;
  }
  case Fusion::Gelu:
  case Fusion::GeluTanh:
    result = mlir::qt::GeluOp::create(
        builder, loc, x,
        mlir::qt::GeluApproximationAttr::get(
            &context, fusion.kind == Fusion::Gelu
                          ? mlir::qt::GeluApproximation::None
                          : mlir::qt::GeluApproximation::Tanh));
    break;
  case Fusion::Silu:
    result = mlir::qt::SiluOp::create(builder, loc, x);
    break;
  case Fusion::Attention: {
    Value kT = materialize(*ins[1]), v = materialize(*ins[2]);
    if (!kT || !v)
      return false;
    auto kt = cast<RankedTensorType>(kT.getType());
    auto vt = cast<RankedTensorType>(v.getType());
    if (xt.getRank() != 4 || kt.getRank() != 4 || vt.getRank() != 4 ||
        kt.getElementType() != xt.getElementType() ||
        vt.getElementType() != xt.getElementType())
      return false;
    int64_t hq = xt.getDimSize(1), hk = kt.getDimSize(1);
    bool staticHeads = !ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hk);
    if ((staticHeads && (hk == 0 || hq % hk != 0)) ||
        (!ShapedType::isDynamic(vt.getDimSize(1)) && !ShapedType::isDynamic(hk) &&
         vt.getDimSize(1) != hk))
      return false;
    Value mask;
    if (ins[3]) {
      mask = materialize(*ins[3]);
      if (!mask)
        return false;
      auto mt = cast<RankedTensorType>(mask.getType());
      if (mt.getElementType() != xt.getElementType() || mt.getRank() > 4)
        return false;
      SmallVector<int64_t> scores = {xt.getDimSize(0), hq, xt.getDimSize(2),
                                     kt.getDimSize(3)};
      for (int64_t i = 0; i < mt.getRank(); ++i) {
        int64_t m = mt.getDimSize(mt.getRank() - 1 - i), w = scores[3 - i];
        if (m != 1 && !ShapedType::isDynamic(m) && !ShapedType::isDynamic(w) &&
            m != w)
          return false;
      }
    }
    Value k = transpose(builder, loc, kT, {0, 1, 3, 2});
    auto outType = RankedTensorType::get(
        {xt.getDimSize(0), hq, xt.getDimSize(2), vt.getDimSize(3)},
        xt.getElementType());
    result = mlir::qt::AttentionOp::create(
                 builder, loc, outType, Type(), Type(), x, k, v, mask, Value(),
                 Value(), builder.getF32FloatAttr(static_cast<float>(fusion.scale)),
                 UnitAttr(), IntegerAttr(), FloatAttr())
                 .getOutput();
    break;
  }
  }
  Tensor out;
  out.value = result;
  out.dtype = ins[0]->dtype;
  values[rootNode.output(0)] = std::move(out);
  return true;
}

Expected<OwningOpRef<ModuleOp>> GraphImporter::run() {
  if (!model.has_graph())
    return llvm::createStringError(
        llvm::formatv("{0}: the model has no graph", fileName).str());
  for (const ::onnx::OperatorSetIdProto &opset : model.opset_import()) {
    llvm::StringRef domain = opset.domain();
    if (domain == "ai.onnx")
      domain = "";
    opsets[domain] = opset.version();
  }
  if (model.opset_import_size() == 0)
    opsets[""] = 1; // IR version 2 models carry no opset_import.

  if (Error e = importGraph())
    return std::move(e);

  if (options.verify) {
    std::string diagnostics;
    {
      ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
        if (diag.getSeverity() != DiagnosticSeverity::Error)
          return success();
        std::string where;
        if (auto name = dyn_cast<NameLoc>(diag.getLocation()))
          where = "node '" + name.getName().str() + "': ";
        if (diagnostics.empty())
          diagnostics = fileName + ": " + where + "imported IR is invalid: " +
                        diag.str();
        return success();
      });
      if (failed(mlir::verify(*module)))
        return llvm::createStringError(
            diagnostics.empty() ? fileName + ": imported IR is invalid"
                                : diagnostics);
    }
  }
  return std::move(module);
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void qtc::onnx::registerImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect,
                  linalg::LinalgDialect, math::MathDialect, scf::SCFDialect,
                  tensor::TensorDialect, mlir::qt::QTDialect>();
}

static void loadDialects(MLIRContext &context) {
  DialectRegistry registry;
  registerImportDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
}

Expected<OwningOpRef<ModuleOp>>
qtc::onnx::importOnnxBuffer(llvm::StringRef bytes, llvm::StringRef displayName,
                            MLIRContext &context,
                            const ImportOptions &options) {
  loadDialects(context);
  if (bytes.starts_with("GGUF"))
    return llvm::createStringError(
        displayName + ": is a GGUF file (llama.cpp's format), not an ONNX "
                      "model: give it to `qtc compile` or `qtc-translate "
                      "--import-gguf`");
  ::onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream stream(bytes.data(),
                                                static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT_MAX);
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    return llvm::createStringError(
        llvm::formatv("{0}: not a valid ONNX model (truncated or corrupt "
                      "protobuf)",
                      displayName)
            .str());
  GraphImporter importer(context, displayName.str(), model, options);
  return importer.run();
}

Expected<OwningOpRef<ModuleOp>>
qtc::onnx::importOnnxFile(llvm::StringRef path, MLIRContext &context,
                          const ImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(
        llvm::formatv("{0}: cannot open: {1}", path,
                      buffer.getError().message())
            .str());
  ImportOptions withDir = options;
  if (withDir.externalDataDir.empty()) {
    llvm::StringRef parent = llvm::sys::path::parent_path(path);
    withDir.externalDataDir = parent.empty() ? "." : parent.str();
  }
  return importOnnxBuffer((*buffer)->getBuffer(), path, context, withDir);
}

Error qtc::onnx::parseInputShape(llvm::StringRef spec, ImportOptions &options) {
  auto [name, dims] = spec.rsplit('=');
  if (name.empty() || dims.data() == nullptr || spec.find('=') == llvm::StringRef::npos)
    return llvm::createStringError(
        "--input-shape expects NAME=d0,d1,... (got '" + spec.str() + "')");
  llvm::SmallVector<int64_t> shape;
  llvm::SmallVector<llvm::StringRef> parts;
  if (!dims.empty())
    dims.split(parts, ',');
  for (llvm::StringRef p : parts) {
    p = p.trim();
    int64_t d;
    if (p == "?" || p == "-1")
      d = -1;
    else if (p.getAsInteger(10, d) || d < 0)
      return llvm::createStringError("--input-shape " + name.str() +
                                     ": bad dimension '" + p.str() + "'");
    shape.push_back(d);
  }
  options.inputShapes[name] = std::move(shape);
  return Error::success();
}

Error qtc::onnx::parseDimParam(llvm::StringRef spec, ImportOptions &options) {
  auto [name, value] = spec.split('=');
  int64_t size;
  if (name.empty() || value.getAsInteger(10, size) || size < 0)
    return llvm::createStringError("--dim expects NAME=SIZE (got '" +
                                   spec.str() + "')");
  options.dimParams[name] = size;
  return Error::success();
}
