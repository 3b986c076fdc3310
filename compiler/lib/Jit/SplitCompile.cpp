//===- SplitCompile.cpp - One module's functions compiled on several threads ===//
//
// LLVM optimizes and generates the code of one module on one thread, and
// that is most of a step's compilation. Once the loop nests of a step are
// functions of their own (breg-outline-loop-nests), the module is cut into
// parts of about equal size: each part is translated into an LLVM context of
// its own (MLIR's context is single-threaded, so this stays on the caller's
// thread), then optimized and compiled into an object file on a thread of
// its own, and the objects are linked into one JIT.
//
//===----------------------------------------------------------------------===//

#include "JitInternals.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/AbsoluteSymbols.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SmallVectorMemoryBuffer.h"
#include "llvm/Support/Threading.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <pthread.h>

using namespace mlir;
using namespace mlir::breg;

namespace {

/// LLVM's work on `fn`, roughly: its operations, but not the constants and
/// the memref descriptors' inserts and extracts, which fold away at once;
/// half of that without branches (no loops for LLVM's loop passes and
/// vectorizers: the MLP step's entry function, straight-line calls and
/// allocations, took about half the time per operation of its loop nests).
int64_t workOf(LLVM::LLVMFuncOp fn) {
  int64_t count = 0;
  fn.walk([&](Operation *op) {
    count += !isa<LLVM::ConstantOp, LLVM::InsertValueOp, LLVM::ExtractValueOp,
                  LLVM::PoisonOp, LLVM::UndefOp, LLVM::ZeroOp>(op);
  });
  return fn.getBody().hasOneBlock() ? count / 2 : count;
}

bool isLocal(LLVM::Linkage linkage) {
  return linkage == LLVM::Linkage::Internal ||
         linkage == LLVM::Linkage::Private;
}

} // namespace

/// Whether `module` can be cut: it holds only functions and local constants
/// (each part gets a copy). A mutable global would become one per part, an
/// exported one would be defined twice, and what else there is may bring
/// constructors, which run once for the whole program: the GPU host code's
/// `gpu.binary` becomes the constructor that loads the kernels only in
/// translation.
bool cpujit::splittable(ModuleOp module) {
  for (Operation &op : module.getBody()->getOperations()) {
    if (isa<LLVM::LLVMFuncOp>(op))
      continue;
    auto global = dyn_cast<LLVM::GlobalOp>(op);
    if (!global || !global.getConstant() || !isLocal(global.getLinkage()))
      return false;
  }
  return true;
}

namespace {

/// A local helper that LLVM inlines into its callers (breg.compress_rows's
/// vector compaction): every part gets its body, as the whole module would,
/// instead of a call into another part.
bool copiedIntoEveryPart(LLVM::LLVMFuncOp fn) {
  return !fn.isExternal() && isLocal(fn.getLinkage()) && fn.getAlwaysInline();
}

/// The defined functions in at most `parts` groups of about equal size
/// (largest first, each into the lightest group; ties by name, so that the
/// cut does not depend on the order of the module).
std::vector<llvm::StringSet<>> partition(ModuleOp module, unsigned parts) {
  std::vector<std::pair<int64_t, StringRef>> sizes;
  for (LLVM::LLVMFuncOp fn : module.getOps<LLVM::LLVMFuncOp>())
    if (!fn.isExternal() && !copiedIntoEveryPart(fn))
      sizes.emplace_back(workOf(fn), fn.getName());
  llvm::sort(sizes, [](const auto &a, const auto &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<llvm::StringSet<>> groups(parts);
  std::vector<int64_t> load(parts, 0);
  for (const auto &[size, name] : sizes) {
    size_t lightest = std::min_element(load.begin(), load.end()) - load.begin();
    groups[lightest].insert(name);
    load[lightest] += size;
  }
  llvm::erase_if(groups, [](const llvm::StringSet<> &g) { return g.empty(); });
  return groups;
}

/// `module` translated to LLVM IR in `context`: its constants, the
/// functions in `mine` and the inlined helpers, and the other functions as
/// declarations (defined in another part); the functions of the groups
/// external, so that the parts find each other's. (Only these are copied
/// with their bodies: a part costs its own functions, not the whole
/// module.)
std::unique_ptr<llvm::Module> translatePart(ModuleOp module,
                                            const llvm::StringSet<> &mine,
                                            bool onlyPart,
                                            llvm::LLVMContext &context) {
  OwningOpRef<ModuleOp> part = ModuleOp::create(module.getLoc());
  part->getOperation()->setAttrs(module->getAttrDictionary());
  OpBuilder builder = OpBuilder::atBlockEnd(part->getBody());
  for (Operation &op : module.getBody()->getOperations()) {
    auto fn = dyn_cast<LLVM::LLVMFuncOp>(op);
    if (!fn || fn.isExternal() || copiedIntoEveryPart(fn)) {
      builder.clone(op);
      continue;
    }
    auto copy = cast<LLVM::LLVMFuncOp>(
        mine.contains(fn.getName()) ? builder.clone(op)
                                    : builder.insert(op.cloneWithoutRegions()));
    // A single part keeps local functions local, as the whole module would
    // (LLVM may then specialize and drop them).
    if (!onlyPart)
      copy.setLinkage(LLVM::Linkage::External);
  }
  return translateModuleToLLVMIR(*part, context);
}

/// The CPU time of the calling thread, in seconds.
double threadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/// One part on its way to an object file.
struct Part {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  llvm::SmallVector<char, 0> object;
  std::string error;
  double optWall = 0, optCpu = 0;
};

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> hostTargetMachine() {
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return builder->createTargetMachine();
}

/// Optimizes `part.module` and compiles it into `part.object` (on any
/// thread: everything it touches is the part's own).
void compilePart(Part &part, const CpuJitOptions &options) {
  auto tm = hostTargetMachine();
  if (!tm) {
    part.error = llvm::toString(tm.takeError());
    return;
  }
  part.module->setDataLayout((*tm)->createDataLayout());
  part.module->setTargetTriple((*tm)->getTargetTriple());
  auto wallStart = std::chrono::steady_clock::now();
  double cpuStart = threadCpuSeconds();
  if (llvm::Error err =
          cpujit::makeOptimizer(options, tm->get())(part.module.get())) {
    part.error = llvm::toString(std::move(err));
    return;
  }
  part.optWall = std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - wallStart)
                     .count();
  part.optCpu = threadCpuSeconds() - cpuStart;
  llvm::raw_svector_ostream os(part.object);
  llvm::legacy::PassManager pm;
  if ((*tm)->addPassesToEmitFile(pm, os, nullptr,
                                 llvm::CodeGenFileType::ObjectFile)) {
    part.error = "the target cannot emit object files";
    return;
  }
  pm.run(*part.module);
  part.module.reset(); // its context goes with the part
}

/// Threads started by `run`, joined when this goes out of scope (on every
/// way out). Through pthreads, whose failure is a return value: a thread
/// that cannot be started (the process's limit reached) runs its work on
/// the calling thread instead, where std::thread would abort (no
/// exceptions in this build).
class JoinedThreads {
public:
  void run(std::function<void()> work) {
    auto *owned = new std::function<void()>(std::move(work));
    // 8 MiB, the usual main-thread stack: LLVM recurses over large functions,
    // and a thread's default is 2 MiB where the stack limit is unlimited.
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, size_t(8) << 20);
    pthread_t thread;
    int failed =
        pthread_create(&thread, &attributes, &JoinedThreads::start, owned);
    pthread_attr_destroy(&attributes);
    if (!failed) {
      threads.push_back(thread);
      return;
    }
    start(owned);
  }
  ~JoinedThreads() {
    for (pthread_t thread : threads)
      pthread_join(thread, nullptr);
  }

private:
  static void *start(void *work) {
    std::unique_ptr<std::function<void()>> owned(
        static_cast<std::function<void()> *>(work));
    (*owned)();
    return nullptr;
  }
  std::vector<pthread_t> threads;
};

/// Translates each group of `module`'s functions into a part and compiles
/// it: every part but the last on a thread of its own, started as soon as
/// it is translated (the next translation overlaps its compilation), the
/// last on this thread.
llvm::Error translateAndCompile(ModuleOp module,
                                const std::vector<llvm::StringSet<>> &groups,
                                const llvm::StringSet<> &entryNames,
                                const CpuJitOptions &options,
                                const std::string &diagnostics,
                                std::vector<Part> &parts) {
  parts.resize(groups.size()); // no reallocation while threads hold parts
  JoinedThreads running;
  for (size_t i = 0; i < groups.size(); ++i) {
    Part &part = parts[i];
    part.context = std::make_unique<llvm::LLVMContext>();
    part.module =
        translatePart(module, groups[i], groups.size() == 1, *part.context);
    if (!part.module)
      return llvm::createStringError("translation to LLVM IR failed:\n" +
                                     diagnostics);
    // splittable() admits no op that translates to a constructor.
    if (part.module->getNamedGlobal("llvm.global_ctors") ||
        part.module->getNamedGlobal("llvm.global_dtors"))
      return llvm::createStringError(
          "internal error: a part of the module has constructors, which run "
          "once for the whole program (BREGMAN_COMPILE_THREADS=1 compiles it "
          "whole)");
    cpujit::addPackedWrappers(*part.module, &entryNames);
    if (i + 1 < groups.size())
      running.run([&part, &options] { compilePart(part, options); });
    else
      compilePart(part, options);
  }
  return llvm::Error::success();
}

/// An empty JIT that resolves the process's symbols, `options.symbols`
/// and, for OpenMP loops, the OpenMP runtime's.
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
emptyJit(const CpuJitOptions &options) {
  using namespace llvm::orc;
  auto jit =
      LLJITBuilder()
          .setObjectLinkingLayerCreator([perfProfiling = options.perfProfiling](
                                            ExecutionSession &session)
                                            -> llvm::Expected<
                                                std::unique_ptr<ObjectLayer>> {
            auto layer = std::make_unique<RTDyldObjectLinkingLayer>(
                session, [](const llvm::MemoryBuffer &) {
                  return std::make_unique<llvm::SectionMemoryManager>();
                });
            // LLVM's listener is a process-wide singleton (one jitdump file).
            if (perfProfiling)
              if (llvm::JITEventListener *perf =
                      llvm::JITEventListener::createPerfJITEventListener())
                layer->registerJITEventListener(*perf);
            return layer;
          })
          .create();
  if (!jit)
    return jit.takeError();
  JITDylib &main = (*jit)->getMainJITDylib();
  char prefix = (*jit)->getDataLayout().getGlobalPrefix();
  auto process = DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix);
  if (!process)
    return process.takeError();
  main.addGenerator(std::move(*process));
  auto runtime = cpujit::openMPRuntime(options);
  if (!runtime)
    return runtime.takeError();
  if (**runtime) {
    auto openMP = DynamicLibrarySearchGenerator::Load(*runtime, prefix);
    if (!openMP)
      return openMP.takeError();
    main.addGenerator(std::move(*openMP));
  }
  SymbolMap symbols;
  for (const auto &entry : options.symbols)
    symbols[(*jit)->mangleAndIntern(entry.getKey())] = {
        ExecutorAddr::fromPtr(entry.getValue()), llvm::JITSymbolFlags::Exported};
  if (llvm::Error err = main.define(absoluteSymbols(std::move(symbols))))
    return std::move(err);
  return std::move(*jit);
}

} // namespace

unsigned mlir::breg::resolveCompileThreads(unsigned requested) {
  // Never more by default: the parts get small, and the fixed cost of each
  // (a target machine, a pass pipeline, a translation) adds up.
  constexpr unsigned maxDefault = 8;
  if (requested > 0)
    return requested;
  return std::min(
      llvm::heavyweight_hardware_concurrency().compute_thread_count(),
      maxDefault);
}

unsigned cpujit::compilePartitions(ModuleOp module,
                                   const CpuJitOptions &options) {
  unsigned threads = resolveCompileThreads(options.compileThreads);
  if (threads <= 1 || !cpujit::splittable(module))
    return 1;
  unsigned defined = 0;
  for (LLVM::LLVMFuncOp fn : module.getOps<LLVM::LLVMFuncOp>())
    defined += !fn.isExternal() && !copiedIntoEveryPart(fn);
  return std::max(1u, std::min(threads, defined));
}

namespace {

/// Links `objects` into a fresh JIT and fills `entries` with the packed
/// entry points of `entryNames`.
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
linkObjects(std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects,
            llvm::ArrayRef<std::string> entryNames, const CpuJitOptions &options,
            llvm::StringMap<CpuExecutable::PackedFunction> &entries) {
  auto jit = emptyJit(options);
  if (!jit)
    return jit.takeError();
  for (std::unique_ptr<llvm::MemoryBuffer> &object : objects)
    if (llvm::Error err = (*jit)->addObjectFile(std::move(object)))
      return std::move(err);
  for (const std::string &name : entryNames) {
    auto address = (*jit)->lookup("_mlir_" + name);
    if (!address)
      return llvm::joinErrors(
          llvm::createStringError("linking '" + name + "' failed"),
          address.takeError());
    entries[name] = address->toPtr<CpuExecutable::PackedFunction>();
  }
  return std::move(*jit);
}

std::string partName(size_t index) {
  return "bregman-part-" + std::to_string(index);
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> cpujit::compileSplit(
    ModuleOp module, const CpuJitOptions &options,
    const std::string &diagnostics, unsigned &parts,
    CompilePhases::Time &optTime,
    llvm::StringMap<CpuExecutable::PackedFunction> &entries,
    CachedCompilation *kept) {
  llvm::StringSet<> entryNames = cpujit::publicFunctions(module);
  std::vector<Part> compiled;
  if (llvm::Error err =
          translateAndCompile(module, partition(module, parts), entryNames,
                              options, diagnostics, compiled))
    return std::move(err);
  parts = compiled.size();
  std::vector<std::string> names;
  for (const auto &name : entryNames)
    names.push_back(name.getKey().str());
  llvm::sort(names);
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
  std::vector<std::string> copies;
  double longestOpt = 0;
  for (auto [index, part] : llvm::enumerate(compiled)) {
    if (!part.error.empty())
      return llvm::createStringError("code generation of part " +
                                     std::to_string(index) +
                                     " failed: " + part.error);
    longestOpt = std::max(longestOpt, part.optWall);
    optTime.cpu += part.optCpu;
    if (kept)
      copies.emplace_back(part.object.begin(), part.object.end());
    objects.push_back(std::make_unique<llvm::SmallVectorMemoryBuffer>(
        std::move(part.object), partName(index),
        /*RequiresNullTerminator=*/false));
  }
  optTime.wall += longestOpt;
  auto jit = linkObjects(std::move(objects), names, options, entries);
  if (jit && kept)
    *kept = CachedCompilation{/*key=*/"", std::move(names), std::move(copies)};
  return jit;
}

llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
cpujit::linkCompilation(const CachedCompilation &compilation,
                        const CpuJitOptions &options,
                        llvm::StringMap<CpuExecutable::PackedFunction> &entries) {
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
  for (auto [index, object] : llvm::enumerate(compilation.objects))
    objects.push_back(
        llvm::MemoryBuffer::getMemBufferCopy(object, partName(index)));
  return linkObjects(std::move(objects), compilation.entryNames, options,
                     entries);
}
