//===- Executor.cpp - executors by device name ----------------------------===//

#include "quantc/Execution/Executor.h"

#include "llvm/ADT/StringMap.h"

#include <mutex>

using namespace quantc;

Executor::~Executor() = default;

namespace {
struct Registry {
  std::mutex mutex;
  llvm::StringMap<std::function<std::unique_ptr<Executor>()>> factories;
};
Registry &registry() {
  static Registry r;
  return r;
}
} // namespace

void quantc::registerExecutor(
    llvm::StringRef device, std::function<std::unique_ptr<Executor>()> create) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.factories[device] = std::move(create);
}

std::unique_ptr<Executor> quantc::createExecutor(llvm::StringRef device,
                                                 std::string &error) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.factories.find(device);
  if (it != r.factories.end())
    return it->second();
  std::string known;
  for (const auto &entry : r.factories)
    known += (known.empty() ? "" : ", ") + entry.getKey().str();
  error = "no executor for device '" + device.str() + "' in this build (" +
          (known.empty() ? std::string("none registered") : "known: " + known) +
          ")";
  return nullptr;
}
