//===- bregman-opt.cpp - mlir-opt with the breg dialect and passes --------===//

#include "breg/Conversion/Passes.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"
#include "breg/GPU/Passes.h"
#include "breg/Pipelines/Pipelines.h"
#include "breg/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::breg::registerBregConversionPasses();
  mlir::breg::registerBregTransformsPasses();
  mlir::breg::registerBregGPUPasses();
  mlir::breg::registerBregPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates kernels to LLVM IR (NVVM -> PTX).
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::breg::BregDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "bregman-opt: the bregman compiler driver\n", registry));
}
