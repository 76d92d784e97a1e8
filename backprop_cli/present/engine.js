// The engine of backprop_cli/engine.py in JavaScript, for the live page: forward, backward,
// the cost, the full-cost gradient and the document of `backprop analyze --format json`.
// Pure functions, no DOM. The activations and costs are not written here: html.py adds them
// from their registry entries (the `js` field in activations.py and costs.py) with
// BackpropEngine.activations[name] = {...} and BackpropEngine.costs[name] = {...}.
//
// Shapes as in engine.py, one example at a time: z, a, dC_da, dC_dz (= δ) are arrays of n_l
// numbers; da_dz is n_l numbers, or for softmax the Jacobian, n_l rows of n_l with
// da_dz[i][j] = ∂a_i/∂z_j; weights[j][k] = w(l)jk. The formulas and their order of operations
// follow the Python engine so that the numbers agree to a few units in the last place (numpy
// sums a row pairwise, as `sum` below does; a matrix product may differ in its last bits).
var BackpropEngine = (function () {
  "use strict";

  var TINY = 2.2250738585072014e-308;    // np.finfo(float64).tiny
  var EPSNEG = 1.1102230246251565e-16;   // np.finfo(float64).epsneg
  var OVERFLOW_ADVICE = "the weights, biases or inputs are too large for the numbers to be " +
    "computed; scale them down";

  // numpy's pairwise summation of a contiguous row (np.sum(x, axis=1), np.sum of a vector),
  // so that sums agree bit for bit with the Python engine's.
  function pairwise(x, start, n) {
    var i, res;
    if (n < 8) {
      res = 0;
      for (i = start; i < start + n; i++) { res += x[i]; }
      return res;
    }
    if (n <= 128) {
      var r = x.slice(start, start + 8);
      for (i = 8; i < n - (n % 8); i += 8) {
        for (var j = 0; j < 8; j++) { r[j] += x[start + i + j]; }
      }
      res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) { res += x[start + i]; }
      return res;
    }
    var half = Math.floor(n / 2);
    half -= half % 8;
    return pairwise(x, start, half) + pairwise(x, start + half, n - half);
  }

  function sum(x) { return pairwise(x, 0, x.length); }

  function max(x) {
    var m = -Infinity;
    for (var i = 0; i < x.length; i++) { if (x[i] > m || x[i] !== x[i]) { m = x[i]; } }
    return m;
  }

  function map2(x, y, f) {
    var out = new Array(x.length);
    for (var i = 0; i < x.length; i++) { out[i] = f(x[i], y[i]); }
    return out;
  }

  function sigmoid(z) {
    // exp(-|z|) never overflows, so z = ±1000 gives exactly 0 or 1.
    var e = Math.exp(-Math.abs(z));
    return z >= 0 ? 1 / (1 + e) : e / (1 + e);
  }

  function logaddexp0(z) {  // ln(1 + e^z) as np.logaddexp(0, z) computes it
    if (z === 0) { return Math.LN2; }
    return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  }

  function clip01(a) {  // a inside [tiny, 1 − epsneg], so that ln a and ln(1 − a) are finite
    return Math.min(Math.max(a, TINY), 1 - EPSNEG);
  }

  function softmax(z) {
    var peak = max(z);
    var e = z.map(function (zj) { return Math.exp(zj - peak); });
    var total = sum(e);
    return e.map(function (ej) { return ej / total; });
  }

  // ln Σ_{k≠j} e^{z_k} for every j (n ≥ 2).
  function logSumExpWithout(z) {
    return z.map(function (_, j) {
      var others = z.map(function (zk, k) { return k === j ? -Infinity : zk; });
      var peak = max(others);
      return peak + Math.log(sum(others.map(function (x) { return Math.exp(x - peak); })));
    });
  }

  // The helpers the registry's JS forms call as M.name.
  var math = {TINY: TINY, EPSNEG: EPSNEG, sum: sum, max: max, map2: map2, sigmoid: sigmoid,
              logaddexp0: logaddexp0, clip01: clip01, softmax: softmax,
              logSumExpWithout: logSumExpWithout};

  var activations = {};  // name → {fn, derivative} on numbers, or on rows for softmax
  var costs = {};        // name → {fn, dC_da, fused: {activation: {cost, delta}}} on rows

  function NumericalError(what, example) {
    var text = what + " overflows float64" +
      (example === null ? "" : " for example " + example) + ": " + OVERFLOW_ADVICE;
    var error = new Error(text);
    error.name = "NumericalError";
    return error;
  }

  function checkFinite(values, what, example) {
    for (var j = 0; j < values.length; j++) {
      if (!isFinite(values[j])) { throw NumericalError(what.replace("{j}", j), example); }
    }
  }

  function activation(name) {
    var sigma = activations[name];
    if (!sigma) { throw new Error("the activation " + name + " has no JavaScript form"); }
    return sigma;
  }

  function costOf(name) {
    var cost = costs[name];
    if (!cost) { throw new Error("the cost " + name + " has no JavaScript form"); }
    return cost;
  }

  // a = σ(z) of one layer: elementwise, or of the whole row (softmax).
  function sigmaFn(sigma, z) {
    return sigma.elementwise === false ? sigma.fn(z) : z.map(sigma.fn);
  }

  function sigmaDerivative(sigma, z, a) {
    return sigma.elementwise === false ? sigma.derivative(z, a) : map2(z, a, sigma.derivative);
  }

  // δ = ∂C/∂z from ∂C/∂a: dC_da · σ'(z), or for softmax
  // δ_j = Σ_i ∂C/∂a_i · a_i(1[i=j] − a_j) = a_j (∂C/∂a_j − Σ_i a_i ∂C/∂a_i).
  function sigmaBackward(sigma, z, a, dC_da) {
    if (sigma.elementwise !== false) {
      var da_dz = map2(z, a, sigma.derivative);
      return map2(dC_da, da_dz, function (g, d) { return g * d; });
    }
    var dot = sum(map2(a, dC_da, function (ai, gi) { return ai * gi; }));
    return map2(a, dC_da, function (aj, gj) { return aj * (gj - dot); });
  }

  // z(l)j = Σ_k w(l)jk a(l−1)k + b(l)j
  function weightedInput(layer, a_prev) {
    return layer.weights.map(function (row, j) {
      var s = 0;
      for (var k = 0; k < row.length; k++) { s += a_prev[k] * row[k]; }
      return s + layer.biases[j];
    });
  }

  // [a(0) = input, a(1), …, a(L)] for one input, and the z(l): inf or NaN are returned, not
  // refused (`refuse` does that for a report; a picture of a diverging network may show them).
  function forwardPass(network, input) {
    var a = input.slice(), zs = [], as = [a];
    network.layers.forEach(function (layer) {
      var z = weightedInput(layer, a);
      a = sigmaFn(activation(layer.activation), z);
      zs.push(z);
      as.push(a);
    });
    return {zs: zs, activations: as};
  }

  function forward(network, input) {
    return forwardPass(network, input).activations;
  }

  // The cost's stable form in z(L) for this output activation, as engine.py picks it.
  function fusedOf(network) {
    var cost = costOf(network.cost);
    var output = network.layers[network.layers.length - 1].activation;
    var fused = cost.fused && cost.fused[output];
    return fused || null;
  }

  // The trace of one example: per layer l (index l − 1) its factors, and C0.
  function backprop(network, input, target) {
    var pass = forwardPass(network, input);
    var zs = pass.zs, as = pass.activations, L = network.layers.length;
    var cost = costOf(network.cost), fused = fusedOf(network);
    var zL = zs[L - 1], aL = as[L];
    var c0 = fused ? fused.cost(zL, target) : cost.fn(aL, target);
    var dC_da = cost.dC_da(aL, target);
    var layers = new Array(L);
    for (var index = L - 1; index >= 0; index--) {
      var layer = network.layers[index], sigma = activation(layer.activation);
      var z = zs[index], a = as[index + 1], a_prev = as[index];
      // The stable form: δ(L) from z(L) directly, not through a possibly infinite ∂C/∂a.
      var dC_dz = (index === L - 1 && fused) ? fused.delta(z, a, target)
        : sigmaBackward(sigma, z, a, dC_da);
      // ∂C0/∂a(l−1)k = Σ_j δ(l)j w(l)jk
      var dC_da_prev = a_prev.map(function (_, k) {
        var s = 0;
        for (var j = 0; j < dC_dz.length; j++) { s += dC_dz[j] * layer.weights[j][k]; }
        return s;
      });
      layers[index] = {z: z, a: a, dC_da: dC_da, da_dz: sigmaDerivative(sigma, z, a),
                       dC_dz: dC_dz, dz_dw: a_prev, dC_da_prev: dC_da_prev};
      dC_da = dC_da_prev;
    }
    return {layers: layers, cost: c0};
  }

  // Throw the Python engine's NumericalError for the first inf or NaN it would meet, in its
  // order (each check over every example): z(l), a(l) for l = 1 … L; C0; then from l = L
  // down, δ(l), ∂C0/∂a(l−1) and the bound max|δ(l)|·max|a(l−1)|·m of every ∂C0/∂w(l)jk.
  function refuse(traces) {
    var L = traces[0].layers.length, m = traces.length;
    function each(l, name, what) {
      traces.forEach(function (t, e) { checkFinite(t.layers[l - 1][name], what, e); });
    }
    for (var l = 1; l <= L; l++) {
      each(l, "z", "the forward pass: z(" + l + "){j}");
      each(l, "a", "the forward pass: a(" + l + "){j}");
    }
    traces.forEach(function (t, e) {
      if (!isFinite(t.cost)) { throw NumericalError("the cost C0", e); }
    });
    for (l = L; l >= 1; l--) {
      each(l, "dC_dz", "the backward pass: ∂C0/∂z(" + l + "){j}");
      each(l, "dC_da_prev", "the backward pass: ∂C0/∂a(" + (l - 1) + "){j}");
      var delta = 0, input = 0;
      traces.forEach(function (t) {
        t.layers[l - 1].dC_dz.forEach(function (d) { delta = Math.max(delta, Math.abs(d)); });
        t.layers[l - 1].dz_dw.forEach(function (x) { input = Math.max(input, Math.abs(x)); });
      });
      if (!isFinite(delta * input * Math.max(1, m))) {
        throw NumericalError("the gradient ∂C/∂w(" + l + ")", null);
      }
    }
  }

  // The traces of every example, or the Python engine's NumericalError.
  function traced(network, examples) {
    if (!examples.length) { throw new Error("the network has no examples to analyze"); }
    var traces = examples.map(function (ex) { return backprop(network, ex.input, ex.target); });
    refuse(traces);
    return traces;
  }

  // ∂C0/∂w(l)jk = δ(l)j · a(l−1)k
  function dC_dw(t) {
    return t.dC_dz.map(function (d) { return t.dz_dw.map(function (x) { return d * x; }); });
  }

  // C, the mean of C0 over the examples (as engine.mean_cost: C0/m summed if the sum overflows).
  function meanCost(c0) {
    var m = c0.length, mean = sum(c0) / m;
    if (!isFinite(mean) && c0.every(isFinite)) {
      mean = sum(c0.map(function (c) { return c / m; }));
    }
    return mean;
  }

  // The gradient of C: ∂C/∂w(l)jk = (1/m) Σ_e δ(l)j a(l−1)k, ∂C/∂b(l)j = mean of δ(l)j
  // (numpy adds the examples in order).
  function meanGradient(network, traces) {
    var m = traces.length;
    return network.layers.map(function (layer, index) {
      var of = traces.map(function (t) { return t.layers[index]; });
      var w = of[0].dC_dz.map(function (_, j) {
        return of[0].dz_dw.map(function (_, k) {
          var s = 0;
          for (var e = 0; e < m; e++) { s += of[e].dC_dz[j] * of[e].dz_dw[k]; }
          return s / m;
        });
      });
      var b = of[0].dC_dz.map(function (_, j) {
        var s = of[0].dC_dz[j];
        for (var e = 1; e < m; e++) { s += of[e].dC_dz[j]; }
        return s / m;
      });
      return {dC_dw: w, dC_db: b};
    });
  }

  // JSON has no inf or NaN: they become null, as in analyze --format json.
  function json(x) {
    if (Array.isArray(x)) { return x.map(json); }
    return (typeof x === "number" && !isFinite(x)) ? null : x;
  }

  function networkDict(network) {
    return {
      name: network.name,
      input_size: network.input_size,
      sizes: network.sizes.slice(),
      cost: network.cost,
      layers: network.layers.map(function (layer, index) {
        return {layer: index + 1, size: layer.size, activation: layer.activation,
                weights: json(layer.weights), biases: json(layer.biases)};
      })
    };
  }

  function layerDict(network, t, index, dC_dw_of) {
    return {layer: index + 1, activation: network.layers[index].activation,
            z: json(t.z), a: json(t.a), dC_da: json(t.dC_da), da_dz: json(t.da_dz),
            dC_dz: json(t.dC_dz), dz_dw: json(t.dz_dw), dC_dw: json(dC_dw_of),
            dC_db: json(t.dC_dz), dC_da_prev: json(t.dC_da_prev)};
  }

  // The document of `backprop analyze --format json` for `network` (the document's "network"
  // object) and examples [{input: [...], target: [...]}]; `version`: its schema version.
  function analyze(network, examples, version) {
    var traces = traced(network, examples);
    var gradient = meanGradient(network, traces);
    return {
      version: version === undefined ? 1 : version,
      network: networkDict(network),
      cost: meanCost(traces.map(function (t) { return t.cost; })),
      examples: traces.map(function (trace, e) {
        var L = trace.layers.length;
        return {
          index: e,
          input: json(examples[e].input),
          target: json(examples[e].target),
          output: json(trace.layers[L - 1].a),
          cost: trace.cost,
          layers: trace.layers.map(function (t, index) {
            return layerDict(network, t, index, dC_dw(t));
          })
        };
      }),
      gradient: {layers: gradient.map(function (g, index) {
        return {layer: index + 1, dC_dw: json(g.dC_dw), dC_db: json(g.dC_db)};
      })}
    };
  }

  // Running means as engine.Accumulator keeps them for one chunk: Σ rows / n, element by element.
  function meanOver(rows) {
    var n = rows.length;
    function fold(values) {
      if (!Array.isArray(values[0])) {
        var s = values[0];
        for (var i = 1; i < n; i++) { s += values[i]; }
        return s / n;
      }
      return values[0].map(function (_, j) {
        return fold(values.map(function (v) { return v[j]; }));
      });
    }
    return fold(rows);
  }

  // The document of `analyze --data` over these rows (read as one chunk): each factor its mean
  // over the rows, the gradient the mean of δ·a(l−1) per row; `data` is the document's "data".
  function analyzeRows(network, rows, version, data) {
    var traces = traced(network, rows);
    var gradient = meanGradient(network, traces);
    var cost = meanCost(traces.map(function (t) { return t.cost; }));
    var names = ["z", "a", "dC_da", "da_dz", "dC_dz", "dz_dw", "dC_da_prev"];
    var layers = network.layers.map(function (_, index) {
      var t = {};
      names.forEach(function (name) {
        t[name] = meanOver(traces.map(function (tr) { return tr.layers[index][name]; }));
      });
      return layerDict(network, t, index, gradient[index].dC_dw);
    });
    var L = layers.length;
    return {
      version: version === undefined ? 1 : version,
      network: networkDict(network),
      cost: cost,
      examples: [{
        index: "mean",
        input: json(meanOver(rows.map(function (r) { return r.input; }))),
        target: json(meanOver(rows.map(function (r) { return r.target; }))),
        output: layers[L - 1].a,
        cost: cost,
        layers: layers,
        rows: rows.length
      }],
      gradient: {layers: gradient.map(function (g, index) {
        return {layer: index + 1, dC_dw: json(g.dC_dw), dC_db: json(g.dC_db)};
      })},
      data: data
    };
  }

  return {activations: activations, costs: costs, math: math, forward: forward,
          backprop: backprop, analyze: analyze, analyzeRows: analyzeRows};
})();
