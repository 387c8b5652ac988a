// RUN: not quant-opt %s -quantc-map-to-gpu=block-size=0 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not quant-opt %s -quantc-map-to-gpu=block-size=2048 2>&1 | FileCheck %s --check-prefix=BIG
// RUN: not quant-opt %s -split-input-file -quantc-map-to-gpu 2>&1 | FileCheck %s --check-prefix=NOMAIN

// Threads per block are what one block can have.
// ZERO: error: block-size must be in [1, 1024], not 0
// BIG: error: block-size must be in [1, 1024], not 2048
// NOMAIN: error: the module has no function 'main'
func.func @other() {
  return
}
