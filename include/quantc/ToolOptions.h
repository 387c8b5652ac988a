//===- ToolOptions.h - what a tool's --help lists ---------------*- C++ -*-===//

#ifndef QUANTC_TOOLOPTIONS_H
#define QUANTC_TOOLOPTIONS_H

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"

namespace quantc {

/// --help lists the tool's own categories (and --help, --version); every
/// other option linked in (LLVM's code generation, hundreds of them) stays
/// usable and is listed by --help-hidden, as iree-compile does.
inline void hideOtherOptions(
    llvm::ArrayRef<const llvm::cl::OptionCategory *> own) {
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::cl::Option *option = entry.second;
    bool shown = llvm::any_of(option->Categories, [&](auto *category) {
      return llvm::is_contained(own, category) ||
             category->getName() == "Generic Options";
    });
    if (!shown && option->getOptionHiddenFlag() == llvm::cl::NotHidden)
      option->setHiddenFlag(llvm::cl::Hidden);
  }
}

} // namespace quantc

#endif // QUANTC_TOOLOPTIONS_H
