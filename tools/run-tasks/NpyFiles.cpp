//===- NpyFiles.cpp - read and write NumPy .npy files ---------------------===//

#include "NpyFiles.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>

using namespace quantc;

/// The bytes a tensor of `shape` takes, checked before anything is
/// allocated: at most QC_MAX_RANK dims, none negative, and no more than
/// `available` bytes (what the file holds), so a header that lies about its
/// size is refused instead of overflowing or exhausting memory.
std::string quantc::checkedTensorBytes(const std::string &path,
                                const std::vector<int64_t> &shape,
                                size_t elementBytes, uint64_t available,
                                size_t &bytes) {
  if (shape.size() > QC_MAX_RANK)
    return "'" + path + "' has " + std::to_string(shape.size()) +
           " dims; at most " + std::to_string(QC_MAX_RANK) + " are supported";
  uint64_t total = elementBytes;
  bool overflow = false;
  for (int64_t d : shape) {
    if (d < 0)
      return "'" + path + "' has a negative dimension (" + std::to_string(d) +
             ")";
    overflow |= __builtin_mul_overflow(total, uint64_t(d), &total);
  }
  // A zero dimension makes any product empty, overflowed or not.
  if (std::count(shape.begin(), shape.end(), 0))
    overflow = false, total = 0;
  if (overflow || total > available)
    return "'" + path + "' claims a shape larger than the " +
           std::to_string(available) + " bytes of data it holds";
  bytes = size_t(total);
  return "";
}

//===----------------------------------------------------------------------===//
// NumPy .npy
//===----------------------------------------------------------------------===//

namespace {

struct NpyType {
  const char *descr;
  DType dtype;
};
// '<' little-endian, '|' not applicable (one byte).
const NpyType kNpyTypes[] = {
    {"<f4", DType::F32}, {"<f2", DType::F16}, {"<f8", DType::F64},
    {"<i8", DType::I64}, {"<i4", DType::I32}, {"<i2", DType::I16},
    {"|i1", DType::I8},  {"|u1", DType::I8},  {"|b1", DType::Bool}};

/// The value of `'key': ` in a .npy header dict, up to the next top-level
/// comma or the closing brace.
std::string headerField(const std::string &header, const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return "";
  at = header.find(':', at);
  if (at == std::string::npos)
    return "";
  size_t end = at + 1;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(')
      ++depth;
    else if (c == ')')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      break;
  }
  std::string value = header.substr(at + 1, end - at - 1);
  value.erase(0, value.find_first_not_of(" "));
  value.erase(value.find_last_not_of(" ") + 1);
  return value;
}

} // namespace

std::string quantc::readNpy(const std::string &path, HostTensor &tensor) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return "cannot open '" + path + "'";
  std::streamoff fileBytes = in.tellg();
  in.seekg(0);
  if (fileBytes < 0)
    return "'" + path + "' cannot be read as a file";
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return "'" + path + "' is not a .npy file";
  uint32_t headerLength = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char *>(b), 2);
    headerLength = b[0] | (b[1] << 8);
  } else if (magic[6] == 2 || magic[6] == 3) {
    unsigned char b[4];
    in.read(reinterpret_cast<char *>(b), 4);
    headerLength = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  } else {
    return "'" + path + "' has .npy format version " +
           std::to_string(int(magic[6])) + ", which is not supported";
  }
  if (headerLength > uint64_t(fileBytes))
    return "'" + path + "' is truncated in its header";
  std::string header(headerLength, '\0');
  if (!in.read(header.data(), headerLength))
    return "'" + path + "' is truncated in its header";
  std::string descr = headerField(header, "descr");
  std::string order = headerField(header, "fortran_order");
  std::string shape = headerField(header, "shape");
  if (descr.size() < 2 || shape.size() < 2 || shape.front() != '(')
    return "'" + path + "' has a malformed .npy header";
  if (order != "False")
    return "'" + path + "' is in Fortran order; quant-run reads C order";
  descr = descr.substr(1, descr.size() - 2); // drop the quotes
  const NpyType *type = nullptr;
  for (const NpyType &t : kNpyTypes)
    if (descr == t.descr)
      type = &t;
  if (!type)
    return "'" + path + "' holds '" + descr + "', which quant-run does not read";
  tensor.dtype = type->dtype;
  tensor.shape.clear();
  std::string dims = shape.substr(1, shape.size() - 2);
  size_t pos = 0;
  while (pos < dims.size()) {
    size_t comma = dims.find(',', pos);
    std::string d = dims.substr(pos, comma == std::string::npos
                                         ? std::string::npos
                                         : comma - pos);
    d.erase(0, d.find_first_not_of(" "));
    if (!d.empty()) {
      char *end = nullptr;
      errno = 0;
      long long v = std::strtoll(d.c_str(), &end, 10);
      if ((*end != '\0' && *end != ' ') || errno == ERANGE)
        return "'" + path + "' has a malformed shape " + shape;
      tensor.shape.push_back(v);
    }
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  uint64_t dataBytes = uint64_t(fileBytes) - uint64_t(in.tellg());
  size_t bytes = 0;
  if (std::string why = checkedTensorBytes(path, tensor.shape,
                                     dtypeBytes(tensor.dtype), dataBytes, bytes);
      !why.empty())
    return why;
  tensor.data.assign(bytes, 0);
  if (!in.read(tensor.data.data(), bytes))
    return "'" + path + "' holds fewer than the " + std::to_string(bytes) +
           " bytes its shape needs";
  return "";
}

std::string quantc::writeNpy(const std::string &path,
                             const HostTensor &tensor) {
  const char *descr = "<f4";
  for (const NpyType &t : kNpyTypes)
    if (t.dtype == tensor.dtype) {
      descr = t.descr;
      break;
    }
  std::string shape = "(";
  for (int64_t d : tensor.shape)
    shape += std::to_string(d) + ", ";
  if (tensor.shape.size() > 1)
    shape.erase(shape.size() - 2);
  else if (tensor.shape.size() == 1)
    shape.erase(shape.size() - 1); // "(n,)"
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so the data starts at a multiple of 64 bytes, ending in '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return "cannot write '" + path + "'";
  out.write("\x93NUMPY\x01\x00", 8);
  char length[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
  out.write(length, 2);
  out << header;
  out.write(tensor.data.data(), tensor.data.size());
  return out ? "" : "cannot write '" + path + "'";
}
