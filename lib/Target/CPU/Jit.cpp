//===- Jit.cpp - compile a model for the host CPU and run it in-process ---===//

#include "quantc/Target/CPU/Jit.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/kernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"


using namespace mlir;
using namespace quantc;

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
  if (tensor.getRank() > QC_MAX_RANK)
    return at->emitError() << "main's tensor #" << index << " has rank "
                           << tensor.getRank() << "; the runtime takes up to "
                           << QC_MAX_RANK;
  TensorSignature sig;
  sig.dtype = *dtype;
  for (int64_t d : tensor.getShape())
    sig.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  auto name = attrs ? attrs.getAs<StringAttr>("onnx.name") : StringAttr();
  sig.name = name ? name.str() : "#" + std::to_string(index);
  return sig;
}

LogicalResult quantc::readSignature(ModuleOp module,
                                    std::vector<TensorSignature> &inputs,
                                    std::vector<TensorSignature> &outputs) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError() << "the module has no function 'main'";
  FunctionType fnType = main.getFunctionType();
  for (auto [i, t] : llvm::enumerate(fnType.getInputs())) {
    auto sig = signatureOf(main, t, main.getArgAttrDict(i), i);
    if (failed(sig))
      return failure();
    inputs.push_back(*sig);
  }
  for (auto [i, t] : llvm::enumerate(fnType.getResults())) {
    auto sig = signatureOf(main, t, main.getResultAttrDict(i), i);
    if (failed(sig))
      return failure();
    outputs.push_back(*sig);
  }
  return success();
}

/// The runtime's view of a signature entry.
static qc_tensor_info infoOf(const TensorSignature &sig) {
  qc_tensor_info info{};
  info.name = sig.name.c_str();
  info.dtype = qc_dtype(sig.dtype);
  info.rank = static_cast<int32_t>(sig.shape.size());
  for (size_t d = 0; d < sig.shape.size() && d < QC_MAX_RANK; ++d)
    info.shape[d] = sig.shape[d];
  return info;
}

JitModel::~JitModel() = default;

FailureOr<std::unique_ptr<JitModel>>
JitModel::compile(OwningOpRef<ModuleOp> module) {
  MLIRContext *ctx = module->getContext();
  std::unique_ptr<JitModel> model(new JitModel());
  if (failed(readSignature(*module, model->inputSigs, model->outputSigs)))
    return failure();

  prepareCpuContext(ctx);
  PassManager pm(ctx);
  if (failed(buildCpuPipeline(pm)) || failed(pm.run(*module)))
    return failure();

  ExecutionEngineOptions options;
  options.transformer = makeOptimizingTransformer(3, 0, nullptr);
  auto engine = ExecutionEngine::create(*module, options);
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return module->emitError() << "JIT compilation failed: " << message;
  }
  model->engine = std::move(*engine);
  // The microkernels the compiled code calls live in this process.
  model->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    auto add = [&](const char *name, auto *fn) {
      symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                                 llvm::JITSymbolFlags::Exported};
    };
    add("_mlir_ciface_quantc_matmul_f32", &_mlir_ciface_quantc_matmul_f32);
    add("memrefCopy", &memrefCopy);
    return symbols;
  });
  // Generate the code now (ORC would do it on the first call).
  auto fn = model->engine->lookup("quantc_main");
  if (!fn) {
    std::string message = llvm::toString(fn.takeError());
    return emitError(UnknownLoc::get(ctx))
           << "JIT compilation failed: " << message;
  }
  model->entry = reinterpret_cast<qc_entry_fn>(*fn);
  for (const TensorSignature &sig : model->inputSigs)
    model->inputInfos.push_back(infoOf(sig));
  for (const TensorSignature &sig : model->outputSigs)
    model->outputInfos.push_back(infoOf(sig));
  return model;
}

Model::~Model() = default;

int JitModel::invoke(const qc_tensor *inputs, qc_tensor *outputs, char *error,
                     size_t errorSize) {
  return qc_invoke(entry, inputInfos.data(), inputInfos.size(), inputs,
                   outputInfos.data(), outputInfos.size(), outputs, nullptr, 0,
                   error, errorSize);
}

FailureOr<std::unique_ptr<ArtifactModel>>
ArtifactModel::load(const std::string &dir, std::string &error) {
  char message[512];
  qc_model *m = qc_model_load(dir.c_str(), message, sizeof message);
  if (!m) {
    error = message;
    return failure();
  }
  std::unique_ptr<ArtifactModel> model(new ArtifactModel());
  model->model = m;
  auto convert = [](const qc_tensor_info *info) {
    TensorSignature sig;
    sig.name = info->name;
    sig.dtype = DType(info->dtype);
    sig.shape.assign(info->shape, info->shape + info->rank);
    return sig;
  };
  for (size_t i = 0; i < qc_model_num_inputs(m); ++i)
    model->inputSigs.push_back(convert(qc_model_input(m, i)));
  for (size_t i = 0; i < qc_model_num_outputs(m); ++i)
    model->outputSigs.push_back(convert(qc_model_output(m, i)));
  return model;
}

ArtifactModel::~ArtifactModel() { qc_model_free(model); }

int ArtifactModel::invoke(const qc_tensor *inputs, qc_tensor *outputs,
                          char *error, size_t errorSize) {
  return qc_model_run(model, inputs, inputSigs.size(), outputs,
                      outputSigs.size(), error, errorSize);
}

FailureOr<std::vector<HostTensor>>
Model::run(const std::vector<HostTensor> &in, std::string &error) {
  if (in.size() != inputSigs.size()) {
    error = "the model takes " + std::to_string(inputSigs.size()) +
            " inputs, " + std::to_string(in.size()) + " given";
    return failure();
  }
  std::vector<qc_tensor> inputs(in.size()), outputs(outputSigs.size());
  for (size_t i = 0; i < in.size(); ++i) {
    qc_tensor &t = inputs[i];
    t.dtype = qc_dtype(in[i].dtype);
    t.rank = static_cast<int32_t>(in[i].shape.size());
    if (t.rank > QC_MAX_RANK) {
      error = "input '" + inputSigs[i].name + "' has too many dimensions";
      return failure();
    }
    std::copy(in[i].shape.begin(), in[i].shape.end(), t.shape);
    t.data = const_cast<char *>(in[i].data.data());
    if ((int64_t)in[i].data.size() !=
        in[i].numElements() * (int64_t)dtypeBytes(in[i].dtype)) {
      error = "input '" + inputSigs[i].name + "' holds " +
              std::to_string(in[i].data.size()) + " bytes for " +
              std::to_string(in[i].numElements()) + " elements";
      return failure();
    }
  }
  char message[512];
  if (invoke(inputs.data(), outputs.data(), message, sizeof message) != 0) {
    error = message;
    return failure();
  }
  std::vector<HostTensor> out;
  for (qc_tensor &t : outputs) {
    HostTensor h;
    h.dtype = DType(t.dtype);
    h.shape.assign(t.shape, t.shape + t.rank);
    const char *data = static_cast<const char *>(t.data);
    h.data.assign(data, data + h.numElements() * dtypeBytes(h.dtype));
    qc_tensor_release(&t);
    out.push_back(std::move(h));
  }
  return out;
}
