// RUN: quant-opt %s --quantc-lower-checks | FileCheck %s

// A run-time check becomes a call to the runtime's quantc_check_failed
// (which ends the model call) when its condition is false; one message
// string per distinct message; no cf.assert (whose upstream lowering would
// abort the process) is left.
// CHECK-DAG: llvm.func @quantc_check_failed(!llvm.ptr)
// CHECK-DAG: llvm.mlir.global internal constant @quantc_check_message_0("node 'a': sizes differ\00")
// CHECK-DAG: llvm.mlir.global internal constant @quantc_check_message_1("node 'b': index out of range\00")
// CHECK-LABEL: func.func @main
// CHECK-NOT: cf.assert
// CHECK: %[[EQ:.*]] = arith.cmpi eq
// CHECK: %[[TRUE:.*]] = arith.constant true
// CHECK: %[[BAD:.*]] = arith.xori %[[EQ]], %[[TRUE]]
// CHECK: scf.if %[[BAD]] {
// CHECK:   llvm.call @quantc_check_failed
// CHECK: }
// CHECK: scf.if
// CHECK:   llvm.call @quantc_check_failed
// CHECK: scf.if
// CHECK:   %[[AGAIN:.*]] = llvm.mlir.addressof @quantc_check_message_0
// CHECK:   llvm.call @quantc_check_failed(%[[AGAIN]])
// CHECK-NOT: cf.assert
func.func @main(%a: index, %b: index, %ok: i1) {
  %eq = arith.cmpi eq, %a, %b : index
  cf.assert %eq, "node 'a': sizes differ"
  cf.assert %ok, "node 'b': index out of range"
  cf.assert %ok, "node 'a': sizes differ"
  return
}
