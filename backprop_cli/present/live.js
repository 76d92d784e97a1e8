// window.backprop: the page's state (the network, its examples) and the script API that edits
// it, recomputed by BackpropEngine (engine.js) on every change. No DOM but the page's JSON.
// Static pages (no engine: too large, or an activation or cost without a JS form) get
// window.backprop = {live: false, why: "…"} with report() and get() of the file's values.
(function () {
  "use strict";
  var original = JSON.parse(document.getElementById("report-data").textContent);
  var settings = document.getElementById("live-settings");
  var live = settings ? JSON.parse(settings.textContent) : {live: false, why: "no live settings"};
  var SYNTAX = "w<layer>.<j>.<k>, b<layer>.<j>, x<example>.<k> or y<example>.<j> (e.g. w2.0.1)";

  function copy(x) { return JSON.parse(JSON.stringify(x)); }

  // The state: network (the document's "network"), examples [{input, target}] (for a page of
  // `report --data`, the data rows).
  function initial() {
    var examples = live.rows ? live.rows : original.examples.map(function (ex) {
      return {input: ex.input, target: ex.target};
    });
    return {network: copy(original.network), examples: copy(examples)};
  }

  var state = initial();
  var doc = original;
  var listeners = [];

  function analyze(s) {
    if (live.rows) {
      return BackpropEngine.analyzeRows(s.network, s.examples, original.version, original.data);
    }
    return BackpropEngine.analyze(s.network, s.examples, original.version);
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function range(name, what, i, n, unit) {
    if (i >= n) {
      throw new Error(name + ": " + what + " " + i + " is out of range; there " +
                      (n === 1 ? "is " : "are ") + plural(n, unit) +
                      (n ? ", numbered 0 to " + (n - 1) : ""));
    }
  }

  // name → {array, index} of the number it names in state s, or an Error that says why not.
  function locate(s, name) {
    var text = String(name);
    var m = /^([wbxy])(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text);
    if (!m || (m[1] === "w") !== (m[4] !== undefined)) {
      throw new Error("unknown name " + JSON.stringify(text) + ": expected " + SYNTAX);
    }
    var first = Number(m[2]), second = Number(m[3]), net = s.network;
    if (m[1] === "x" || m[1] === "y") {
      var rows = live.rows ? "data row" : "example";
      range(text, rows, first, s.examples.length, rows);
      var values = m[1] === "x" ? s.examples[first].input : s.examples[first].target;
      range(text, m[1] === "x" ? "input k =" : "target j =", second, values.length,
            m[1] === "x" ? "input" : "output");
      return {array: values, index: second};
    }
    var L = net.layers.length;
    if (first < 1 || first > L) {
      throw new Error(text + ": layer " + first + " does not exist; the network has layers 1 to " +
                      L + " (layer 0 is the input and has no weights)");
    }
    var layer = net.layers[first - 1];
    range(text, "j =", second, layer.size, "neuron");
    if (m[1] === "b") { return {array: layer.biases, index: second}; }
    var k = Number(m[4]);
    range(text, "k =", k, layer.weights[second].length, "neuron");
    return {array: layer.weights[second], index: k};
  }

  function finite(name, value) {
    if (typeof value !== "number" || !isFinite(value)) {
      throw new Error(name + ": the value must be a finite number, not " +
                      (typeof value === "number" ? String(value) : JSON.stringify(value)));
    }
  }

  function changed() {
    var shown = copy(doc);
    listeners.forEach(function (fn) { fn(shown); });
  }

  // Apply `edit` to a copy of the state; keep it only if the engine can compute the result
  // (an overflow is refused with the engine's message, and nothing changes).
  function commit(edit) {
    var next = copy(state);
    edit(next);
    var nextDoc = analyze(next);
    state = next;
    doc = nextDoc;
    changed();
    return doc;
  }

  function refuse() { throw new Error("this page is static: " + live.why); }

  var api = {
    live: live.live === true,
    why: live.live === true ? "" : live.why,
    report: function () { return copy(doc); },
    get: function (name) {
      var place = locate(state, name);
      return place.array[place.index];
    },
    onchange: function (fn) {
      if (typeof fn !== "function") { throw new Error("onchange: expected a function"); }
      listeners.push(fn);
    }
  };

  if (!api.live) {
    api.set = api.step = api.reset = refuse;
    api.forward = function (input) {
      if (typeof BackpropEngine === "undefined") { refuse(); }
      return BackpropEngine.forward(state.network, input);
    };
    window.backprop = api;
    return;
  }

  api.set = function (name, value) {
    locate(state, name);  // a bad name is refused before the value is looked at
    finite(name, value);
    if (name.charAt(0) === "y" && live.probability_targets && !(value >= 0 && value <= 1)) {
      throw new Error(name + ": " + state.network.cost + " needs targets between 0 and 1 " +
                      "(probabilities), not " + value);
    }
    commit(function (s) { var place = locate(s, name); place.array[place.index] = value; });
  };

  // One step of gradient descent on the full cost C: p ← p − lr·∂C/∂p for every weight and
  // bias, ∂C/∂p the mean over the examples (the document's "gradient").
  api.step = function (lr) {
    finite("step: the learning rate", lr);
    var before = doc.cost, gradient = doc.gradient.layers;
    commit(function (s) {
      s.network.layers.forEach(function (layer, index) {
        var g = gradient[index];
        layer.weights = layer.weights.map(function (row, j) {
          return row.map(function (w, k) { return w - lr * g.dC_dw[j][k]; });
        });
        layer.biases = layer.biases.map(function (b, j) { return b - lr * g.dC_db[j]; });
      });
    });
    return {before: before, after: doc.cost};
  };

  api.reset = function () {
    state = initial();
    doc = analyze(state);
    changed();
  };

  api.forward = function (input) {
    if (!Array.isArray(input) || input.length !== state.network.input_size) {
      throw new Error("forward: expected an array of " + plural(state.network.input_size, "input"));
    }
    input.forEach(function (x, k) { finite("forward: input " + k, x); });
    return BackpropEngine.forward(state.network, input);
  };

  try {
    doc = analyze(state);  // the page's numbers recomputed: what every later change starts from
  } catch (error) {
    doc = original;
    api.live = false;
    api.why = live.why = "the page's engine cannot recompute the report: " + error.message;
    api.set = api.step = api.reset = refuse;
  }
  window.backprop = api;
})();
