//===- Jit.cpp - compile a model for the host CPU and run it in-process ---===//

#include "quantc/Target/CPU/Jit.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"

#include <cstdlib>
#include <cstring>
#include <set>

using namespace mlir;
using namespace quantc;

size_t quantc::dtypeBytes(DType t) {
  switch (t) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::I8:
  case DType::Bool:
    return 1;
  }
  return 1;
}

const char *quantc::dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::F64: return "f64";
  case DType::I64: return "i64";
  case DType::I32: return "i32";
  case DType::I16: return "i16";
  case DType::I8: return "i8";
  case DType::Bool: return "bool";
  }
  return "?";
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static FailureOr<DType> toDType(Type t) {
  if (t.isF32()) return DType::F32;
  if (t.isF16()) return DType::F16;
  if (t.isBF16()) return DType::BF16;
  if (t.isF64()) return DType::F64;
  if (t.isInteger(64)) return DType::I64;
  if (t.isInteger(32)) return DType::I32;
  if (t.isInteger(16)) return DType::I16;
  if (t.isInteger(8)) return DType::I8;
  if (t.isInteger(1)) return DType::Bool;
  return failure();
}

static FailureOr<TensorSignature> signatureOf(Operation *at, Type type,
                                              DictionaryAttr attrs,
                                              size_t index) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  FailureOr<DType> dtype =
      tensor ? toDType(tensor.getElementType()) : FailureOr<DType>(failure());
  if (failed(dtype))
    return at->emitError() << "main's tensor #" << index << " has type "
                           << type << ", which the JIT cannot pass";
  TensorSignature sig;
  sig.dtype = *dtype;
  sig.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  auto name = attrs ? attrs.getAs<StringAttr>("onnx.name") : StringAttr();
  sig.name = name ? name.str() : "#" + std::to_string(index);
  return sig;
}

JitModel::~JitModel() = default;

FailureOr<std::unique_ptr<JitModel>>
JitModel::compile(OwningOpRef<ModuleOp> module) {
  MLIRContext *ctx = module->getContext();
  auto main = module->lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module->emitError() << "the module has no function 'main'";
  std::unique_ptr<JitModel> model(new JitModel());
  FunctionType fnType = main.getFunctionType();
  for (auto [i, t] : llvm::enumerate(fnType.getInputs())) {
    auto sig = signatureOf(main, t, main.getArgAttrDict(i), i);
    if (failed(sig))
      return failure();
    model->inputSigs.push_back(*sig);
  }
  for (auto [i, t] : llvm::enumerate(fnType.getResults())) {
    auto sig = signatureOf(main, t, main.getResultAttrDict(i), i);
    if (failed(sig))
      return failure();
    model->outputSigs.push_back(*sig);
  }
  main->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));

  PassManager pm(ctx);
  if (failed(buildCpuPipeline(pm)) || failed(pm.run(*module)))
    return failure();

  static const bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);

  ExecutionEngineOptions options;
  options.transformer = makeOptimizingTransformer(3, 0, nullptr);
  // memref.copy of strided views calls memrefCopy from MLIR's C runner
  // utilities.
  static const StringRef sharedLibs[] = {QUANTC_MLIR_C_RUNNER_UTILS};
  options.sharedLibPaths = sharedLibs;
  auto engine = ExecutionEngine::create(*module, options);
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return module->emitError() << "JIT compilation failed: " << message;
  }
  model->engine = std::move(*engine);
  // The microkernels the compiled code calls live in this process.
  model->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("_mlir_ciface_quantc_matmul_f32")] = {
        llvm::orc::ExecutorAddr::fromPtr(&_mlir_ciface_quantc_matmul_f32),
        llvm::JITSymbolFlags::Exported};
    return symbols;
  });
  // Generate the code now (ORC would do it on the first call).
  if (auto fn = model->engine->lookupPacked("_mlir_ciface_main"); !fn) {
    std::string message = llvm::toString(fn.takeError());
    return emitError(UnknownLoc::get(ctx))
           << "JIT compilation failed: " << message;
  }
  return model;
}

FailureOr<std::vector<HostTensor>>
JitModel::run(const std::vector<HostTensor> &in, std::string &error) {
  if (in.size() != inputSigs.size()) {
    error = "the model takes " + std::to_string(inputSigs.size()) +
            " inputs, " + std::to_string(in.size()) + " given";
    return failure();
  }
  // Memref descriptors: {allocated, aligned, offset, sizes[r], strides[r]},
  // all 8-byte fields.
  std::vector<std::vector<int64_t>> argDescs;
  for (size_t i = 0; i < in.size(); ++i) {
    const TensorSignature &sig = inputSigs[i];
    const HostTensor &t = in[i];
    if (t.dtype != sig.dtype) {
      error = "input '" + sig.name + "' must be " + dtypeName(sig.dtype) +
              ", not " + dtypeName(t.dtype);
      return failure();
    }
    if (t.shape.size() != sig.shape.size()) {
      error = "input '" + sig.name + "' must have rank " +
              std::to_string(sig.shape.size()) + ", not " +
              std::to_string(t.shape.size());
      return failure();
    }
    for (size_t d = 0; d < t.shape.size(); ++d)
      if (t.shape[d] < 0 ||
          (sig.shape[d] != ShapedType::kDynamic && sig.shape[d] != t.shape[d])) {
        error = "input '" + sig.name + "' dimension " + std::to_string(d) +
                " must be " + std::to_string(sig.shape[d]) + ", not " +
                std::to_string(t.shape[d]);
        return failure();
      }
    if ((int64_t)t.data.size() != t.numElements() * (int64_t)dtypeBytes(t.dtype)) {
      error = "input '" + sig.name + "' holds " + std::to_string(t.data.size()) +
              " bytes for " + std::to_string(t.numElements()) + " elements";
      return failure();
    }
    std::vector<int64_t> desc;
    auto ptr = reinterpret_cast<int64_t>(t.data.data());
    desc.push_back(ptr);
    desc.push_back(ptr);
    desc.push_back(0);
    desc.insert(desc.end(), t.shape.begin(), t.shape.end());
    int64_t stride = 1;
    std::vector<int64_t> strides(t.shape.size());
    for (size_t d = t.shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= t.shape[d];
    }
    desc.insert(desc.end(), strides.begin(), strides.end());
    argDescs.push_back(std::move(desc));
  }
  size_t resultWords = 0;
  for (const TensorSignature &sig : outputSigs)
    resultWords += 3 + 2 * sig.shape.size();
  std::vector<int64_t> results(resultWords, 0);

  // The C interface takes a pointer to the result(s), then one pointer per
  // argument descriptor; invokePacked wants a pointer to each of those.
  std::vector<void *> pointers;
  pointers.push_back(results.data());
  for (auto &d : argDescs)
    pointers.push_back(d.data());
  std::vector<void *> packed;
  for (void *&p : pointers)
    packed.push_back(&p);
  if (llvm::Error e = engine->invokePacked("_mlir_ciface_main", packed)) {
    error = llvm::toString(std::move(e));
    return failure();
  }

  std::vector<HostTensor> out;
  std::set<void *> owned;
  size_t at = 0;
  for (const TensorSignature &sig : outputSigs) {
    size_t rank = sig.shape.size();
    auto *allocated = reinterpret_cast<char *>(results[at]);
    auto *aligned = reinterpret_cast<char *>(results[at + 1]);
    int64_t offset = results[at + 2];
    HostTensor t;
    t.dtype = sig.dtype;
    t.shape.assign(results.begin() + at + 3, results.begin() + at + 3 + rank);
    std::vector<int64_t> strides(results.begin() + at + 3 + rank,
                                 results.begin() + at + 3 + 2 * rank);
    size_t bytes = dtypeBytes(t.dtype);
    t.data.resize(t.numElements() * bytes);
    // Copy element by element through the strides (identity layouts make
    // this a straight copy in practice).
    std::vector<int64_t> index(rank, 0);
    for (int64_t e = 0; e < t.numElements(); ++e) {
      int64_t linear = offset;
      for (size_t d = 0; d < rank; ++d)
        linear += index[d] * strides[d];
      std::memcpy(t.data.data() + e * bytes, aligned + linear * bytes, bytes);
      for (size_t d = rank; d-- > 0;) {
        if (++index[d] < t.shape[d])
          break;
        index[d] = 0;
      }
    }
    // The deallocation pipeline hands results to the caller, who frees them.
    if (allocated)
      owned.insert(allocated);
    out.push_back(std::move(t));
    at += 3 + 2 * rank;
  }
  for (void *p : owned)
    std::free(p);
  return out;
}
