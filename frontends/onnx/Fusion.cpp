//===- Fusion.cpp - raising exporter decompositions into qt ops -----------===//
//
// Exporters write RMSNorm, GELU, SiLU and attention as chains of primitive
// nodes. Before nodes are imported, these patterns are matched on the ONNX
// graph and each match is imported as one qt op, so later passes see one op
// per concept. A match needs every intermediate value to have exactly one
// consumer and not be a graph output; when the operand types turn out not to
// fit at import time, the matched nodes are imported one by one instead.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/Fusion.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>

#include <cmath>

using namespace qtc::onnx;

namespace {

class Matcher {
public:
  Matcher(const ::onnx::GraphProto &graph,
          llvm::function_ref<std::optional<double>(llvm::StringRef)> scalar)
      : graph(graph), scalar(scalar) {
    for (auto [i, n] : llvm::enumerate(graph.node()))
      for (const std::string &o : n.output())
        producer[o] = i;
    for (const ::onnx::NodeProto &n : graph.node())
      for (const std::string &in : n.input())
        ++uses[in];
    for (const ::onnx::ValueInfoProto &o : graph.output())
      uses[o.name()] += 2; // never an intermediate
  }

  std::vector<Fusion> run() {
    std::vector<Fusion> out;
    llvm::DenseSet<size_t> claimed;
    for (size_t i = 0, e = graph.node_size(); i < e; ++i) {
      std::optional<Fusion> f;
      const ::onnx::NodeProto &n = graph.node(i);
      if (n.op_type() == "MatMul")
        f = attention(i);
      else if (n.op_type() == "Mul") {
        f = rmsNorm(i);
        if (!f)
          f = gelu(i);
        if (!f)
          f = silu(i);
      }
      if (!f)
        continue;
      bool overlaps = llvm::any_of(f->nodes, [&](size_t k) {
        return claimed.contains(k);
      });
      if (overlaps)
        continue;
      claimed.insert(f->nodes.begin(), f->nodes.end());
      llvm::sort(f->nodes);
      out.push_back(std::move(*f));
    }
    return out;
  }

private:
  const ::onnx::GraphProto &graph;
  llvm::function_ref<std::optional<double>(llvm::StringRef)> scalar;
  llvm::StringMap<size_t> producer;
  llvm::StringMap<int> uses;

  /// The node producing `value` if it has type `op` and `value` has one use.
  const ::onnx::NodeProto *single(llvm::StringRef value, llvm::StringRef op,
                                  size_t *index) {
    auto it = producer.find(value);
    if (it == producer.end() || uses.lookup(value) != 1)
      return nullptr;
    const ::onnx::NodeProto &n = graph.node(it->second);
    if (n.op_type() != op || !n.domain().empty())
      return nullptr;
    *index = it->second;
    return &n;
  }
  bool isScalar(llvm::StringRef value, double want, double tol = 1e-6) {
    std::optional<double> v = scalar(value);
    return v && std::abs(*v - want) <= tol * std::max(1.0, std::abs(want));
  }
  /// Skips Casts to FLOAT (exporters' dtype round trips in fp32 models).
  llvm::StringRef skipCast(llvm::StringRef value, std::vector<size_t> &nodes) {
    size_t k;
    while (const ::onnx::NodeProto *c = single(value, "Cast", &k)) {
      bool toFloat = false;
      for (const auto &a : c->attribute())
        toFloat |= a.name() == "to" && a.i() == 1;
      if (!toFloat)
        break;
      nodes.push_back(k);
      value = c->input(0);
    }
    return value;
  }

  /// weight * (x * 1 / sqrt(mean(x^2, -1) + eps)), any order of factors.
  std::optional<Fusion> rmsNorm(size_t root) {
    const ::onnx::NodeProto &mul = graph.node(root);
    for (int w = 0; w < 2; ++w) {
      std::vector<size_t> nodes = {root};
      llvm::StringRef weight = mul.input(w);
      llvm::StringRef normed = skipCast(mul.input(1 - w), nodes);
      size_t k;
      const ::onnx::NodeProto *inner = single(normed, "Mul", &k);
      if (!inner)
        continue;
      nodes.push_back(k);
      for (int xi = 0; xi < 2; ++xi) {
        std::vector<size_t> n2 = nodes;
        llvm::StringRef x = inner->input(xi);
        llvm::StringRef r = inner->input(1 - xi);
        size_t kr;
        llvm::StringRef sq;
        if (const ::onnx::NodeProto *div = single(r, "Div", &kr)) {
          if (!isScalar(div->input(0), 1.0))
            continue;
          sq = div->input(1);
        } else if (const ::onnx::NodeProto *rec = single(r, "Reciprocal", &kr)) {
          sq = rec->input(0);
        } else {
          continue;
        }
        n2.push_back(kr);
        size_t ks, ka, km, kp;
        const ::onnx::NodeProto *sqrt = single(sq, "Sqrt", &ks);
        if (!sqrt)
          continue;
        const ::onnx::NodeProto *add = single(sqrt->input(0), "Add", &ka);
        if (!add)
          continue;
        int meanSide = -1;
        for (int s = 0; s < 2 && meanSide < 0; ++s)
          if (producer.count(add->input(s)) &&
              graph.node(producer[add->input(s)]).op_type() == "ReduceMean")
            meanSide = s;
        if (meanSide < 0)
          continue;
        std::optional<double> eps = scalar(add->input(1 - meanSide));
        const ::onnx::NodeProto *mean =
            single(add->input(meanSide), "ReduceMean", &km);
        if (!eps || !mean)
          continue;
        const ::onnx::NodeProto *pow = single(mean->input(0), "Pow", &kp);
        if (!pow || !isScalar(pow->input(1), 2.0) || pow->input(0) != x)
          continue;
        // Mean over the last axis only, keeping it.
        bool keep = true, lastAxis = false;
        for (const auto &a : mean->attribute()) {
          if (a.name() == "keepdims")
            keep = a.i() != 0;
          if (a.name() == "axes")
            lastAxis = a.ints_size() == 1 && a.ints(0) == -1;
        }
        if (mean->input_size() > 1)
          lastAxis = isScalar(mean->input(1), -1.0);
        if (!keep || !lastAxis)
          continue;
        n2.insert(n2.end(), {ks, ka, km, kp});
        Fusion f;
        f.kind = Fusion::RmsNorm;
        f.root = root;
        f.nodes = n2;
        f.inputs = {x.str(), weight.str()};
        f.epsilon = *eps;
        return f;
      }
    }
    return std::nullopt;
  }

  /// Factors of a product of single-use Mul nodes under `root`.
  void factors(llvm::StringRef value, std::vector<std::string> &out,
               std::vector<size_t> &nodes, bool isRoot, size_t rootIndex) {
    size_t k;
    const ::onnx::NodeProto *m =
        isRoot ? &graph.node(rootIndex) : single(value, "Mul", &k);
    if (!m) {
      out.push_back(value.str());
      return;
    }
    if (!isRoot)
      nodes.push_back(k);
    factors(m->input(0), out, nodes, false, 0);
    factors(m->input(1), out, nodes, false, 0);
  }

  /// 0.5 * x * (1 + erf(x / sqrt(2))), or the tanh form
  /// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).
  std::optional<Fusion> gelu(size_t root) {
    std::vector<std::string> fs;
    std::vector<size_t> nodes = {root};
    factors("", fs, nodes, true, root);
    if (fs.size() != 3)
      return std::nullopt;
    int half = -1;
    for (int i = 0; i < 3; ++i)
      if (isScalar(fs[i], 0.5))
        half = i;
    if (half < 0)
      return std::nullopt;
    for (int xi = 0; xi < 3; ++xi) {
      if (xi == half)
        continue;
      int ai = 3 - half - xi;
      const std::string &x = fs[xi];
      size_t ka, kf;
      const ::onnx::NodeProto *add = single(fs[ai], "Add", &ka);
      if (!add)
        continue;
      for (int s = 0; s < 2; ++s) {
        if (!isScalar(add->input(1 - s), 1.0))
          continue;
        std::vector<size_t> n2 = nodes;
        n2.push_back(ka);
        if (const ::onnx::NodeProto *erf = single(add->input(s), "Erf", &kf)) {
          size_t kd;
          const ::onnx::NodeProto *d = single(erf->input(0), "Div", &kd);
          bool ok = d && d->input(0) == x && isScalar(d->input(1), M_SQRT2, 1e-4);
          if (!ok) {
            d = single(erf->input(0), "Mul", &kd);
            ok = d && ((d->input(0) == x && isScalar(d->input(1), M_SQRT1_2, 1e-4)) ||
                       (d->input(1) == x && isScalar(d->input(0), M_SQRT1_2, 1e-4)));
          }
          if (!ok)
            continue;
          n2.insert(n2.end(), {kf, kd});
          Fusion f;
          f.kind = Fusion::Gelu;
          f.root = root;
          f.nodes = n2;
          f.inputs = {x};
          return f;
        }
        if (const ::onnx::NodeProto *th = single(add->input(s), "Tanh", &kf)) {
          // tanh(c1 * (x + c2 * x^3))
          std::vector<std::string> inner;
          std::vector<size_t> n3 = n2;
          n3.push_back(kf);
          size_t km;
          const ::onnx::NodeProto *m1 = single(th->input(0), "Mul", &km);
          if (!m1)
            continue;
          n3.push_back(km);
          int ci = isScalar(m1->input(0), 0.7978845608, 1e-4) ? 0
                   : isScalar(m1->input(1), 0.7978845608, 1e-4) ? 1 : -1;
          if (ci < 0)
            continue;
          size_t ka2, km2, kp;
          const ::onnx::NodeProto *a2 = single(m1->input(1 - ci), "Add", &ka2);
          if (!a2)
            continue;
          int xs = a2->input(0) == x ? 0 : (a2->input(1) == x ? 1 : -1);
          if (xs < 0)
            continue;
          const ::onnx::NodeProto *m2 = single(a2->input(1 - xs), "Mul", &km2);
          if (!m2)
            continue;
          int c2 = isScalar(m2->input(0), 0.044715, 1e-3) ? 0
                   : isScalar(m2->input(1), 0.044715, 1e-3) ? 1 : -1;
          if (c2 < 0)
            continue;
          const ::onnx::NodeProto *p = single(m2->input(1 - c2), "Pow", &kp);
          if (!p || p->input(0) != x || !isScalar(p->input(1), 3.0))
            continue;
          n3.insert(n3.end(), {ka2, km2, kp});
          Fusion f;
          f.kind = Fusion::GeluTanh;
          f.root = root;
          f.nodes = n3;
          f.inputs = {x};
          return f;
        }
      }
    }
    return std::nullopt;
  }

  /// x * sigmoid(x)
  std::optional<Fusion> silu(size_t root) {
    const ::onnx::NodeProto &mul = graph.node(root);
    for (int s = 0; s < 2; ++s) {
      size_t k;
      const ::onnx::NodeProto *sig = single(mul.input(s), "Sigmoid", &k);
      if (sig && sig->input(0) == mul.input(1 - s)) {
        Fusion f;
        f.kind = Fusion::Silu;
        f.root = root;
        f.nodes = {root, k};
        f.inputs = {mul.input(1 - s)};
        return f;
      }
    }
    return std::nullopt;
  }

  /// softmax(Q . KT * c + mask) . V, rooted at the second MatMul.
  std::optional<Fusion> attention(size_t root) {
    const ::onnx::NodeProto &mm2 = graph.node(root);
    std::vector<size_t> nodes = {root};
    llvm::StringRef probs = skipCast(mm2.input(0), nodes);
    size_t k;
    const ::onnx::NodeProto *sm = single(probs, "Softmax", &k);
    if (!sm)
      return std::nullopt;
    for (const auto &a : sm->attribute())
      if (a.name() == "axis" && a.i() != -1 && a.i() != 3)
        return std::nullopt;
    nodes.push_back(k);
    llvm::StringRef scores = sm->input(0);
    std::string mask;
    size_t ka;
    if (const ::onnx::NodeProto *add = single(scores, "Add", &ka)) {
      // Which side holds the scaled scores: the one produced by Mul/Div/MatMul.
      int side = -1;
      for (int s = 0; s < 2 && side < 0; ++s) {
        auto it = producer.find(add->input(s));
        if (it == producer.end() || uses.lookup(add->input(s)) != 1)
          continue;
        llvm::StringRef op = graph.node(it->second).op_type();
        if (op == "Mul" || op == "Div" || op == "MatMul")
          side = s;
      }
      if (side < 0)
        return std::nullopt;
      nodes.push_back(ka);
      mask = add->input(1 - side);
      scores = add->input(side);
    }
    double scale = 1.0;
    size_t ks;
    if (const ::onnx::NodeProto *m = single(scores, "Mul", &ks)) {
      int c = scalar(m->input(1)) ? 1 : (scalar(m->input(0)) ? 0 : -1);
      if (c < 0)
        return std::nullopt;
      scale = *scalar(m->input(c));
      scores = m->input(1 - c);
      nodes.push_back(ks);
    } else if (const ::onnx::NodeProto *d = single(scores, "Div", &ks)) {
      std::optional<double> c = scalar(d->input(1));
      if (!c || *c == 0)
        return std::nullopt;
      scale = 1.0 / *c;
      scores = d->input(0);
      nodes.push_back(ks);
    }
    size_t km;
    const ::onnx::NodeProto *mm1 = single(scores, "MatMul", &km);
    if (!mm1 || !(scale > 0))
      return std::nullopt;
    nodes.push_back(km);
    Fusion f;
    f.kind = Fusion::Attention;
    f.root = root;
    f.nodes = nodes;
    f.inputs = {mm1->input(0), mm1->input(1), mm2.input(1), mask};
    f.scale = scale;
    return f;
  }
};

} // namespace

std::vector<Fusion> qtc::onnx::findFusions(
    const ::onnx::GraphProto &graph,
    llvm::function_ref<std::optional<double>(llvm::StringRef)> scalar) {
  return Matcher(graph, scalar).run();
}
