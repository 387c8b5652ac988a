"""PyTorch fp16 eager peer for the shared LLaMA decoders, with the weights of
the ONNX file (the end-to-end comparison of issue 14).
  python3 torch_llama.py export MODEL.onnx OUT.npz     (here: needs onnx)
  python3 torch_llama.py check OUT.npz IDS.npy LOGITS.npy   (f32 on the CPU
      against quantc's logits for the same ids: relative error <= 1e-4)
  python3 torch_llama.py time OUT.npz PROMPT_TOKENS DECODE_TOKENS
      (on the GPU machine: fp16 on CUDA, greedy decoding with a KV cache;
       prints prefill ms and tokens/s, decode tokens/s)
The graph is read by its node names (/m/blocks.i/{q,k,v,o,gate,up,down}/
MatMul, ln1/ln2/lnf, emb, head; RoPE tables gathered by position_ids), as
the shared models' exporter wrote them; another exporter's names are refused.
"""
import sys
import time

import numpy as np


def export(model, out):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(model)
    g = m.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t)
              for n in g.node if n.op_type == "Constant" and n.attribute[0].type == 4}
    w = {}
    for n in g.node:
        if n.op_type == "MatMul" and n.input[1] in inits:
            parts = n.name.strip("/").split("/")  # m, blocks.i, q, MatMul
            if len(parts) < 3:
                sys.exit(f"unexpected MatMul name {n.name}")
            key = ".".join(parts[1:-1])
            w[key] = inits[n.input[1]]
        if n.op_type == "Gather" and n.input[1] == "position_ids":
            w["rope.%d" % len([k for k in w if k.startswith("rope.")])] = consts[n.input[0]]
    for name, value in inits.items():
        if name.startswith("m.") and name.endswith(".weight"):
            w[name[2:-len(".weight")]] = value
    kv = [i for i in g.input if i.name.startswith("past_key_values.0.key")][0]
    dims = [d.dim_value for d in kv.type.tensor_type.shape.dim]
    w["config"] = np.array([dims[1], dims[3]])  # kv heads, head dim
    np.savez(out, **w)
    print(f"wrote {out}: {len(w)} arrays")


def build(path, device, dtype, matmul=None):
    """The forward; `matmul(name, x, w)` (default x @ w) multiplies each
    layer's input by its weight (name "blocks.i.q" and so on)."""
    import torch
    mm = matmul or (lambda name, x, w: x @ w)
    z = np.load(path)
    t = {k: torch.tensor(z[k]).to(device) for k in z.files}
    kv_heads, head_dim = (int(v) for v in z["config"])
    for k in t:
        if t[k].is_floating_point():
            t[k] = t[k].to(dtype)
    cos, sin = t["rope.0"], t["rope.1"]
    blocks = sorted({int(k.split(".")[1]) for k in t if k.startswith("blocks.")})

    def norm(x, weight):
        xf = x.float()
        return (xf / torch.sqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).to(x.dtype) * weight

    def rotate(x, pos):
        c, s = cos[pos][None, None], sin[pos][None, None]
        half = x.shape[-1] // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * c + rot * s

    def forward(ids, cache):
        b, n = ids.shape
        past = cache[0][0].shape[2] if cache else 0
        pos = torch.arange(past, past + n, device=ids.device)
        x = t["emb"][ids]
        new = []
        for i in blocks:
            p = f"blocks.{i}."
            h = norm(x, t[p + "ln1"])
            q = mm(p + "q", h, t[p + "q"]).view(b, n, -1, head_dim).transpose(1, 2)
            k = mm(p + "k", h, t[p + "k"]).view(b, n, kv_heads, head_dim).transpose(1, 2)
            v = mm(p + "v", h, t[p + "v"]).view(b, n, kv_heads, head_dim).transpose(1, 2)
            q, k = rotate(q, pos), rotate(k, pos)
            if cache:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
            new.append((k, v))
            rep = q.shape[1] // kv_heads
            kr, vr = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            scores = (q @ kr.transpose(-1, -2)).float() / head_dim ** 0.5
            if n > 1:  # causal: query j sees keys up to past + j
                keys = torch.arange(past + n, device=ids.device)
                scores = scores.masked_fill(keys[None, :] > pos[:, None], float("-inf"))
            a = torch.softmax(scores, -1).to(x.dtype) @ vr
            x = x + mm(p + "o", a.transpose(1, 2).reshape(b, n, -1), t[p + "o"])
            h = norm(x, t[p + "ln2"])
            g = mm(p + "gate", h, t[p + "gate"])
            x = x + mm(p + "down", torch.nn.functional.silu(g) * mm(p + "up", h, t[p + "up"]),
                       t[p + "down"])
        return norm(x, t["lnf"]) @ t["head"], new

    return forward


def check(path, ids, logits):
    import torch
    forward = build(path, "cpu", torch.float32)
    with torch.no_grad():
        got, _ = forward(torch.tensor(np.load(ids)), None)
    want = np.load(logits).astype(np.float64)
    err = np.linalg.norm(got.double().numpy() - want) / np.linalg.norm(want)
    print(f"PyTorch f32 logits against quantc's: relative error {err:.2e} "
          f"({'PASS' if err <= 1e-4 else 'FAIL'}, tolerance 1e-4)")
    return 0 if err <= 1e-4 else 1


def timing(path, prompt, decode):
    import torch
    forward = build(path, "cuda", torch.float16)
    ids = torch.randint(0, 256, (1, prompt), device="cuda")
    with torch.no_grad():
        for _ in range(3):  # warm-up
            logits, cache = forward(ids, None)
        torch.cuda.synchronize()
        start = time.perf_counter()
        logits, cache = forward(ids, None)
        token = logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        prefill = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(decode):
            logits, cache = forward(token, cache)
            token = logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        steps = time.perf_counter() - start
    print(f"PyTorch fp16 eager: prefill {prompt} tokens {prefill * 1e3:.1f} ms "
          f"({prompt / prefill:.0f} tokens/s); decode {decode / steps:.1f} tokens/s "
          f"({decode} tokens)")


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:5]))
    else:
        timing(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
