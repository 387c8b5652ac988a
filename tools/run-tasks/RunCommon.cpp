//===- RunCommon.cpp - what quant-run and qc-run do alike -----------------===//

#include "RunCommon.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <sys/stat.h>

using namespace quantc;

void quantc::splitInputArgument(const std::string &argument, std::string &name,
                                std::string &file) {
  name.clear();
  file = argument;
  struct stat st;
  if (size_t eq = argument.find('=');
      eq != std::string::npos && stat(argument.c_str(), &st) != 0) {
    name = argument.substr(0, eq);
    file = argument.substr(eq + 1);
  }
}

std::string quantc::placeInput(const std::vector<TensorSignature> &signature,
                               size_t position, const std::string &name,
                               const std::string &file, HostTensor tensor,
                               std::vector<HostTensor> &inputs,
                               std::vector<bool> &given) {
  size_t slot = position;
  if (!name.empty()) {
    auto it =
        std::find_if(signature.begin(), signature.end(),
                     [&](const TensorSignature &s) { return s.name == name; });
    if (it == signature.end())
      return "'" + file + "' holds tensor '" + name +
             "', which is not an input of the model";
    slot = it - signature.begin();
  }
  if (slot >= signature.size())
    return "more inputs given than the model takes (" +
           std::to_string(signature.size()) + ")";
  if (given[slot])
    return "input '" + signature[slot].name + "' given twice";
  inputs[slot] = std::move(tensor);
  given[slot] = true;
  return "";
}

std::string quantc::missingInput(const std::vector<TensorSignature> &signature,
                                 const std::vector<bool> &given) {
  for (size_t i = 0; i < signature.size(); ++i)
    if (!given[i])
      return "missing input '" + signature[i].name + "'";
  return "";
}

std::string quantc::summarize(const std::string &name,
                              const HostTensor &tensor) {
  std::ostringstream out;
  out << name << ": " << dtypeName(tensor.dtype) << "[";
  for (size_t d = 0; d < tensor.shape.size(); ++d)
    out << (d ? "x" : "") << tensor.shape[d];
  out << "]";
  if (tensor.dtype == DType::F32 && tensor.numElements() > 0) {
    out << " first values:";
    for (int64_t e = 0; e < std::min<int64_t>(4, tensor.numElements()); ++e) {
      char value[32];
      std::snprintf(value, sizeof value, " %e", tensor.as<float>()[e]);
      out << value;
    }
  }
  return out.str();
}

std::string quantc::outputFileName(const std::string &name,
                                   const std::string &ext) {
  std::string file = name;
  std::replace(file.begin(), file.end(), '/', '_');
  return file + "." + ext;
}
