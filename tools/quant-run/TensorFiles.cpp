//===- TensorFiles.cpp - read and write ONNX TensorProto files ------------===//

#include "TensorFiles.h"

#include "onnx/onnx_pb.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>

using namespace quantc;
using TP = ::onnx::TensorProto;

static bool toDType(int32_t t, DType &out) {
  switch (t) {
  case TP::FLOAT: out = DType::F32; return true;
  case TP::FLOAT16: out = DType::F16; return true;
  case TP::BFLOAT16: out = DType::BF16; return true;
  case TP::DOUBLE: out = DType::F64; return true;
  // Unsigned types travel as their bit patterns.
  case TP::INT64: case TP::UINT64: out = DType::I64; return true;
  case TP::INT32: case TP::UINT32: out = DType::I32; return true;
  case TP::INT16: case TP::UINT16: out = DType::I16; return true;
  case TP::INT8: case TP::UINT8: out = DType::I8; return true;
  case TP::BOOL: out = DType::Bool; return true;
  default: return false;
  }
}

static int32_t toOnnx(DType t) {
  switch (t) {
  case DType::F32: return TP::FLOAT;
  case DType::F16: return TP::FLOAT16;
  case DType::BF16: return TP::BFLOAT16;
  case DType::F64: return TP::DOUBLE;
  case DType::I64: return TP::INT64;
  case DType::I32: return TP::INT32;
  case DType::I16: return TP::INT16;
  case DType::I8: return TP::INT8;
  case DType::Bool: return TP::BOOL;
  }
  return TP::UNDEFINED;
}

std::string quantc::readTensorProto(const std::string &path, HostTensor &tensor,
                                    std::string &name) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "cannot open '" + path + "'";
  TP proto;
  if (!proto.ParseFromIstream(&in))
    return "'" + path + "' is not a serialized onnx.TensorProto";
  if (!toDType(proto.data_type(), tensor.dtype))
    return "'" + path + "' has an unsupported data type (" +
           std::to_string(proto.data_type()) + ")";
  if (proto.data_location() == TP::EXTERNAL)
    return "'" + path + "' refers to external data, which is not supported";
  name = proto.name();
  tensor.shape.assign(proto.dims().begin(), proto.dims().end());
  // Typed fields take at least a byte an element on the wire; raw data
  // exactly its bytes. Either way the data is already in memory.
  uint64_t available = proto.has_raw_data()
                           ? proto.raw_data().size()
                           : uint64_t(proto.ByteSizeLong()) *
                                 dtypeBytes(tensor.dtype);
  size_t bytes = 0;
  if (std::string why = checkedTensorBytes(path, tensor.shape,
                                     dtypeBytes(tensor.dtype), available, bytes);
      !why.empty())
    return why;
  tensor.data.assign(bytes, 0);
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes)
      return "'" + path + "' holds " + std::to_string(proto.raw_data().size()) +
             " bytes, its shape needs " + std::to_string(bytes);
    if (bytes) // an empty vector's data() may be null
      std::memcpy(tensor.data.data(), proto.raw_data().data(), bytes);
    return "";
  }
  // Typed fields: the element count must match the shape.
  auto fill = [&](const auto &field, auto cast) -> std::string {
    if ((size_t)field.size() * dtypeBytes(tensor.dtype) != bytes)
      return "'" + path + "' holds " + std::to_string(field.size()) +
             " elements, its shape needs " +
             std::to_string(bytes / dtypeBytes(tensor.dtype));
    size_t k = 0;
    for (auto v : field) {
      auto c = cast(v);
      std::memcpy(tensor.data.data() + k * dtypeBytes(tensor.dtype), &c,
                  dtypeBytes(tensor.dtype));
      ++k;
    }
    return "";
  };
  switch (tensor.dtype) {
  case DType::F32: return fill(proto.float_data(), [](float v) { return v; });
  case DType::F64: return fill(proto.double_data(), [](double v) { return v; });
  case DType::I64:
    if (proto.data_type() == TP::UINT64)
      return fill(proto.uint64_data(), [](uint64_t v) { return v; });
    return fill(proto.int64_data(), [](int64_t v) { return v; });
  case DType::I32:
    if (proto.data_type() == TP::UINT32)
      return fill(proto.uint64_data(), [](uint64_t v) { return (uint32_t)v; });
    return fill(proto.int32_data(), [](int32_t v) { return v; });
  default: return fill(proto.int32_data(), [](int32_t v) { return v; });
  }
}

std::string quantc::writeTensorProto(const std::string &path,
                                     const HostTensor &tensor,
                                     const std::string &name) {
  TP proto;
  proto.set_name(name);
  proto.set_data_type(toOnnx(tensor.dtype));
  for (int64_t d : tensor.shape)
    proto.add_dims(d);
  proto.set_raw_data(tensor.data.data(), tensor.data.size());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !proto.SerializeToOstream(&out))
    return "cannot write '" + path + "'";
  return "";
}
