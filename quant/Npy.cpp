//===- Npy.cpp - numpy .npy / .npz files ----------------------------------===//

#include "quant/Npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace qtc;


size_t qtc::itemSize(llvm::StringRef dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "float16" || dtype == "bfloat16" || dtype == "int16") return 2;
  if (dtype == "int64" || dtype == "float64") return 8;
  return 1;
}

static const char *npyDescr(llvm::StringRef dtype) {
  if (dtype == "float64") return "<f8";
  if (dtype == "float32") return "<f4";
  if (dtype == "float16") return "<f2";
  if (dtype == "int64") return "<i8";
  if (dtype == "int32") return "<i4";
  if (dtype == "int16") return "<i2";
  if (dtype == "int8") return "|i1";
  if (dtype == "bool") return "|b1";
  if (dtype == "bfloat16") return "<u2"; // numpy has none: the raw bits
  return "";
}

llvm::Expected<Array> qtc::parseNpy(llvm::StringRef bytes,
                                    llvm::StringRef path) {
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return llvm::createStringError(path + ": not a .npy file");
  unsigned major = static_cast<uint8_t>(bytes[6]);
  size_t headerLen, start;
  if (major == 1) {
    headerLen = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    start = 10;
  } else {
    if (bytes.size() < 12)
      return llvm::createStringError(path + ": truncated .npy header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    start = 12;
  }
  if (start + headerLen > bytes.size())
    return llvm::createStringError(path + ": truncated .npy header");
  llvm::StringRef header = bytes.substr(start, headerLen);
  Array a;
  auto field = [&](llvm::StringRef key) -> llvm::StringRef {
    size_t at = header.find("'" + key.str() + "'");
    if (at == llvm::StringRef::npos)
      return "";
    return header.substr(at + key.size() + 2).ltrim(" :");
  };
  llvm::StringRef descr = field("descr");
  static const std::pair<const char *, const char *> kinds[] = {
      {"'<f8'", "float64"}, {"'<f4'", "float32"}, {"'<f2'", "float16"},
      {"'<i8'", "int64"},   {"'<i4'", "int32"},   {"'<i2'", "int16"},
      {"'|i1'", "int8"},    {"'|b1'", "bool"},
      // Integers are signless in the compiled code: unsigned files feed
      // the same bits to an input of the same width.
      {"'<u8'", "int64"},   {"'<u4'", "int32"},   {"'<u2'", "int16"},
      {"'|u1'", "int8"}};
  for (auto [d, name] : kinds)
    if (descr.starts_with(d))
      a.dtype = name;
  if (a.dtype.empty())
    return llvm::createStringError(path + ": unsupported dtype " +
                                   descr.take_until([](char c) { return c == ','; }));
  if (field("fortran_order").starts_with("True"))
    return llvm::createStringError(path + ": Fortran-ordered arrays are not supported");
  llvm::StringRef shape = field("shape");
  shape = shape.drop_front().take_until([](char c) { return c == ')'; });
  llvm::SmallVector<llvm::StringRef> dimsText;
  shape.split(dimsText, ',', -1, false);
  // Element and byte counts must not overflow: a crafted header could
  // otherwise claim a huge array backed by no bytes.
  uint64_t n = 1;
  for (llvm::StringRef d : dimsText) {
    int64_t v;
    if (d.trim().getAsInteger(10, v) || v < 0)
      return llvm::createStringError(path + ": bad shape in header");
    a.shape.push_back(v);
    if (v && n > (uint64_t(1) << 62) / uint64_t(v))
      return llvm::createStringError(path + ": shape too large");
    n *= uint64_t(v);
  }
  if (n > (uint64_t(1) << 62) / itemSize(a.dtype))
    return llvm::createStringError(path + ": shape too large");
  size_t need = n * itemSize(a.dtype);
  if (bytes.size() - start - headerLen < need)
    return llvm::createStringError(path + ": holds fewer bytes than its shape needs");
  const char *p = bytes.data() + start + headerLen;
  a.data.assign(p, p + need);
  return a;
}

llvm::Error qtc::writeNpy(llvm::StringRef path, const Array &a) {
  std::string header = "{'descr': '" + std::string(npyDescr(a.dtype)) +
                       "', 'fortran_order': False, 'shape': (";
  for (int64_t d : a.shape)
    header += std::to_string(d) + ",";
  header += "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += "\n";
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError("cannot write '" + path + "': " + ec.message());
  os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
     << char(header.size() >> 8) << header;
  os.write(a.data.data(), a.data.size());
  return llvm::Error::success();
}

llvm::Expected<Array> qtc::readNpy(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, false, false);
  if (!buffer)
    return llvm::createStringError(path + ": cannot open: " +
                                   buffer.getError().message());
  return parseNpy((*buffer)->getBuffer(), path);
}

namespace {
uint32_t le(llvm::StringRef b, size_t at, unsigned bytes) {
  uint32_t v = 0;
  for (unsigned i = 0; i < bytes; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}
} // namespace

llvm::Expected<std::vector<std::pair<std::string, Array>>>
qtc::readNpz(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, false, false);
  if (!buffer)
    return llvm::createStringError(path + ": cannot open: " +
                                   buffer.getError().message());
  llvm::StringRef b = (*buffer)->getBuffer();
  auto bad = [&](const llvm::Twine &why) {
    return llvm::createStringError(path + ": not a readable .npz file: " + why);
  };
  // The end-of-central-directory record: 22 bytes plus a comment.
  if (b.size() < 22)
    return bad("too short");
  size_t eocd = llvm::StringRef::npos;
  for (size_t at = b.size() - 22 + 1; at-- > 0 && b.size() - at <= 22 + 65535;)
    if (le(b, at, 4) == 0x06054b50) {
      eocd = at;
      break;
    }
  if (eocd == llvm::StringRef::npos)
    return bad("no zip directory");
  uint32_t entries = le(b, eocd + 10, 2), dirAt = le(b, eocd + 16, 4);
  std::vector<std::pair<std::string, Array>> arrays;
  size_t at = dirAt;
  for (uint32_t i = 0; i < entries; ++i) {
    if (at + 46 > b.size() || le(b, at, 4) != 0x02014b50)
      return bad("broken zip directory");
    uint32_t method = le(b, at + 10, 2), size = le(b, at + 20, 4);
    uint32_t nameLen = le(b, at + 28, 2), extraLen = le(b, at + 30, 2),
             commentLen = le(b, at + 32, 2), local = le(b, at + 42, 4);
    if (at + 46 + nameLen > b.size())
      return bad("broken zip directory");
    std::string name = b.substr(at + 46, nameLen).str();
    at += 46 + nameLen + extraLen + commentLen;
    if (method != 0)
      return bad("entry '" + name +
                 "' is compressed; write the file with numpy.savez, not "
                 "numpy.savez_compressed");
    if (size_t(local) + 30 > b.size() || le(b, local, 4) != 0x04034b50)
      return bad("broken entry '" + name + "'");
    size_t data = size_t(local) + 30 + le(b, local + 26, 2) + le(b, local + 28, 2);
    if (data > b.size() || size > b.size() - data)
      return bad("truncated entry '" + name + "'");
    llvm::StringRef key = llvm::StringRef(name);
    key.consume_back(".npy");
    llvm::Expected<Array> a =
        parseNpy(b.substr(data, size), (path + ":" + key).str());
    if (!a)
      return a.takeError();
    arrays.emplace_back(key.str(), std::move(*a));
  }
  return arrays;
}

std::string qtc::shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s;
  for (int64_t d : shape)
    s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "[" + s + "]";
}

llvm::Expected<std::vector<Array>>
qtc::bindInputs(const std::vector<Port> &ports, llvm::StringMap<Array> given,
                llvm::StringRef source) {
  for (const auto &entry : given)
    if (llvm::none_of(ports,
                      [&](const Port &p) { return p.name == entry.first(); }))
      return llvm::createStringError("the model has no input '" +
                                     entry.first().str() + "'");
  std::vector<Array> inputs;
  for (const Port &p : ports) {
    auto it = given.find(p.name);
    if (it == given.end())
      return llvm::createStringError("input '" + p.name + "' (" + p.dtype +
                                     " " + shapeString(p.shape) +
                                     ") is missing: " + source);
    if (it->second.dtype != p.dtype || it->second.shape != p.shape ||
        it->second.data.size() !=
            size_t(it->second.numElements()) * itemSize(p.dtype))
      return llvm::createStringError(
          "input '" + p.name + "' must be " + p.dtype + " " +
          shapeString(p.shape) + ", the file holds " + it->second.dtype + " " +
          shapeString(it->second.shape));
    inputs.push_back(std::move(it->second));
  }
  return inputs;
}

std::vector<Array> qtc::allocateArrays(const std::vector<Port> &ports) {
  std::vector<Array> arrays;
  for (const Port &p : ports) {
    Array a;
    a.dtype = p.dtype;
    a.shape = p.shape;
    a.data.assign(a.numElements() * itemSize(p.dtype), 0);
    arrays.push_back(std::move(a));
  }
  return arrays;
}
