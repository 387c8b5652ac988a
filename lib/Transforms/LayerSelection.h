//===- LayerSelection.h - which qc.linear layers a pass rewrites -*- C++ -*-===//
//
// Layers are picked by name (their `layer` attribute) with glob patterns:
// `include` (default `*.blocks.*`, the transformer blocks) minus `exclude`.
// Shared by round-to-nearest and calibration/GPTQ.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TRANSFORMS_LAYERSELECTION_H
#define QUANTC_TRANSFORMS_LAYERSELECTION_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/GlobPattern.h"

#include <string>
#include <vector>

namespace quantc {

class LayerSelection {
public:
  LayerSelection(std::vector<std::string> include,
                 std::vector<std::string> exclude)
      : include(std::move(include)), exclude(std::move(exclude)) {
    if (this->include.empty())
      this->include.push_back("*.blocks.*");
    // Globs point into the pattern text: compiled from the members.
    compile(this->include, in);
    compile(this->exclude, out);
  }
  /// Why a pattern is malformed, or "".
  const std::string &error() const { return why; }
  bool selects(llvm::StringRef name) const {
    return matchesAny(in, name) && !matchesAny(out, name);
  }
  /// "A, B minus C" for messages.
  std::string describe() const {
    return llvm::join(include, ", ") + (exclude.empty() ? "" : " minus ") +
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
  std::vector<llvm::GlobPattern> in, out;
  std::string why;
};

} // namespace quantc

#endif // QUANTC_TRANSFORMS_LAYERSELECTION_H
