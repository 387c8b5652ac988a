//===- Artifact.cpp - ahead-of-time compilation to an artifact folder -----===//
//
// model.onnx -> (the target's pipeline with weights moved out) -> LLVM IR
// -> object code for the host -> model.so (for the CPU linked with the
// microkernels; for CUDA the host side, beside kernels.ptx), plus the
// weights blob and a manifest the runtime checks everything against.
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/Artifact.h"
#include "quantc/Target/CPU/Jit.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/Target/CUDA/Pipeline.h"
#include "quantc/checksum.h"
#include "quantc/runtime.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <random>
#include <unistd.h>

using namespace mlir;
using namespace quantc;

namespace {

/// The weights checksum (quantc/checksum.h), fed in pieces.
struct Fnv1a {
  uint64_t h = QC_FNV1A64_INIT;
  void add(const char *data, size_t size) { h = qc_fnv1a64(h, data, size); }
  std::string hex() const {
    char text[17];
    qc_fnv1a64_hex(h, text);
    return text;
  }
};

/// The hash of a file's bytes; false if it cannot be read.
bool hashFile(const std::string &path, int64_t &bytes, std::string &hex) {
  auto code = llvm::MemoryBuffer::getFile(path);
  if (!code)
    return false;
  Fnv1a hash;
  hash.add((*code)->getBufferStart(), (*code)->getBufferSize());
  bytes = (*code)->getBufferSize();
  hex = hash.hex();
  return true;
}

/// The interface's tensors. Compiled code takes and returns them in host
/// memory (a GPU backend copies them to and from the device), except a GPU
/// target's KV caches, which a session keeps on the device.
llvm::json::Array tensorsJson(const std::vector<TensorSignature> &sigs,
                              bool gpu) {
  llvm::json::Array out;
  for (const TensorSignature &s : sigs) {
    llvm::json::Array shape;
    for (int64_t d : s.shape)
      shape.push_back(d);
    bool device = gpu && s.role == QC_ROLE_KV_CACHE;
    llvm::json::Object entry{{"name", s.name},
                             {"dtype", dtypeName(s.dtype)},
                             {"shape", std::move(shape)},
                             {"memory", device ? "device" : "host"}};
    if (s.role == QC_ROLE_KV_LENGTH)
      entry["role"] = "kv_length";
    if (s.role == QC_ROLE_KV_CACHE) {
      entry["role"] = "kv_cache";
      entry["kv_axis"] = s.kvAxis;
      entry["kv_present"] = s.kvPresent;
      entry["size_from"] = llvm::json::Array(s.sizeFrom);
      if (!s.kvPart.empty()) {
        entry["kv_format"] = s.kvFormat;
        entry["kv_part"] = s.kvPart;
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

/// The weights table's entry of a piece (ExternalizeWeights describes it).
llvm::json::Object weightEntry(DictionaryAttr piece) {
  llvm::json::Object entry;
  for (StringRef key : {"name", "format", "layout", "part", "dtype"})
    if (auto text = piece.getAs<StringAttr>(key))
      entry[key] = text.str();
  llvm::json::Array shape;
  for (auto d : cast<ArrayAttr>(piece.get("shape")).getAsRange<IntegerAttr>())
    shape.push_back(d.getInt());
  entry["shape"] = std::move(shape);
  entry["offset"] = piece.getAs<IntegerAttr>("offset").getInt();
  entry["bytes"] = piece.getAs<IntegerAttr>("bytes").getInt();
  return entry;
}

/// The raw bytes of a constant (resource blob or inline dense data).
ArrayRef<char> rawBytes(ElementsAttr value, std::vector<char> &storage) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return resource.getData();
  auto dense = cast<DenseElementsAttr>(value);
  ArrayRef<char> raw = dense.getRawData();
  if (!dense.isSplat())
    return raw;
  storage.clear();
  for (int64_t i = 0; i < dense.getNumElements(); ++i)
    storage.insert(storage.end(), raw.begin(), raw.end());
  return storage;
}

/// The features of `featureString` ("+avx2,-sse4a,...") the runtime checks
/// before it loads code compiled for them.
llvm::json::Array requiredFeatures(StringRef featureString) {
  static const char *const checked[] = {"sse4.2", "avx",      "avx2",
                                        "fma",    "f16c",     "avx512f",
                                        "avx512bw", "avx512vl", "avx512dq",
                                        "avx512vnni"};
  llvm::json::Array out;
  SmallVector<StringRef> parts;
  featureString.split(parts, ',');
  for (StringRef part : parts)
    if (part.consume_front("+") && llvm::is_contained(checked, part))
      out.push_back(part.str());
  return out;
}

/// The files an artifact folder holds, and nothing else.
const char *const kArtifactFiles[] = {"manifest.json", "model.so",
                                      "weights.bin", "kernels.ptx"};

/// True if `dir` is a folder that an earlier compile wrote: a manifest with
/// the artifact format marker, and no entry but the artifact's own files
/// (so replacing it loses nothing of the user's); else `why` says what.
bool isEarlierArtifact(const std::string &dir, std::string &why) {
  if (!llvm::sys::fs::is_directory(dir)) {
    why = "not a folder";
    return false;
  }
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec, /*follow=*/false), end;
       it != end && !ec; it.increment(ec)) {
    StringRef name = llvm::sys::path::filename(it->path());
    if (!llvm::is_contained(kArtifactFiles, name) ||
        it->type() != llvm::sys::fs::file_type::regular_file) {
      why = "it holds '" + name.str() + "'";
      return false;
    }
  }
  if (ec) {
    why = ec.message();
    return false;
  }
  auto text = llvm::MemoryBuffer::getFile(dir + "/manifest.json");
  if (!text) {
    why = "no manifest.json";
    return false;
  }
  llvm::Expected<llvm::json::Value> manifest =
      llvm::json::parse((*text)->getBuffer());
  if (!manifest) {
    llvm::consumeError(manifest.takeError());
    why = "manifest.json is not JSON";
    return false;
  }
  const llvm::json::Object *object = manifest->getAsObject();
  if (!object || object->getString("format") != "quantc-artifact") {
    why = "manifest.json is not an artifact manifest";
    return false;
  }
  return true;
}

LogicalResult fail(Location loc, const llvm::Twine &message) {
  return emitError(loc) << message;
}

} // namespace

LogicalResult quantc::writeArtifact(OwningOpRef<ModuleOp> module,
                                    const ArtifactOptions &options) {
  MLIRContext *ctx = module->getContext();
  Location loc = module->getLoc();
  auto progress = [&](const std::string &line) {
    if (options.progress)
      options.progress(line);
  };
  const std::string &out = options.outputDir;
  std::string notArtifact;
  if (llvm::sys::fs::exists(out) && !isEarlierArtifact(out, notArtifact))
    return fail(loc, "'" + out + "' exists and is not a quantc artifact (" +
                         notArtifact + "); not overwriting it");

  bool cuda = options.target == "cuda";
  if (!cuda && options.target != "cpu")
    return fail(loc, "unknown target '" + options.target + "'");
  if (cuda && !isSupportedCudaChip(options.gpu))
    return fail(loc, "the cuda target compiles for " + supportedCudaChips() +
                         ", not '" + options.gpu + "'");

  std::vector<TensorSignature> inputs, outputs;
  if (cuda) {
    progress("lowering to PTX for " + options.gpu +
             " and host code (weights to the blob)");
    if (failed(lowerForCuda(*module, options.gpu, inputs, outputs,
                            options.cudaQmatmul)))
      return failure();
  } else {
    progress("lowering to LLVM (weights to the blob)");
    if (failed(lowerForCpu(*module, /*externalizeWeights=*/true, inputs,
                           outputs)))
      return failure();
  }

  // Everything goes to a temporary folder first.
  // A folder of its own beside the output (never one that already exists;
  // LLVM puts a relative prefix under the system's temporary folder, which
  // may be another file system: hence the absolute path).
  SmallString<128> tmpPath, prefix(out + ".tmp");
  std::error_code ec = llvm::sys::fs::make_absolute(prefix);
  if (!ec)
    ec = llvm::sys::fs::createUniqueDirectory(prefix, tmpPath);
  if (ec)
    return fail(loc, "cannot create a folder beside '" + out +
                         "': " + ec.message());
  std::string tmp = tmpPath.str().str();
  llvm::scope_exit cleanup([&] {
    if (!tmp.empty())
      llvm::sys::fs::remove_directories(tmp);
  });

  progress("writing weights.bin");
  llvm::json::Array weightsTable;
  Fnv1a weightsHash;
  int64_t weightsBytes = 0;
  {
    std::error_code ec;
    llvm::raw_fd_ostream blob(tmp + "/weights.bin", ec);
    if (ec)
      return fail(loc, "cannot write weights.bin: " + ec.message());
    auto pieces = module->getOperation()->getAttrOfType<ArrayAttr>(
        "quantc.weights");
    std::vector<char> storage;
    for (Attribute a : pieces ? pieces : ArrayAttr::get(ctx, {})) {
      auto piece = cast<DictionaryAttr>(a);
      int64_t offset = piece.getAs<IntegerAttr>("offset").getInt();
      weightsTable.push_back(weightEntry(piece));
      ArrayRef<char> bytes =
          rawBytes(piece.getAs<ElementsAttr>("value"), storage);
      std::string pad(offset - weightsBytes, '\0');
      blob << pad;
      weightsHash.add(pad.data(), pad.size());
      blob.write(bytes.data(), bytes.size());
      weightsHash.add(bytes.data(), bytes.size());
      weightsBytes = offset + bytes.size();
    }
    module->getOperation()->removeAttr("quantc.weights");
    module->getOperation()->removeAttr("quantc.weights_bytes");
  }

  // A fresh id per compilation names this build.
  std::string weightsHex = weightsHash.hex();
  Fnv1a idHash;
  std::random_device random;
  for (int i = 0; i < 4; ++i) {
    unsigned r = random();
    idHash.add(reinterpret_cast<const char *>(&r), sizeof r);
  }
  idHash.add(weightsHex.data(), weightsHex.size());
  std::string id = idHash.hex();

  auto tm = createHostTargetMachine(/*positionIndependent=*/true);
  if (!tm)
    return fail(loc, "cannot create a target machine for this CPU: " +
                         llvm::toString(tm.takeError()));
  llvm::json::Object host{
      {"triple", (*tm)->getTargetTriple().str()},
      {"cpu", (*tm)->getTargetCPU().str()},
      {"features", requiredFeatures((*tm)->getTargetFeatureString())}};
  llvm::json::Object targetJson;
  if (cuda)
    targetJson = llvm::json::Object{
        {"kind", "cuda"}, {"gpu", options.gpu}, {"host", std::move(host)}};
  else {
    targetJson = std::move(host);
    targetJson["kind"] = "cpu";
  }
  llvm::json::Object manifest{
      {"format", "quantc-artifact"},
      {"version", QC_ARTIFACT_VERSION},
      {"id", id},
      {"target", std::move(targetJson)},
      // The code files' entries are added once they are written.
      {"code", llvm::json::Array{}},
      {"weights", llvm::json::Object{{"file", "weights.bin"},
                                     {"bytes", weightsBytes},
                                     {"fnv1a64", weightsHex},
                                     // GPU code reads its copy on the device.
                                     {"memory", cuda ? "device" : "host"},
                                     {"tensors", std::move(weightsTable)}}},
      {"inputs", tensorsJson(inputs, cuda)},
      {"outputs", tensorsJson(outputs, cuda)}};
  // The code carries its manifest (all but its own entry in `code`, which
  // cannot hold its own checksum): the runtime runs it only with the
  // weights, interface and id it was built for.
  {
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module->getBody());
    std::string value;
    llvm::raw_string_ostream(value)
        << llvm::json::Value(llvm::json::Object(manifest));
    value += '\0';
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), value.size());
    LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                           LLVM::Linkage::External, "quantc_manifest",
                           b.getStringAttr(value));
  }

  llvm::json::Array codeFiles;
  if (cuda) {
    auto ptx = module->getOperation()->getAttrOfType<StringAttr>(
        "quantc.cuda_ptx");
    if (!ptx)
      return fail(loc, "the CUDA pipeline produced no PTX");
    progress("writing kernels.ptx");
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(tmp + "/kernels.ptx", ec);
      if (ec)
        return fail(loc, "cannot write kernels.ptx: " + ec.message());
      os << ptx.getValue();
    }
    module->getOperation()->removeAttr("quantc.cuda_ptx");
    int64_t bytes;
    std::string hex;
    if (!hashFile(tmp + "/kernels.ptx", bytes, hex))
      return fail(loc, "cannot read back kernels.ptx");
    codeFiles.push_back(llvm::json::Object{{"kind", "ptx"},
                                           {"file", "kernels.ptx"},
                                           {"bytes", bytes},
                                           {"fnv1a64", hex}});
  }

  progress("generating code for the host CPU");
  llvm::LLVMContext llvmContext;
  std::string why;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(*module, llvmContext, **tm, why);
  if (!llvmModule)
    return fail(loc, why);
  {
    std::error_code ec;
    llvm::raw_fd_ostream object(tmp + "/model.o", ec);
    if (ec)
      return fail(loc, "cannot write model.o: " + ec.message());
    llvm::legacy::PassManager codegen;
    if ((*tm)->addPassesToEmitFile(codegen, object, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
      return fail(loc, "the host target cannot emit object files");
    codegen.run(*llvmModule);
  }

  progress("linking model.so");
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return fail(loc, "no C compiler driver ('cc') to link model.so");
  std::string object = tmp + "/model.o", library = tmp + "/model.so";
  // LLVM's OpenMP runtime, found by its path when the model is loaded.
  std::string openmpDir =
      llvm::sys::path::parent_path(QUANTC_OPENMP_LIBRARY).str();
  std::string rpath = "-Wl,-rpath," + openmpDir;
  SmallVector<StringRef> args = {*cc, "-shared", "-o", library, object};
  // CPU code calls the microkernels and runs on OpenMP threads; host code
  // of a GPU target only launches.
  if (!cuda)
    args.append({QUANTC_KERNELS_ARCHIVE, QUANTC_OPENMP_LIBRARY, rpath});
  args.push_back("-lm");
  std::string linkError;
  if (llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0,
                                &linkError) != 0)
    return fail(loc, "linking model.so failed: " + linkError);
  llvm::sys::fs::remove(object);

  progress("writing manifest.json");
  {
    int64_t bytes;
    std::string hex;
    if (!hashFile(library, bytes, hex))
      return fail(loc, "cannot read back model.so");
    llvm::json::Array code{llvm::json::Object{{"kind", "host_library"},
                                              {"file", "model.so"},
                                              {"bytes", bytes},
                                              {"fnv1a64", hex}}};
    for (llvm::json::Value &file : codeFiles)
      code.push_back(std::move(file));
    manifest["code"] = std::move(code);
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp + "/manifest.json", ec);
    if (ec)
      return fail(loc, "cannot write manifest.json: " + ec.message());
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)))
       << "\n";
  }

  // Replace an earlier artifact only now that the new one is complete, and
  // only if it still is one (checked again: it may have changed meanwhile).
  if (llvm::sys::fs::exists(out)) {
    if (!isEarlierArtifact(out, notArtifact))
      return fail(loc, "'" + out + "' is no longer a quantc artifact (" +
                           notArtifact + "); not overwriting it");
    for (const char *name : kArtifactFiles)
      if (std::error_code ec =
              llvm::sys::fs::remove(out + "/" + name, /*IgnoreNonExisting=*/true))
        return fail(loc, "cannot replace '" + out + "': " + ec.message());
    if (std::error_code ec = llvm::sys::fs::remove(out))
      return fail(loc, "cannot replace '" + out + "': " + ec.message());
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, out))
    return fail(loc, "cannot move the artifact to '" + out +
                         "': " + ec.message());
  tmp.clear();
  progress("wrote " + out + " (" + std::to_string(weightsBytes) +
           " bytes of weights)");
  return success();
}
