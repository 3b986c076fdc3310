//===- CpuJit.cpp - Compile and run MLIR modules on the CPU ---------------===//

#include "breg/Jit/CpuJit.h"

#include "JitInternals.h"

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Scalar/LoopUnrollPass.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

using namespace mlir;
using namespace mlir::breg;

void mlir::breg::registerCpuJitDependencies(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<BregDialect>();
}

const char *mlir::breg::openMPLibrary() {
#ifdef BREG_OPENMP_LIBRARY
  return BREG_OPENMP_LIBRARY;
#else
  return "";
#endif
}

static void initializeNativeTargetOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

static void dumpModule(ModuleOp module, const std::string &dir,
                       llvm::StringRef name) {
  if (dir.empty())
    return;
  llvm::sys::fs::create_directories(dir);
  std::error_code ec;
  llvm::raw_fd_ostream os(dir + "/" + name.str(), ec);
  if (!ec)
    module->print(os);
}

/// Adds `_mlir_<f>(void **args)` for every defined function f: args[i]
/// points at the i-th argument's value (and args[n] at the result's slot),
/// the calling convention of ExecutionEngine::invokePacked, so that one
/// entry point calls a function of any signature.
void cpujit::addPackedWrappers(llvm::Module &module,
                               const llvm::StringSet<> *only) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::SmallVector<llvm::Function *> functions;
  for (llvm::Function &f : module)
    if (!f.isDeclaration() && f.hasExternalLinkage() &&
        (!only || only->contains(f.getName())))
      functions.push_back(&f);
  for (llvm::Function *f : functions) {
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr},
                                         /*isVarArg=*/false);
    auto *wrapper = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                           "_mlir_" + f->getName(), module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    llvm::Value *args = wrapper->getArg(0);
    llvm::SmallVector<llvm::Value *> values;
    for (auto [i, arg] : llvm::enumerate(f->args())) {
      llvm::Value *slot = b.CreateLoad(
          ptr, b.CreateConstGEP1_64(ptr, args, static_cast<uint64_t>(i)));
      values.push_back(b.CreateLoad(arg.getType(), slot));
    }
    llvm::Value *result = b.CreateCall(f, values);
    if (!f->getReturnType()->isVoidTy()) {
      llvm::Value *slot = b.CreateLoad(
          ptr, b.CreateConstGEP1_64(ptr, args, f->arg_size()));
      b.CreateStore(result, slot);
    }
    b.CreateRetVoid();
  }
}

/// Adds each constant as an exported, NUL-terminated char array: external
/// linkage keeps it through optimization, and the loader finds it by name.
static void addConstants(llvm::Module &module,
                         const llvm::StringMap<std::string> &constants) {
  for (const auto &entry : constants) {
    llvm::Constant *bytes = llvm::ConstantDataArray::getString(
        module.getContext(), entry.getValue(), /*AddNull=*/true);
    new llvm::GlobalVariable(module, bytes->getType(), /*isConstant=*/true,
                             llvm::GlobalValue::ExternalLinkage, bytes,
                             entry.getKey());
  }
}

/// With a dump folder, `text` as `dir`/`name`.
static void dumpText(const std::string &dir, const std::string &name,
                     llvm::function_ref<void(llvm::raw_ostream &)> print) {
  if (dir.empty())
    return;
  llvm::sys::fs::create_directories(dir);
  std::error_code ec;
  llvm::raw_fd_ostream os(dir + "/" + name, ec);
  if (!ec)
    print(os);
}

/// LLVM's default pipeline at `options.optLevel`; without
/// `options.partialUnroll`, its loop unrollers only unroll fully (loops of
/// a known, small trip count), never partially or at run time.
std::function<llvm::Error(llvm::Module *)>
cpujit::makeOptimizer(const CpuJitOptions &options, llvm::TargetMachine *tm) {
  unsigned level = options.optLevel;
  bool partialUnroll = options.partialUnroll;
  std::string dumpDirectory = options.dumpDirectory;
  return [level, partialUnroll, tm,
          dumpDirectory](llvm::Module *module) -> llvm::Error {
    llvm::LoopAnalysisManager loops;
    llvm::FunctionAnalysisManager functions;
    llvm::CGSCCAnalysisManager sccs;
    llvm::ModuleAnalysisManager modules;
    llvm::PipelineTuningOptions tuning;
    tuning.LoopVectorization = level > 1;
    tuning.SLPVectorization = level > 1;
    // The default unrollers let the target choose partial unrolling; when
    // it is not wanted, they are switched off and replaced at the same two
    // places by ones that may only unroll fully.
    tuning.LoopUnrolling = partialUnroll;
    // Knows the passes' pipeline names, for the dump's pipeline text.
    llvm::PassInstrumentationCallbacks instrumentation;
    llvm::PassBuilder builder(tm, tuning, std::nullopt, &instrumentation);
    if (!partialUnroll && level > 1) {
      builder.registerLateLoopOptimizationsEPCallback(
          [](llvm::LoopPassManager &passes, llvm::OptimizationLevel at) {
            passes.addPass(llvm::LoopFullUnrollPass(at.getSpeedupLevel()));
          });
      builder.registerVectorizerEndEPCallback(
          [](llvm::FunctionPassManager &passes, llvm::OptimizationLevel at) {
            passes.addPass(llvm::LoopUnrollPass(
                llvm::LoopUnrollOptions(at.getSpeedupLevel())
                    .setPartial(false)
                    .setRuntime(false)));
          });
    }
    builder.registerModuleAnalyses(modules);
    builder.registerCGSCCAnalyses(sccs);
    builder.registerFunctionAnalyses(functions);
    builder.registerLoopAnalyses(loops);
    builder.crossRegisterProxies(loops, functions, sccs, modules);
    static const llvm::OptimizationLevel byNumber[] = {
        llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1,
        llvm::OptimizationLevel::O2, llvm::OptimizationLevel::O3};
    llvm::OptimizationLevel optimization = byNumber[std::min(level, 3u)];
    llvm::ModulePassManager pipeline =
        level == 0 ? builder.buildO0DefaultPipeline(optimization)
                   : builder.buildPerModuleDefaultPipeline(optimization);
    // With a dump folder, per module (or part; numbered in the process) the
    // LLVM IR before and after, and the pipeline as `opt -passes=` takes it:
    // an optimizer's or a code generator's failure reproduces outside.
    static std::atomic<int> dumped{0};
    std::string part = dumpDirectory.empty() ? "" : std::to_string(dumped++);
    dumpText(dumpDirectory, "2-llvm-" + part + ".ll",
             [&](llvm::raw_ostream &os) { module->print(os, nullptr); });
    dumpText(dumpDirectory, "3-passes-" + part + ".txt",
             [&](llvm::raw_ostream &os) {
               pipeline.printPipeline(os, [&](llvm::StringRef name) {
                 return instrumentation.getPassNameForClassName(name);
               });
             });
    pipeline.run(*module, modules);
    dumpText(dumpDirectory, "4-optimized-" + part + ".ll",
             [&](llvm::raw_ostream &os) { module->print(os, nullptr); });
    // An optimizer bug would otherwise surface as a crash in code
    // generation (LLVM 22's SROA once made a value used before its
    // definition).
    std::string problem;
    llvm::raw_string_ostream problemStream(problem);
    if (llvm::verifyModule(*module, &problemStream))
      return llvm::createStringError(
          "LLVM's optimizer produced an invalid module (an LLVM bug; "
          "BREGMAN_DUMP_IR=/a/folder writes the IR before and after it, and "
          "the passes): " +
          problem.substr(0, 2000));
    return llvm::Error::success();
  };
}

/// The lowered module as a position-independent object file for this host
/// (global constructors kept: for GPU code they load the kernel modules).
static llvm::Error writeObjectFile(ModuleOp module, const std::string &path,
                                   const CpuJitOptions &options) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return llvm::createStringError("translation to LLVM IR failed");
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder)
    return tmBuilder.takeError();
  tmBuilder->setRelocationModel(llvm::Reloc::PIC_);
  tmBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm)
    return tm.takeError();
  llvmModule->setDataLayout((*tm)->createDataLayout());
  llvmModule->setTargetTriple((*tm)->getTargetTriple());
  cpujit::addPackedWrappers(*llvmModule);
  addConstants(*llvmModule, options.objectConstants);
  if (llvm::Error err =
          cpujit::makeOptimizer(options, tm->get())(llvmModule.get()))
    return err;
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError("cannot write " + path + ": " + ec.message());
  llvm::legacy::PassManager pm;
  if ((*tm)->addPassesToEmitFile(pm, os, nullptr,
                                 llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the target cannot emit object files");
  pm.run(*llvmModule);
  return llvm::Error::success();
}

llvm::StringSet<> cpujit::publicFunctions(ModuleOp module) {
  llvm::StringSet<> names;
  for (LLVM::LLVMFuncOp fn : module.getOps<LLVM::LLVMFuncOp>()) {
    bool local = fn.getLinkage() == LLVM::Linkage::Internal ||
                 fn.getLinkage() == LLVM::Linkage::Private;
    if (!fn.isExternal() && !local && !fn.getName().starts_with("_mlir_"))
      names.insert(fn.getName());
  }
  return names;
}

llvm::Expected<const char *>
cpujit::openMPRuntime(const CpuJitOptions &options) {
  if (options.pipeline.parallelThreshold <= 0)
    return "";
  if (!*openMPLibrary())
    return llvm::createStringError(
        "parallel-threshold > 0 needs the OpenMP runtime, which this build "
        "did not find (install libomp5-14)");
  return openMPLibrary();
}

CpuExecutable::CpuExecutable(std::unique_ptr<ExecutionEngine> engine)
    : engine(std::move(engine)) {}
CpuExecutable::CpuExecutable(std::unique_ptr<llvm::orc::LLJIT> jit)
    : jit(std::move(jit)) {}
CpuExecutable::~CpuExecutable() = default;

namespace {

/// A moment in wall and process CPU time.
struct Stamp {
  double wall, cpu;
  static Stamp now() {
    timespec cpuTime{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpuTime);
    return {std::chrono::duration<double>(
                std::chrono::steady_clock::now().time_since_epoch())
                .count(),
            cpuTime.tv_sec + 1e-9 * cpuTime.tv_nsec};
  }
};

/// Adds the time since `start` to `phase`.
void addSince(CompilePhases::Time &phase, const Stamp &start) {
  Stamp end = Stamp::now();
  phase.wall += end.wall - start.wall;
  phase.cpu += end.cpu - start.cpu;
}

/// Runs the CPU pipeline (or options.pipelineText) on `module`.
llvm::Error runPipeline(ModuleOp module, const CpuJitOptions &options,
                        const std::string &diagnostics) {
  dumpModule(module, options.dumpDirectory, "0-input.mlir");
  PassManager pm(module.getContext());
  if (options.pipelineText.empty()) {
    buildCpuPipeline(pm, options.pipeline);
  } else {
    std::string errors;
    llvm::raw_string_ostream os(errors);
    registerPipelinePasses();
    if (failed(parsePassPipeline(options.pipelineText, pm, os)))
      return llvm::createStringError("malformed pass pipeline: " + errors);
  }
  pm.enableVerifier(options.verifyEachPass);
  auto failure = [&](const char *what) {
    return llvm::createStringError(
        "pipeline (" +
        (options.pipelineText.empty() ? cpuPipelineText(options.pipeline)
                                      : options.pipelineText) +
        ") " + what + ":\n" + diagnostics);
  };
  if (failed(pm.run(module)))
    return failure("failed");
  if (!options.verifyEachPass && failed(verify(module)))
    return failure("produced IR that does not verify (BREGMAN_VERIFY_PASSES=1 "
                   "names the pass)");
  dumpModule(module, options.dumpDirectory, "1-llvm.mlir");
  return llvm::Error::success();
}

/// The JIT of the lowered module, with every function compiled (ORC compiles
/// lazily, on the first lookup; looking each up here makes code generation
/// part of compilation, and fail here if at all). Adds the time LLVM's
/// optimization took to `optTime`.
llvm::Expected<std::unique_ptr<ExecutionEngine>>
createEngine(ModuleOp module, const CpuJitOptions &options,
             const std::string &diagnostics, CompilePhases::Time &optTime,
             llvm::StringMap<CpuExecutable::PackedFunction> &entries) {
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder)
    return tmBuilder.takeError();
  auto tm = tmBuilder->createTargetMachine();
  if (!tm)
    return tm.takeError();
  std::function<llvm::Error(llvm::Module *)> optimize =
      cpujit::makeOptimizer(options, tm->get());
  // The options hold a reference: this must outlive every lookup below (the
  // whole module is compiled at the first).
  // ExecutionEngine::create takes the transformer's error as impossible
  // (cantFail), so a failure is kept here and returned before any code is
  // generated from the module.
  std::string optimizerFailure;
  std::function<llvm::Error(llvm::Module *)> timedOptimize =
      [optimize, &optTime, &optimizerFailure](llvm::Module *m) {
        Stamp start = Stamp::now();
        if (llvm::Error result = optimize(m))
          optimizerFailure = llvm::toString(std::move(result));
        addSince(optTime, start);
        return llvm::Error::success();
      };
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = timedOptimize;
  // Multi-threaded loops call the OpenMP runtime.
  SmallVector<StringRef> sharedLibs;
  auto openMP = cpujit::openMPRuntime(options);
  if (!openMP)
    return openMP.takeError();
  if (**openMP)
    sharedLibs.push_back(*openMP);
  engineOptions.sharedLibPaths = sharedLibs;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  engineOptions.enableGDBNotificationListener = false;
  engineOptions.enablePerfNotificationListener = options.perfProfiling;

  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return llvm::joinErrors(
        llvm::createStringError("LLVM JIT compilation failed:\n" + diagnostics),
        engine.takeError());
  if (!optimizerFailure.empty())
    return llvm::createStringError(optimizerFailure);

  const llvm::StringMap<void *> &symbols = options.symbols;
  (*engine)->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (const auto &entry : symbols)
      map[interner(entry.getKey())] = {
          llvm::orc::ExecutorAddr::fromPtr(entry.getValue()),
          llvm::JITSymbolFlags::Exported};
    return map;
  });
  (*engine)->initialize();
  for (const auto &function : cpujit::publicFunctions(module)) {
    StringRef name = function.getKey();
    auto fn = (*engine)->lookupPacked(name);
    if (!fn)
      return llvm::joinErrors(
          llvm::createStringError("code generation of '" + name + "' failed"),
          fn.takeError());
    entries[name] = *fn;
  }
  return std::move(*engine);
}

/// Whether this compilation may come from (and go to) the compile cache:
/// not when it writes an object file or dumps its IR (both need the
/// pipeline to run).
bool usesCompileCache(const CpuJitOptions &options) {
  return !options.cacheDirectory.empty() && options.objectFile.empty() &&
         options.dumpDirectory.empty();
}

} // namespace

/// The executable linked from the cache entry at `cacheFile`, or null when
/// there is none or it cannot be used (then the caller compiles).
std::unique_ptr<CpuExecutable>
CpuExecutable::fromCache(const std::string &cacheFile,
                         const CpuJitOptions &options) {
  if (cacheFile.empty())
    return nullptr;
  std::optional<CachedCompilation> cached =
      cpujit::loadCachedCompilation(cacheFile);
  if (!cached)
    return nullptr;
  llvm::StringMap<PackedFunction> entries;
  auto jit = cpujit::linkCompilation(*cached, options, entries);
  if (!jit) {
    llvm::errs() << "warning: compile cache: " << cacheFile
                 << " does not link (" << llvm::toString(jit.takeError())
                 << "); compiling instead\n";
    return nullptr;
  }
  std::unique_ptr<CpuExecutable> executable(new CpuExecutable(std::move(*jit)));
  executable->entries = std::move(entries);
  executable->compilePhases.parts = cached->objects.size();
  executable->compilePhases.fromCache = true;
  return executable;
}

llvm::Expected<std::unique_ptr<CpuExecutable>>
CpuExecutable::compile(ModuleOp module, const CpuJitOptions &options) {
  initializeNativeTargetOnce();
  // Collect diagnostics so that a failure explains itself to the caller.
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  ScopedDiagnosticHandler handler(
      module.getContext(), [&](Diagnostic &diag) {
        diagStream << diag.getLocation() << ": " << diag << "\n";
        return success();
      });

  CompilePhases phases;
  Stamp start = Stamp::now();
  std::string cacheFile;
  if (usesCompileCache(options)) {
    cacheFile = cpujit::compileCachePath(module, options);
    if (auto executable = fromCache(cacheFile, options)) {
      // Hashing, reading and linking: what the cache costs.
      addSince(executable->compilePhases.codegen, start);
      return executable;
    }
  }
  if (llvm::Error err = runPipeline(module, options, diagnostics))
    return std::move(err);
  addSince(phases.pipeline, start);
  start = Stamp::now();
  // Ahead of time: the object file, before the JIT (whose object would lack
  // the global constructors: ORC runs them itself).
  if (!options.objectFile.empty())
    if (llvm::Error err =
            writeObjectFile(module, options.objectFile, options))
      return err;
  llvm::StringMap<PackedFunction> entries;
  std::unique_ptr<CpuExecutable> executable;
  if (options.objectOnly && !options.objectFile.empty()) {
    executable.reset(new CpuExecutable(std::unique_ptr<ExecutionEngine>()));
  } else if (unsigned parts = cpujit::compilePartitions(module, options);
             parts > 1 || (!cacheFile.empty() && cpujit::splittable(module))) {
    CachedCompilation kept;
    auto jit = cpujit::compileSplit(module, options, diagnostics, parts,
                                    phases.llvmOpt, entries,
                                    cacheFile.empty() ? nullptr : &kept);
    if (!jit)
      return jit.takeError();
    if (!cacheFile.empty())
      cpujit::storeCachedCompilation(cacheFile, std::move(kept));
    executable.reset(new CpuExecutable(std::move(*jit)));
    phases.parts = parts;
  } else {
    auto engine =
        createEngine(module, options, diagnostics, phases.llvmOpt, entries);
    if (!engine)
      return engine.takeError();
    executable.reset(new CpuExecutable(std::move(*engine)));
  }
  addSince(phases.codegen, start); // the rest: minus the optimization
  phases.codegen.wall -= phases.llvmOpt.wall;
  phases.codegen.cpu -= phases.llvmOpt.cpu;
  executable->compilePhases = phases;
  executable->entries = std::move(entries);
  return executable;
}

llvm::Error CpuExecutable::invoke(llvm::StringRef function,
                                  llvm::MutableArrayRef<void *> args) {
  // Looked up once at compile time: ExecutionEngine::invokePacked asks ORC
  // for the symbol on every call (a lock and a lookup, about a microsecond).
  auto it = entries.find(function);
  if (it == entries.end()) {
    if (!engine && !jit)
      return llvm::createStringError(
          "'" + function.str() +
          "' was compiled to an object file only (objectOnly): nothing to "
          "call in this process");
    if (!engine)
      return llvm::createStringError("no public function '" + function.str() +
                                     "' in the compiled module");
    return engine->invokePacked(function, args);
  }
  it->second(args.data());
  return llvm::Error::success();
}
