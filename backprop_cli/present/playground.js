// The live page: edit any weight, bias, input or target, step gradient descent, and watch the
// diagram, every table, the panel, the cost, the decision surface, the worked derivation
// (MathML) and the tree of the selected parameter follow. Every number comes from
// window.backprop (its report() is the document of `analyze --format json`); no math here
// beyond formatting, scaling and the products the derivation writes out to check its digits.
(function () {
  "use strict";
  // The SVG and MathML namespaces, as the HTML parser gives them (the page names no URL).
  function namespaceOf(tag) {
    var box = document.createElement("div");
    box.innerHTML = "<" + tag + "></" + tag + ">";
    return box.firstChild.namespaceURI;
  }
  var SVGNS = namespaceOf("svg"), MATHNS = namespaceOf("math");
  var SHOWN_DIGITS = 4;   // the derivation's and the tree's digits (the tables keep DIGITS)
  var MAX_TERMS = 6;      // terms of a sum written out, as present/derivation.py
  var MAX_BARS = 24;      // nudges drawn for the selected layer
  var MAX_FANOUT = 8;     // paths drawn in a neuron's tree
  var MAX_EDIT = 16;      // inputs + targets per example edited in the examples table
  var GRID = 40;          // decision surface: GRID × GRID forward passes

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVGNS, tag.slice(4))
      : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (a) { node.setAttribute(a, attrs[a]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // Python's f"{x:.{d}g}", so that a refreshed cell reads as the page's first rendering.
  function pyg(x, d) {
    if (x === null || x === undefined) { return "—"; }
    if (isNaN(x)) { return "nan"; }
    if (!isFinite(x)) { return x > 0 ? "inf" : "-inf"; }
    if (x === 0) { return "0"; }
    var parts = x.toExponential(d - 1).split("e"), exp = Number(parts[1]), text;
    if (exp < -4 || exp >= d) {
      var m = parts[0].indexOf(".") < 0 ? parts[0] : parts[0].replace(/0+$/, "").replace(/\.$/, "");
      text = m + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    } else {
      text = x.toFixed(Math.max(0, d - 1 - exp));
      if (text.indexOf(".") >= 0) { text = text.replace(/0+$/, "").replace(/\.$/, ""); }
    }
    return text === "-0" ? "0" : text;
  }
  function num(x) { return pyg(x, DIGITS); }

  // --- names: w2.0.1, b2.0, a1.0 (a neuron), x0.1 and y0.0 (example 0's input 1, target 0) ---
  function parse(name) {
    var m = /^([wbaxy])(\d+)\.(\d+)(?:\.(\d+))?$/.exec(name);
    if (!m) { return null; }
    return {kind: m[1], l: Number(m[2]), j: Number(m[3]), k: m[4] === undefined ? null : Number(m[4])};
  }
  function layerOf(list, l) {
    for (var i = 0; i < list.length; i++) { if (list[i].layer === l) { return list[i]; } }
    return null;
  }

  var bp, doc, P, sel = null, stepCount = 0, history = [], timer = null, scale = null;
  var stepping = false;  // the next change is a step: its cost is a new point of the curve

  function start() {
    bp = window.backprop;
    if (!bp || !bp.live) {
      var note = $("pg-static");
      note.textContent = "This page is static (the numbers are the file's; nothing can be " +
        "edited): " + (bp ? bp.why : "its script engine did not load") + ".";
      note.hidden = !!document.getElementById("static-note");  // html.py said why already
      return;
    }
    P = window.backpropPanel;
    doc = bp.report();
    $("playground").hidden = false;
    $("pg-controls").hidden = false;
    var svg = document.querySelector("svg.network");
    scale = svg && Number(svg.getAttribute("data-scale"));
    if (!(scale > 0)) { scale = maxAbsShown(doc); }
    buildSelect();
    buildExamples();
    wire();
    bp.onchange(render);
    var L = doc.network.layers.length;
    select("w" + L + ".0.0");
  }

  // --- selection ------------------------------------------------------------------------------
  function symOf(name) {
    var p = parse(name);
    if (!p) { return name; }
    if (p.kind === "w") { return P.sym("w", p.l, P.idx(p.j, p.k)); }
    if (p.kind === "x") { return "x" + p.k + " of example " + p.j; }
    if (p.kind === "y") { return "y" + p.k + " of example " + p.j; }
    return P.sym(p.kind, p.l, p.j);
  }
  function buildSelect() {
    var box = $("pg-select"), net = doc.network;
    function add(group, name) { group.appendChild(el("option", {value: name}, symOf(name))); }
    net.layers.forEach(function (layer) {
      var g = el("optgroup", {label: "layer " + layer.layer});
      layer.weights.forEach(function (row, j) {
        row.forEach(function (_, k) { add(g, "w" + layer.layer + "." + j + "." + k); });
      });
      layer.biases.forEach(function (_, j) { add(g, "b" + layer.layer + "." + j); });
      box.appendChild(g);
    });
    var neurons = el("optgroup", {label: "neurons (∂C₀/∂a)"});
    net.sizes.forEach(function (n, l) {
      for (var j = 0; j < Math.min(n, 64); j++) { add(neurons, "a" + l + "." + j); }
    });
    box.appendChild(neurons);
    var ex = $("pg-example");
    doc.examples.forEach(function (e, i) { ex.appendChild(el("option", {value: String(i)}, String(e.index))); });
    // start on the example the diagram shows (report --example N)
    var svg = document.querySelector("svg.network"), shown = svg && svg.getAttribute("data-example");
    doc.examples.forEach(function (e, i) { if (String(e.index) === shown) { ex.value = String(i); } });
  }
  // The number the slider and field edit for a selection: a neuron a(l)j edits its bias b(l)j
  // (an input a(0)k: the input of the chosen example).
  function editable(name) {
    var p = parse(name);
    if (p.kind !== "a") { return name; }
    return p.l === 0 ? "x" + exampleShown() + "." + p.j : "b" + p.l + "." + p.j;
  }
  function overRows() { return doc.examples.length === 1 && doc.examples[0].index === "mean"; }
  function exampleShown() { return Number($("pg-example").value || 0); }
  function select(name) {
    if (!parse(name)) { return; }
    sel = name;
    $("pg-select").value = name;
    var target = editable(name), v = bp.get(target);
    var r = Math.max(1, Math.ceil(2 * Math.abs(v)));
    var slider = $("pg-slider");
    slider.min = String(-r); slider.max = String(r);
    $("pg-name").textContent = symOf(target);
    slider.setAttribute("aria-label", symOf(target));
    var p = parse(name);
    if (p.kind === "w") { P.select(name); }
    render(bp.report());
  }

  // --- controls -------------------------------------------------------------------------------
  function setValue(name, text) {
    var v = Number(text);
    if (text === "" || !isFinite(v)) { $("pg-error").textContent = symOf(name) + ": not a number (" + text + ")"; return; }
    try { bp.set(name, v); $("pg-error").textContent = ""; } catch (err) { $("pg-error").textContent = String(err.message || err); }
  }
  function lr() {
    var v = Number($("pg-lr").value);
    if (!isFinite(v) || v < 0) { $("pg-error").textContent = "learning rate: a number ≥ 0, e.g. 0.5"; return null; }
    return v;
  }
  function step() {
    var rate = lr();
    if (rate === null) { pause(); return; }
    stepCount += 1;
    stepping = true;
    try {
      var result = bp.step(rate);
    } catch (err) {
      pause(); stepping = false; $("pg-error").textContent = String(err.message || err); return;
    }
    if (!isFinite(result.after)) { pause(); $("pg-error").textContent = "the cost is no longer finite: lower the learning rate and reset"; }
  }
  function play() {
    if (timer !== null) { return; }
    timer = setInterval(step, 80);
    var focused = document.activeElement === $("pg-play");
    $("pg-play").disabled = true; $("pg-pause").disabled = false;
    if (focused) { $("pg-pause").focus(); }  // the keyboard keeps a button to press
  }
  function pause() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    var focused = document.activeElement === $("pg-pause");
    $("pg-play").disabled = false; $("pg-pause").disabled = true;
    if (focused) { $("pg-play").focus(); }
  }
  // The example control also picks the example the diagram's neurons show (its data-example
  // and the legend's "of example N"); a page over --data rows shows their mean, and stays so.
  function showExample() {
    var svg = document.querySelector("svg.network"), ex = doc.examples[exampleShown()];
    if (!svg || !ex || svg.getAttribute("data-example") === "mean") { return; }
    svg.setAttribute("data-example", String(ex.index));
    var legend = svg.querySelectorAll("g.legend text");
    for (var i = 0; i < legend.length; i++) {
      legend[i].textContent = legend[i].textContent.replace(/ of example \d+/, " of example " + ex.index);
    }
    diagram();
  }
  function wire() {
    $("pg-select").addEventListener("change", function (ev) { select(ev.target.value); });
    $("pg-example").addEventListener("change", function () { showExample(); select(sel); });
    $("pg-slider").addEventListener("input", function (ev) { setValue(editable(sel), ev.target.value); });
    $("pg-value").addEventListener("change", function (ev) { setValue(editable(sel), ev.target.value); });
    $("pg-step").addEventListener("click", step);
    $("pg-play").addEventListener("click", play);
    $("pg-pause").addEventListener("click", pause);
    $("pg-reset").addEventListener("click", function () {
      pause(); stepCount = 0; history = []; bp.reset();
    });
    var hits = document.querySelectorAll("svg.network line.hit[data-param]");
    for (var i = 0; i < hits.length; i++) {
      hits[i].addEventListener("click", function (ev) { select(ev.currentTarget.getAttribute("data-param")); });
    }
    var circles = document.querySelectorAll("svg.network circle.neuron");
    for (i = 0; i < circles.length; i++) {
      circles[i].addEventListener("click", function (ev) { select(neuronName(ev.currentTarget)); });
    }
    var rows = document.querySelectorAll("tr[data-param]");
    for (i = 0; i < rows.length; i++) {
      rows[i].addEventListener("click", function (ev) { select(ev.currentTarget.getAttribute("data-param")); });
    }
  }
  function neuronName(c) {
    return c.getAttribute("data-neuron") || "a" + c.getAttribute("data-layer") + "." + c.getAttribute("data-j");
  }

  // The inputs and targets of every example, as number fields.
  function buildExamples() {
    var box = $("pg-examples"), net = doc.network, n0 = net.sizes[0], nL = net.sizes[net.sizes.length - 1];
    box.appendChild(el("h3", {}, "Examples: inputs a⁽⁰⁾ = x and targets y"));
    if (overRows()) {
      box.appendChild(el("p", {"class": "note"}, "The page is the mean over the data rows; the " +
        "script API edits a row: window.backprop.set(\"x0.1\", 0.3) (row 0, input 1)."));
      return;
    }
    if (n0 + nL > MAX_EDIT) {
      box.appendChild(el("p", {"class": "note"}, "Too many inputs to edit here (" + n0 +
        "); the script API edits them: window.backprop.set(\"x0.5\", 0.3)."));
      return;
    }
    var table = el("table", {"class": "examples-edit"}), head = el("tr");
    head.appendChild(el("th", {}, "example"));
    for (var k = 0; k < n0; k++) { head.appendChild(el("th", {}, "x" + k)); }
    for (k = 0; k < nL; k++) { head.appendChild(el("th", {}, "y" + k)); }
    var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
    var body = el("tbody");
    doc.examples.slice(0, 20).forEach(function (ex, e) {
      var tr = el("tr"); tr.appendChild(el("td", {}, String(ex.index)));
      [["x", ex.input], ["y", ex.target]].forEach(function (pair) {
        pair[1].forEach(function (v, k) {
          var name = pair[0] + e + "." + k, td = el("td");
          var input = el("input", {type: "number", step: "any", "data-name": name,
            "aria-label": (pair[0] === "x" ? "input " : "target ") + k + " of example " + ex.index});
          input.value = String(v);
          input.addEventListener("change", function (ev) { setValue(name, ev.target.value); });
          input.addEventListener("focus", function () { $("pg-example").value = String(e); });
          td.appendChild(input); tr.appendChild(td);
        });
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    box.appendChild(table);
  }

  // --- everything redrawn from one document -----------------------------------------------------
  function render(current) {
    doc = current;
    var name = editable(sel), v = bp.get(name);
    var field = $("pg-value");
    if (document.activeElement !== field) { field.value = String(v); }
    var slider = $("pg-slider");
    if (v > Number(slider.max) || v < Number(slider.min)) {
      var r = Math.ceil(2 * Math.abs(v)); slider.min = String(-r); slider.max = String(r);
    }
    if (document.activeElement !== slider) { slider.value = String(v); }
    var inputs = document.querySelectorAll("#pg-examples input[data-name]");
    for (var i = 0; i < inputs.length; i++) {
      if (document.activeElement !== inputs[i]) { inputs[i].value = String(bp.get(inputs[i].getAttribute("data-name"))); }
    }
    // a step adds a point to the cost curve; an edit moves the last one
    if (stepping || !history.length) { history.push(doc.cost); } else { history[history.length - 1] = doc.cost; }
    stepping = false;
    $("pg-steps").textContent = "step " + stepCount;
    $("pg-cost").textContent = "C = " + num(doc.cost);
    diagram();
    tables();
    P.update(doc);
    curve();
    nudges();
    surfaces();
    derivation();
    tree();
  }

  // --- the diagram (contract A: same colours and widths as present/graph.py) --------------------
  function edgeValue(show, p) {
    if (show === "weight") { return layerOf(doc.network.layers, p.l).weights[p.j][p.k]; }
    return layerOf(doc.gradient.layers, p.l).dC_dw[p.j][p.k];
  }
  function maxAbsShown(d) {
    var svg = document.querySelector("svg.network"), show = svg ? svg.getAttribute("data-show") : "gradient";
    var edges = document.querySelectorAll("svg.network line.edge[data-param]"), m = 0;
    doc = d;
    for (var i = 0; i < edges.length; i++) {
      var v = Math.abs(edgeValue(show, parse(edges[i].getAttribute("data-param"))));
      if (isFinite(v) && v > m) { m = v; }
    }
    return m;
  }
  function colour(v) { return v > 0 ? PAGE.positive : v < 0 ? PAGE.negative : PAGE.zero; }
  function width(v) {
    var s = scale > 0 ? Math.min(1, Math.abs(v) / scale) : 0;
    return Math.round((PAGE.minWidth + (PAGE.maxWidth - PAGE.minWidth) * s) * 100) / 100;
  }
  function short(x) { return pyg(x, 3); }  // as the diagram writes numbers (graph.py short)
  function diagram() {
    var svg = document.querySelector("svg.network");
    if (!svg) { return; }
    var show = svg.getAttribute("data-show") || "gradient";
    var edges = svg.querySelectorAll("line.edge[data-param], line.hit[data-param]");
    for (var i = 0; i < edges.length; i++) {
      var e = edges[i], p = parse(e.getAttribute("data-param")), v = edgeValue(show, p);
      var w = layerOf(doc.network.layers, p.l).weights[p.j][p.k];
      var g = layerOf(doc.gradient.layers, p.l).dC_dw[p.j][p.k];
      e.setAttribute("data-value", String(v));
      if (e.getAttribute("class") === "edge" || e.classList.contains("edge")) {
        e.setAttribute("stroke", colour(v));
        e.setAttribute("stroke-width", String(width(v)));
      }
      var title = e.querySelector("title");
      if (title) { title.textContent = P.sym("w", p.l, P.idx(p.j, p.k)) + " = " + short(w) + (show === "gradient" ? "; ∂C/∂w = " + short(g) : ""); }
    }
    var labels = svg.querySelectorAll("text.edge-label[data-param]");
    for (i = 0; i < labels.length; i++) {
      p = parse(labels[i].getAttribute("data-param"));
      var gradient = labels[i].getAttribute("data-kind") !== "weight";
      v = gradient ? layerOf(doc.gradient.layers, p.l).dC_dw[p.j][p.k] : layerOf(doc.network.layers, p.l).weights[p.j][p.k];
      labels[i].textContent = short(v);
      labels[i].setAttribute("data-value", String(v));
      if (gradient) { labels[i].setAttribute("fill", colour(v)); }
    }
    // The neurons show one example (the svg's data-example: its index, or "mean" over rows).
    var which = svg.getAttribute("data-example");
    if (which === null || which === "") { return; }
    var ex = which === "mean" ? doc.examples[0] : doc.examples.filter(function (x) { return String(x.index) === which; })[0];
    if (!ex) { return; }
    var circles = svg.querySelectorAll("circle.neuron");
    for (i = 0; i < circles.length; i++) {
      var c = circles[i], n = parse(neuronName(c)), a = activation(ex, n.l, n.j);
      c.classList.toggle("selected", sel === neuronName(c));
      var range = layerRange(svg, c, n.l);
      if (!range) { continue; }
      var level = grey(a, range[0], range[1]), hex = (level < 16 ? "0" : "") + level.toString(16);
      c.setAttribute("fill", "#" + hex + hex + hex);
      c.setAttribute("data-value", String(a));
      var tip = c.querySelector("title");
      if (tip && tip.textContent.indexOf("= ") >= 0) { afterEquals(tip, num(a)); }
      var ink = level < 128 ? PAGE.lightInk : PAGE.ink;
      for (var t = c.nextElementSibling; t && t.tagName.toLowerCase() === "text"; t = t.nextElementSibling) {
        t.setAttribute("fill", ink);  // its label and value
        if (t.classList.contains("neuron-value")) { t.textContent = short(a); }
      }
    }
    var targets = svg.querySelectorAll("text.target[data-target]");
    for (i = 0; i < targets.length; i++) {
      var j = Number(targets[i].getAttribute("data-target").slice(1));
      afterEquals(targets[i], short(ex.target[j]));
      targets[i].setAttribute("data-value", String(ex.target[j]));
    }
    var cost = svg.querySelector("text.cost-value");
    if (cost) { cost.textContent = short(ex.cost); }
    var mean = svg.querySelector("text.cost-mean");
    if (mean) { mean.textContent = "C = " + short(doc.cost) + " (mean)"; }
    var legend = svg.querySelectorAll("g.legend text");
    for (i = 0; i < legend.length; i++) {  // "∂C/∂w: of the full cost C = 0.7033, …"
      var line = legend[i].textContent, at = line.indexOf("full cost C = ");
      // the scale stays the file's while the numbers change, so that widths compare
      legend[i].textContent = line = line.replace(/\(auto: the largest \|([^|]+)\|\)/, "(the file's largest |$1|, kept)");
      if (at >= 0) {
        var end = line.indexOf(",", at);
        legend[i].textContent = line.slice(0, at + 14) + pyg(doc.cost, 4) + (end < 0 ? "" : line.slice(end));
      }
    }
  }
  // As present/graph.py's grey_level: 0 (black) at lo … 255 (white) at hi, clamped; NaN white.
  function grey(a, lo, hi) {
    if (isNaN(a)) { return 255; }
    return Math.round(255 * Math.min(1, Math.max(0, (a - lo) / (hi - lo))));
  }
  function afterEquals(node, text) {  // "y₀ = 1" → "y₀ = " + text
    var old = node.textContent;
    node.textContent = old.slice(0, old.lastIndexOf("= ") + 2) + text;
  }
  function activation(ex, l, j) { return l === 0 ? ex.input[j] : layerOf(ex.layers, l).a[j]; }
  function layerRange(svg, circle, l) {
    var hold = circle.hasAttribute("data-lo") ? circle : svg.querySelector('g.layer[data-layer="' + l + '"]');
    if (!hold || !hold.hasAttribute("data-lo")) { return null; }
    return [Number(hold.getAttribute("data-lo")), Number(hold.getAttribute("data-hi"))];
  }

  // --- the tables html.py rendered (data-field hooks) -------------------------------------------
  function paramFields(ex, p) {
    var t = layerOf(ex.layers, p.l), net = layerOf(doc.network.layers, p.l), g = layerOf(doc.gradient.layers, p.l);
    var w = p.kind === "w";
    return {
      value: w ? net.weights[p.j][p.k] : net.biases[p.j],
      dC_da: t.dC_da[p.j], da_dz: Array.isArray(t.da_dz[p.j]) ? null : t.da_dz[p.j],
      dC_dz: t.dC_dz[p.j], dz_dw: w ? t.dz_dw[p.k] : 1,
      gradient: w ? t.dC_dw[p.j][p.k] : t.dC_db[p.j],
      mean_gradient: w ? g.dC_dw[p.j][p.k] : g.dC_db[p.j]
    };
  }
  function neuronFields(ex, row, p) {
    var L = doc.network.layers.length;
    if (row.hasAttribute("data-layer")) {
      var t = layerOf(ex.layers, Number(row.getAttribute("data-layer")));
      return {dz_dw: t.dz_dw[p.j], dC_da_prev: t.dC_da_prev[p.j]};
    }
    if (p.l === 0) { return {a: ex.input[p.j]}; }
    var f = layerOf(ex.layers, p.l);
    var out = {z: f.z[p.j], a: f.a[p.j]};
    if (p.l === L) { out.y = ex.target[p.j]; }
    return out;
  }
  function tables() {
    var rows = document.querySelectorAll("tr[data-example][data-param], tr[data-example][data-neuron]");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], ex = doc.examples[Number(row.getAttribute("data-example"))];
      if (!ex || !ex.layers) { continue; }
      var name = row.getAttribute("data-param"), values;
      if (name) {
        values = paramFields(ex, parse(name));
        row.classList.toggle("selected", name === sel);
      } else {
        values = neuronFields(ex, row, parse(row.getAttribute("data-neuron")));
      }
      var cells = row.querySelectorAll("td[data-field]");
      for (var c = 0; c < cells.length; c++) {
        var f = cells[c].getAttribute("data-field");
        if (f in values) { cells[c].textContent = num(values[f]); cells[c].title = String(values[f]); }
      }
    }
    var heads = document.querySelectorAll("h3.example-cost[data-example]");
    for (i = 0; i < heads.length; i++) {
      var e = doc.examples[Number(heads[i].getAttribute("data-example"))];
      if (e) { afterEquals(heads[i], num(e.cost)); }
    }
    var cost = document.querySelector("strong.cost");
    if (cost) { cost.textContent = "C = " + num(doc.cost); }
  }

  // --- the cost curve -------------------------------------------------------------------------
  function curve() {
    var svg = $("pg-curve");
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var W = 460, H = 200, left = 60, right = 12, top = 12, bottom = 36;
    var finite = history.filter(isFinite);
    var hi = finite.length ? Math.max.apply(null, finite) : 1, lo = finite.length ? Math.min.apply(null, finite) : 0;
    if (lo > 0 && hi - lo < 1e-12) { lo = 0; }
    var span = hi - lo || 1, n = Math.max(1, history.length - 1), pw = W - left - right, ph = H - top - bottom;
    function x(i) { return left + i / n * pw; }
    function y(v) { return top + (hi - v) / span * ph; }
    svg.appendChild(el("svg:line", {x1: left, y1: top, x2: left, y2: top + ph, stroke: "#6b7280"}));
    svg.appendChild(el("svg:line", {x1: left, y1: top + ph, x2: left + pw, y2: top + ph, stroke: "#6b7280"}));
    svg.appendChild(el("svg:text", {x: left - 6, y: top + 4, "text-anchor": "end", "font-size": 12}, short(hi)));
    svg.appendChild(el("svg:text", {x: left - 6, y: top + ph + 4, "text-anchor": "end", "font-size": 12}, short(lo)));
    svg.appendChild(el("svg:text", {x: left, y: H - 16, "text-anchor": "middle", "font-size": 12}, "0"));
    svg.appendChild(el("svg:text", {x: left + pw, y: H - 16, "text-anchor": "middle", "font-size": 12}, String(n)));  // n ≥ 1: no "0 … 0" axis
    svg.appendChild(el("svg:text", {x: left + pw / 2, y: H - 4, "text-anchor": "middle", "font-size": 12}, "gradient-descent step"));
    var points = [];
    history.forEach(function (v, i) { if (isFinite(v)) { points.push(x(i).toFixed(1) + "," + y(v).toFixed(1)); } });
    svg.appendChild(el("svg:polyline", {"class": "cost-curve", fill: "none", stroke: "#2563eb", "stroke-width": 2, points: points.join(" ")}));
    if (points.length) {
      var last = points[points.length - 1].split(",");
      svg.appendChild(el("svg:circle", {cx: last[0], cy: last[1], r: 3.5, fill: "#2563eb"}));
    }
  }

  // --- the desired nudges −η·∂C/∂param of the selected layer -----------------------------------
  function nudges() {
    var box = $("pg-nudges"), p = parse(sel), rate = Number($("pg-lr").value);
    if (!isFinite(rate)) { rate = 0; }
    var l = p.l === 0 ? 1 : p.l, g = layerOf(doc.gradient.layers, l);
    var items = [];
    g.dC_dw.forEach(function (row, j) { row.forEach(function (v, k) { items.push(["w" + l + "." + j + "." + k, v]); }); });
    g.dC_db.forEach(function (v, j) { items.push(["b" + l + "." + j, v]); });
    var chosen = editable(sel), total = items.length;
    var idx = items.map(function (it) { return it[0]; }).indexOf(chosen);
    if (items.length > MAX_BARS) {
      var keep = items.slice(0, MAX_BARS);
      if (idx >= MAX_BARS) { keep[MAX_BARS - 1] = items[idx]; }
      items = keep;
    }
    $("pg-nudges-title").textContent = "Desired nudges −η·∂C/∂param of layer " + l + " (η = " + pyg(rate, 4) + ")";
    var rowH = 18, W = 460, mid = 250, half = 120, H = items.length * rowH + 24;
    var m = 0;
    items.forEach(function (it) { var v = Math.abs(rate * it[1]); if (isFinite(v) && v > m) { m = v; } });
    var svg = el("svg:svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", "class": "nudges",
      "aria-label": "desired nudge of every parameter of layer " + l});
    svg.appendChild(el("svg:line", {x1: mid, y1: 0, x2: mid, y2: H - 20, stroke: "#6b7280"}));
    items.forEach(function (it, i) {
      var nudge = -rate * it[1], len = m > 0 ? Math.abs(nudge) / m * half : 0, yy = i * rowH;
      var bold = it[0] === chosen ? "bold" : "normal";
      svg.appendChild(el("svg:text", {x: 4, y: yy + 13, "font-size": 12, "font-weight": bold}, symOf(it[0])));
      svg.appendChild(el("svg:rect", {"class": "nudge", "data-param": it[0], "data-value": String(nudge),
        x: nudge < 0 ? mid - len : mid, y: yy + 3, width: Math.max(len, 0.5), height: rowH - 6,
        fill: colour(it[1])}));
      svg.appendChild(el("svg:text", {x: W - 4, y: yy + 13, "font-size": 12, "text-anchor": "end", "font-weight": bold}, short(nudge)));
    });
    svg.appendChild(el("svg:text", {x: mid, y: H - 6, "font-size": 11, "text-anchor": "middle", fill: "#374151"},
      "← decrease · increase → (blue: ∂C/∂param > 0)" + (total > items.length ? "; " + (total - items.length) + " more not drawn" : "")));
    box.replaceChildren(svg);
  }

  // --- decision surfaces (networks with 2 inputs) -----------------------------------------------
  var RAMP = [[245, 147, 34], [255, 255, 255], [8, 119, 189]];  // low (orange), middle, high (blue)
  function ramp(t) {
    t = Math.max(0, Math.min(1, isFinite(t) ? t : 0.5));
    var a = t < 0.5 ? RAMP[0] : RAMP[1], b = t < 0.5 ? RAMP[1] : RAMP[2], u = t < 0.5 ? t * 2 : t * 2 - 2 + 1;
    return [0, 1, 2].map(function (i) { return Math.round(a[i] + (b[i] - a[i]) * u); });
  }
  function surfaces() {
    var net = doc.network, box = $("pg-surfaces");
    if (net.sizes[0] !== 2) { return; }
    $("pg-surfaces-box").hidden = false;
    var xs = [[], []];
    doc.examples.forEach(function (ex) { xs[0].push(ex.input[0]); xs[1].push(ex.input[1]); });
    var ranges = xs.map(function (v) {
      var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v), pad = Math.max(0.5, (hi - lo) * 0.25);
      return [lo - pad, hi + pad];
    });
    var grid = [];  // grid[gy][gx] = [a(0) … a(L)] at the cell's centre
    for (var gy = 0; gy < GRID; gy++) {
      var row = [];
      for (var gx = 0; gx < GRID; gx++) {
        row.push(bp.forward([ranges[0][0] + (gx + 0.5) / GRID * (ranges[0][1] - ranges[0][0]),
          ranges[1][1] - (gy + 0.5) / GRID * (ranges[1][1] - ranges[1][0])]));
      }
      grid.push(row);
    }
    var figures = [];
    var L = net.sizes.length - 1;
    for (var o = 0; o < Math.min(net.sizes[L], 4); o++) { figures.push([L, o, 240]); }
    for (var l = 1; l < L; l++) {
      for (var j = 0; j < Math.min(net.sizes[l], 8); j++) { figures.push([l, j, 96]); }
    }
    var old = box.querySelectorAll("figure"), byName = {};
    for (var i = 0; i < old.length; i++) { byName[old[i].getAttribute("data-neuron")] = old[i]; }
    figures.forEach(function (f) {
      var name = "a" + f[0] + "." + f[1], fig = byName[name];
      if (!fig) { fig = buildFigure(name, f[2], f[0] === L); box.appendChild(fig); }
      paint(fig, grid, f[0], f[1], ranges, f[0] === L);
    });
  }
  function buildFigure(name, size, big) {
    var p = parse(name), fig = el("figure", {"data-neuron": name, "class": big ? "big" : "small"});
    var label = (big ? "output " : "hidden neuron ") + P.sym("a", p.l, p.j);
    var canvas = el("canvas", {width: size, height: size, "class": "surface", "data-neuron": name,
      role: "img", "aria-label": "decision surface of " + label + " over the input plane"});
    fig.appendChild(canvas);
    fig.appendChild(el("figcaption", {}, ""));
    return fig;
  }
  function paint(fig, grid, l, j, ranges, big) {
    var canvas = fig.querySelector("canvas"), ctx = canvas.getContext("2d"), size = canvas.width;
    var lo = Infinity, hi = -Infinity;
    grid.forEach(function (row) { row.forEach(function (acts) { var v = acts[l][j]; if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    if (big) {  // the targets share the output's colour scale
      doc.examples.forEach(function (ex) { lo = Math.min(lo, ex.target[j]); hi = Math.max(hi, ex.target[j]); });
    }
    if (!(hi > lo)) { hi = lo + 1; }
    var image = ctx.createImageData(GRID, GRID);
    for (var gy = 0; gy < GRID; gy++) {
      for (var gx = 0; gx < GRID; gx++) {
        var c = ramp((grid[gy][gx][l][j] - lo) / (hi - lo)), o = (gy * GRID + gx) * 4;
        image.data[o] = c[0]; image.data[o + 1] = c[1]; image.data[o + 2] = c[2]; image.data[o + 3] = 255;
      }
    }
    var off = document.createElement("canvas"); off.width = GRID; off.height = GRID;
    off.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, size, size);
    if (big && !overRows()) {
      doc.examples.forEach(function (ex) {
        var px = (ex.input[0] - ranges[0][0]) / (ranges[0][1] - ranges[0][0]) * size;
        var py = (ranges[1][1] - ex.input[1]) / (ranges[1][1] - ranges[1][0]) * size;
        var c = ramp((ex.target[j] - lo) / (hi - lo));
        ctx.beginPath(); ctx.arc(px, py, 6, 0, 2 * Math.PI);
        ctx.fillStyle = "rgb(" + c.join(",") + ")"; ctx.fill();
        ctx.lineWidth = 2; ctx.strokeStyle = "#111827"; ctx.stroke();
      });
    }
    canvas.setAttribute("data-lo", String(lo)); canvas.setAttribute("data-hi", String(hi));
    var cap = fig.querySelector("figcaption"), p = parse(fig.getAttribute("data-neuron"));
    cap.replaceChildren();
    cap.appendChild(document.createTextNode((big ? "output " : "") + P.sym("a", p.l, p.j) + ": colour " + short(lo) + " (orange) … " + short(hi) + " (blue)"));
    if (big) {
      cap.appendChild(el("br"));
      cap.appendChild(document.createTextNode("x₀ from " + short(ranges[0][0]) + " (left) to " + short(ranges[0][1]) +
        ", x₁ from " + short(ranges[1][0]) + " (bottom) to " + short(ranges[1][1]) + "; circles: the examples, filled by their target"));
      var bar = el("canvas", {width: 240, height: 10, "class": "colour-scale", "aria-hidden": "true"});
      var bctx = bar.getContext("2d");
      for (var x = 0; x < 240; x++) { bctx.fillStyle = "rgb(" + ramp(x / 239).join(",") + ")"; bctx.fillRect(x, 0, 1, 10); }
      cap.appendChild(el("br")); cap.appendChild(bar);
    }
  }

  // --- the worked derivation, as MathML ---------------------------------------------------------
  function m(tag, attrs, children) {
    var node = document.createElementNS(MATHNS, tag);
    Object.keys(attrs || {}).forEach(function (a) { node.setAttribute(a, attrs[a]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function mo(t) { return m("mo", {}, [t]); }
  // w⁽ˡ⁾ⱼₖ: <msubsup><mi>w</mi><mn>jk</mn><mrow>(l)</mrow></msubsup>
  function msym(name, l, sub) {
    var base = m("mi", {}, [name]);
    var sup = l === null ? null : m("mrow", {}, [mo("("), m("mn", {}, [String(l)]), mo(")")]);
    if (sub === null || sub === undefined) { return sup ? m("msup", {}, [base, sup]) : base; }
    var s = m("mn", {}, [String(sub)]);
    return sup ? m("msubsup", {}, [base, s, sup]) : m("msub", {}, [base, s]);
  }
  function C0() { return msym("C", null, 0); }
  function dfrac(top, bottom) {
    return m("mfrac", {}, [m("mrow", {}, [mo("∂"), top]), m("mrow", {}, [mo("∂"), bottom])]);
  }
  // A number with d digits as MathML; in parentheses as a factor when negative or ×10ⁿ.
  function mnum(x, d, factor) {
    var text = pyg(x, d), parts = text.split("e"), node;
    if (parts.length === 2) {
      node = m("mrow", {}, [m("mn", {}, [parts[0]]), mo("×"), m("msup", {}, [m("mn", {}, ["10"]), m("mn", {}, [String(Number(parts[1]))])])]);
    } else {
      node = m("mn", {}, [text]);
    }
    if (factor && (text.charAt(0) === "-" || parts.length === 2)) { node = m("mrow", {}, [mo("("), node, mo(")")]); }
    return node;
  }
  // As present/derivation.py's worked(): the operands get as many digits as it takes for their
  // product (or sum), evaluated as shown, to round to the value as shown.
  function digitsFor(args, f, value) {
    var goal = pyg(value, SHOWN_DIGITS);
    for (var d = SHOWN_DIGITS; d < 18; d++) {
      var got = f(args.map(function (a) { return Number(pyg(a, d)); }));
      if ([got, got * (1 + 1e-12), got * (1 - 1e-12)].every(function (g) { return pyg(g, SHOWN_DIGITS) === goal; })) { return d; }
    }
    return 17;
  }
  function product(xs) { return xs.reduce(function (a, b) { return a * b; }, 1); }
  function sum(xs) { return xs.reduce(function (a, b) { return a + b; }, 0); }
  function row(lhs, steps) {  // lhs = step = step …
    var kids = [lhs];
    steps.forEach(function (s) { kids.push(mo(s[0])); kids.push(s[1]); });
    return m("math", {display: "block"}, [m("mrow", {}, kids)]);
  }
  function operands(args, d) { return args.map(function (a) { return mnum(a, d, true); }); }
  function signedSum(args, d) {  // t0 + t1 − t2: a negative term after the first as − |t|
    var kids = [];
    args.forEach(function (a, i) {
      if (i) { kids.push(mo(a < 0 ? "−" : "+")); }
      kids.push(i && a < 0 ? mnum(-a, d) : mnum(a, d));
    });
    return m("mrow", {}, kids);
  }
  function factors(nodes) {
    var kids = [];
    nodes.forEach(function (n, i) { if (i) { kids.push(mo("·")); } kids.push(n); });
    return m("mrow", {}, kids);
  }
  function worked(args, value, f, write) {  // "= operands = value", with the value's data-value
    var d = digitsFor(args, f, value);
    var res = mnum(value, SHOWN_DIGITS);
    res.setAttribute("data-value", String(value));
    return [["=", write(args, d)], ["=", res]];
  }
  function chainOf(p, ex) {  // the factors of ∂C₀/∂(w or b) for one example
    var t = layerOf(ex.layers, p.l), w = p.kind === "w";
    var dz = w ? t.dz_dw[p.k] : 1, grad = w ? t.dC_dw[p.j][p.k] : t.dC_db[p.j];
    var dadz = Array.isArray(t.da_dz[p.j]) ? null : t.da_dz[p.j];
    // the three-factor product, unless σ is softmax (a Jacobian) or δ is the stable form (∞·0)
    var three = dadz !== null && isFinite(t.dC_da[p.j]) &&
      Math.abs(t.dC_da[p.j] * dadz - t.dC_dz[p.j]) <= 1e-9 * Math.max(1e-300, Math.abs(t.dC_dz[p.j]));
    return {three: three, args: three ? [t.dC_da[p.j], dadz, dz] : [t.dC_dz[p.j], dz], value: grad};
  }
  function derivation() {
    var box = $("pg-derivation"), p = parse(sel);
    box.replaceChildren();
    box.appendChild(el("h3", {}, "Worked derivation of " + symOf(sel)));
    var n = doc.examples.length;
    if (p.kind === "a") { return neuronDerivation(box, p); }
    var target = msym(p.kind, p.l, p.kind === "w" ? P.idx(p.j, p.k) : p.j);
    var a = msym("a", p.l, p.j), z = msym("z", p.l, p.j);
    box.appendChild(el("p", {}, "The chain rule, for one example (C₀); numbers rounded to " + SHOWN_DIGITS +
      " significant digits, operands with as many more as it takes for them to multiply out by hand:"));
    var dzdp = p.kind === "w" ? msym("a", p.l - 1, p.k) : m("mn", {}, ["1"]);
    if (doc.examples.every(function (ex) { return chainOf(p, ex).three; })) {
      box.appendChild(row(dfrac(C0(), target), [["=", factors([dfrac(C0(), a), dfrac(a.cloneNode(true), z), dfrac(z.cloneNode(true), target.cloneNode(true))])],
        ["=", factors([dfrac(C0(), a.cloneNode(true)), dfrac(a.cloneNode(true), z.cloneNode(true)), dzdp])]]));
    } else {  // δ = ∂C₀/∂z computed directly: a softmax Jacobian, or the stable form
      box.appendChild(row(dfrac(C0(), target), [["=", factors([dfrac(C0(), z), dfrac(z.cloneNode(true), target.cloneNode(true))])],
        ["=", factors([dfrac(C0(), z.cloneNode(true)), dzdp])]]));
    }
    var grads = [];
    doc.examples.forEach(function (ex, e) {
      var c = chainOf(p, ex);
      grads.push(c.value);
      box.appendChild(el("p", {}, "Example " + ex.index + (c.three ? ":" : ": ∂C₀/∂z is δ, computed directly (" +
        (layerOf(doc.network.layers, p.l).activation === "softmax" ? "softmax: every a depends on every z" : "the stable form") + ")")));
      var lhs = dfrac(C0(), target.cloneNode(true));
      var eq = row(lhs, worked(c.args, c.value, product, function (args, d) { return factors(operands(args, d)); }));
      eq.setAttribute("data-example", String(e));
      box.appendChild(eq);
    });
    if (n > 1) {
      var mean = layerOf(doc.gradient.layers, p.l)[p.kind === "w" ? "dC_dw" : "dC_db"][p.j];
      if (p.kind === "w") { mean = mean[p.k]; }
      box.appendChild(el("p", {}, "The full cost C is the mean of C₀ over the " + n + " examples, and so is its gradient:"));
      var lhs = m("mfrac", {}, [m("mrow", {}, [mo("∂"), m("mi", {}, ["C"])]), m("mrow", {}, [mo("∂"), target.cloneNode(true)])]);
      var steps;
      if (n <= MAX_TERMS) {
        steps = worked(grads, mean, function (v) { return sum(v) / n; }, function (args, d) {
          return m("mfrac", {}, [signedSum(args, d), m("mn", {}, [String(n)])]);
        });
      } else {
        var res = mnum(mean, SHOWN_DIGITS); res.setAttribute("data-value", String(mean));
        steps = [["=", m("mrow", {}, [m("mfrac", {}, [m("mn", {}, ["1"]), m("mn", {}, [String(n)])]), mo("∑"), dfrac(C0(), target.cloneNode(true))])], ["=", res]];
      }
      var eq = row(lhs, steps); eq.setAttribute("data-example", "mean");
      box.appendChild(eq);
    }
  }
  // ∂C₀/∂a⁽ˡ⁾ₖ of a neuron: through every neuron j of the next layer (or the cost, in the last).
  function neuronDerivation(box, p) {
    var L = doc.network.layers.length, a = msym("a", p.l, p.j);
    box.appendChild(el("p", {}, p.l === L ? "An output neuron reaches the cost directly." :
      "The neuron reaches the cost through every neuron j of layer " + (p.l + 1) + ":"));
    doc.examples.forEach(function (ex, e) {
      var eq;
      if (p.l === L) {
        var v = layerOf(ex.layers, L).dC_da[p.j], res = mnum(v, SHOWN_DIGITS);
        res.setAttribute("data-value", String(v));
        eq = row(dfrac(C0(), a.cloneNode(true)), [["=", res]]);
      } else {
        var next = layerOf(ex.layers, p.l + 1), weights = layerOf(doc.network.layers, p.l + 1).weights;
        var value = next.dC_da_prev[p.j];
        var elementwise = !Array.isArray(next.da_dz[0]);
        var args = [], terms = weights.length;
        weights.forEach(function (wrow, j) {
          if (elementwise) { args.push(wrow[p.j], next.da_dz[j], next.dC_da[j]); } else { args.push(wrow[p.j], next.dC_dz[j]); }
        });
        var per = elementwise ? 3 : 2;
        var f = function (v) { var s = 0; for (var i = 0; i < v.length; i += per) { s += product(v.slice(i, i + per)); } return s; };
        var steps;
        if (terms <= MAX_TERMS) {
          steps = worked(args, value, f, function (values, d) {
            var nodes = operands(values, d);
            var kids = [];
            for (var i = 0; i < nodes.length; i += per) { if (i) { kids.push(mo("+")); } kids.push(factors(nodes.slice(i, i + per))); }
            return m("mrow", {}, kids);
          });
        } else {
          var r2 = mnum(value, SHOWN_DIGITS); r2.setAttribute("data-value", String(value)); steps = [["=", r2]];
        }
        var general = m("mrow", {}, [m("munder", {}, [mo("∑"), m("mi", {}, ["j"])]), factors(elementwise ?
          [msym("w", p.l + 1, "j" + p.j), dfrac(msym("a", p.l + 1, "j"), msym("z", p.l + 1, "j")), dfrac(C0(), msym("a", p.l + 1, "j"))] :
          [msym("w", p.l + 1, "j" + p.j), dfrac(C0(), msym("z", p.l + 1, "j"))])]);
        eq = row(dfrac(C0(), a.cloneNode(true)), [["=", general]].concat(steps));
      }
      box.appendChild(el("p", {}, "Example " + ex.index + ":"));
      eq.setAttribute("data-example", String(e));
      box.appendChild(eq);
    });
  }

  // --- the tree of the selected parameter (contract C), for the chosen example --------------------
  var NODE = 44;  // a tree box's half-width; the columns of boxes are at X (the svg: 720 wide)
  var X = [60, 280, 470, 660];
  function node(svg, x, y, label, value, cls) {
    var g = el("svg:g", {"class": "tree-node " + (cls || ""), "data-label": label, "data-value": String(value)});
    g.appendChild(el("svg:rect", {x: x - NODE, y: y - 20, width: 2 * NODE, height: 40, rx: 8, fill: cls === "chosen" ? "#fef3c7" : "#ffffff", stroke: "#111827"}));
    g.appendChild(el("svg:text", {x: x, y: y - 4, "text-anchor": "middle", "font-size": 13}, label));
    g.appendChild(el("svg:text", {x: x, y: y + 13, "text-anchor": "middle", "font-size": 12, fill: "#374151"}, short(value)));
    svg.appendChild(g);
    return [x, y];
  }
  function link(svg, from, to, label, value) {  // label at 40 % of the way, above the line
    var g = el("svg:g", {"class": "tree-edge", "data-label": label, "data-value": String(value)});
    var x1 = from[0] + NODE, x2 = to[0] - NODE;
    g.appendChild(el("svg:line", {x1: x1, y1: from[1], x2: x2, y2: to[1], stroke: "#6b7280", "stroke-width": 1.5}));
    g.appendChild(el("svg:text", {x: x1 + 0.4 * (x2 - x1), y: from[1] + 0.4 * (to[1] - from[1]) - 6,
      "text-anchor": "middle", "font-size": 11, fill: "#1f2937", stroke: "#ffffff", "stroke-width": 3,
      "paint-order": "stroke"}, label + " = " + short(value)));  // a halo: lines never cross it
    svg.appendChild(g);
  }
  function tree() {
    var box = $("pg-tree"), p = parse(sel), e = exampleShown(), ex = doc.examples[e] || doc.examples[0];
    var L = doc.network.layers.length;
    $("pg-tree-title").textContent = "Tree of " + symOf(sel) + " (example " + ex.index + ")";
    var svg, under;
    if (p.kind === "a") {
      var fan = p.l < L ? layerOf(doc.network.layers, p.l + 1).weights.length : 0;
      var shownFan = Math.min(fan, MAX_FANOUT), Hn = Math.max(1, shownFan) * 56 + 70;
      svg = el("svg:svg", {width: 720, height: Hn, viewBox: "0 0 720 " + Hn, role: "img", "class": "tree",
        "aria-label": "the paths from " + symOf(sel) + " to the cost"});
      var an = node(svg, X[0], (Hn - 40) / 2, P.sym("a", p.l, p.j), activation(ex, p.l, p.j), "chosen");
      var cost = node(svg, X[3], (Hn - 40) / 2, "C₀", ex.cost);
      if (p.l === L) {
        link(svg, an, cost, "∂C₀/∂a", layerOf(ex.layers, L).dC_da[p.j]);
        under = "∂C₀/∂" + P.sym("a", p.l, p.j) + " = " + short(layerOf(ex.layers, L).dC_da[p.j]);
      } else {
        var next = layerOf(ex.layers, p.l + 1), W = layerOf(doc.network.layers, p.l + 1).weights;
        var elementwise = !Array.isArray(next.da_dz[0]);
        for (var j = 0; j < shownFan; j++) {
          var y = 30 + j * 56, zn = node(svg, X[1], y, P.sym("z", p.l + 1, j), next.z[j]);
          link(svg, an, zn, "w", W[j][p.j]);
          if (elementwise) {
            var anx = node(svg, X[2], y, P.sym("a", p.l + 1, j), next.a[j]);
            link(svg, zn, anx, "σ′", next.da_dz[j]);
            link(svg, anx, cost, "∂C₀/∂a", next.dC_da[j]);
          } else {
            link(svg, zn, [X[3], y], "∂C₀/∂z", next.dC_dz[j]);
          }
        }
        under = "∂C₀/∂" + P.sym("a", p.l, p.j) + " = Σⱼ w·σ′·∂C₀/∂a = " +
          (fan <= MAX_FANOUT ? W.map(function (wr, j) {
            return short(wr[p.j] * (elementwise ? next.da_dz[j] * next.dC_da[j] : next.dC_dz[j]));
          }).join(" + ").replace(/\+ -/g, "− ") + " = " : (fan - shownFan) + " more paths; sum = ") + short(next.dC_da_prev[p.j]);
      }
    } else {
      var t = layerOf(ex.layers, p.l), layer = layerOf(doc.network.layers, p.l), isW = p.kind === "w";
      var H = isW ? 200 : 130, mid = isW ? 100 : 65;
      svg = el("svg:svg", {width: 720, height: H, viewBox: "0 0 720 " + H, role: "img", "class": "tree",
        "aria-label": "the dependency tree of " + symOf(sel)});
      var zNode = node(svg, X[1], mid, P.sym("z", p.l, p.j), t.z[p.j]);
      if (isW) {
        link(svg, node(svg, X[0], 30, symOf(sel), layer.weights[p.j][p.k], "chosen"), zNode, "∂z/∂w = a", t.dz_dw[p.k]);
        link(svg, node(svg, X[0], 100, P.sym("a", p.l - 1, p.k), t.dz_dw[p.k]), zNode, "∂z/∂a = w", layer.weights[p.j][p.k]);
        link(svg, node(svg, X[0], 170, P.sym("b", p.l, p.j), layer.biases[p.j]), zNode, "∂z/∂b", 1);
      } else {
        link(svg, node(svg, X[0], mid, symOf(sel), layer.biases[p.j], "chosen"), zNode, "∂z/∂b", 1);
      }
      var c = chainOf(p, ex);
      var costNode = node(svg, X[3], mid, "C₀", ex.cost);
      if (c.three) {
        var aNode = node(svg, X[2], mid, P.sym("a", p.l, p.j), t.a[p.j]);
        link(svg, zNode, aNode, "σ′(z)", t.da_dz[p.j]);
        link(svg, aNode, costNode, "∂C₀/∂a", t.dC_da[p.j]);
      } else {
        link(svg, zNode, costNode, "∂C₀/∂z = δ", t.dC_dz[p.j]);
      }
      if (p.l === L) { link(svg, node(svg, X[2], H - 25, "y" + p.j, ex.target[p.j]), costNode, "target", ex.target[p.j]); }
      else { svg.appendChild(el("svg:text", {x: X[3], y: mid + 36, "text-anchor": "middle", "font-size": 11, fill: "#6b7280"}, (p.l + 1 === L ? "through layer " + L : "through layers " + (p.l + 1) + "…" + L))); }
      under = "∂C₀/∂" + symOf(sel) + " = " + c.args.map(short).join(" · ") + " = " + short(c.value);
    }
    box.replaceChildren(svg, el("p", {"class": "tree-product"}, under));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
