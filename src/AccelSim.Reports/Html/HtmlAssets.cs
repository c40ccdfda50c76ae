namespace AccelSim.Reports.Html;

/// <summary>The style sheet and script every HTML report carries inline (no file, no network): the script
/// shows tooltips, zooms and pans timelines, sorts tables and switches the run a comparison shows.</summary>
internal static class HtmlAssets
{
    /// <summary>Forbids every fetch: the page works from its own bytes only.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

    public const string Css = """
:root{--fg:#1d2330;--muted:#5b6473;--line:#d5dae1;--bg:#fff;--panel:#f6f8fa;--accent:#2b6cb0;--bad:#c53030;--good:#2f855a}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:18px 28px 10px;border-bottom:1px solid var(--line)}
h1{font-size:21px;margin:0 0 4px}
h2{font-size:17px;margin:26px 0 8px}
h3{font-size:15px;margin:14px 0 6px}
main{padding:0 28px 40px;max-width:1400px}
.sub{color:var(--muted);margin:2px 0}
.verdict{margin:8px 0 0;font-weight:600}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:10px}
.fig{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:9px 12px}
.fig-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.fig-value{font-size:20px;font-weight:650;margin:2px 0}
.fig-note{font-size:12.5px;color:var(--muted)}
.fig.bad .fig-value{color:var(--bad)}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:24px}
svg{display:block;max-width:100%;height:auto;font-family:inherit}
svg.roofline{max-width:880px}
svg text{fill:var(--fg);font-size:11px}
svg .axis line,svg .grid line{stroke:var(--line)}
svg .axis path{stroke:var(--muted)}
svg .plot-title{font-size:13px;font-weight:600}
svg .muted{fill:var(--muted)}
.roof{stroke-width:2;fill:none}
.roof-memory{stroke-dasharray:6 4}
.ridge{fill:#fff;stroke:var(--fg);stroke-width:1.5}
.dot{stroke:#fff;stroke-width:.6;fill-opacity:.8}
.dot:hover,.op:hover{stroke:var(--fg);stroke-width:1.5}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12.5px}
.sw{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:5px}
.sw-dash{background:repeating-linear-gradient(90deg,currentColor 0 5px,transparent 5px 8px)!important}
.sw-dot{width:9px;height:9px;border-radius:50%}
.tl-controls{display:flex;gap:6px;align-items:center;margin:4px 0}
.tl-controls button{font:inherit;padding:2px 10px;border:1px solid var(--line);background:var(--panel);border-radius:4px;cursor:pointer}
.tl-range{color:var(--muted);margin-left:8px}
.timeline svg{cursor:grab;user-select:none;border:1px solid var(--line);border-radius:4px}
.op{stroke:none}
.b-compute{fill:#3182ce}.b-memory{fill:#e53e3e}.b-latency{fill:#a0aec0}.b-power{fill:#dd6b20}
.bars{display:grid;grid-template-columns:max-content 1fr max-content;gap:4px 10px;align-items:center;font-size:13px}
.bar{display:block;background:var(--panel);border:1px solid var(--line);height:14px;border-radius:3px;overflow:hidden}
.bar-fill{display:block;height:100%;background:var(--accent)}
.bar-fill.over{background:var(--bad)}
.bar-value{text-align:right;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
thead th{background:var(--panel);position:sticky;top:0}
table.sortable thead th{cursor:pointer;white-space:nowrap}
table.sortable thead th[aria-sort=ascending]::after{content:" \25B2"}
table.sortable thead th[aria-sort=descending]::after{content:" \25BC"}
.table-wrap{width:fit-content;max-width:100%;max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:4px}
td.note{max-width:520px;color:var(--muted);font-size:12.5px}
td.best{font-weight:700;color:var(--good)}
td.best::after{content:" \2605"}
td.bad{color:var(--bad);font-weight:600}
code,.hash{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.tip{position:fixed;z-index:10;pointer-events:none;background:#1d2330;color:#fff;padding:6px 9px;border-radius:4px;font-size:12.5px;max-width:460px;box-shadow:0 2px 8px rgba(0,0,0,.25)}
.tip .tip-head{font-weight:700}
.selector{margin:8px 0}
.selector select{font:inherit;padding:2px 6px}
footer{color:var(--muted);font-size:12px;padding:0 28px 24px}
""";

    public const string Js = """
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var tip = document.getElementById('tip');

  function moveTip(ev) {
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function showTip(el, ev) {
    var lines = el.getAttribute('data-tip').split('\n');
    tip.textContent = '';
    for (var i = 0; i < lines.length; i++) {
      var d = document.createElement('div');
      d.textContent = lines[i];
      if (i === 0) d.className = 'tip-head';
      tip.appendChild(d);
    }
    tip.hidden = false;
    moveTip(ev);
  }
  document.addEventListener('mouseover', function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest('[data-tip]') : null;
    if (el) showTip(el, ev); else tip.hidden = true;
  });
  document.addEventListener('mousemove', function (ev) { if (!tip.hidden) moveTip(ev); });

  function fmtTime(s) {
    var a = Math.abs(s);
    if (a === 0) return '0 s';
    if (a >= 1) return s.toFixed(3) + ' s';
    if (a >= 1e-3) return (s * 1e3).toFixed(3) + ' ms';
    if (a >= 1e-6) return (s * 1e6).toFixed(3) + ' us';
    if (a >= 1e-9) return (s * 1e9).toFixed(3) + ' ns';
    return (s * 1e12).toFixed(3) + ' ps';
  }
  function niceStep(span, n) {
    var raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  function initTimeline(root) {
    var svg = root.querySelector('svg');
    var L = +root.getAttribute('data-left'), W = +root.getAttribute('data-width');
    var top = +root.getAttribute('data-top'), bottom = +root.getAttribute('data-bottom');
    var T = +root.getAttribute('data-end');
    if (!(T > 0)) return;
    var t0 = 0, t1 = T;
    var rects = root.querySelectorAll('rect[data-s]');
    var s = new Float64Array(rects.length), e = new Float64Array(rects.length);
    for (var i = 0; i < rects.length; i++) { s[i] = +rects[i].getAttribute('data-s'); e[i] = +rects[i].getAttribute('data-e'); }
    var ticks = root.querySelector('.tl-ticks');
    var range = root.querySelector('.tl-range');
    function clamp() {
      var span = t1 - t0;
      if (t0 < 0) { t0 = 0; t1 = span; }
      if (t1 > T) { t1 = T; t0 = Math.max(0, T - span); }
    }
    function render() {
      var k = W / (t1 - t0);
      for (var i = 0; i < rects.length; i++) {
        var r = rects[i];
        if (e[i] < t0 || s[i] > t1) { r.setAttribute('display', 'none'); continue; }
        r.removeAttribute('display');
        var x0 = L + (Math.max(s[i], t0) - t0) * k, x1 = L + (Math.min(e[i], t1) - t0) * k;
        r.setAttribute('x', x0.toFixed(2));
        r.setAttribute('width', Math.max(x1 - x0, 0.5).toFixed(2));
      }
      ticks.textContent = '';
      var step = niceStep(t1 - t0, 6);
      for (var t = Math.ceil(t0 / step) * step; t <= t1 + step * 1e-9; t += step) {
        var x = L + (t - t0) * k;
        var ln = document.createElementNS(NS, 'line');
        ln.setAttribute('x1', x.toFixed(2)); ln.setAttribute('x2', x.toFixed(2));
        ln.setAttribute('y1', top); ln.setAttribute('y2', bottom);
        ticks.appendChild(ln);
        var tx = document.createElementNS(NS, 'text');
        tx.setAttribute('x', x.toFixed(2)); tx.setAttribute('y', bottom + 14);
        tx.setAttribute('text-anchor', 'middle');
        tx.textContent = fmtTime(t);
        ticks.appendChild(tx);
      }
      range.textContent = fmtTime(t0) + ' to ' + fmtTime(t1) + ' (' + fmtTime(t1 - t0) + ' shown)';
      range.setAttribute('data-t0', String(t0));
      range.setAttribute('data-t1', String(t1));
    }
    function zoom(f, c) {
      var span = Math.min(T, Math.max((t1 - t0) * f, T * 1e-6));
      var a = (c - t0) / (t1 - t0);
      t0 = c - a * span; t1 = t0 + span;
      clamp(); render();
    }
    function scale() { var b = svg.getBoundingClientRect(); return b.width > 0 ? svg.viewBox.baseVal.width / b.width : 1; }
    function timeAt(clientX) {
      var x = (clientX - svg.getBoundingClientRect().left) * scale();
      return Math.min(t1, Math.max(t0, t0 + (x - L) / W * (t1 - t0)));
    }
    svg.addEventListener('wheel', function (ev) {
      ev.preventDefault();
      zoom(ev.deltaY < 0 ? 0.8 : 1.25, timeAt(ev.clientX));
    }, { passive: false });
    var drag = null;
    svg.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, t0: t0, t1: t1 }; svg.style.cursor = 'grabbing'; ev.preventDefault(); });
    window.addEventListener('mousemove', function (ev) {
      if (!drag) return;
      var dt = (ev.clientX - drag.x) * scale() / W * (drag.t1 - drag.t0);
      t0 = drag.t0 - dt; t1 = drag.t1 - dt;
      clamp(); render();
    });
    window.addEventListener('mouseup', function () { if (drag) { drag = null; svg.style.cursor = ''; } });
    var buttons = root.querySelectorAll('button[data-zoom]');
    for (var b = 0; b < buttons.length; b++) {
      buttons[b].addEventListener('click', function () {
        var act = this.getAttribute('data-zoom'), mid = (t0 + t1) / 2, span = t1 - t0;
        if (act === 'in') zoom(0.5, mid);
        else if (act === 'out') zoom(2, mid);
        else if (act === 'left') { t0 -= span / 4; t1 -= span / 4; clamp(); render(); }
        else if (act === 'right') { t0 += span / 4; t1 += span / 4; clamp(); render(); }
        else { t0 = 0; t1 = T; render(); }
      });
    }
    render();
  }

  function initSort(table) {
    var ths = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, i) {
      th.addEventListener('click', function () {
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        Array.prototype.forEach.call(ths, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
        var num = th.getAttribute('data-type') === 'num';
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(r) { var c = r.cells[i]; var v = c.getAttribute('data-v'); return v === null ? c.textContent : v; }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b), c;
          if (num) { x = parseFloat(x); y = parseFloat(y); c = (isNaN(x) ? -Infinity : x) - (isNaN(y) ? -Infinity : y); if (isNaN(c)) c = 0; }
          else c = x < y ? -1 : x > y ? 1 : 0;
          return c * dir;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('.timeline'), initTimeline);
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), initSort);
  var select = document.getElementById('run-select');
  if (select) {
    select.addEventListener('change', function () {
      Array.prototype.forEach.call(document.querySelectorAll('.run-detail'), function (sec) {
        sec.hidden = sec.getAttribute('data-run') !== select.value;
      });
    });
  }
})();
""";
}
