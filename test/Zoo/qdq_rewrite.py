"""Writes a model in QDQ form, as static quantization tools (ONNX Runtime's
quantize_static with symmetric activations, TensorRT's) write it: for each
MatMul whose B is a 2-D f32 initializer, B becomes int8 codes (symmetric,
scale max|column| / 127 per column) read through DequantizeLinear (axis 1),
and A is read through QuantizeLinear -> DequantizeLinear with one scale
(SCALE, default 2^-4; values past 127 steps saturate, in ONNX Runtime as
in quantc) and zero point int8 0 -- or uint8 128 with --uint8, or Z with
--zero Z (asymmetric activations, as quantize_static writes them by
default). --weight-zero Z gives the weights zero points too (Z on even
columns, -Z on odd ones; codes halved, scales doubled, so they stay in
int8 for |Z| < 64).
  qdq_rewrite.py IN OUT [--scale S] [--uint8] [--zero Z] [--weight-zero Z]
Prints the number of MatMuls rewritten. rewrite_weight_matmuls is also
bench/w8a8_models.py's (the dynamic-quantization form)."""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper


def rewrite_weight_matmuls(model, replace):
    """Replaces each MatMul of `model` whose B is a 2-D f32 initializer by
    replace(node, codes, scales, tag) -> (nodes, initializers), with B as
    int8 codes [k, n] and f32 scales [n] (symmetric per column); drops the
    initializers left unread. Returns the number replaced."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes, count = [], 0
    for n in g.node:
        b = inits.get(n.input[1]) if n.op_type == "MatMul" else None
        w = numpy_helper.to_array(b) if b is not None else None
        if w is None or w.ndim != 2 or w.dtype != np.float32:
            nodes.append(n)
            continue
        count += 1
        s = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0).astype(np.float32)
        q = np.clip(np.rint(w / s), -127, 127).astype(np.int8)
        extra_nodes, extra_inits = replace(n, q, s, "q%d" % count)
        nodes += extra_nodes
        g.initializer.extend(extra_inits)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    return count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--scale", type=float, default=2.0 ** -4)
    p.add_argument("--uint8", action="store_true")
    p.add_argument("--zero", type=int)
    p.add_argument("--weight-zero", type=int)
    a = p.parse_args()
    model = onnx.load(a.src)
    zero = (128 if a.uint8 else 0) if a.zero is None else a.zero
    zero = np.uint8(zero) if a.uint8 else np.int8(zero)
    model.graph.initializer.extend([
        numpy_helper.from_array(np.array(np.float32(a.scale)), "qdq_s"),
        numpy_helper.from_array(np.array(zero), "qdq_z")])

    def qdq(n, q, s, tag):
        w_inputs, w_inits = [tag + "_w", tag + "_ws"], []
        if a.weight_zero is not None:
            z = np.where(np.arange(q.shape[1]) % 2 == 0, a.weight_zero,
                         -a.weight_zero).astype(np.int8)
            q = (np.rint(q / 2.0) + z).astype(np.int8)
            s = (s * 2).astype(np.float32)
            w_inputs.append(tag + "_wz")
            w_inits.append(numpy_helper.from_array(z, tag + "_wz"))
        return [
            helper.make_node("QuantizeLinear", [n.input[0], "qdq_s", "qdq_z"],
                             [tag + "_xq"], name=tag + "/Q"),
            helper.make_node("DequantizeLinear", [tag + "_xq", "qdq_s", "qdq_z"],
                             [tag + "_x"], name=tag + "/DQ"),
            helper.make_node("DequantizeLinear", w_inputs,
                             [tag + "_wd"], name=tag + "/W_DQ", axis=1),
            helper.make_node("MatMul", [tag + "_x", tag + "_wd"], list(n.output),
                             name=n.name)], [
            numpy_helper.from_array(q, tag + "_w"),
            numpy_helper.from_array(s, tag + "_ws")] + w_inits

    count = rewrite_weight_matmuls(model, qdq)
    onnx.save(model, a.out)
    print(count)


if __name__ == "__main__":
    main()
