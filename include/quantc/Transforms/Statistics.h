//===- Statistics.h - calibration statistics, in memory and on disk -*- C++ -*-===//
//
// Calibration gathers, for each value read by selected qc.linear layers
// (q, k and v read one), per-channel absmax and mean of the inputs and
// their Hessian H = 2 X^T X / samples. A statistics file holds them so that
// calibration runs once per model and GPTQ reads one Hessian at a time:
//
//   "QCSTATS1" | records (absmax f32[K], mean f32[K], H f32[K*K]) ... |
//   index (JSON) | index offset u64 | index size u64 | "QCSTATS1"
//
// Records are appended as calibration finishes them; the index at the end
// names, for each record, the layers it serves, K, the sample count and the
// model's fingerprint (its layers' names and shapes).
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TRANSFORMS_STATISTICS_H
#define QUANTC_TRANSFORMS_STATISTICS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace quantc {

/// Statistics of one input value of one or more layers.
struct LayerStatistics {
  std::vector<std::string> layers;
  int64_t k = 0, samples = 0;
  std::vector<float> absmax, mean; // per input channel
  std::vector<double> hessian;     // K x K, row-major
};

/// Where a record lies in a statistics file, and what it serves.
struct StatisticsRecord {
  std::vector<std::string> layers;
  int64_t k = 0, samples = 0;
  uint64_t offset = 0;
};

/// Names and shapes of every named qc.linear of `module`, hashed: equal
/// for a model and its quantized versions, different for another model.
std::string modelFingerprint(mlir::ModuleOp module);

/// The statistics file a pass reads: its option `path`, else the one
/// qc-calibrate left on the module; "" if neither.
std::string statisticsPath(mlir::ModuleOp module, const std::string &path);

/// Writes a statistics file: to `path`.tmp while records come, renamed
/// over `path` by finish() (an unfinished file never replaces anything).
class StatisticsWriter {
public:
  ~StatisticsWriter();
  bool open(const std::string &path, std::string fingerprint,
            std::string &error);
  bool append(const LayerStatistics &stats, std::string &error);
  bool finish(std::string &error);

private:
  std::string path, fingerprint;
  std::ofstream out;
  uint64_t offset = 0;
  std::vector<StatisticsRecord> records;
};

/// Reads a statistics file's index on open; records on demand.
class StatisticsFile {
public:
  bool open(const std::string &path, std::string &error);
  const std::string &path() const { return filePath; }
  const std::string &fingerprint() const { return modelPrint; }
  /// Records in the order calibration wrote them (program order).
  size_t size() const { return records.size(); }
  const std::vector<std::string> &layersOf(size_t record) const {
    return records[record].layers;
  }
  /// Without `hessian` only absmax and mean are read (SmoothQuant, static
  /// activation scales): the K x K matrix is most of a record.
  bool load(size_t record, LayerStatistics &stats, std::string &error,
            bool hessian = true);
  /// Every record's per-channel absmax, by the layers it serves.
  bool absmaxByLayer(llvm::StringMap<std::vector<float>> &out,
                     std::string &error);
  /// The record serving `layer`, or -1.
  int64_t find(const std::string &layer) const;

private:
  std::string filePath, modelPrint;
  std::ifstream in;
  std::vector<StatisticsRecord> records;
};

/// Opens `path` into `file`, refusing statistics gathered on another model
/// than `module`.
bool openModelStatistics(mlir::ModuleOp module, const std::string &path,
                         StatisticsFile &file, std::string &error);

} // namespace quantc

#endif // QUANTC_TRANSFORMS_STATISTICS_H
