//===- LayerSelection.h - which qc.linear layers a pass rewrites -*- C++ -*-===//
//
// Layers are picked by name (their `layer` attribute) with glob patterns:
// `include` minus `exclude`. Without `include`, every layer but the model's
// output heads (outputHeads: the LM head) is picked, whatever the exporter
// named the layers.
// Shared by round-to-nearest and calibration/GPTQ. LayerFormats adds mixed
// precision: rules "GLOB=FORMAT; ..." give matching layers their own format.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TRANSFORMS_LAYERSELECTION_H
#define QUANTC_TRANSFORMS_LAYERSELECTION_H

#include "QC/IR/QC.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/GlobPattern.h"

#include <string>
#include <vector>

namespace quantc {

/// The layers whose results are a function's results (the model's outputs),
/// up to reshapes, slices and elementwise ops with constants (a bias): the
/// LM head, which stays in floating point unless asked for.
llvm::StringSet<> outputHeads(mlir::ModuleOp module);

class LayerSelection {
public:
  /// `heads`: the layers an empty `include` leaves out (outputHeads).
  LayerSelection(std::vector<std::string> include,
                 std::vector<std::string> exclude, llvm::StringSet<> heads = {})
      : include(std::move(include)), exclude(std::move(exclude)),
        heads(std::move(heads)) {
    // Globs point into the pattern text: compiled from the members.
    compile(this->include, in);
    compile(this->exclude, out);
  }
  /// Why a pattern is malformed, or "".
  const std::string &error() const { return why; }
  bool selects(llvm::StringRef name) const {
    // A layer without a name is never picked: the importer names every
    // layer of a model, and what passes add unnamed (qc-split-outliers'
    // floating-point products) must stay as it is.
    if (name.empty())
      return false;
    bool included =
        include.empty() ? !heads.contains(name) : matchesAny(in, name);
    return included && !matchesAny(out, name);
  }
  /// "A, B minus C" for messages.
  std::string describe() const {
    std::string what = include.empty() ? "every layer but the output head"
                                       : llvm::join(include, ", ");
    return what + (exclude.empty() ? "" : " minus ") +
           llvm::join(exclude, ", ");
  }

private:
  void compile(const std::vector<std::string> &patterns,
               std::vector<llvm::GlobPattern> &globs) {
    for (const std::string &p : patterns) {
      auto glob = llvm::GlobPattern::create(p);
      if (!glob) {
        if (why.empty())
          why = "bad layer pattern '" + p +
                "': " + llvm::toString(glob.takeError());
        else
          llvm::consumeError(glob.takeError());
        continue;
      }
      globs.push_back(std::move(*glob));
    }
  }
  static bool matchesAny(const std::vector<llvm::GlobPattern> &globs,
                         llvm::StringRef name) {
    for (const llvm::GlobPattern &g : globs)
      if (g.match(name))
        return true;
    return false;
  }
  std::vector<std::string> include, exclude;
  llvm::StringSet<> heads;
  std::vector<llvm::GlobPattern> in, out;
  std::string why;
};

/// The format each selected layer is quantized to.
/// The named qc.linear ops of `module` (program order) that `include`
/// minus `exclude` picks and `keep` accepts; empty, with `error` set, for a
/// bad pattern or when none is picked.
llvm::SmallVector<qc::LinearOp>
selectLayers(mlir::ModuleOp module, std::vector<std::string> include,
             std::vector<std::string> exclude,
             llvm::function_ref<bool(qc::LinearOp)> keep, std::string &error);

/// A format as reports show it: the #qc.format body.
std::string formatBody(qc::FormatAttr format);

class LayerFormats {
public:
  /// `rules`: "GLOB=FORMAT; GLOB=FORMAT; ..." (FORMAT a #qc.format body, or
  /// f32 to keep the layer); the first matching rule decides, `format`
  /// serves the selected layers no rule matches.
  LayerFormats(mlir::MLIRContext *ctx, llvm::StringRef format,
               llvm::StringRef rules, std::vector<std::string> include,
               std::vector<std::string> exclude, llvm::StringSet<> heads = {})
      : selection(std::move(include), std::move(exclude), std::move(heads)) {
    why = selection.error();
    defaultFormat = parse(ctx, format);
    llvm::SmallVector<llvm::StringRef> parts;
    rules.split(parts, ';', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef part : parts) {
      auto [glob, body] = part.split('=');
      glob = glob.trim();
      body = body.trim();
      if (glob.empty() || body.empty()) {
        fail("bad layer format rule '" + part.trim().str() +
             "' (expected GLOB=FORMAT)");
        continue;
      }
      auto pattern = llvm::GlobPattern::create(glob);
      if (!pattern) {
        fail("bad layer pattern '" + glob.str() +
             "': " + llvm::toString(pattern.takeError()));
        continue;
      }
      patterns.push_back(std::move(*pattern));
      formats.push_back(body == "f32" ? qc::FormatAttr() : parse(ctx, body));
    }
  }
  /// Why a pattern or format is malformed, or "".
  const std::string &error() const { return why; }
  /// The format of `layer`, or null if it is not quantized.
  qc::FormatAttr formatOf(llvm::StringRef layer) const {
    if (!selection.selects(layer))
      return {};
    for (auto [pattern, format] : llvm::zip(patterns, formats))
      if (pattern.match(layer))
        return format;
    return defaultFormat;
  }
  /// Every format a layer may get.
  llvm::SmallVector<qc::FormatAttr> all() const {
    llvm::SmallVector<qc::FormatAttr> out{defaultFormat};
    for (qc::FormatAttr f : formats)
      if (f)
        out.push_back(f);
    return out;
  }
  std::string describe() const { return selection.describe(); }

private:
  qc::FormatAttr parse(mlir::MLIRContext *ctx, llvm::StringRef body) {
    auto f = llvm::dyn_cast_or_null<qc::FormatAttr>(
        mlir::parseAttribute(("#qc.format<" + body + ">").str(), ctx));
    if (!f)
      fail("format '" + body.str() + "' is not a #qc.format body");
    return f;
  }
  void fail(const std::string &message) {
    if (why.empty())
      why = message;
  }
  LayerSelection selection;
  qc::FormatAttr defaultFormat;
  std::vector<llvm::GlobPattern> patterns;
  std::vector<qc::FormatAttr> formats;
  std::string why;
};

} // namespace quantc

#endif // QUANTC_TRANSFORMS_LAYERSELECTION_H
