//===- MockCudaDriver.cpp - A stand-in libcuda.so.1 for runtime tests -----===//
//
// CI has no GPU, so the runtime's CUDA host logic (driver loading, device
// probe, context, module load, kernel lookup cache, launches, device memory,
// copies, streams, events, graphs, error messages) runs against this
// library, put first on LD_LIBRARY_PATH by the tests in tests/mock-cuda.
// "Device" memory is host memory; kernels are checked and counted, not run.
//
// Strict where real hardware would be, so that host-logic bugs show here:
// - Streams are queues: async copies, launches and event waits are queued
//   per stream and executed in order only when something waits for them
//   (cuStreamSynchronize, cuCtxSynchronize, cuEventSynchronize, a copy to
//   pageable memory, a synchronous copy). cuStreamWaitEvent makes the
//   waiting stream depend on the event's position in its stream. A missing
//   wait thus reads a stale value.
// - Synchronous copies (cuMemcpy, cuMemcpyDtoH) run on the legacy default
//   stream: they wait for blocking streams only, not for streams created
//   CU_STREAM_NON_BLOCKING (as CUDA does).
// - An async copy from pageable host memory takes its source at the call
//   (the driver stages it); from pinned memory (cuMemAllocHost,
//   cuMemHostRegister) it reads the source when it runs. An async copy to
//   pageable memory returns when it is done.
// - cuMemAlloc fills memory with 0xFF bytes (a NaN in every float).
// - Functions are the PTX's `.entry` names; a launch is checked against
//   the entry's `.param` list (its kernelParams are read for each size;
//   a parameter the kernel converts to a global address must hold one in
//   live device memory),
//   and against the grid, block and dynamic shared memory limits (48 KiB
//   unless raised with cuFuncSetAttribute, at most 227 KiB).
// - Stream capture records the queue into a graph; cuGraphLaunch queues the
//   same operations again. A synchronization or a pageable copy during
//   capture invalidates it, as on hardware.
// Failure injection: BREGMAN_MOCK_CUDA_FAIL=<entry point> (that entry point
// fails with CUDA_ERROR_LAUNCH_FAILED; cuModuleLoadDataEx with
// CUDA_ERROR_INVALID_PTX and a JIT log), BREGMAN_MOCK_CUDA_FAIL_ALLOC=N (the
// Nth cuMemAlloc runs out of memory), BREGMAN_MOCK_CUDA_MEMORY=BYTES;
// BREGMAN_MOCK_CUDA_CC=M.N sets the compute capability (9.0 by default).
// Why a call was refused: bregman_mock_cuda_last_refusal(). A stand-in
// library computes in stream order with cuLaunchHostFunc.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace {
using CUresult = int;
using CUdeviceptr = unsigned long long;
constexpr CUresult kSuccess = 0, kLaunchFailed = 719, kInvalidValue = 1,
                   kOutOfMemory = 2, kInvalidPtx = 218, kNotFound = 500,
                   kNotReady = 600, kCaptureUnsupported = 900,
                   kCaptureInvalidated = 901, kInvalidHandle = 400,
                   kNotSupported = 801;

bool failing(const char *name) {
  const char *fail = std::getenv("BREGMAN_MOCK_CUDA_FAIL");
  return fail && std::strcmp(fail, name) == 0;
}

std::string &lastRefusal() {
  static std::string *text = new std::string;
  return *text;
}
/// Records (and prints) why a call is refused; returns `result`.
CUresult refuse(CUresult result, const std::string &why) {
  lastRefusal() = why;
  std::fprintf(stderr, "mock libcuda: %s\n", why.c_str());
  return result;
}

//===- Modules and functions ----------------------------------------------===//

/// A loaded module: its PTX text (for the names and parameters of its
/// kernels).
struct Module {
  std::string ptx;
  bool binary = false;
};

/// A kernel: its name, the byte size of each `.param` and whether the
/// kernel dereferences it as a global-memory pointer (unknown for a binary
/// image, where the parameters are not checked).
struct Function {
  std::string name;
  bool checked = false;
  std::vector<size_t> paramSizes;
  std::vector<bool> globalPointer;
  int maxDynamicShared = 48 * 1024;
  long launches = 0;
};

/// The size of one `.param` declaration: `.param .u64 x`, `.param .align 8
/// .b8 x[16]`; 0 if it cannot be read.
size_t paramSize(const std::string &decl) {
  if (size_t bracket = decl.find('['); bracket != std::string::npos) {
    size_t elem = decl.find(".b8") != std::string::npos ? 1 : 0;
    return elem * std::strtoul(decl.c_str() + bracket + 1, nullptr, 10);
  }
  static const std::pair<const char *, size_t> types[] = {
      {"8 ", 1}, {"16 ", 2}, {"32 ", 4}, {"64 ", 8}};
  for (auto [suffix, size] : types)
    if (decl.find(suffix) != std::string::npos)
      return size;
  return 0;
}

/// The name a `.param` declaration gives (its last word, before any `[`).
std::string paramName(const std::string &decl) {
  size_t end = decl.find('[');
  end = decl.find_last_not_of(" \t\n", end == std::string::npos ? end : end - 1);
  if (end == std::string::npos)
    return "";
  size_t begin = decl.find_last_of(" \t\n", end);
  return decl.substr(begin == std::string::npos ? 0 : begin + 1, end - begin);
}

/// The body of `.entry` at `open` (its parameter list's opening
/// parenthesis): from its `{` to the matching `}`.
std::string entryBody(const std::string &ptx, size_t open) {
  size_t begin = ptx.find('{', open);
  if (begin == std::string::npos)
    return "";
  int depth = 0;
  for (size_t at = begin; at < ptx.size(); ++at) {
    depth += ptx[at] == '{' ? 1 : ptx[at] == '}' ? -1 : 0;
    if (depth == 0)
      return ptx.substr(begin, at + 1 - begin);
  }
  return "";
}

/// The first word of `text` (up to a space, tab or newline); "" if none.
std::string firstWord(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos)
    return "";
  size_t end = text.find_first_of(" \t\n", begin);
  return text.substr(begin, end == std::string::npos ? end : end - begin);
}

/// Whether `body` loads the 64-bit parameter `name` into a register that it
/// converts to a global address (`ld.param.b64 %rd1, [name];` then
/// `cvta.to.global.u64 %rd2, %rd1;`, as LLVM's NVPTX back end writes a
/// kernel's pointer parameters): the kernel then reads or writes memory
/// there, so the launch must pass a device address.
bool dereferencedAsGlobal(const std::string &body, const std::string &name) {
  for (const char *load : {"ld.param.b64", "ld.param.u64"})
    for (size_t at = body.find(load); at != std::string::npos;
         at = body.find(load, at + 1)) {
      size_t line = body.find(';', at);
      std::string text = body.substr(at, line - at);
      if (text.find("[" + name + "]") == std::string::npos)
        continue;
      size_t reg = text.find('%');
      size_t regEnd = text.find(',', reg);
      if (reg == std::string::npos || regEnd == std::string::npos)
        continue;
      std::string r = firstWord(text.substr(reg, regEnd - reg));
      for (size_t c = body.find("cvta.to.global.u64"); c != std::string::npos;
           c = body.find("cvta.to.global.u64", c + 1)) {
        std::string cvta = body.substr(c, body.find(';', c) - c);
        size_t comma = cvta.rfind(',');
        if (comma != std::string::npos && !r.empty() &&
            firstWord(cvta.substr(comma + 1)) == r)
          return true;
      }
    }
  return false;
}

/// The parameters of `.entry name(...)` in `ptx` (their sizes, and which
/// the kernel dereferences as global pointers); false if absent.
bool entryParams(const std::string &ptx, const std::string &name,
                 Function *f) {
  size_t at = ptx.find(".entry " + name + "(");
  if (at == std::string::npos)
    return false;
  size_t open = at + 8 + name.size(), close = ptx.find(')', open);
  std::string list = ptx.substr(open, close - open);
  std::string body = entryBody(ptx, close);
  for (size_t pos = list.find(".param"); pos != std::string::npos;
       pos = list.find(".param", pos + 1)) {
    size_t end = list.find_first_of(",)", pos);
    std::string decl = list.substr(pos, end - pos);
    f->paramSizes.push_back(paramSize(decl));
    f->globalPointer.push_back(f->paramSizes.back() == 8 &&
                               dereferencedAsGlobal(body, paramName(decl)));
  }
  return true;
}

int modules = 0;
/// Writes `text` into the JIT log buffer among `options` (`which`: 5 for
/// the error log, 3 for the info log; the size follows as option which+1).
void writeJitLog(unsigned count, const int *options, void **values, int which,
                 const std::string &text) {
  char *buffer = nullptr;
  size_t size = 0;
  for (unsigned i = 0; i < count; ++i) {
    if (options[i] == which)
      buffer = static_cast<char *>(values[i]);
    if (options[i] == which + 1)
      size = reinterpret_cast<uintptr_t>(values[i]);
  }
  if (buffer && size > 0)
    std::snprintf(buffer, size, "%s", text.c_str());
}

//===- Memory -------------------------------------------------------------===//

/// Device memory (live blocks and their sizes, the allocations so far) and
/// pinned host memory (ranges).
struct Memory {
  std::map<CUdeviceptr, size_t> live;
  size_t liveBytes = 0;
  long allocations = 0;
  std::map<uintptr_t, size_t> pinned;
};
Memory &memory() {
  static Memory *m = new Memory;
  return *m;
}
/// Whether `addr` lies in one of `blocks` (start -> bytes); with
/// `endIncluded`, one past a block's end counts too (an empty view of it).
template <typename Address>
bool inBlock(const std::map<Address, size_t> &blocks, uint64_t addr,
             bool endIncluded) {
  auto it = blocks.upper_bound(static_cast<Address>(addr));
  if (it == blocks.begin())
    return false;
  --it;
  uint64_t end = static_cast<uint64_t>(it->first) + it->second;
  return endIncluded ? addr <= end : addr < end;
}
bool isPinned(const void *ptr) {
  return inBlock(memory().pinned, reinterpret_cast<uintptr_t>(ptr), false);
}
/// BREGMAN_MOCK_CUDA_FAIL_ALLOC=N: the Nth cuMemAlloc fails (out of
/// memory); BREGMAN_MOCK_CUDA_MEMORY=BYTES: allocations beyond that many
/// live bytes fail.
bool allocationFails(size_t bytes) {
  Memory &m = memory();
  ++m.allocations;
  if (const char *nth = std::getenv("BREGMAN_MOCK_CUDA_FAIL_ALLOC"))
    if (m.allocations == std::atol(nth))
      return true;
  if (const char *limit = std::getenv("BREGMAN_MOCK_CUDA_MEMORY"))
    return m.liveBytes + bytes > std::strtoull(limit, nullptr, 10);
  return false;
}

//===- Streams, events, graphs --------------------------------------------===//

using Operation = std::function<void()>;

struct Graph {
  std::vector<Operation> operations;
  /// The captured launches' pointer parameters (kernel, index, value),
  /// checked again at each replay: a block freed since is refused.
  std::vector<std::tuple<const Function *, size_t, uint64_t>> pointers;
};

/// A queue of operations; `executed` of the `enqueued` so far have run.
struct Stream {
  unsigned flags = 0; // 0x1: CU_STREAM_NON_BLOCKING
  std::deque<Operation> queue;
  uint64_t enqueued = 0, executed = 0;
  std::unique_ptr<Graph> capture; // while capturing
  bool captureInvalidated = false;
};
struct Event {
  Stream *stream = nullptr; // where it was recorded (null: never)
  uint64_t position = 0;
};

/// Every stream made (and the legacy default stream, handle 0).
struct Streams {
  Stream legacy;
  std::vector<Stream *> all{&legacy};
  long launches = 0;
};
Streams &streams() {
  static Streams *s = new Streams;
  return *s;
}
Stream *streamOf(void *handle) {
  return handle ? static_cast<Stream *>(handle) : &streams().legacy;
}

/// Runs `s`'s operations up to `position` (an operation may wait for
/// another stream, which then runs as far as it needs).
void runUntil(Stream *s, uint64_t position) {
  while (s->executed < position && !s->queue.empty()) {
    Operation op = std::move(s->queue.front());
    s->queue.pop_front();
    ++s->executed; // before running: a wait may come back to this stream
    op();
  }
}
void runAll(Stream *s) { runUntil(s, s->enqueued); }

/// Appends `op` to the stream (or to its capture); returns its position.
uint64_t enqueue(Stream *s, Operation op) {
  if (s->capture) {
    s->capture->operations.push_back(std::move(op));
    return 0;
  }
  s->queue.push_back(std::move(op));
  return ++s->enqueued;
}

/// A synchronizing call on a capturing stream invalidates the capture.
CUresult refuseIfCapturing(Stream *s, const char *call) {
  if (!s->capture)
    return kSuccess;
  s->captureInvalidated = true;
  return refuse(kCaptureUnsupported,
                std::string(call) + " during stream capture");
}

/// What the legacy default stream waits for: itself and blocking streams.
void runLegacyDependencies() {
  for (Stream *s : streams().all)
    if (!(s->flags & 0x1))
      runAll(s);
}

//===- Launch checks ------------------------------------------------------===//

CUresult checkGeometry(const Function &f, unsigned gx, unsigned gy,
                       unsigned gz, unsigned bx, unsigned by, unsigned bz,
                       unsigned shared) {
  std::string where = "cuLaunchKernel(" + f.name + "): ";
  if (!gx || !gy || !gz || !bx || !by || !bz)
    return refuse(kInvalidValue, where + "a grid or block dimension is 0");
  if (bx > 1024 || by > 1024 || bz > 64)
    return refuse(kInvalidValue, where + "block dimensions above 1024x1024x64");
  if (uint64_t(bx) * by * bz > 1024)
    return refuse(kInvalidValue, where + "block of " +
                                     std::to_string(uint64_t(bx) * by * bz) +
                                     " threads, above 1024");
  if (gx > 0x7fffffffu || gy > 65535 || gz > 65535)
    return refuse(kInvalidValue, where + "grid above 2^31-1 x 65535 x 65535");
  if (shared > unsigned(f.maxDynamicShared))
    return refuse(kInvalidValue,
                  where + std::to_string(shared) +
                      " bytes of dynamic shared memory, above the limit of " +
                      std::to_string(f.maxDynamicShared));
  return kSuccess;
}

/// A parameter the kernel dereferences as a global pointer must hold an
/// address in live device memory (or pinned host memory): a host pointer,
/// a freed block or a size passed where the packing should put the pointer
/// would fault on hardware. Checked when the launch is made or captured,
/// and a captured one again at each replay of its graph.
long pointerParameters = 0; // checked so far

CUresult checkPointerValue(const Function &f, size_t i, uint64_t value,
                           const char *call) {
  ++pointerParameters;
  if (inBlock(memory().live, value, true) || inBlock(memory().pinned, value, true))
    return kSuccess;
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)value);
  return refuse(kInvalidValue, std::string(call) + "(" + f.name + "): parameter " +
                                   std::to_string(i) + " is a pointer the kernel "
                                   "dereferences, but " + hex +
                                   " is not in live device memory");
}

uint64_t pointerValue(const void *param) {
  uint64_t value;
  std::memcpy(&value, param, sizeof value);
  return value;
}

CUresult checkPointer(const Function &f, size_t i, const void *param) {
  if (!f.globalPointer[i])
    return kSuccess;
  return checkPointerValue(f, i, pointerValue(param), "cuLaunchKernel");
}

/// Reads every parameter as the driver does (params[i], paramSizes[i]
/// bytes); `extra` is refused with parameters to check.
CUresult checkParams(const Function &f, void **params, void **extra) {
  if (!f.checked)
    return kSuccess;
  std::string where = "cuLaunchKernel(" + f.name + "): ";
  if (extra)
    return refuse(kInvalidValue, where + "parameters passed in `extra`");
  if (!f.paramSizes.empty() && !params)
    return refuse(kInvalidValue, where + "the kernel takes " +
                                     std::to_string(f.paramSizes.size()) +
                                     " parameters, none were passed");
  volatile unsigned char sink = 0;
  for (size_t i = 0; i < f.paramSizes.size(); ++i) {
    if (!params[i] || f.paramSizes[i] == 0)
      return refuse(kInvalidValue, where + "parameter " + std::to_string(i) +
                                       " is null or of unknown size");
    for (size_t b = 0; b < f.paramSizes[i]; ++b)
      sink = sink ^ static_cast<unsigned char *>(params[i])[b];
    if (CUresult r = checkPointer(f, i, params[i]))
      return r;
  }
  (void)sink;
  return kSuccess;
}

} // namespace

#define MOCK_ENTRY(name)                                                       \
  if (failing(#name))                                                          \
    return kLaunchFailed;

extern "C" {
const char *bregman_mock_cuda_last_refusal() { return lastRefusal().c_str(); }
/// Launch parameters checked as device pointers so far (those the kernels
/// dereference as global memory).
long bregman_mock_cuda_pointer_parameters() { return pointerParameters; }
/// Kernel launches executed so far (graph replays included).
long bregman_mock_cuda_launches() { return streams().launches; }

CUresult cuInit(unsigned) { MOCK_ENTRY(cuInit) return kSuccess; }
CUresult cuDeviceGetCount(int *n) {
  *n = 1;
  return kSuccess;
}
CUresult cuDeviceGet(int *d, int) {
  *d = 0;
  return kSuccess;
}
CUresult cuDeviceGetName(char *name, int len, int) {
  std::snprintf(name, len, "bregman mock GPU");
  return kSuccess;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, int) {
  // Compute capability 9.0, or BREGMAN_MOCK_CUDA_CC=M.N.
  int major = 9, minor = 0;
  if (const char *cc = std::getenv("BREGMAN_MOCK_CUDA_CC"))
    std::sscanf(cc, "%d.%d", &major, &minor);
  *value = attribute == 75 ? major : attribute == 76 ? minor : 0;
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int context;
  *ctx = &context;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void *) { return kSuccess; }
CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned count,
                            int *options, void **values) {
  if (failing("cuModuleLoadDataEx")) {
    writeJitLog(count, options, values, 5,
                "ptxas application ptx input, line 1; fatal : mock JIT failure");
    return kInvalidPtx;
  }
  // PTX text (format=isa) with its kernels' names; a cubin or fatbin (ELF
  // or fatbin magic) is accepted as is.
  if (!image)
    return kInvalidValue;
  const char *text = static_cast<const char *>(image);
  bool binary = std::memcmp(text, "\x7f" "ELF", 4) == 0 ||
                std::memcmp(text, "\x50\xed\x55\xba", 4) == 0;
  if (!binary && std::strstr(text, ".entry") == nullptr)
    return kInvalidValue;
  if (!binary)
    if (const char *target = std::strstr(text, ".target sm_")) {
      // PTX for a newer chip than the device's is refused, as the JIT does.
      int chip = std::atoi(target + 11), major = 0, minor = 0;
      cuDeviceGetAttribute(&major, 75, 0);
      cuDeviceGetAttribute(&minor, 76, 0);
      if (chip > major * 10 + minor) {
        writeJitLog(count, options, values, 5,
                    "ptxas fatal : SM version specified by .target is higher "
                    "than default SM version assumed");
        return kInvalidPtx;
      }
    }
  auto *loaded = new Module;
  loaded->ptx = binary ? "" : text;
  loaded->binary = binary;
  *module = loaded;
  ++modules;
  return kSuccess;
}
CUresult cuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
  return kSuccess;
}
/// Functions are the PTX's `.entry` names (any name in a binary image).
CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  auto *loaded = static_cast<Module *>(module);
  if (!loaded || !name)
    return kInvalidValue;
  auto *f = new Function; // kept: the runtime caches it
  f->name = name;
  if (!loaded->binary) {
    if (!entryParams(loaded->ptx, name, f)) {
      delete f;
      return kNotFound;
    }
    f->checked = true;
  }
  *function = f;
  return kSuccess;
}
/// CUDA 12.4's parameter layout query (offsets are packed here).
CUresult cuFuncGetParamInfo(void *function, size_t index, size_t *offset,
                            size_t *size) {
  auto *f = static_cast<Function *>(function);
  if (f && !f->checked) // a binary image: its parameters are not known here
    return kNotSupported;
  if (!f || index >= f->paramSizes.size())
    return kInvalidValue;
  *offset = 0;
  for (size_t i = 0; i < index; ++i)
    *offset += f->paramSizes[i];
  *size = f->paramSizes[index];
  return kSuccess;
}
/// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES (8), up to 227 KiB.
CUresult cuFuncSetAttribute(void *function, int attribute, int value) {
  auto *f = static_cast<Function *>(function);
  if (!f || attribute != 8 || value < 0 || value > 227 * 1024)
    return kInvalidValue;
  f->maxDynamicShared = value;
  return kSuccess;
}
CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void *stream, void **params, void **extra) {
  MOCK_ENTRY(cuLaunchKernel)
  auto *f = static_cast<Function *>(function);
  if (!f)
    return kInvalidHandle;
  if (CUresult r = checkGeometry(*f, gx, gy, gz, bx, by, bz, shared))
    return r;
  if (CUresult r = checkParams(*f, params, extra))
    return r;
  if (Stream *s = streamOf(stream); s->capture && f->checked)
    for (size_t i = 0; i < f->paramSizes.size(); ++i)
      if (f->globalPointer[i])
        s->capture->pointers.emplace_back(f, i, pointerValue(params[i]));
  enqueue(streamOf(stream), [f] {
    ++f->launches;
    ++streams().launches;
  });
  return kSuccess;
}
/// A host function in stream order (what a stand-in library uses to queue
/// its computation behind the copies it reads, as cuBLAS/cuDNN do).
CUresult cuLaunchHostFunc(void *stream, void (*fn)(void *), void *data) {
  if (!fn)
    return kInvalidValue;
  enqueue(streamOf(stream), [fn, data] { fn(data); });
  return kSuccess;
}
CUresult cuStreamCreate(void **stream, unsigned flags) {
  auto *s = new Stream;
  s->flags = flags;
  streams().all.push_back(s);
  *stream = s;
  return kSuccess;
}
CUresult cuStreamSynchronize(void *stream) {
  MOCK_ENTRY(cuStreamSynchronize)
  Stream *s = streamOf(stream);
  if (CUresult r = refuseIfCapturing(s, "cuStreamSynchronize"))
    return r;
  if (!stream)
    runLegacyDependencies();
  runAll(s);
  return kSuccess;
}
CUresult cuCtxSynchronize() {
  for (Stream *s : streams().all)
    if (s->capture)
      return refuseIfCapturing(s, "cuCtxSynchronize");
  for (Stream *s : streams().all)
    runAll(s);
  return kSuccess;
}
CUresult cuStreamDestroy_v2(void *stream) {
  Stream *s = streamOf(stream);
  if (!stream)
    return kInvalidHandle;
  runAll(s); // work queued before the destruction still completes
  auto &all = streams().all;
  for (auto it = all.begin(); it != all.end(); ++it)
    if (*it == s) {
      all.erase(it);
      break;
    }
  delete s;
  return kSuccess;
}
CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) {
  MOCK_ENTRY(cuMemAlloc)
  if (bytes == 0)
    return kInvalidValue;
  if (allocationFails(bytes))
    return kOutOfMemory;
  void *block = std::malloc(bytes);
  if (!block)
    return kOutOfMemory;
  std::memset(block, 0xFF, bytes); // NaN in every float: never zeros
  *ptr = reinterpret_cast<CUdeviceptr>(block);
  memory().live[*ptr] = bytes;
  memory().liveBytes += bytes;
  return kSuccess;
}
CUresult cuMemFree_v2(CUdeviceptr ptr) {
  auto it = memory().live.find(ptr);
  if (it == memory().live.end())
    return kInvalidValue;
  memory().liveBytes -= it->second;
  memory().live.erase(it);
  std::free(reinterpret_cast<void *>(ptr));
  return kSuccess;
}
CUresult cuMemAllocHost_v2(void **ptr, size_t bytes) {
  if (bytes == 0)
    return kInvalidValue;
  *ptr = std::malloc(bytes);
  if (!*ptr)
    return kOutOfMemory;
  std::memset(*ptr, 0xFF, bytes);
  memory().pinned[reinterpret_cast<uintptr_t>(*ptr)] = bytes;
  return kSuccess;
}
CUresult cuMemFreeHost(void *ptr) {
  if (!memory().pinned.erase(reinterpret_cast<uintptr_t>(ptr)))
    return kInvalidValue;
  std::free(ptr);
  return kSuccess;
}
CUresult cuMemHostRegister_v2(void *ptr, size_t bytes, unsigned) {
  memory().pinned[reinterpret_cast<uintptr_t>(ptr)] = bytes;
  return kSuccess;
}
CUresult cuMemHostUnregister(void *ptr) {
  return memory().pinned.erase(reinterpret_cast<uintptr_t>(ptr))
             ? kSuccess
             : kInvalidValue;
}
/// Synchronous: on the legacy default stream, after what it waits for.
CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  runLegacyDependencies();
  std::memcpy(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       void *stream) {
  enqueue(streamOf(stream), [=] {
    std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src),
                 bytes);
  });
  return kSuccess;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes,
                              void *stream) {
  MOCK_ENTRY(cuMemcpyHtoDAsync)
  Stream *s = streamOf(stream);
  void *to = reinterpret_cast<void *>(dst);
  if (isPinned(src)) { // read when the copy runs
    enqueue(s, [=] { std::memcpy(to, src, bytes); });
    return kSuccess;
  }
  if (s->capture) {
    s->captureInvalidated = true;
    return refuse(kCaptureUnsupported,
                  "cuMemcpyHtoDAsync from pageable memory during capture");
  }
  // Pageable: the driver has staged the source when the call returns.
  auto staged = std::make_shared<std::vector<unsigned char>>(
      static_cast<const unsigned char *>(src),
      static_cast<const unsigned char *>(src) + bytes);
  enqueue(s, [=] { std::memcpy(to, staged->data(), bytes); });
  return kSuccess;
}
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes) {
  runLegacyDependencies();
  std::memcpy(dst, reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes,
                              void *stream) {
  MOCK_ENTRY(cuMemcpyDtoHAsync)
  Stream *s = streamOf(stream);
  bool pinned = isPinned(dst);
  if (!pinned)
    if (CUresult r = refuseIfCapturing(s, "cuMemcpyDtoHAsync to pageable memory"))
      return r;
  uint64_t position = enqueue(s, [=] {
    std::memcpy(dst, reinterpret_cast<void *>(src), bytes);
  });
  if (!pinned) // to pageable memory: returns when done
    runUntil(s, position);
  return kSuccess;
}
CUresult cuEventCreate(void **event, unsigned) {
  *event = new Event;
  return kSuccess;
}
CUresult cuEventRecord(void *event, void *stream) {
  auto *e = static_cast<Event *>(event);
  Stream *s = streamOf(stream);
  if (!e)
    return kInvalidHandle;
  if (s->capture) // cross-stream capture is not used by bregman
    return refuse(kCaptureUnsupported, "cuEventRecord during capture");
  e->stream = s;
  e->position = s->enqueued;
  return kSuccess;
}
CUresult cuEventSynchronize(void *event) {
  auto *e = static_cast<Event *>(event);
  if (!e)
    return kInvalidHandle;
  if (e->stream)
    runUntil(e->stream, e->position);
  return kSuccess;
}
/// Done only once something ran the stream that far (no progress on its
/// own: a loop polling cuEventQuery must also wait).
CUresult cuEventQuery(void *event) {
  auto *e = static_cast<Event *>(event);
  if (!e)
    return kInvalidHandle;
  return !e->stream || e->stream->executed >= e->position ? kSuccess
                                                          : kNotReady;
}
CUresult cuEventDestroy_v2(void *event) {
  delete static_cast<Event *>(event);
  return kSuccess;
}
CUresult cuStreamWaitEvent(void *stream, void *event, unsigned) {
  auto *e = static_cast<Event *>(event);
  if (!e)
    return kInvalidHandle;
  if (!e->stream)
    return kSuccess; // never recorded: nothing to wait for
  Stream *other = e->stream;
  uint64_t position = e->position;
  enqueue(streamOf(stream), [other, position] { runUntil(other, position); });
  return kSuccess;
}
CUresult cuStreamBeginCapture_v2(void *stream, int /*mode*/) {
  Stream *s = streamOf(stream);
  if (!stream || s->capture)
    return refuse(kCaptureUnsupported,
                  "cuStreamBeginCapture on the legacy stream or twice");
  s->capture = std::make_unique<Graph>();
  s->captureInvalidated = false;
  return kSuccess;
}
CUresult cuStreamEndCapture(void *stream, void **graph) {
  Stream *s = streamOf(stream);
  if (!s->capture)
    return kInvalidValue;
  std::unique_ptr<Graph> captured = std::move(s->capture);
  if (s->captureInvalidated) {
    *graph = nullptr;
    return kCaptureInvalidated;
  }
  *graph = captured.release();
  return kSuccess;
}
CUresult cuStreamIsCapturing(void *stream, int *status) {
  Stream *s = streamOf(stream);
  *status = s->capture ? (s->captureInvalidated ? 2 : 1) : 0;
  return kSuccess;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                     unsigned long long) {
  MOCK_ENTRY(cuGraphInstantiateWithFlags)
  if (!graph)
    return kInvalidValue;
  *exec = new Graph(*static_cast<Graph *>(graph));
  return kSuccess;
}
CUresult cuGraphLaunch(void *exec, void *stream) {
  auto *g = static_cast<Graph *>(exec);
  if (!g)
    return kInvalidValue;
  for (const auto &[f, i, value] : g->pointers)
    if (CUresult r = checkPointerValue(*f, i, value, "cuGraphLaunch"))
      return r;
  Stream *s = streamOf(stream);
  for (const Operation &op : g->operations)
    enqueue(s, op);
  return kSuccess;
}
CUresult cuGraphExecDestroy(void *exec) {
  delete static_cast<Graph *>(exec);
  return kSuccess;
}
CUresult cuGraphDestroy(void *graph) {
  delete static_cast<Graph *>(graph);
  return kSuccess;
}
CUresult cuGetErrorName(CUresult r, const char **name) {
  *name = r == kLaunchFailed          ? "CUDA_ERROR_LAUNCH_FAILED"
          : r == kInvalidValue        ? "CUDA_ERROR_INVALID_VALUE"
          : r == kOutOfMemory         ? "CUDA_ERROR_OUT_OF_MEMORY"
          : r == kInvalidPtx          ? "CUDA_ERROR_INVALID_PTX"
          : r == kNotFound            ? "CUDA_ERROR_NOT_FOUND"
          : r == kNotReady            ? "CUDA_ERROR_NOT_READY"
          : r == kInvalidHandle       ? "CUDA_ERROR_INVALID_HANDLE"
          : r == kCaptureUnsupported  ? "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"
          : r == kCaptureInvalidated  ? "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"
          : r == kNotSupported        ? "CUDA_ERROR_NOT_SUPPORTED"
                                      : "CUDA_ERROR_UNKNOWN";
  return kSuccess;
}
CUresult cuGetErrorString(CUresult r, const char **text) {
  *text = r == kLaunchFailed          ? "unspecified launch failure"
          : r == kInvalidValue        ? "invalid argument"
          : r == kOutOfMemory         ? "out of memory"
          : r == kInvalidPtx          ? "a PTX JIT compilation failed"
          : r == kNotFound            ? "named symbol not found"
          : r == kNotReady            ? "device not ready"
          : r == kInvalidHandle       ? "invalid resource handle"
          : r == kCaptureUnsupported  ? "operation not permitted when stream is capturing"
          : r == kCaptureInvalidated  ? "operation failed due to a previous error during capture"
          : r == kNotSupported        ? "operation not supported"
                                      : "unknown error";
  return kSuccess;
}
} // extern "C"
