//===- Config.cpp - The reference settings and the parameter groups -------===//
//
// The one place that knows the reference settings of each model, optimizer
// and data set (ALGORITHMS.md §7); the command line and the Trainer take
// them from here.
//
//===----------------------------------------------------------------------===//

#include "bregman/train/Config.h"

#include "bregman/Error.h"
#include "bregman/Params.h"
#include "bregman/models/Zoo.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fnmatch.h>
#include <set>

namespace bregman::train {

namespace {

/// The reference settings of a model. An unset value falls back to the
/// generic one of the optimizer.
struct ModelDefaults {
  const char *model;
  float lr;     // of the non-adaptive optimizers
  float lambda;
  std::optional<double> initR; // unset: 0.7/√p
  const char *optimizer = "linbreg";
  /// Of the weights and the convolution weights, with a regularized
  /// optimizer.
  const char *regularizer = "l1", *convRegularizer = "l1_l2_conv";
  double initP = 0.01; // with a regularized optimizer
  const char *task = "classify";
  float skipLambda = 0; // the skip-encoder's skip weights
  /// AdaBreg's τ for this model when it differs from the generic 1e-3.
  std::optional<float> adabregLr = std::nullopt;
};

/// The reference runs: the MLP of the LinBreg experiments, the ConvNet of
/// ALGORITHMS.md §7 (τ 0.07, λ 0.5, kernel-sparse init with r 10) and the
/// two architecture searches of NAS.md: the DenseNet (AdaBreg, kernel groups
/// λ 0.05, p 0.03, r 5, the linear head unregularized) and the skip-encoder
/// (AdaBreg, row groups λ 0.07, p 0.01, r 5, skips l1 with 28·0.07).
/// The vit's AdaBreg τ is 0.01: AdaBreg moves v by about τ a step, so a
/// zero weight needs λ/τ steps of one sign to switch on — 100 at τ 1e-3
/// and λ 0.1, and the vit starts 1 % dense: it stayed at chance for its
/// first 47 steps and reached 46.6 % test accuracy in 190 steps, against
/// 72.2 % at τ 0.01 (docs/EXPERIMENTS.md, "AdaBreg on the vit").
const ModelDefaults kModelDefaults[] = {
    {"mlp", 0.1f, 0.1f, std::nullopt},
    {"convnet", 0.07f, 0.5f, 10.0},
    {"resnet18", 0.1f, 0.1f, std::nullopt},
    {"vgg", 0.1f, 0.1f, std::nullopt},
    {.model = "vit", .lr = 0.1f, .lambda = 0.1f, .initR = std::nullopt,
     .adabregLr = 0.01f},
    {.model = "densenet", .lr = 0.1f, .lambda = 0.05f, .initR = 5.0,
     .optimizer = "adabreg", .regularizer = "none", .initP = 0.03},
    {.model = "skip-encoder", .lr = 0.1f, .lambda = 0.07f, .initR = 5.0,
     .optimizer = "adabreg", .regularizer = "l1_l2", .task = "denoise",
     .skipLambda = 28 * 0.07f},
};

const char *const kTasks[] = {"classify", "denoise", "deblur"};

struct OptimizerDefaults {
  const char *optimizer;
  /// Adam-type methods take τ = 1e-3 whatever the model.
  std::optional<float> lr;
  /// The unregularized baselines: no regularizer, dense Kaiming init.
  bool unregularized;
};

const OptimizerDefaults kOptimizerDefaults[] = {
    {"linbreg", std::nullopt, false}, {"adabreg", 1e-3f, false},
    {"proxsgd", std::nullopt, false}, {"sgd", std::nullopt, true},
    {"adam", 1e-3f, true},
};

struct DatasetDefaults {
  const char *dataset;
  double mean, std; // cifar10 normalizes per channel (in the Trainer)
  const char *dataDir; // "": the user must say where
};

const DatasetDefaults kDatasetDefaults[] = {
    {"fashion-mnist", 0.5, 0.5, "/usr/share/datasets/fashion-mnist"},
    {"mnist", 0.1307, 0.3081, ""},
    {"cifar10", 0.1307, 0.3081, ""},
};

template <typename Entry, size_t N>
const Entry &lookup(const Entry (&table)[N], const char *Entry::*key,
                    const std::string &name, const char *what) {
  std::vector<std::string> known;
  for (const Entry &e : table) {
    if (name == e.*key)
      return e;
    known.push_back(e.*key);
  }
  throw Error(fmt::format("train: unknown {} '{}' (known: {})", what, name,
                          fmt::join(known, ", ")));
}

const ModelDefaults &modelDefaults(const TrainConfig &config) {
  // An imported model has the MLP's (generic) settings.
  return lookup(kModelDefaults, &ModelDefaults::model,
                config.onnxPath.empty() ? config.model : "mlp", "model");
}

bool isUnregularized(const std::string &name) {
  // Biases, batch-norm scale and shift, and an imported model's learned
  // operands (position tables, cls tokens, scales) carry no regularizer.
  return endsWith(name, ".bias") || endsWith(name, ".scale") ||
         endsWith(name, ".shift") || endsWith(name, ".learned");
}

std::vector<std::string> split(const std::string &text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t end; (end = text.find(sep, start)) != std::string::npos;
       start = end + 1)
    parts.push_back(text.substr(start, end - start));
  parts.push_back(text.substr(start));
  return parts;
}

/// A numeric setting's admissible values: finite, within [lo, hi], an open
/// end where `loOpen` / `hiOpen` (NaN compares false: it never passes).
struct Range {
  double lo, hi;
  bool loOpen = false, hiOpen = false;
  bool contains(double v) const {
    return std::isfinite(v) && (loOpen ? v > lo : v >= lo) &&
           (hiOpen ? v < hi : v <= hi);
  }
  std::string text() const {
    auto bound = [](double b) {
      return std::isinf(b) ? std::string(b < 0 ? "-inf" : "inf")
                           : fmt::format("{}", b);
    };
    return fmt::format("{}{}, {}{}", loOpen ? "(" : "[", bound(lo), bound(hi),
                       hiOpen ? ")" : "]");
  }
};

constexpr double kInf = HUGE_VAL;
const Range kPositive{0, kInf, true, true};
const Range kNonNegative{0, kInf, false, true};
const Range kUnit{0, 1};          // [0, 1]
const Range kMomentum{0, 1, false, true}; // [0, 1)
const Range kFinite{-kInf, kInf, true, true};

void checkSetting(const std::string &option, double value, const Range &r) {
  if (!r.contains(value))
    throw Error(fmt::format("{} {}: must be a finite number in {}", option,
                            value, r.text()));
}

/// The settings a parameter group carries (optimizer hyper-parameters).
void checkGroupSettings(const std::string &prefix, const optim::Group &g) {
  checkSetting(prefix + "lr", g.lr, kPositive);
  checkSetting(prefix + "delta", g.delta, kPositive);
  checkSetting(prefix + "lambda", g.lambda, kNonNegative);
  checkSetting(prefix + "lambda2", g.lambda2, kNonNegative);
  checkSetting(prefix + "momentum", g.momentum, kMomentum);
  checkSetting(prefix + "beta1", g.beta1, kMomentum);
  checkSetting(prefix + "beta2", g.beta2, kMomentum);
  checkSetting(prefix + "eps", g.eps, kPositive);
}

/// The field of `group` that the --group key `key` sets, or nullptr.
float *groupField(optim::Group &group, const std::string &key) {
  static const std::pair<const char *, float optim::Group::*> fields[] = {
      {"lr", &optim::Group::lr},
      {"delta", &optim::Group::delta},
      {"lambda", &optim::Group::lambda},
      {"lambda2", &optim::Group::lambda2},
      {"momentum", &optim::Group::momentum},
      {"beta1", &optim::Group::beta1},
      {"beta2", &optim::Group::beta2},
      {"eps", &optim::Group::eps}};
  for (const auto &[name, field] : fields)
    if (key == name)
      return &(group.*field);
  return nullptr;
}

/// "NAME:PATTERNS[:key=value,...]" -> a group with `defaults`' settings
/// overridden by the given keys.
optim::Group parseGroup(const std::string &spec, optim::Group defaults) {
  std::vector<std::string> parts = split(spec, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() ||
      parts[1].empty())
    throw Error(fmt::format("--group '{}': expected NAME:PATTERNS[:key=value,"
                            "...]",
                            spec));
  optim::Group g = defaults;
  g.name = parts[0];
  std::vector<std::string> patterns = split(parts[1], ',');
  g.selects = [patterns](const std::string &name) {
    for (const std::string &p : patterns)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0)
        return true;
    return false;
  };
  if (parts.size() < 3)
    return g;
  std::set<std::string> seen;
  for (const std::string &kv : split(parts[2], ',')) {
    size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (!seen.insert(key).second)
      throw Error(fmt::format("--group '{}': {} is given twice", spec, key));
    if (key == "reg") {
      g.regularizer = parseRegularizer(value);
      continue;
    }
    float *field = groupField(g, key);
    char *end = nullptr;
    double number = std::strtod(value.c_str(), &end);
    if (!field || value.empty() || *end != '\0')
      throw Error(fmt::format("--group '{}': '{}' is not key=value with a "
                              "key of reg, lr, delta, lambda, lambda2, "
                              "momentum, beta1, beta2, eps and a number",
                              spec, kv));
    *field = static_cast<float>(number);
  }
  checkGroupSettings(fmt::format("--group '{}': ", spec), g);
  return g;
}

} // namespace

void validateConfig(const TrainConfig &c) {
  optim::Group g{"weights", {}, Regularizer::None, *c.lr, c.delta, *c.lambda,
                 c.momentum, c.beta1, c.beta2, c.eps};
  g.lambda2 = c.lambda2;
  checkGroupSettings("--", g);
  for (const std::string &spec : c.groups)
    (void)parseGroup(spec, g); // checks its settings
  // -1 is "all"; other negatives were read as no limit too.
  for (auto [option, limit] :
       {std::pair<const char *, int64_t>{"--train-limit", c.trainLimit},
        {"--test-limit", c.testLimit}})
    if (limit < -1)
      throw Error(fmt::format("{} {}: expected a number of examples (-1: all)",
                              option, limit));
  // No test images reported a test accuracy of 0.00 % as a result.
  if (c.testLimit == 0)
    throw Error("--test-limit 0: the test accuracy would be of no images; "
                "give a positive number (-1: all)");
  // The command line said so; a program's configuration was ignored.
  if (c.onnxPath.empty())
    for (auto [option, given] : {std::pair{"--freeze", !c.freeze.empty()},
                                 {"--unfreeze", !c.unfreeze.empty()},
                                 {"--from-pretrained", c.fromPretrained}})
      if (given)
        throw Error(fmt::format("{} concerns the initializers of an ONNX "
                                "model: use it with `bregman retrain "
                                "model.onnx` (TrainConfig::onnxPath)",
                                option));
  // Silently nothing was stored sparse: nothing was exported.
  if (c.exportSparse && c.exportPath.empty())
    throw Error("--sparse-initializers: concerns the model --export writes; "
                "give --export FILE.onnx too");
  checkSetting("--init-p", *c.initP, Range{0, 1, true, false});
  checkSetting("--init-r", *c.initR, kPositive);
  checkSetting("--skip-lambda", *c.skipLambda, kNonNegative);
  checkSetting("--noise-std", c.noiseStd, kNonNegative);
  checkSetting("init bias scale", c.initBiasScale, kNonNegative);
  checkSetting("--mean", *c.mean, kFinite);
  checkSetting("--std", *c.std, kPositive);
  // Normalized pixels are (x - mean) / std in float32: beyond its range
  // they became inf, and the NaN loss that followed was blamed on the
  // learning rate.
  if (1.0 / *c.std > 1e30)
    throw Error(fmt::format("--std {}: too small; normalized pixels would "
                            "leave float32's range",
                            *c.std));
  checkSetting("validation fraction", c.valFraction, kUnit);
  checkSetting("--lambda-target", c.lambdaTarget, kUnit);
  checkSetting("--lambda-increment", c.lambdaIncrement, kPositive);
  checkSetting("--lambda-warmup", c.lambdaWarmup, kNonNegative);
  checkSetting("--lambda-cooldown", c.lambdaCooldown, Range{1, kInf, false, true});
  checkSetting("--prune-density", c.pruneDensity, kUnit);
  checkSetting("--retrain-epochs", c.retrainEpochs, kNonNegative);
  if (c.retrainEpochs > 0 && !(c.pruneDensity > 0))
    throw Error(fmt::format("--retrain-epochs {}: retraining follows pruning, "
                            "but no --prune-density is given",
                            c.retrainEpochs));
  checkSetting("--threshold", c.threshold, kNonNegative);
  checkSetting("--epochs", c.epochs, Range{1, kInf, false, true});
  // Their sum numbers the epochs (an int): INT_MAX with retraining wrapped
  // and ran none, and --pictures checked 2^31 picture paths.
  constexpr int64_t kMostEpochs = 1000000;
  if (int64_t{c.epochs} + int64_t{c.retrainEpochs} > kMostEpochs)
    throw Error(fmt::format("--epochs {} and --retrain-epochs {}: at most {} "
                            "epochs in all",
                            c.epochs, c.retrainEpochs, kMostEpochs));
  if (c.sparseExec != nn::SparseExec::Off && c.device != Device::Cpu)
    throw Error(fmt::format("--sparse-exec: sparse layers run on the CPU "
                            "only; use --sparse-exec off with --device {}",
                            deviceName(c.device)));
  if (c.checkSparse && c.sparseExec == nn::SparseExec::Off)
    throw Error("--check-sparse compares the steps on CSR with dense ones: "
                "it needs --sparse-exec on or auto");
  checkSetting("--batch-size", static_cast<double>(c.batchSize),
               Range{1, kInf, false, true});
  checkSetting("--eval-batch-size", static_cast<double>(c.evalBatchSize),
               Range{1, kInf, false, true});
  checkSetting("--width", static_cast<double>(c.width),
               Range{1, kInf, false, true});
  for (int64_t h : c.hidden)
    checkSetting("--hidden", static_cast<double>(h), Range{1, kInf, false, true});
}

namespace {

/// The task, checked against the kind of model (a classifier classifies,
/// a restoration model denoises or deblurs).
void resolveTask(TrainConfig &c, const ModelDefaults &model) {
  if (!c.task)
    c.task = model.task;
  if (std::find(std::begin(kTasks), std::end(kTasks), *c.task) ==
      std::end(kTasks))
    throw Error(fmt::format("--task '{}': unknown (known: {})", *c.task,
                            fmt::join(kTasks, ", ")));
  bool restorationModel =
      c.onnxPath.empty() &&
      models::zooEntry(c.model).kind == models::ModelKind::Restoration;
  if (restorationModel != isRestoration(c))
    throw Error(fmt::format(
        "--task {}: the {} {}", *c.task,
        c.onnxPath.empty() ? c.model : "imported model",
        restorationModel ? "restores images: use --task denoise or deblur"
                         : "is a classifier: use --task classify"));
}

} // namespace

bool isRestoration(const TrainConfig &c) {
  return c.task && *c.task != "classify";
}

std::vector<std::string> taskNames() {
  return std::vector<std::string>(std::begin(kTasks), std::end(kTasks));
}

TrainConfig resolveDefaults(TrainConfig c) {
  const ModelDefaults &model = modelDefaults(c);
  if (c.optimizer.empty())
    c.optimizer = c.onnxPath.empty() ? model.optimizer : "linbreg";
  resolveTask(c, model);
  const OptimizerDefaults &opt = lookup(
      kOptimizerDefaults, &OptimizerDefaults::optimizer, c.optimizer,
      "optimizer");
  const DatasetDefaults &data = lookup(
      kDatasetDefaults, &DatasetDefaults::dataset, c.dataset, "data set");
  if (!c.lr)
    c.lr = c.optimizer == "adabreg" && model.adabregLr ? *model.adabregLr
           : opt.lr                                    ? *opt.lr
                                                       : model.lr;
  if (!c.lambda)
    c.lambda = model.lambda;
  if (!c.regularizer)
    c.regularizer = opt.unregularized ? "none" : model.regularizer;
  if (!c.convRegularizer)
    c.convRegularizer = opt.unregularized ? "none" : model.convRegularizer;
  if (!c.headRegularizer)
    c.headRegularizer =
        opt.unregularized ? "none"
        : *c.regularizer == "l1_l2" || *c.regularizer == "l1_l1_l2"
            ? "l1_l2_heads"
            : *c.regularizer;
  if (!c.skipLambda)
    c.skipLambda = opt.unregularized ? 0.0f : model.skipLambda;
  if (!c.initP)
    c.initP = opt.unregularized ? 1.0 : model.initP;
  if (!c.initR)
    c.initR = opt.unregularized ? 1.0
              : model.initR     ? *model.initR
                                : 0.7 / std::sqrt(*c.initP);
  if (!c.initPerKernel)
    c.initPerKernel = *c.convRegularizer == "l1_l2_conv";
  if (!c.initPerRow)
    c.initPerRow = *c.regularizer == "l1_l2" || *c.regularizer == "l1_l1_l2";
  if (!c.mean)
    c.mean = data.mean;
  if (!c.std)
    c.std = data.std;
  if (!c.dataDir)
    c.dataDir = data.dataDir;
  if (c.dataDir->empty())
    throw Error(fmt::format("--data DIR is required for --dataset {}",
                            c.dataset));
  validateConfig(c);
  return c;
}

/// " but vit 0.01": the models with their own AdaBreg τ.
static std::string adabregExceptions() {
  std::string text;
  for (const ModelDefaults &m : kModelDefaults)
    if (m.adabregLr)
      text += fmt::format(" but {} {}", m.model, *m.adabregLr);
  return text;
}

std::string describeDefault(const std::string &setting) {
  std::vector<std::string> parts;
  if (setting == "lr") {
    for (const ModelDefaults &m : kModelDefaults)
      parts.push_back(fmt::format("{} {}", m.model, m.lr));
    for (const OptimizerDefaults &o : kOptimizerDefaults)
      if (o.lr)
        parts.push_back(fmt::format("{} {} (any model{})", o.optimizer, *o.lr,
                                    std::string(o.optimizer) == "adabreg" ? adabregExceptions()
                                                                          : ""));
  } else if (setting == "lambda") {
    for (const ModelDefaults &m : kModelDefaults)
      parts.push_back(fmt::format("{} {}", m.model, m.lambda));
  } else if (setting == "optimizer") {
    for (const ModelDefaults &m : kModelDefaults)
      if (std::string(m.optimizer) != "linbreg")
        parts.push_back(fmt::format("{} for {}", m.optimizer, m.model));
    parts.push_back("linbreg for the other models");
  } else if (setting == "init-r") {
    for (const ModelDefaults &m : kModelDefaults)
      parts.push_back(m.initR ? fmt::format("{} {}", m.model, *m.initR)
                              : fmt::format("{} 0.7/sqrt(p)", m.model));
    parts.push_back("1 for the unregularized sgd and adam");
  } else if (setting == "reg" || setting == "conv-reg" ||
             setting == "init-p") {
    // Set by the kind of optimizer: regularized or not.
    TrainConfig regularized, unregularized;
    unregularized.optimizer = "sgd";
    regularized = resolveDefaults(regularized);
    unregularized = resolveDefaults(unregularized);
    auto show = [&](const TrainConfig &c) {
      return setting == "reg"        ? *c.regularizer
             : setting == "conv-reg" ? *c.convRegularizer
                                     : fmt::format("{}", *c.initP);
    };
    std::vector<std::string> plain;
    for (const OptimizerDefaults &o : kOptimizerDefaults)
      if (o.unregularized)
        plain.push_back(o.optimizer);
    parts.push_back(fmt::format("{}, {} for {}", show(regularized),
                                show(unregularized), fmt::join(plain, " and ")));
    // The models whose regularized setting differs from the generic one.
    for (const ModelDefaults &m : kModelDefaults) {
      std::string own = setting == "reg"        ? m.regularizer
                        : setting == "conv-reg" ? m.convRegularizer
                                                : fmt::format("{}", m.initP);
      if (own != show(regularized))
        parts.push_back(fmt::format("{} for {} (regularized)", own, m.model));
    }
  } else if (setting == "head-reg") {
    parts.push_back("none for sgd and adam, l1_l2_heads with --reg l1_l2 or "
                    "l1_l1_l2, else --reg's");
  } else if (setting == "data") {
    for (const DatasetDefaults &d : kDatasetDefaults)
      if (*d.dataDir)
        parts.push_back(fmt::format("{}: {}", d.dataset, d.dataDir));
  } else if (setting == "normalization") {
    for (const DatasetDefaults &d : kDatasetDefaults)
      if (std::string(d.dataset) != "cifar10")
        parts.push_back(fmt::format("{} {}/{}", d.dataset, d.mean, d.std));
    parts.push_back("cifar10 per channel");
  }
  return fmt::format("default: {}", fmt::join(parts, ", "));
}

std::vector<std::string> optimizerNames() {
  std::vector<std::string> names;
  for (const OptimizerDefaults &o : kOptimizerDefaults)
    names.push_back(o.optimizer);
  return names;
}

std::vector<std::string> datasetNames() {
  std::vector<std::string> names;
  for (const DatasetDefaults &d : kDatasetDefaults)
    names.push_back(d.dataset);
  return names;
}

nn::SparseInit sparseInit(const TrainConfig &c) {
  return nn::SparseInit{*c.initP, *c.initR, c.initBiasScale, *c.initPerRow,
                        *c.initPerKernel};
}

/// The skip-encoder's scalar skip weights ("*.skip"): l1 with their own
/// strength; none when the model has no skips.
static std::optional<optim::Group> skipGroup(const TrainConfig &c,
                                             const optim::Group &weights,
                                             const Params &params) {
  bool hasSkips = false;
  for (const auto &[name, t] : params)
    hasSkips |= endsWith(name, ".skip");
  if (!hasSkips)
    return std::nullopt;
  optim::Group skips = weights;
  skips.name = "skips";
  skips.selects = [](const std::string &name) {
    return endsWith(name, ".skip");
  };
  skips.regularizer = *c.skipLambda > 0 ? Regularizer::L1 : Regularizer::None;
  skips.lambda = *c.skipLambda;
  return skips;
}

std::vector<optim::Group> parameterGroups(const TrainConfig &c,
                                          const Params &params) {
  // Weights carry the regulariser, biases none (ALGORITHMS.md §7).
  optim::Group weights{"weights", optim::weights(),
                       parseRegularizer(*c.regularizer), *c.lr, c.delta,
                       *c.lambda, c.momentum, c.beta1, c.beta2, c.eps};
  weights.lambda2 = c.lambda2;
  optim::Group biases = weights;
  biases.name = "biases";
  biases.selects = isUnregularized;
  biases.regularizer = Regularizer::None;
  biases.lambda = 0.0f;
  std::vector<optim::Group> groups;
  for (const std::string &spec : c.groups) {
    groups.push_back(parseGroup(spec, weights));
    const std::string &name = groups.back().name;
    for (const char *builtIn : {"weights", "biases", "conv", "heads", "skips"})
      if (name == builtIn)
        throw Error(fmt::format("--group '{}': '{}' is the name of a built-in "
                                "group (weights, biases, conv, heads, skips); "
                                "choose another",
                                spec, name));
    // A pattern with a typo would otherwise change nothing, silently.
    bool selectsAny = false;
    for (const auto &entry : params)
      selectsAny |= groups.back().selects(entry.first);
    if (!selectsAny)
      throw Error(fmt::format("--group '{}': its patterns match no parameter "
                              "of the model (its parameters: {})",
                              spec, fmt::join(params.names(), ", ")));
  }
  if (std::optional<optim::Group> skips = skipGroup(c, weights, params))
    groups.push_back(*skips);
  // Attention projections (3-D: [heads, d, E]) form their own group, heads
  // as groups.
  std::set<std::string> headWeights, convWeights;
  for (const auto &[name, t] : params)
    if (t.rank() == 3 && isWeightName(name))
      headWeights.insert(name);
  if (!headWeights.empty()) {
    optim::Group heads = weights;
    heads.name = "heads";
    heads.selects = [headWeights](const std::string &name) {
      return headWeights.count(name) > 0;
    };
    heads.regularizer = parseRegularizer(*c.headRegularizer);
    groups.push_back(heads);
  }
  // Convolution weights (4-D) form their own group, kernels as groups.
  for (const auto &[name, t] : params)
    if (t.rank() == 4)
      convWeights.insert(name);
  if (!convWeights.empty()) {
    optim::Group conv = weights;
    conv.name = "conv";
    conv.selects = [convWeights](const std::string &name) {
      return convWeights.count(name) > 0;
    };
    conv.regularizer = parseRegularizer(*c.convRegularizer);
    groups.push_back(conv);
  }
  groups.push_back(weights);
  groups.push_back(biases);
  return groups;
}

} // namespace bregman::train
