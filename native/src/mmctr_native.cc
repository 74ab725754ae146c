// mmctr native kernels: hot TensorFlow.js CPU kernels through OpenBLAS and a small thread fan-out.
//
// Plain N-API (node_api.h), no npm package. Every function works on typed arrays the caller owns (views of the
// tfjs `wasm` heap or the `cpu` backend's arrays): nothing here allocates tensor memory, so a caller can allocate
// its outputs first and then pass views. Shapes, strides and broadcasting are resolved in TypeScript
// (src/engine/native.ts); this file only loops. Sizes are element counts.
#include <node_api.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int g_threads = 1;

// ---------------------------------------------------------------------------------------------------------------
// Thread fan-out. A call splits [0, n) into at most g_threads chunks of at least `grain` items; the calling thread
// takes the first chunk, pool threads the others. The pool's threads live for the process (started on first use,
// detached, parked on a condition variable): spawning threads per call cost ~55 µs per kernel on the 2-core
// machine — a few percent of a training step of ~700 kernels. Chunks depend only on n, grain and g_threads, so
// results do not depend on which thread ran what. Called from the JS thread only (one fan-out at a time).
class Pool {
 public:
  /** Runs f(0) … f(tasks − 1): f(0) on the calling thread, the others on pool threads; returns when all are done. */
  void run(int tasks, const std::function<void(int)>& f) {
    if (tasks <= 1) {
      f(0);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      while (static_cast<int>(started_) < tasks - 1) {
        const int id = static_cast<int>(++started_);
        std::thread([this, id] { work(id); }).detach();
      }
      task_ = &f;
      tasks_ = tasks;
      pending_ = tasks - 1;
      gen_++;
    }
    wake_.notify_all();
    f(0);
    std::unique_lock<std::mutex> lk(mu_);
    done_.wait(lk, [this] { return pending_ == 0; });
    task_ = nullptr;
  }

 private:
  void work(int id) {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      seen = gen_;  // a thread started for this round joins it below
      if (task_ != nullptr && id < tasks_) seen = gen_ - 1;
    }
    for (;;) {
      std::unique_lock<std::mutex> lk(mu_);
      wake_.wait(lk, [&] { return gen_ != seen; });
      seen = gen_;
      if (id >= tasks_) continue;
      const std::function<void(int)>* f = task_;
      lk.unlock();
      (*f)(id);
      lk.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  int pending_ = 0;
  uint64_t gen_ = 0;
  unsigned started_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: its detached threads may outlive static destruction
  return *p;
}

template <class F>
void parallelFor(int64_t n, int64_t grain, F f) {
  if (n <= 0) return;
  int64_t t = std::min<int64_t>(g_threads, std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
  if (t <= 1) {
    f(int64_t{0}, n);
    return;
  }
  const int64_t chunk = (n + t - 1) / t;
  const std::function<void(int)> task = [&](int i) {
    const int64_t lo = i * chunk;
    const int64_t hi = std::min(n, lo + chunk);
    if (lo < hi) f(lo, hi);
  };
  pool().run(static_cast<int>(t), task);
}

// Elements per thread before splitting element-wise work: below ~128K elements (≲ 0.1 ms) waking a second thread
// costs more than it saves.
constexpr int64_t kElemGrain = 1 << 17;

// ---------------------------------------------------------------------------------------------------------------
// N-API helpers. On a wrong argument they throw a JS TypeError and return false.
struct Arr {
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type = napi_float32_array;
};

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

bool getArr(napi_env env, napi_value v, Arr* out, const char* what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) {
    napi_throw_type_error(env, nullptr, (std::string(what) + ": expected a typed array").c_str());
    return false;
  }
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &offset);
  return true;
}

bool getF32(napi_env env, napi_value v, float** p, size_t* len, const char* what) {
  Arr a;
  if (!getArr(env, v, &a, what)) return false;
  if (a.type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, (std::string(what) + ": expected a Float32Array").c_str());
    return false;
  }
  *p = static_cast<float*>(a.data);
  *len = a.length;
  return true;
}

/** Optional Float32Array: null/undefined gives nullptr. */
bool getF32Opt(napi_env env, napi_value v, float** p, size_t* len, const char* what) {
  if (isNullish(env, v)) {
    *p = nullptr;
    *len = 0;
    return true;
  }
  return getF32(env, v, p, len, what);
}

/** A 32-bit element array (Float32Array, Int32Array, Uint32Array) as raw words: gathers copy dtypes blindly. */
bool getWords(napi_env env, napi_value v, uint32_t** p, size_t* len, const char* what) {
  Arr a;
  if (!getArr(env, v, &a, what)) return false;
  if (a.type != napi_float32_array && a.type != napi_int32_array && a.type != napi_uint32_array) {
    napi_throw_type_error(env, nullptr, (std::string(what) + ": expected a 32-bit typed array").c_str());
    return false;
  }
  *p = static_cast<uint32_t*>(a.data);
  *len = a.length;
  return true;
}

/** Index arrays may be Int32Array or Float32Array (the cpu backend can hold int ids as floats after a cast). */
struct Ids {
  const int32_t* i32 = nullptr;
  const float* f32 = nullptr;
  size_t length = 0;
  int64_t operator[](size_t j) const {
    if (i32) return i32[j];
    const float f = f32[j];
    return f >= 0 && f < 9.0e18f ? static_cast<int64_t>(f) : -1;
  }
};

bool getIds(napi_env env, napi_value v, Ids* ids, const char* what) {
  Arr a;
  if (!getArr(env, v, &a, what)) return false;
  if (a.type == napi_int32_array) {
    ids->i32 = static_cast<const int32_t*>(a.data);
  } else if (a.type == napi_float32_array) {
    ids->f32 = static_cast<const float*>(a.data);
  } else {
    napi_throw_type_error(env, nullptr, (std::string(what) + ": expected Int32Array or Float32Array").c_str());
    return false;
  }
  ids->length = a.length;
  return true;
}

int64_t getInt(napi_env env, napi_value v) {
  int64_t x = 0;
  napi_get_value_int64(env, v, &x);
  return x;
}

double getNum(napi_env env, napi_value v) {
  double x = 0;
  napi_get_value_double(env, v, &x);
  return x;
}

bool getBool(napi_env env, napi_value v) {
  bool x = false;
  napi_get_value_bool(env, v, &x);
  return x;
}

/** Reads up to `max` arguments; missing ones are undefined. */
std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t max) {
  std::vector<napi_value> a(max);
  size_t n = max;
  napi_get_cb_info(env, info, &n, a.data(), nullptr, nullptr);
  napi_value undef;
  napi_get_undefined(env, &undef);
  for (size_t i = n; i < max; i++) a[i] = undef;
  return a;
}

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value boolValue(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

bool fail(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, nullptr, msg.c_str());
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Activations, with the codes of src/engine/native.ts (tfjs `Activation`).
enum Act : int { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kLeakyRelu = 4, kPrelu = 5, kSigmoid = 6 };

inline float activate(int act, float x, float alpha) {
  switch (act) {
    case kRelu: return x > 0.f ? x : 0.f;
    case kRelu6: return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
    case kElu: return x >= 0.f ? x : std::expm1(x);
    case kLeakyRelu:
    case kPrelu: return x < 0.f ? alpha * x : x;
    case kSigmoid: return 1.f / (1.f + std::exp(-x));
    default: return x;
  }
}

/** Broadcast modes of a bias or PReLU weight over a [batch, m, n] output. kPrefilled (bias only): c already holds
 *  the broadcast bias (any tfjs broadcast, written by the caller), so the product accumulates onto it. */
enum Bcast : int { kNone = 0, kScalar = 1, kPerColumn = 2, kPerMatrix = 3, kFull = 4, kPrefilled = 5 };

inline float bcastAt(const float* w, int mode, int64_t b, int64_t i, int64_t j, int64_t m, int64_t n) {
  switch (mode) {
    case kScalar: return w[0];
    case kPerColumn: return w[j];
    case kPerMatrix: return w[i * n + j];
    case kFull: return w[(b * m + i) * n + j];
    default: return 0.f;
  }
}

// gemm(a, b, c, m, n, k, transA, transB, batch, aIdx, bIdx, bias, biasMode, act, alpha, prelu, preluMode)
//   c[bt] = act(op(a[aIdx[bt]]) · op(b[bIdx[bt]]) + bias), row-major; op(a) is [m, k], op(b) is [k, n].
//   aIdx/bIdx (Int32Array, length batch) say which stored matrix each output batch reads (tfjs batch
//   broadcasting); null means matrix 0 for every batch. biasMode kPrefilled with a null bias: c holds the bias.
napi_value Gemm(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 17);
  float *A, *B, *C, *bias, *prelu;
  size_t lenA, lenB, lenC, lenBias, lenPrelu;
  if (!getF32(env, a[0], &A, &lenA, "gemm a") || !getF32(env, a[1], &B, &lenB, "gemm b") ||
      !getF32(env, a[2], &C, &lenC, "gemm c"))
    return nullptr;
  const int64_t m = getInt(env, a[3]), n = getInt(env, a[4]), k = getInt(env, a[5]);
  const bool ta = getBool(env, a[6]), tb = getBool(env, a[7]);
  const int64_t batch = getInt(env, a[8]);
  Ids aIdx, bIdx;
  const bool hasAIdx = !isNullish(env, a[9]), hasBIdx = !isNullish(env, a[10]);
  if (hasAIdx && !getIds(env, a[9], &aIdx, "gemm aIdx")) return nullptr;
  if (hasBIdx && !getIds(env, a[10], &bIdx, "gemm bIdx")) return nullptr;
  if (!getF32Opt(env, a[11], &bias, &lenBias, "gemm bias")) return nullptr;
  const int biasMode = bias ? static_cast<int>(getInt(env, a[12])) : (getInt(env, a[12]) == kPrefilled ? kPrefilled : kNone);
  const int act = static_cast<int>(getInt(env, a[13]));
  const float alpha = static_cast<float>(getNum(env, a[14]));
  if (!getF32Opt(env, a[15], &prelu, &lenPrelu, "gemm prelu")) return nullptr;
  const int preluMode = prelu ? static_cast<int>(getInt(env, a[16])) : kNone;

  if (m < 0 || n < 0 || k < 0 || batch < 1) return fail(env, "gemm: bad sizes"), nullptr;
  const int64_t mk = m * k, kn = k * n, mn = m * n;
  if (static_cast<int64_t>(lenC) < batch * mn) return fail(env, "gemm: c too small"), nullptr;
  if ((hasAIdx && static_cast<int64_t>(aIdx.length) < batch) || (hasBIdx && static_cast<int64_t>(bIdx.length) < batch))
    return fail(env, "gemm: index array shorter than batch"), nullptr;
  for (int64_t bt = 0; bt < batch; bt++) {
    const int64_t ia = hasAIdx ? aIdx[bt] : 0, ib = hasBIdx ? bIdx[bt] : 0;
    if (ia < 0 || (ia + 1) * mk > static_cast<int64_t>(lenA) || ib < 0 || (ib + 1) * kn > static_cast<int64_t>(lenB))
      return fail(env, "gemm: operand index out of range"), nullptr;
  }
  auto needLen = [&](int mode) -> int64_t {
    switch (mode) {
      case kScalar: return 1;
      case kPerColumn: return n;
      case kPerMatrix: return mn;
      case kFull: return batch * mn;
      default: return 0;
    }
  };
  if (static_cast<int64_t>(lenBias) < needLen(biasMode) || static_cast<int64_t>(lenPrelu) < needLen(preluMode))
    return fail(env, "gemm: bias or prelu weights too small"), nullptr;
  if (mn == 0) return undefinedValue(env);

  const CBLAS_TRANSPOSE opA = ta ? CblasTrans : CblasNoTrans, opB = tb ? CblasTrans : CblasNoTrans;
  const int lda = static_cast<int>(ta ? m : k), ldb = static_cast<int>(tb ? k : n), ldc = static_cast<int>(n);

  // Bias first (C = bias, then C += A·B with beta 1): no extra pass over C.
  auto prefill = [&](int64_t bt, float* c) {
    if (biasMode == kPrefilled) return;
    if (biasMode == kNone) {
      if (k == 0) std::memset(c, 0, sizeof(float) * mn);
      return;
    }
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) c[i * n + j] = bcastAt(bias, biasMode, bt, i, j, m, n);
  };
  const float beta = biasMode == kNone ? 0.f : 1.f;
  auto one = [&](int64_t bt) {
    float* c = C + bt * mn;
    prefill(bt, c);
    if (k == 0) return;
    const float* pa = A + (hasAIdx ? aIdx[bt] : 0) * mk;
    const float* pb = B + (hasBIdx ? bIdx[bt] : 0) * kn;
    cblas_sgemm(CblasRowMajor, opA, opB, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.f, pa,
                lda, pb, ldb, beta, c, ldc);
  };
  // Many small products: split the batch over our threads (OpenBLAS runs products under ~2^18 multiply-adds on
  // the calling thread). Large products: one at a time, OpenBLAS threads each.
  if (batch > 1 && mn * k < (1 << 18)) {
    parallelFor(batch, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, mn * k)),
                [&](int64_t lo, int64_t hi) {
                  for (int64_t bt = lo; bt < hi; bt++) one(bt);
                });
  } else {
    for (int64_t bt = 0; bt < batch; bt++) one(bt);
  }

  if (act != kLinear) {
    const int64_t total = batch * mn;
    parallelFor(total, kElemGrain, [&](int64_t lo, int64_t hi) {
      if (act == kPrelu) {
        for (int64_t e = lo; e < hi; e++) {
          const int64_t bt = e / mn, r = e % mn;
          C[e] = activate(kPrelu, C[e], bcastAt(prelu, preluMode, bt, r / n, r % n, m, n));
        }
      } else if (act == kRelu) {
        for (int64_t e = lo; e < hi; e++) C[e] = C[e] > 0.f ? C[e] : 0.f;
      } else {
        for (int64_t e = lo; e < hi; e++) C[e] = activate(act, C[e], alpha);
      }
    });
  }
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
// gatherRows(table, ids, out, numRows, inner) → true, or false (out untouched past the first bad id) when an id is
// outside [0, numRows): the caller then falls back to the tfjs kernel and its error. 32-bit elements of any dtype.
napi_value GatherRows(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 5);
  uint32_t *table, *out;
  size_t lenT, lenO;
  Ids ids;
  if (!getWords(env, a[0], &table, &lenT, "gatherRows table") || !getIds(env, a[1], &ids, "gatherRows ids") ||
      !getWords(env, a[2], &out, &lenO, "gatherRows out"))
    return nullptr;
  const int64_t numRows = getInt(env, a[3]), inner = getInt(env, a[4]);
  const int64_t numIds = static_cast<int64_t>(ids.length);
  if (numRows * inner > static_cast<int64_t>(lenT) || numIds * inner > static_cast<int64_t>(lenO))
    return fail(env, "gatherRows: sizes exceed the arrays"), nullptr;
  for (int64_t i = 0; i < numIds; i++) {
    const int64_t s = ids[i];
    if (s < 0 || s >= numRows) return boolValue(env, false);
  }
  parallelFor(numIds, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) std::memcpy(out + i * inner, table + ids[i] * inner, sizeof(uint32_t) * inner);
  });
  return boolValue(env, true);
}

// scatterAdd(x, ids, out, numSegments, inner): out = 0, then out[ids[i]] += x[i] (rows of `inner`); ids outside
// [0, numSegments) are dropped (tfjs `UnsortedSegmentSum`). Threads own disjoint ranges of segments, so there are
// no races and the summation order per row is the sequential one.
napi_value ScatterAdd(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 5);
  float *x, *out;
  size_t lenX, lenO;
  Ids ids;
  if (!getF32(env, a[0], &x, &lenX, "scatterAdd x") || !getIds(env, a[1], &ids, "scatterAdd ids") ||
      !getF32(env, a[2], &out, &lenO, "scatterAdd out"))
    return nullptr;
  const int64_t numSeg = getInt(env, a[3]), inner = getInt(env, a[4]);
  const int64_t numIds = static_cast<int64_t>(ids.length);
  if (numIds * inner > static_cast<int64_t>(lenX) || numSeg * inner > static_cast<int64_t>(lenO))
    return fail(env, "scatterAdd: sizes exceed the arrays"), nullptr;
  const int64_t work = numIds * inner + numSeg * inner;
  const int64_t parts = work >= 4 * kElemGrain && numSeg >= 2 ? g_threads : 1;
  parallelFor(parts, 1, [&](int64_t plo, int64_t phi) {
    for (int64_t p = plo; p < phi; p++) {
      const int64_t sLo = numSeg * p / parts, sHi = numSeg * (p + 1) / parts;
      std::memset(out + sLo * inner, 0, sizeof(float) * (sHi - sLo) * inner);
      for (int64_t i = 0; i < numIds; i++) {
        const int64_t s = ids[i];
        if (s < sLo || s >= sHi) continue;
        float* dst = out + s * inner;
        const float* src = x + i * inner;
        for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
      }
    }
  });
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise binary ops with broadcasting. The caller collapses shapes: dims (rank r ≥ 1) and per-operand strides
// (0 on broadcast axes; the last stride is 0 or 1).
// kReluGrad(dy, x) = dy · step(x), NaN where x is NaN: tfjs's Relu gradient mul(dy, cast(step(x))) in one pass.
enum BinOp : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kMax = 4, kMin = 5, kSqDiff = 6, kReluGrad = 7 };

template <int OP>
inline float bin(float x, float y) {
  if constexpr (OP == kAdd) return x + y;
  if constexpr (OP == kSub) return x - y;
  if constexpr (OP == kMul) return x * y;
  if constexpr (OP == kDiv) return x / y;
  if constexpr (OP == kMax) return (x > y || std::isnan(x)) ? x : y;
  if constexpr (OP == kMin) return (x < y || std::isnan(x)) ? x : y;
  if constexpr (OP == kSqDiff) return (x - y) * (x - y);
  if constexpr (OP == kReluGrad) return x * (y > 0.f ? 1.f : (std::isnan(y) ? y : 0.f));
  return 0.f;
}

template <int OP>
void binaryRow(const float* x, int64_t sx, const float* y, int64_t sy, float* o, int64_t len) {
  if (sx == 1 && sy == 1) {
    for (int64_t j = 0; j < len; j++) o[j] = bin<OP>(x[j], y[j]);
  } else if (sx == 1) {
    const float v = y[0];
    for (int64_t j = 0; j < len; j++) o[j] = bin<OP>(x[j], v);
  } else if (sy == 1) {
    const float v = x[0];
    for (int64_t j = 0; j < len; j++) o[j] = bin<OP>(v, y[j]);
  } else {
    const float v = bin<OP>(x[0], y[0]);
    for (int64_t j = 0; j < len; j++) o[j] = v;
  }
}

template <int OP>
void binaryNd(const float* x, const float* y, float* o, const std::vector<int64_t>& dims,
              const std::vector<int64_t>& sx, const std::vector<int64_t>& sy) {
  const int r = static_cast<int>(dims.size());
  const int64_t inner = dims[r - 1];
  const int64_t ix = sx[r - 1], iy = sy[r - 1];
  int64_t rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= dims[d];
  // Offsets of row `row` in x and y.
  auto rowOffsets = [&](int64_t row, int64_t* ox, int64_t* oy) {
    *ox = 0;
    *oy = 0;
    for (int d = r - 2; d >= 0; d--) {
      const int64_t i = row % dims[d];
      row /= dims[d];
      *ox += i * sx[d];
      *oy += i * sy[d];
    }
  };
  if (rows < 4 * g_threads) {
    // Few long rows (e.g. a flat [N] op): split each row across threads.
    for (int64_t row = 0; row < rows; row++) {
      int64_t ox, oy;
      rowOffsets(row, &ox, &oy);
      parallelFor(inner, kElemGrain, [&](int64_t lo, int64_t hi) {
        binaryRow<OP>(x + ox + lo * ix, ix, y + oy + lo * iy, iy, o + row * inner + lo, hi - lo);
      });
    }
    return;
  }
  parallelFor(rows, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> idx(std::max(r - 1, 1), 0);
    int64_t ox, oy, rem = lo;
    rowOffsets(lo, &ox, &oy);
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % dims[d];
      rem /= dims[d];
    }
    for (int64_t row = lo; row < hi; row++) {
      binaryRow<OP>(x + ox, ix, y + oy, iy, o + row * inner, inner);
      for (int d = r - 2; d >= 0; d--) {
        ox += sx[d];
        oy += sy[d];
        if (++idx[d] < dims[d]) break;
        ox -= sx[d] * dims[d];
        oy -= sy[d] * dims[d];
        idx[d] = 0;
      }
    }
  });
}

bool getI64Vec(napi_env env, napi_value v, std::vector<int64_t>* out, const char* what) {
  Arr a;
  if (!getArr(env, v, &a, what)) return false;
  if (a.type != napi_int32_array) return napi_throw_type_error(env, nullptr, what), false;
  const int32_t* p = static_cast<const int32_t*>(a.data);
  out->assign(p, p + a.length);
  return true;
}

// binary(op, x, y, out, dims, xStrides, yStrides)
napi_value Binary(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 7);
  const int op = static_cast<int>(getInt(env, a[0]));
  float *x, *y, *o;
  size_t lx, ly, lo;
  std::vector<int64_t> dims, sx, sy;
  if (!getF32(env, a[1], &x, &lx, "binary x") || !getF32(env, a[2], &y, &ly, "binary y") ||
      !getF32(env, a[3], &o, &lo, "binary out") || !getI64Vec(env, a[4], &dims, "binary dims") ||
      !getI64Vec(env, a[5], &sx, "binary xStrides") || !getI64Vec(env, a[6], &sy, "binary yStrides"))
    return nullptr;
  const size_t r = dims.size();
  if (r == 0 || sx.size() != r || sy.size() != r) return fail(env, "binary: rank mismatch"), nullptr;
  int64_t total = 1, maxX = 0, maxY = 0;
  for (size_t d = 0; d < r; d++) {
    total *= dims[d];
    if (dims[d] > 0) {
      maxX += (dims[d] - 1) * sx[d];
      maxY += (dims[d] - 1) * sy[d];
    }
  }
  if (total == 0) return undefinedValue(env);
  if (static_cast<int64_t>(lo) < total || maxX >= static_cast<int64_t>(lx) || maxY >= static_cast<int64_t>(ly) ||
      (sx[r - 1] != 0 && sx[r - 1] != 1) || (sy[r - 1] != 0 && sy[r - 1] != 1))
    return fail(env, "binary: shapes exceed the arrays"), nullptr;
  switch (op) {
    case kAdd: binaryNd<kAdd>(x, y, o, dims, sx, sy); break;
    case kSub: binaryNd<kSub>(x, y, o, dims, sx, sy); break;
    case kMul: binaryNd<kMul>(x, y, o, dims, sx, sy); break;
    case kDiv: binaryNd<kDiv>(x, y, o, dims, sx, sy); break;
    case kMax: binaryNd<kMax>(x, y, o, dims, sx, sy); break;
    case kMin: binaryNd<kMin>(x, y, o, dims, sx, sy); break;
    case kSqDiff: binaryNd<kSqDiff>(x, y, o, dims, sx, sy); break;
    case kReluGrad: binaryNd<kReluGrad>(x, y, o, dims, sx, sy); break;
    default: return fail(env, "binary: unknown op"), nullptr;
  }
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise unary ops: unary(op, x, out, alpha).
enum UnOp : int {
  kURelu = 0, kUStep = 1, kUSigmoid = 2, kUExp = 3, kULog = 4, kUNeg = 5, kUSqrt = 6, kURsqrt = 7, kUSquare = 8,
  kUAbs = 9, kUIdentity = 10, kUTanh = 11, kURelu6 = 12, kULog1p = 13, kUReciprocal = 14
};

template <int OP>
void unaryLoop(const float* x, float* o, int64_t n, float alpha) {
  parallelFor(n, kElemGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      const float v = x[i];
      float r;
      if constexpr (OP == kURelu) r = v > 0.f ? v : (std::isnan(v) ? v : 0.f);
      else if constexpr (OP == kUStep) r = std::isnan(v) ? v : (v > 0.f ? 1.f : alpha);
      else if constexpr (OP == kUSigmoid) r = 1.f / (1.f + std::exp(-v));
      else if constexpr (OP == kUExp) r = std::exp(v);
      else if constexpr (OP == kULog) r = std::log(v);
      else if constexpr (OP == kUNeg) r = -v;
      else if constexpr (OP == kUSqrt) r = std::sqrt(v);
      else if constexpr (OP == kURsqrt) r = 1.f / std::sqrt(v);
      else if constexpr (OP == kUSquare) r = v * v;
      else if constexpr (OP == kUAbs) r = std::fabs(v);
      else if constexpr (OP == kUTanh) r = std::tanh(v);
      else if constexpr (OP == kURelu6) r = v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
      else if constexpr (OP == kULog1p) r = std::log1p(v);
      else if constexpr (OP == kUReciprocal) r = 1.f / v;
      else r = v;
      o[i] = r;
    }
  });
}

napi_value Unary(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 4);
  const int op = static_cast<int>(getInt(env, a[0]));
  float *x, *o;
  size_t lx, lo;
  if (!getF32(env, a[1], &x, &lx, "unary x") || !getF32(env, a[2], &o, &lo, "unary out")) return nullptr;
  const float alpha = static_cast<float>(getNum(env, a[3]));
  if (lo < lx) return fail(env, "unary: out shorter than x"), nullptr;
  const int64_t n = static_cast<int64_t>(lx);
  switch (op) {
    case kURelu: unaryLoop<kURelu>(x, o, n, alpha); break;
    case kUStep: unaryLoop<kUStep>(x, o, n, alpha); break;
    case kUSigmoid: unaryLoop<kUSigmoid>(x, o, n, alpha); break;
    case kUExp: unaryLoop<kUExp>(x, o, n, alpha); break;
    case kULog: unaryLoop<kULog>(x, o, n, alpha); break;
    case kUNeg: unaryLoop<kUNeg>(x, o, n, alpha); break;
    case kUSqrt: unaryLoop<kUSqrt>(x, o, n, alpha); break;
    case kURsqrt: unaryLoop<kURsqrt>(x, o, n, alpha); break;
    case kUSquare: unaryLoop<kUSquare>(x, o, n, alpha); break;
    case kUAbs: unaryLoop<kUAbs>(x, o, n, alpha); break;
    case kUIdentity: unaryLoop<kUIdentity>(x, o, n, alpha); break;
    case kUTanh: unaryLoop<kUTanh>(x, o, n, alpha); break;
    case kURelu6: unaryLoop<kURelu6>(x, o, n, alpha); break;
    case kULog1p: unaryLoop<kULog1p>(x, o, n, alpha); break;
    case kUReciprocal: unaryLoop<kUReciprocal>(x, o, n, alpha); break;
    default: return fail(env, "unary: unknown op"), nullptr;
  }
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
// reduceSum(x, out, outer, red, inner, scale): out[o, i] = scale · Σ_r x[o, r, i]. Accumulates in double so long
// reductions (a bias gradient sums 65,536 rows) stay within float32 rounding of the exact sum.
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 6);
  float *x, *o;
  size_t lx, lo;
  if (!getF32(env, a[0], &x, &lx, "reduceSum x") || !getF32(env, a[1], &o, &lo, "reduceSum out")) return nullptr;
  const int64_t outer = getInt(env, a[2]), red = getInt(env, a[3]), inner = getInt(env, a[4]);
  const double scale = getNum(env, a[5]);
  if (outer * red * inner > static_cast<int64_t>(lx) || outer * inner > static_cast<int64_t>(lo))
    return fail(env, "reduceSum: sizes exceed the arrays"), nullptr;
  if (inner == 1) {
    parallelFor(outer, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(red, 1)), [&](int64_t lo2, int64_t hi) {
      for (int64_t i = lo2; i < hi; i++) {
        const float* p = x + i * red;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t r = 0;
        for (; r + 4 <= red; r += 4) {
          s0 += p[r];
          s1 += p[r + 1];
          s2 += p[r + 2];
          s3 += p[r + 3];
        }
        for (; r < red; r++) s0 += p[r];
        o[i] = static_cast<float>((s0 + s1 + s2 + s3) * scale);
      }
    });
    return undefinedValue(env);
  }
  // inner > 1: each thread owns columns [lo, hi) of one or more outer slices; rows are streamed.
  const int64_t cols = outer * inner;
  parallelFor(cols, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(red, 1)), [&](int64_t lo2, int64_t hi) {
    std::vector<double> acc;
    int64_t c = lo2;
    while (c < hi) {
      const int64_t ob = c / inner, i0 = c % inner;
      const int64_t i1 = std::min(inner, i0 + (hi - c));
      const int64_t w = i1 - i0;
      acc.assign(static_cast<size_t>(w), 0.0);
      const float* base = x + ob * red * inner + i0;
      for (int64_t r = 0; r < red; r++) {
        const float* row = base + r * inner;
        for (int64_t j = 0; j < w; j++) acc[j] += row[j];
      }
      float* dst = o + ob * inner + i0;
      for (int64_t j = 0; j < w; j++) dst[j] = static_cast<float>(acc[j] * scale);
      c += w;
    }
  });
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
// copyRows(src, srcOffset, srcStride, dst, dstOffset, dstStride, rows, cols): strided 2-D block copy of 32-bit
// words — the building block of Concat, Slice, SplitV, Tile and Identity.
napi_value CopyRows(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 8);
  uint32_t *src, *dst;
  size_t ls, ld;
  if (!getWords(env, a[0], &src, &ls, "copyRows src") || !getWords(env, a[3], &dst, &ld, "copyRows dst"))
    return nullptr;
  const int64_t so = getInt(env, a[1]), ss = getInt(env, a[2]), dof = getInt(env, a[4]), ds = getInt(env, a[5]);
  const int64_t rows = getInt(env, a[6]), cols = getInt(env, a[7]);
  if (rows <= 0 || cols <= 0) return undefinedValue(env);
  if (so < 0 || dof < 0 || so + (rows - 1) * ss + cols > static_cast<int64_t>(ls) ||
      dof + (rows - 1) * ds + cols > static_cast<int64_t>(ld))
    return fail(env, "copyRows: block exceeds the arrays"), nullptr;
  if (ss == cols && ds == cols) {
    parallelFor(rows * cols, kElemGrain * 4, [&](int64_t lo, int64_t hi) {
      std::memcpy(dst + dof + lo, src + so + lo, sizeof(uint32_t) * (hi - lo));
    });
    return undefinedValue(env);
  }
  parallelFor(rows, std::max<int64_t>(1, kElemGrain * 4 / cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) std::memcpy(dst + dof + r * ds, src + so + r * ss, sizeof(uint32_t) * cols);
  });
  return undefinedValue(env);
}

// transpose2d(src, dst, batch, rows, cols): dst[b] = src[b]ᵀ for [batch, rows, cols] 32-bit words, in 32×32 tiles.
napi_value Transpose2d(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 5);
  uint32_t *src, *dst;
  size_t ls, ld;
  if (!getWords(env, a[0], &src, &ls, "transpose2d src") || !getWords(env, a[1], &dst, &ld, "transpose2d dst"))
    return nullptr;
  const int64_t batch = getInt(env, a[2]), rows = getInt(env, a[3]), cols = getInt(env, a[4]);
  const int64_t mat = rows * cols;
  if (batch * mat > static_cast<int64_t>(ls) || batch * mat > static_cast<int64_t>(ld))
    return fail(env, "transpose2d: sizes exceed the arrays"), nullptr;
  constexpr int64_t T = 32;
  const int64_t tilesR = (rows + T - 1) / T;
  parallelFor(batch * tilesR, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(T * cols, 1)),
              [&](int64_t lo, int64_t hi) {
                for (int64_t t = lo; t < hi; t++) {
                  const int64_t b = t / tilesR, r0 = (t % tilesR) * T, r1 = std::min(rows, r0 + T);
                  const uint32_t* s = src + b * mat;
                  uint32_t* d = dst + b * mat;
                  for (int64_t c0 = 0; c0 < cols; c0 += T) {
                    const int64_t c1 = std::min(cols, c0 + T);
                    for (int64_t r = r0; r < r1; r++)
                      for (int64_t c = c0; c < c1; c++) d[c * rows + r] = s[r * cols + c];
                  }
                }
              });
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
// dropout(x, out, rate, seed): out[i] = x[i] / keep where element i is kept, else 0 (keep = 1 − rate, float32).
// The keep decision is a hash of (seed, i) — the same as src/engine/kernels/dropout.ts, bit for bit:
//   k1 = fmix32(seed ^ 0x9e3779b9), k2 = fmix32(k1 ^ 0x85ebca6b), h(i) = fmix32(fmix32(i·0x9e3779b1 + k1) ^ k2),
//   kept when h(i) < floor(keep · 2^32). A pure function of (seed, i): the same on any number of threads.
inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

napi_value Dropout(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 4);
  float *x, *o;
  size_t lx, lo;
  if (!getF32(env, a[0], &x, &lx, "dropout x") || !getF32(env, a[1], &o, &lo, "dropout out")) return nullptr;
  const double rate = getNum(env, a[2]);
  const uint32_t seed = static_cast<uint32_t>(getInt(env, a[3]));
  if (lo < lx) return fail(env, "dropout: out shorter than x"), nullptr;
  if (!(rate >= 0 && rate < 1)) return fail(env, "dropout: rate outside [0, 1)"), nullptr;
  if (lx > 0xffffffffull) return fail(env, "dropout: more than 2^32 elements"), nullptr;
  const uint32_t k1 = fmix32(seed ^ 0x9e3779b9u), k2 = fmix32(k1 ^ 0x85ebca6bu);
  const uint64_t threshold = static_cast<uint64_t>(std::floor((1.0 - rate) * 4294967296.0));
  const bool keepAll = threshold > 0xffffffffull;  // rate 0
  const uint32_t th = keepAll ? 0xffffffffu : static_cast<uint32_t>(threshold);
  const float keep = static_cast<float>(1.0 - rate);
  parallelFor(static_cast<int64_t>(lx), kElemGrain, [&](int64_t lo2, int64_t hi) {
    // 32-bit counter and compare: the loop vectorises (AVX-512: 16 hashes per instruction).
    const uint32_t a = static_cast<uint32_t>(lo2), b = static_cast<uint32_t>(hi);
    const float* xs = x;
    float* os = o;
    for (uint32_t i = a; i < b; i++) {
      const uint32_t h = fmix32(fmix32(i * 0x9e3779b1u + k1) ^ k2);
      const float y = xs[i] / keep;
      os[i] = (keepAll || h < th) ? y : 0.f;
    }
  });
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
// Adam, the arithmetic of src/train/adam.ts's `typed` path exactly (doubles per element, float32 storage; the
// build turns off FMA contraction so that a·b + c rounds as in JS).
//
// sumSquares(g, w, lam, acc) → acc + Σ_k (g[k] + lam·w[k])², or acc + Σ g[k]² when lam is 0. Summed as the JS
// loop sums: per block of kSumBlock elements sequentially from 0, then the block sums into acc in order — so the
// blocks can run on any number of threads and the global norm is the same double.
constexpr int64_t kSumBlock = 4096;  // = SUM_BLOCK in src/train/adam.ts

napi_value SumSquares(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 4);
  float *g, *w;
  size_t lg, lw;
  if (!getF32(env, a[0], &g, &lg, "sumSquares g") || !getF32(env, a[1], &w, &lw, "sumSquares w")) return nullptr;
  const double lam = getNum(env, a[2]);
  double sq = getNum(env, a[3]);
  if (lw < lg) return fail(env, "sumSquares: w shorter than g"), nullptr;
  const int64_t n = static_cast<int64_t>(lg);
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> part(static_cast<size_t>(blocks));
  parallelFor(blocks, std::max<int64_t>(1, kElemGrain / kSumBlock), [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; b++) {
      const int64_t k0 = b * kSumBlock, k1 = std::min(n, k0 + kSumBlock);
      double s = 0;
      if (lam > 0) {
        for (int64_t k = k0; k < k1; k++) {
          const double x = static_cast<double>(g[k]) + lam * static_cast<double>(w[k]);
          s += x * x;
        }
      } else {
        for (int64_t k = k0; k < k1; k++) s += static_cast<double>(g[k]) * static_cast<double>(g[k]);
      }
      part[static_cast<size_t>(b)] = s;
    }
  });
  for (const double s : part) sq += s;
  napi_value v;
  napi_create_double(env, sq, &v);
  return v;
}

// adamUpdate(w, g, m, v, out, lam, scale, beta1, beta2, stepSize, sqrtBc2, eps): m and v updated in place, out the
// new weights:
//   x = (g + lam·w)·scale, m = β1·m + (1−β1)·x, v = β2·v + (1−β2)·x·x, out = w − stepSize·m / (√v / sqrtBc2 + eps)
// with m and v stored as float32 but used unrounded in the same element's update (as the JS assignment value is).
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 12);
  float *w, *g, *m, *v, *o;
  size_t lw, lg, lm, lv, lo;
  if (!getF32(env, a[0], &w, &lw, "adamUpdate w") || !getF32(env, a[1], &g, &lg, "adamUpdate g") ||
      !getF32(env, a[2], &m, &lm, "adamUpdate m") || !getF32(env, a[3], &v, &lv, "adamUpdate v") ||
      !getF32(env, a[4], &o, &lo, "adamUpdate out"))
    return nullptr;
  const double lam = getNum(env, a[5]), scale = getNum(env, a[6]), beta1 = getNum(env, a[7]),
               beta2 = getNum(env, a[8]), stepSize = getNum(env, a[9]), sqrtBc2 = getNum(env, a[10]),
               eps = getNum(env, a[11]);
  if (lg < lw || lm < lw || lv < lw || lo < lw) return fail(env, "adamUpdate: arrays of different lengths"), nullptr;
  const double c1 = 1 - beta1, c2 = 1 - beta2;
  parallelFor(static_cast<int64_t>(lw), kElemGrain, [&](int64_t lo2, int64_t hi) {
    for (int64_t k = lo2; k < hi; k++) {
      const double wk = w[k];
      const double x = (static_cast<double>(g[k]) + lam * wk) * scale;
      const double mk = beta1 * static_cast<double>(m[k]) + c1 * x;
      const double vk = beta2 * static_cast<double>(v[k]) + c2 * x * x;
      m[k] = static_cast<float>(mk);
      v[k] = static_cast<float>(vk);
      o[k] = static_cast<float>(wk - (stepSize * mk) / (std::sqrt(vk) / sqrtBc2 + eps));
    }
  });
  return undefinedValue(env);
}

// ---------------------------------------------------------------------------------------------------------------
napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  auto a = args(env, info, 1);
  const int64_t n = getInt(env, a[0]);
  g_threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n, 256)));
  openblas_set_num_threads(g_threads);
  return undefinedValue(env);
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, g_threads, &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_int32(env, openblas_get_num_threads(), &v);
  napi_set_named_property(env, obj, "blasThreads", v);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "blasConfig", v);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "blasCore", v);
  napi_create_int32(env, openblas_get_parallel(), &v);
  napi_set_named_property(env, obj, "blasParallel", v);
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  const unsigned hw = std::thread::hardware_concurrency();
  g_threads = static_cast<int>(hw == 0 ? 1 : hw);
  openblas_set_num_threads(g_threads);
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gatherRows", nullptr, GatherRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"scatterAdd", nullptr, ScatterAdd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRows", nullptr, CopyRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose2d", nullptr, Transpose2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dropout", nullptr, Dropout, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumSquares", nullptr, SumSquares, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamUpdate", nullptr, AdamUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setNumThreads", nullptr, SetNumThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
