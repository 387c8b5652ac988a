//===- Statistics.cpp - calibration statistics files ----------------------===//

#include "quantc/Transforms/Statistics.h"

#include "QC/IR/QC.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/xxhash.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>

using namespace mlir;
using namespace quantc;

namespace {

constexpr char kMagic[8] = {'Q', 'C', 'S', 'T', 'A', 'T', 'S', '1'};
constexpr uint64_t kTrailerBytes = 8 + 8 + sizeof(kMagic);

/// Bytes of one record: absmax, mean and H, all f32.
uint64_t recordBytes(int64_t k) { return 4 * (2 * k + k * k); }

} // namespace

std::string quantc::modelFingerprint(ModuleOp module) {
  std::string shapes;
  module.walk([&](qc::LinearOp op) {
    if (!op.getLayer())
      return;
    auto in = cast<ShapedType>(op.getInput().getType());
    auto out = cast<ShapedType>(op.getResult().getType());
    shapes += op.getLayer()->str() + ":" +
              std::to_string(in.getShape().back()) + "x" +
              std::to_string(out.getShape().back()) + ";";
  });
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(llvm::xxh3_64bits(shapes)));
  return hex;
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

StatisticsWriter::~StatisticsWriter() {
  if (out.is_open()) { // never finished: leave nothing behind
    out.close();
    std::remove((path + ".tmp").c_str());
  }
}

bool StatisticsWriter::open(const std::string &path, std::string fingerprint,
                            std::string &error) {
  this->path = path;
  this->fingerprint = std::move(fingerprint);
  out.open(path + ".tmp", std::ios::binary | std::ios::trunc);
  if (!out) {
    error = "cannot write calibration statistics '" + path + ".tmp'";
    return false;
  }
  out.write(kMagic, sizeof(kMagic));
  offset = sizeof(kMagic);
  return true;
}

bool StatisticsWriter::append(const LayerStatistics &s, std::string &error) {
  std::vector<float> h(s.hessian.begin(), s.hessian.end());
  out.write(reinterpret_cast<const char *>(s.absmax.data()), 4 * s.k);
  out.write(reinterpret_cast<const char *>(s.mean.data()), 4 * s.k);
  out.write(reinterpret_cast<const char *>(h.data()), 4 * h.size());
  if (!out) {
    error = "cannot write calibration statistics '" + path + ".tmp'";
    return false;
  }
  records.push_back({s.layers, s.k, s.samples, offset});
  offset += recordBytes(s.k);
  return true;
}

bool StatisticsWriter::finish(std::string &error) {
  nlohmann::json index;
  index["version"] = 1;
  index["fingerprint"] = fingerprint;
  index["records"] = nlohmann::json::array();
  for (const StatisticsRecord &r : records)
    index["records"].push_back({{"layers", r.layers},
                                {"k", r.k},
                                {"samples", r.samples},
                                {"offset", r.offset}});
  std::string text = index.dump();
  uint64_t at = offset, size = text.size();
  out.write(text.data(), size);
  out.write(reinterpret_cast<const char *>(&at), 8);
  out.write(reinterpret_cast<const char *>(&size), 8);
  out.write(kMagic, sizeof(kMagic));
  out.close();
  if (!out) {
    std::remove((path + ".tmp").c_str());
    error = "cannot write calibration statistics '" + path + ".tmp'";
    return false;
  }
  if (std::error_code ec = llvm::sys::fs::rename(path + ".tmp", path)) {
    std::remove((path + ".tmp").c_str());
    error =
        "cannot write calibration statistics '" + path + "': " + ec.message();
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

bool StatisticsFile::open(const std::string &path, std::string &error) {
  filePath = path;
  auto bad = [&](const std::string &why) {
    error = "calibration statistics '" + path + "': " + why;
    return false;
  };
  in.open(path, std::ios::binary | std::ios::ate);
  if (!in)
    return bad("cannot open the file");
  uint64_t fileSize = in.tellg();
  char magic[sizeof(kMagic)];
  uint64_t at = 0, size = 0;
  if (fileSize < sizeof(kMagic) + kTrailerBytes)
    return bad("not a statistics file (too short)");
  in.seekg(0);
  in.read(magic, sizeof(magic));
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0)
    return bad("not a statistics file (no QCSTATS1 header)");
  in.seekg(fileSize - kTrailerBytes);
  in.read(reinterpret_cast<char *>(&at), 8);
  in.read(reinterpret_cast<char *>(&size), 8);
  in.read(magic, sizeof(magic));
  if (!in || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0 ||
      at < sizeof(kMagic) || size > fileSize ||
      at > fileSize - kTrailerBytes - size)
    return bad("truncated or damaged (no index at its end)");
  std::string text(size, '\0');
  in.seekg(at);
  in.read(text.data(), size);
  nlohmann::json index = nlohmann::json::parse(text, nullptr, false);
  if (!in || index.is_discarded() || !index.is_object() ||
      index.value("version", 0) != 1 || !index.contains("records") ||
      !index["records"].is_array() || !index.contains("fingerprint") ||
      !index["fingerprint"].is_string())
    return bad("damaged index");
  modelPrint = index["fingerprint"].get<std::string>();
  uint64_t end = sizeof(kMagic);
  for (const nlohmann::json &r : index["records"]) {
    StatisticsRecord record;
    if (!r.is_object() || !r.contains("layers") || !r["layers"].is_array() ||
        !r.value("k", nlohmann::json()).is_number_integer() ||
        !r.value("samples", nlohmann::json()).is_number_integer() ||
        !r.value("offset", nlohmann::json()).is_number_unsigned())
      return bad("damaged index");
    for (const nlohmann::json &l : r["layers"]) {
      if (!l.is_string())
        return bad("damaged index");
      record.layers.push_back(l.get<std::string>());
    }
    record.k = r["k"].get<int64_t>();
    record.samples = r["samples"].get<int64_t>();
    record.offset = r["offset"].get<uint64_t>();
    if (record.k <= 0 || record.k > (1 << 20) || record.samples <= 0 ||
        record.offset != end)
      return bad("damaged index");
    end += recordBytes(record.k);
    if (end > at)
      return bad("damaged index (records overrun the file)");
    records.push_back(std::move(record));
  }
  return true;
}

bool StatisticsFile::absmaxByLayer(llvm::StringMap<std::vector<float>> &out,
                                   std::string &error) {
  for (size_t record = 0; record < size(); ++record) {
    LayerStatistics s;
    if (!load(record, s, error, /*hessian=*/false))
      return false;
    for (const std::string &layer : s.layers)
      out[layer] = s.absmax;
  }
  return true;
}

int64_t StatisticsFile::find(const std::string &layer) const {
  for (size_t i = 0; i < records.size(); ++i)
    for (const std::string &l : records[i].layers)
      if (l == layer)
        return i;
  return -1;
}

bool StatisticsFile::load(size_t record, LayerStatistics &s,
                          std::string &error, bool hessian) {
  const StatisticsRecord &r = records[record];
  s.layers = r.layers;
  s.k = r.k;
  s.samples = r.samples;
  s.absmax.resize(r.k);
  s.mean.resize(r.k);
  std::vector<float> h(hessian ? r.k * r.k : 0);
  in.clear();
  in.seekg(r.offset);
  in.read(reinterpret_cast<char *>(s.absmax.data()), 4 * r.k);
  in.read(reinterpret_cast<char *>(s.mean.data()), 4 * r.k);
  in.read(reinterpret_cast<char *>(h.data()), 4 * h.size());
  if (!in) {
    error = "calibration statistics '" + filePath + "': cannot read record " +
            std::to_string(record);
    return false;
  }
  s.hessian.assign(h.begin(), h.end());
  return true;
}

std::string quantc::statisticsPath(ModuleOp module, const std::string &path) {
  if (!path.empty())
    return path;
  if (auto attr = module->getAttrOfType<StringAttr>("qc.calibration_stats"))
    return attr.str();
  return "";
}

bool quantc::openModelStatistics(ModuleOp module, const std::string &path,
                                 StatisticsFile &file, std::string &error) {
  if (!file.open(path, error))
    return false;
  if (file.fingerprint() != modelFingerprint(module)) {
    error = "calibration statistics '" + path +
            "' were gathered on another model (its layers' names or shapes "
            "differ)";
    return false;
  }
  return true;
}
