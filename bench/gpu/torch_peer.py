#!/usr/bin/env python3
"""The PyTorch side of the GPU benchmark: the same two models as the project's `din` and `dcnDin`, in eager
PyTorch fp32 written the way FuxiCTR (the challenge baseline's framework) writes them, trained for N warm-up + M
timed steps on random data of the same shapes; prints one JSON line in the format of bench/gpu/record.ts.

Shapes come from the project itself: `--spec FILE` takes what `train.mjs --describe` prints (the preset's
resolved args, the item-table vocabularies and widths, the optimiser settings); bench/gpu/run.sh always passes it.
Without it, built-in copies of the dinBaseline / dcnDinBase presets are used (and the record says so).

What is mirrored, per step (src/train/step.ts + src/train/adam.ts):
  - item vector = id embedding ‖ masked mean of the item's tag embeddings ‖ bias-free Linear of the frozen 128-d
    vector; the target and every history position go through the same tables (per position, as FuxiCTR does;
    the tfjs model looks each distinct id up once and gathers, same values);
  - DIN attention: MLP over [t, h, t − h, t ⊙ h] at every position, weights · mask, optional softmax, Σ w·h;
  - DNN with BatchNorm (eps 1e-5, momentum 0.1), ReLU or Dice (BatchNorm1d without affine, eps 1e-9, momentum
    0.01), dropout; DCN-DIN adds a CrossNet (v1 or v2) beside the DNN and a Linear over both;
  - mean BCE on logits; L2 λ·W added to the gradients of the embedding tables (λ = 1e-6, the whole table) and of
    the rest (λ = 0); global-norm clipping (`clip_grad_norm_`, 10); `torch.optim.Adam` (its default
    implementation for the device); dense embedding gradients (`nn.Embedding`, sparse=False), so every row moves;
  - the batch is copied from host tensors to the device every step and the loss is read back every step
    (`loss.item()`), as a FuxiCTR training loop does.
fp32 throughout, TF32 off. Timing: the wall clock over the M timed steps, the device synchronised before start
and after the end; samples/s = batch · M / that time.

  python3 bench/gpu/torch_peer.py --spec spec.json --batch 8192 [--warmup 3] [--steps 10] [--device cuda|cpu]
  flags: --model din|dcnDin  --batch N  --seq-len L (64)  --warmup N (3)  --steps M (10)  --max-seconds S (60)
         --batches K (distinct random batches, 4)  --seed N (7)  --device (cuda when available, else cpu)
"""
import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone

RECORD_KIND = "mmctr-gpubench"

# Copies of the presets and the MicroLens vocabularies, used only without --spec (src/models/din.ts dinBaseline,
# src/models/dcnDin.ts dcnDinBase, src/data/schema.ts MICROLENS_VOCAB / MICROLENS_DIMS, src/train/config.ts).
BUILTIN_CONFIGS = {
    "din": ("dinBaseline", {
        "embeddingDim": 64, "pretrainedDim": 128, "attentionUnits": [512, 256], "attentionActivation": "relu",
        "attentionDropout": 0.1, "useSoftmax": False, "dnnUnits": [1024, 512, 256], "dnnActivation": "relu",
        "batchNorm": True, "dropout": 0.1, "matchHeads": 0}),
    "dcnDin": ("dcnDinBase", {
        "embeddingDim": 64, "pretrainedDim": 128, "attentionUnits": [512, 256], "attentionActivation": "dice",
        "attentionDropout": 0.1, "crossNet": "v1", "crossLayers": 3, "dnnUnits": [1024, 512, 256],
        "dnnActivation": "dice", "batchNorm": True, "dropout": 0.1}),
}
BUILTIN_SHAPES = {"items": 91_718, "tagVocab": 11_740, "tagsPerItem": 5, "storedEmbDim": 128, "levels": 11, "numLevels": 10}
BUILTIN_TRAIN = {"learningRate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "embeddingRegularizer": 1e-6,
                 "netRegularizer": 0.0, "maxGradNorm": 10.0}


def machine_info(gpu=None):
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0.0
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    info = {
        "date": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "memoryGiB": mem,
        "node": "",
        "platform": f"{platform.system().lower()} {platform.release()} {platform.machine()}",
    }
    if gpu:
        info["gpu"] = gpu
    return info


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", help="JSON from `train.mjs --describe` (model, preset, config, vocabularies, optimiser)")
    p.add_argument("--model", default="din", choices=sorted(BUILTIN_CONFIGS))
    p.add_argument("--batch", type=int, default=8192)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--batches", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--device", choices=["cuda", "cpu"], default=None)
    a = p.parse_args()
    if a.batch < 1 or a.seq_len < 1 or a.warmup < 0 or a.steps < 1 or a.batches < 1 or a.max_seconds <= 0:
        p.error("batch, seq-len, steps, batches ≥ 1; warmup ≥ 0; max-seconds > 0")
    return a


def load_spec(a):
    """(model, preset, config, shapes, train, notes) from --spec or the built-in copies."""
    if a.spec:
        with open(a.spec) as f:
            s = json.load(f)
        shapes = {k: s[k] for k in BUILTIN_SHAPES}
        return s["model"], s["preset"], s["config"], shapes, s["train"], []
    preset, config = BUILTIN_CONFIGS[a.model]
    return a.model, preset, dict(config), dict(BUILTIN_SHAPES), dict(BUILTIN_TRAIN), ["built-in shapes (no --spec)"]


def build(torch, nn, model_name, cfg, shapes, tags, vecs):
    """The model as a torch Module, from the project's resolved preset args."""
    emb_dim = cfg["embeddingDim"]
    pre_dim = cfg["pretrainedDim"]

    class Dice(nn.Module):
        """FuxiCTR's Dice: p = sigmoid(BN(x)) (no affine, eps 1e-9, momentum 0.01); p·x + α(1 − p)·x."""

        def __init__(self, units):
            super().__init__()
            self.bn = nn.BatchNorm1d(units, affine=False, eps=1e-9, momentum=0.01)
            self.alpha = nn.Parameter(torch.zeros(units))

        def forward(self, x):
            p = torch.sigmoid(self.bn(x))
            return x * (p + self.alpha * (1 - p))

    def activation(name, units):
        if name == "relu":
            return nn.ReLU()
        if name == "dice":
            return Dice(units)
        if name == "prelu":
            return nn.PReLU(units, init=0.1)
        if name == "sigmoid":
            return nn.Sigmoid()
        if name == "tanh":
            return nn.Tanh()
        if name == "gelu":
            return nn.GELU()
        if name == "linear":
            return nn.Identity()
        raise ValueError(f"activation {name!r} is not mirrored")

    def mlp(input_dim, hidden, act, batch_norm, dropout, output_dim=None):
        layers = []
        for units in hidden:
            layers.append(nn.Linear(input_dim, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(activation(act, units))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            input_dim = units
        if output_dim is not None:
            layers.append(nn.Linear(input_dim, output_dim))
        return nn.Sequential(*layers)

    def embedding(rows):
        e = nn.Embedding(rows, emb_dim, padding_idx=0)
        nn.init.normal_(e.weight, std=1e-4)
        with torch.no_grad():
            e.weight[0].zero_()
        return e

    class ItemEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.id_emb = embedding(shapes["items"])
            self.tag_emb = embedding(shapes["tagVocab"])
            self.proj = nn.Linear(shapes["storedEmbDim"], pre_dim, bias=False)
            self.register_buffer("tags", tags)  # [items, tagsPerItem] int64, frozen
            self.register_buffer("vecs", vecs)  # [items, storedEmbDim] float32, frozen
            self.width = 2 * emb_dim + pre_dim

        def forward(self, ids):  # [...] → [..., width]
            tag_ids = self.tags[ids]  # [..., tagsPerItem]
            tag_mask = (tag_ids > 0).unsqueeze(-1).float()  # [..., tagsPerItem, 1]
            tag_vec = (self.tag_emb(tag_ids) * tag_mask).sum(-2) / tag_mask.sum(-2).clamp(min=1)  # [..., emb]
            return torch.cat([self.id_emb(ids), tag_vec, self.proj(self.vecs[ids])], -1)

    class DinAttention(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.use_softmax = bool(cfg.get("useSoftmax", False))
            self.mlp = mlp(4 * dim, cfg["attentionUnits"], cfg["attentionActivation"], False, cfg["attentionDropout"], 1)

        def forward(self, t, h, mask):  # [b, D], [b, L, D], [b, L] (1 = valid)
            b, length, d = h.shape
            te = t.unsqueeze(1).expand(-1, length, -1)
            x = torch.cat([te, h, te - h, te * h], -1).reshape(-1, 4 * d)  # [b·L, 4D]
            w = self.mlp(x).view(b, length) * mask
            if self.use_softmax:
                w = w.masked_fill(mask == 0, -1e9).softmax(-1) * mask
            return torch.bmm(w.unsqueeze(1), h).squeeze(1)  # [b, D]

    class CrossNet(nn.Module):
        """v1: x ← x + x0·(w·x) + b; v2: x ← x + x0 ⊙ (W x + b)."""

        def __init__(self, dim, layers, version):
            super().__init__()
            self.version = version
            if version == "v1":
                self.w = nn.ModuleList(nn.Linear(dim, 1, bias=False) for _ in range(layers))
                self.b = nn.ParameterList(nn.Parameter(torch.zeros(dim)) for _ in range(layers))
            else:
                self.w = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers))

        def forward(self, x0):
            x = x0
            for i, w in enumerate(self.w):
                x = x + (x0 * w(x) + self.b[i] if self.version == "v1" else x0 * w(x))
            return x

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.items = ItemEncoder()
            self.likes = embedding(shapes["levels"])
            self.views = embedding(shapes["levels"])
            d = self.items.width
            self.attention = DinAttention(d)
            x_dim = 2 * emb_dim + 2 * d
            if model_name == "din":
                if cfg.get("matchHeads", 0):
                    raise ValueError("din with matchHeads > 0 is not mirrored")
                self.dnn = mlp(x_dim, cfg["dnnUnits"], cfg["dnnActivation"], cfg["batchNorm"], cfg["dropout"], 1)
            elif model_name == "dcnDin":
                self.cross = CrossNet(x_dim, cfg["crossLayers"], cfg["crossNet"])
                self.dnn = mlp(x_dim, cfg["dnnUnits"], cfg["dnnActivation"], cfg["batchNorm"], cfg["dropout"])
                self.fc = nn.Linear(x_dim + (cfg["dnnUnits"][-1] if cfg["dnnUnits"] else x_dim), 1)
            else:
                raise ValueError(f"model {model_name!r} is not mirrored")

        def embedding_tables(self):
            return [self.items.id_emb.weight, self.items.tag_emb.weight, self.likes.weight, self.views.weight]

        def forward(self, item_id, likes, views, seq):
            mask = (seq > 0).float()  # [b, L]
            t = self.items(item_id)  # [b, D]
            h = self.items(seq)  # [b, L, D]
            pooled = self.attention(t, h, mask)
            x0 = torch.cat([self.likes(likes), self.views(views), t, pooled], -1)  # [b, 2·emb + 2·D]
            if model_name == "din":
                return self.dnn(x0).squeeze(-1)
            return self.fc(torch.cat([self.cross(x0), self.dnn(x0)], -1)).squeeze(-1)

    model = Model()
    # Xavier normal for every Linear weight (the project's initialiser), zero biases.
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def item_table(np, shapes, seed):
    """1–5 tags per item (left-padded), N(0, 1)-ish vectors; row 0 = padding (zeros)."""
    rng = np.random.default_rng(seed)
    n_items, k = shapes["items"], shapes["tagsPerItem"]
    n = 1 + rng.integers(0, k, n_items)
    tags = np.where(np.arange(k)[None, :] >= (k - n)[:, None], rng.integers(1, shapes["tagVocab"], (n_items, k)), 0)
    tags[0] = 0
    d = shapes["storedEmbDim"]
    vecs = ((rng.random((n_items, d)) + rng.random((n_items, d)) + rng.random((n_items, d)) - 1.5) * 2).astype(np.float32)
    vecs[0] = 0
    return tags.astype(np.int64), vecs


def random_batch(np, shapes, size, length, seed):
    """As bench/gpu/train.ts: valid history items 80 % 3–20, 15 % 21–L, 5 % 0–2; labels 30 % positive."""
    rng = np.random.default_rng(seed)
    u, r = rng.random(size), rng.random(size)
    n = np.where(u < 0.8, np.minimum(length, 3 + np.floor(r * 18)),
                 np.where(u < 0.95, np.minimum(length, 21 + np.floor(r * max(1, length - 20))), np.floor(r * 3))).astype(np.int64)
    valid = np.arange(length)[None, :] >= (length - n)[:, None]
    seq = np.where(valid, rng.integers(1, shapes["items"], (size, length)), 0)
    return (
        rng.integers(1, shapes["items"], size),
        rng.integers(0, shapes["numLevels"], size),
        rng.integers(0, shapes["numLevels"], size),
        seq,
        (rng.random(size) < 0.3).astype(np.float32),
    )


def main():
    a = parse_args()
    model_name, preset, cfg, shapes, train, notes = load_spec(a)
    seq_len = a.seq_len
    base = {"kind": RECORD_KIND, "side": "torch", "model": model_name, "preset": preset, "batch": a.batch, "seqLen": seq_len}
    try:
        import numpy as np
        import torch
        from torch import nn
    except Exception as e:  # noqa: BLE001 — any import failure means no PyTorch side
        emit({**base, "ok": False, "error": f"PyTorch not importable: {e}", "machine": machine_info()})
        return 2
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else None
    if device == "cpu":
        notes.append("no CUDA device: ran on the CPU" if a.device is None else "--device cpu")
        sys.stderr.write("[torch] note: running on the CPU (no CUDA device or --device cpu): not a GPU figure\n")
    # TF32 off for matmuls (PyTorch's default; said explicitly). Torch ≥ 2.9 refuses a mix of the legacy flag
    # (`allow_tf32`) and the new one (`fp32_precision`): set only the one this version has. No convolutions here.
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "ieee"
    else:
        matmul.allow_tf32 = False
    notes += ["fp32, TF32 off", "Adam: torch default implementation", "nn.Embedding dense gradients", "per-position item lookups (FuxiCTR)"]
    record = {**base, "backend": device, "device": gpu or machine_info()["cpu"],
              "runtime": f"torch {torch.__version__}" + (f", CUDA {torch.version.cuda}" if device == "cuda" else ""),
              "machine": machine_info(gpu)}
    try:
        t0 = time.perf_counter()
        torch.manual_seed(a.seed)
        tags, vecs = item_table(np, shapes, 11)
        model = build(torch, nn, model_name, cfg, shapes, torch.from_numpy(tags), torch.from_numpy(vecs)).to(device)
        model.train()
        emb_params = model.embedding_tables()
        emb_ids = {id(p) for p in emb_params}
        net_params = [p for p in model.parameters() if p.requires_grad and id(p) not in emb_ids]
        params = emb_params + net_params
        opt = torch.optim.Adam(params, lr=train["learningRate"], betas=(train["beta1"], train["beta2"]), eps=train["epsilon"])
        l2_emb, l2_net, max_norm = train["embeddingRegularizer"], train["netRegularizer"], train["maxGradNorm"]
        batches = [tuple(torch.from_numpy(x) for x in random_batch(np, shapes, a.batch, seq_len, 1000 + k)) for k in range(a.batches)]
        setup_ms = (time.perf_counter() - t0) * 1000
        n_params = sum(p.numel() for p in params)
        sys.stderr.write(f"[torch] {model_name}/{preset} batch {a.batch} on {gpu or device}: {n_params} parameters, setup {setup_ms:.0f} ms\n")

        losses = []
        step = [0]

        def train_step():
            item_id, likes, views, seq, label = (x.to(device) for x in batches[step[0] % len(batches)])
            logits = model(item_id, likes, views, seq)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, label)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for group, lam in ((emb_params, l2_emb), (net_params, l2_net)):
                    if lam > 0:
                        for p in group:
                            if p.grad is not None:
                                p.grad.add_(p, alpha=lam)
            torch.nn.utils.clip_grad_norm_(params, max_norm)
            opt.step()
            losses.append(loss.item())
            step[0] += 1

        def sync():
            if device == "cuda":
                torch.cuda.synchronize()

        warm_ms = []
        for i in range(a.warmup):
            w0 = time.perf_counter()
            train_step()
            sync()
            warm_ms.append((time.perf_counter() - w0) * 1000)
            sys.stderr.write(f"[torch] warm-up {i + 1}/{a.warmup}: {warm_ms[-1]:.0f} ms\n")
            if sum(warm_ms) / 1000 > a.max_seconds / 2:  # as train.ts: warm-up within half the budget, ≥ 1 step
                break
        sync()
        step_ms = []
        start = time.perf_counter()
        for i in range(a.steps):
            s0 = time.perf_counter()
            train_step()
            step_ms.append((time.perf_counter() - s0) * 1000)
            if i >= 1 and time.perf_counter() - start > a.max_seconds:
                break
        sync()
        total_ms = (time.perf_counter() - start) * 1000
        srt = sorted(step_ms)
        record.update({
            "ok": True,
            "params": n_params,
            "warmup": len(warm_ms),
            "warmupMs": [round(x, 1) for x in warm_ms],
            "setupMs": round(setup_ms),
            "steps": len(step_ms),
            "stepMs": [round(x, 1) for x in step_ms],
            "medianStepMs": round(srt[len(srt) // 2], 1),
            "totalMs": round(total_ms, 1),
            "samplesPerSec": round(a.batch * len(step_ms) * 1000 / total_ms),
            "lossFirst": losses[0],
            "lossLast": losses[-1],
            "notes": notes,
        })
        if device == "cuda":
            record["notes"] = notes + [f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"]
        emit(record)
        return 0
    except Exception as e:  # noqa: BLE001 — report any failure (OOM included) as a record
        import traceback
        traceback.print_exc(file=sys.stderr)
        emit({**record, "ok": False, "error": str(e).split("\n")[0], "notes": notes})
        return 1


if __name__ == "__main__":
    sys.exit(main())
