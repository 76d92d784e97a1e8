// The report page's panel: the chain-rule factors of the clicked or hovered weight, read
// from the report's JSON (the page's <script type="application/json">). No math here.
(function () {
  var doc = JSON.parse(document.getElementById("report-data").textContent);
  var panel = document.getElementById("panel");
  var SUP = {"0":"⁰","1":"¹","2":"²","3":"³","4":"⁴","5":"⁵","6":"⁶","7":"⁷","8":"⁸","9":"⁹"};
  var SUB = {"0":"₀","1":"₁","2":"₂","3":"₃","4":"₄","5":"₅","6":"₆","7":"₇","8":"₈","9":"₉"};
  function tr(s, map) { return String(s).split("").map(function (c) { return map[c] || c; }).join(""); }
  function idx(a, b) { var s = [a, b].map(String); return s.every(function (x) { return x.length === 1; }) ? s.join("") : s.join(","); }
  function sym(name, l, sub) { return name + "⁽" + tr(l, SUP) + "⁾" + tr(sub, SUB); }
  function num(x) {  // like Python's f"{x:.6g}"
    if (x === null || x === undefined) { return "—"; }
    var s = Number(x).toPrecision(DIGITS);
    return s.indexOf(".") < 0 ? s : s.replace(/0+(e|$)/, "$1").replace(/\.(e|$)/, "$1");
  }
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function cell(field, x, e) {
    return '<td data-field="' + field + '"' + (e === undefined ? "" : ' data-example="' + e + '"') +
      ' title="' + x + '">' + num(x) + "</td>";
  }
  function layerOf(list, l) { for (var i = 0; i < list.length; i++) { if (list[i].layer === l) { return list[i]; } } return null; }
  var shown = null;  // the hit line shown, to show again when the live page changes the numbers
  function show(el) {
    shown = el;
    var l = Number(el.getAttribute("data-layer")), j = Number(el.getAttribute("data-j")),
        k = Number(el.getAttribute("data-k"));
    var net = layerOf(doc.network.layers, l);
    var w = sym("w", l, idx(j, k)), a = sym("a", l, j), z = sym("z", l, j);
    var grad = layerOf(doc.gradient.layers, l);
    var html = '<h3 data-param="' + el.getAttribute("data-param") + '">' + w + " = " +
      '<span data-field="value" title="' + net.weights[j][k] + '">' + num(net.weights[j][k]) + "</span></h3>" +
      '<p class="formula">∂C₀/∂' + w + " = ∂C₀/∂" + a + " · ∂" + a + "/∂" + z + " · ∂" + z + "/∂" + w +
      "<br>∂" + z + "/∂" + w + " = " + sym("a", l - 1, k) + "</p>" +
      "<table><thead><tr><th>example</th><th>∂C₀/∂" + a + "</th><th>∂" + a + "/∂" + z +
      "</th><th>∂" + z + "/∂" + w + " = " + sym("a", l - 1, k) + "</th><th>∂C₀/∂" + w +
      " (this example)</th></tr></thead><tbody>";
    doc.examples.forEach(function (ex, e) {
      var t = layerOf(ex.layers, l);
      if (!t) { return; }
      var dadz = Array.isArray(t.da_dz[j]) ? null : t.da_dz[j];
      html += '<tr data-example="' + e + '"><td>' + ex.index + "</td>" + cell("dC_da", t.dC_da[j], e) +
        cell("da_dz", dadz, e) + cell("dz_dw", t.dz_dw[k], e) + cell("dC_dw", t.dC_dw[j][k], e) + "</tr>";
    });
    html += "</tbody></table>";
    if (grad) {
      html += "<p>Full cost, mean over " + esc(panel.getAttribute("data-scope")) + ": ∂C/∂" + w + ' = <strong><span data-field="mean_gradient" title="' +
        grad.dC_dw[j][k] + '">' + num(grad.dC_dw[j][k]) + "</span></strong></p>";
    }
    panel.innerHTML = html;
    var old = document.querySelectorAll("line.edge.selected");
    for (var i = 0; i < old.length; i++) { old[i].classList.remove("selected"); }
    var mine = document.querySelector('line.edge[data-param="' + el.getAttribute("data-param") + '"]');
    if (mine) { mine.classList.add("selected"); }
  }
  var hits = document.querySelectorAll("svg.network line.hit");
  for (var i = 0; i < hits.length; i++) {
    hits[i].addEventListener("click", function (ev) { show(ev.currentTarget); });
    hits[i].addEventListener("mouseenter", function (ev) { show(ev.currentTarget); });
  }
  // For the live page (playground.js): the same formatting, and the panel shown again with
  // the current numbers (``update``) or for a weight by name (``select``).
  window.backpropPanel = {
    num: num, sym: sym, idx: idx, esc: esc,
    update: function (current) { doc = current; if (shown) { show(shown); } },
    select: function (name) {
      var el = document.querySelector('svg.network line.hit[data-param="' + name + '"]');
      if (el) { show(el); }
    }
  };
})();
