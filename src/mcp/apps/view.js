// vizier's interactive chart and dashboard views (MCP Apps, spec 2026-01-26), and the
// explore page. Plain JavaScript with no dependencies: served inline by vizier.
//
// Inside a host the view speaks the extension's JSON-RPC over postMessage: ui/initialize,
// then the host sends the tool's arguments and result; the view asks vizier for data only
// through the host's tools/call (app-only tool `view_chart`, and the dashboard tools), so
// every call is the user's own. Outside a host (the explore page) the payload is inline, in
// the JSON element #vizier-data: a chart as view_chart answers it, or {error, title}.
(function () {
  'use strict';
  var kind = document.body.getAttribute('data-view');
  var root = document.getElementById('app');
  var inline = JSON.parse(document.getElementById('vizier-data').textContent || 'null');
  var SVG = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1',
    '#ff9da7', '#9c755f', '#a0cbe8', '#ffbe7d', '#8cd17d', '#86bcb6', '#f1ce63', '#d4a6c8'];

  // ---- small DOM helpers ------------------------------------------------------------------
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function sv(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    if (typeof v !== 'number') return String(v);
    return new Intl.NumberFormat(undefined, { maximumFractionDigits: Math.abs(v) < 10 ? 2 : 0 }).format(v);
  }
  function short(v) {
    if (typeof v !== 'number') return String(v);
    return new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(v);
  }
  function label(x) {
    if (typeof x === 'string' && /^\d{4}-\d\d-\d\dT00:00:00$/.test(x)) return x.slice(0, 10);
    return x === null || x === undefined ? '(empty)' : String(x);
  }
  function errorBox(message, title) {
    return el('div', { 'class': 'vz-error', role: 'alert' }, [
      el('strong', { text: title || 'This cannot be shown' }),
      el('p', { text: message })]);
  }

  // ---- the host bridge --------------------------------------------------------------------
  var nextId = 1;
  var pending = {};
  var state = { input: null, result: null, started: false };
  function post(msg) { window.parent.postMessage(msg, '*'); }
  function request(method, params) {
    var id = nextId++;
    return new Promise(function (resolve, reject) {
      pending[id] = { resolve: resolve, reject: reject };
      post({ jsonrpc: '2.0', id: id, method: method, params: params });
    });
  }
  function notify(method, params) { post({ jsonrpc: '2.0', method: method, params: params || {} }); }
  // A tool's answer, or an Error carrying its readable message.
  function failure(result) {
    var sc = result && result.structuredContent;
    var text = result && result.content && result.content[0] && result.content[0].text;
    if (!sc && text) { try { sc = JSON.parse(text); } catch (e) { sc = null; } }
    var msg = (sc && (sc.error || sc.message)) || text || 'The call failed.';
    var e = new Error(msg);
    e.type = sc && sc.error_type;
    return e;
  }
  function callTool(name, args) {
    return request('tools/call', { name: name, arguments: args }).then(function (r) {
      if (!r || r.isError) throw failure(r);
      return r.structuredContent || JSON.parse(r.content[0].text);
    });
  }
  window.addEventListener('message', function (ev) {
    if (ev.source !== window.parent) return;
    var m = ev.data;
    if (!m || m.jsonrpc !== '2.0') return;
    if (m.method === undefined && m.id !== undefined) {
      var p = pending[m.id];
      if (!p) return;
      delete pending[m.id];
      if (m.error) p.reject(new Error(m.error.message || 'The host refused the request.'));
      else p.resolve(m.result);
      return;
    }
    if (m.id !== undefined) {
      if (m.method === 'ui/resource-teardown' || m.method === 'ping') post({ jsonrpc: '2.0', id: m.id, result: {} });
      else post({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found: ' + m.method } });
      return;
    }
    if (m.method === 'ui/notifications/tool-input') state.input = (m.params && m.params.arguments) || {};
    else if (m.method === 'ui/notifications/tool-result') { state.result = m.params; start(); }
    else if (m.method === 'ui/notifications/tool-cancelled') {
      show(errorBox((m.params && m.params.reason) || 'The tool call was cancelled.', 'Cancelled'));
    } else if (m.method === 'ui/notifications/host-context-changed' && m.params && m.params.theme) {
      document.documentElement.setAttribute('data-theme', m.params.theme);
    }
  });
  function show(node) { root.textContent = ''; root.appendChild(node); resized(); }
  var lastHeight = 0;
  function resized() {
    if (window.parent === window) return;
    var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h !== lastHeight) { lastHeight = h; notify('ui/notifications/size-changed', { height: h }); }
  }
  if (window.ResizeObserver) new ResizeObserver(resized).observe(document.body);

  // ---- chart drawing ----------------------------------------------------------------------
  // Long-form values from vizier's Vega-Lite spec: {x, series, value} (cartesian, bars
  // across when x is on the y channel; a mixed chart has a layer per y axis) or
  // {category, value} (a pie: its arcs are the first layer). Big numbers and pivots come
  // as text; other chart types show vizier's own SVG.
  function model(view) {
    var vl = view.vega_lite || {};
    var values = (vl.data && vl.data.values) || [];
    var mark = vl.mark && (vl.mark.type || vl.mark);
    var colors = (vl.config && vl.config.range && vl.config.range.category) || PALETTE;
    var arcs = !mark && vl.layer && vl.layer[0];
    if (!values.length) return null;
    if (arcs && arcs.mark && arcs.mark.type === 'arc') {
      var scale = (arcs.encoding && arcs.encoding.color && arcs.encoding.color.scale) || {};
      return { type: 'pie', colors: scale.range || colors, series: values.map(function (v) { return label(v.category); }),
        values: values, donut: !!arcs.mark.innerRadius };
    }
    // The layers: the chart itself, or a mixed chart's left and right axis.
    var layers = mark ? [{ mark: vl.mark, encoding: vl.encoding, data: vl.data }]
      : vl.resolve && vl.layer && vl.layer.length === 2 ? vl.layer : [];
    var series = [], kinds = [], axes = [], cols = [], xs = [], seen = {}, cells = [];
    var ok = layers.length && layers.every(function (l, a) {
      var t = l.mark && (l.mark.type || l.mark), c = l.encoding && l.encoding.color;
      var own = (c && c.scale && c.scale.range) || (l.mark && l.mark.color ? [l.mark.color] : colors), names = [];
      var vs = a ? ((l.data && l.data.values) || []) : values;
      if (['line', 'bar', 'area', 'point'].indexOf(t) < 0 || !vs.length || !('x' in vs[0])) return false;
      vs.forEach(function (v) {
        var s = (v.series === undefined ? (view.title || 'value') : String(v.series)) + (a ? ' (right axis)' : '');
        if (names.indexOf(s) < 0) { names.push(s); series.push(s); kinds.push(t); axes.push(a); cols.push(own[(names.length - 1) % own.length]); }
        var k = JSON.stringify(v.x);
        if (!(k in seen)) { seen[k] = xs.length; xs.push(v.x); }
        cells.push([series.indexOf(s), seen[k], v.value]);
      });
      return true;
    });
    if (!ok) return null;
    var grid = series.map(function () { return xs.map(function () { return null; }); });
    cells.forEach(function (c) { grid[c[0]][c[1]] = c[2]; });
    var enc = layers[0].encoding || {};
    var horizontal = !!(enc.y && enc.y.field === 'x');
    return { type: 'xy', colors: cols, series: series, kinds: kinds, axes: axes, xs: xs, grid: grid, horizontal: horizontal,
      axis: layers.map(function (l) {
        var e = l.encoding || {}, v = (horizontal ? e.x : e.y) || {};
        return { stacked: v.stack === 'zero', format: v.axis && v.axis.format, title: v.title };
      }) };
  }

  // Tick text in the axis' d3 format when it has one of the common ones ($ , .N f d % s).
  function tickFormat(f) {
    var p = /^(\$)?(,)?(?:\.(\d+))?(~?)([fdrs%]?)$/.exec(f || '');
    if (!f || !p) return short;
    return function (v) {
      var o = { useGrouping: !!p[2], maximumFractionDigits: p[3] ? +p[3] : (p[5] === 'd' ? 0 : 2) };
      if (p[3] && !p[4] && p[5] !== 's') o.minimumFractionDigits = +p[3];
      if (p[5] === 's') o.notation = 'compact';
      var t = new Intl.NumberFormat('en-US', o).format(p[5] === '%' ? v * 100 : v);
      return (p[1] ? (t[0] === '-' ? '-$' + t.slice(1) : '$' + t) : t) + (p[5] === '%' ? '%' : '');
    };
  }

  function ticks(lo, hi, n) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 2.5, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    // Nice bounds at or beyond the data, so the largest value sits under a labelled line.
    var out = [], last = Math.ceil(hi / step - 1e-9) * step;
    for (var t = Math.floor(lo / step + 1e-9) * step; t <= last + step * 1e-9; t += step) out.push(Math.round(t * 1e9) / 1e9);
    return out;
  }

  var canvas;
  function textWidth(s) {
    canvas = canvas || document.createElement('canvas').getContext('2d');
    canvas.font = '11px "DejaVu Sans", system-ui, sans-serif';
    return canvas.measureText(s).width;
  }
  // The x labels that fit without touching: every k-th for the smallest k, the first and
  // the last always (the last in place of the one before it when they would touch), each
  // kept inside the picture. Hover still names every x.
  function xLabels(xs, x, w) {
    var n = xs.length, k, j, picked;
    var text = xs.map(function (v) { var s = label(v); return s.length > 12 ? s.slice(0, 11) + '…' : s; });
    var half = text.map(function (s) { return textWidth(s) / 2 + 3; });
    function at(j) { return Math.min(Math.max(x(j), half[j]), w - half[j]); }
    function clear(a, b) { return at(b) - half[b] >= at(a) + half[a]; }
    for (k = 1; k < Math.max(n, 2); k++) {
      picked = [];
      for (j = 0; j < n; j += k) picked.push(j);
      var last = picked[picked.length - 1];
      if (last !== n - 1) {
        if (!clear(last, n - 1) && picked.length > 1) picked.pop();
        if (clear(picked[picked.length - 1], n - 1)) picked.push(n - 1);
      }
      if (picked.every(function (j, i) { return !i || clear(picked[i - 1], j); })) break;
    }
    return picked.map(function (j) { return { x: at(j), text: text[j] }; });
  }

  // Bars up or across, lines, areas and points; a mixed chart's right-axis series on a
  // scale of their own, ticked on the right.
  function drawCartesian(m, hidden, w, h, tip) {
    var svg = sv('svg', { 'class': 'vz-chart', viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    var n = m.xs.length, hz = m.horizontal, two = m.axis.length > 1;
    var shown = m.series.map(function (s, i) { return hidden[s] ? -1 : i; }).filter(function (i) { return i >= 0; });
    // Each axis' range over its visible series (stacks summed), widened to nice ticks.
    var sc = m.axis.map(function (ax, a) {
      var on = shown.filter(function (i) { return m.axes[i] === a; });
      var lo = 0, hi = 0, all = [];
      m.xs.forEach(function (_, j) {
        var pos = 0, neg = 0;
        on.forEach(function (i) {
          var v = m.grid[i][j];
          if (v === null) return;
          all.push(v);
          if (ax.stacked) { if (v >= 0) pos += v; else neg += v; } else { hi = Math.max(hi, v); lo = Math.min(lo, v); }
        });
        if (ax.stacked) { hi = Math.max(hi, pos); lo = Math.min(lo, neg); }
      });
      if (all.length && on.every(function (i) { return m.kinds[i] === 'point'; })) { lo = Math.min.apply(null, all); hi = Math.max.apply(null, all); }
      if (hi === lo) hi = lo + 1;
      var t = ticks(lo, hi, 5), f = tickFormat(ax.format);
      return { on: on, ticks: t, f: f, lo: Math.min(lo, t[0]), hi: Math.max(hi, t[t.length - 1]),
        width: Math.max.apply(null, t.map(function (v) { return textWidth(f(v)); })) };
    });
    var pad = { l: 56, r: 12, t: 10, b: 34 };
    pad.l = Math.max(56, sc[0].width + (two ? 26 : 10));
    if (two) pad.r = sc[1].width + 26;
    // Across: the categories down the left, cut to fit two fifths of the width.
    var names = m.xs.map(function (v) {
      var s = label(v);
      while (hz && s.length > 2 && textWidth(s) > w * 0.4 - 12) s = s.slice(0, -2) + '…';
      return s;
    });
    if (hz) {
      pad.l = Math.max.apply(null, names.map(textWidth)) + 12;
      pad.r = Math.max(12, textWidth(sc[0].f(sc[0].ticks[sc[0].ticks.length - 1])) / 2 + 4);
    }
    var pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
    var band = (hz ? ph : pw) / Math.max(n, 1);
    function x(j) { return (hz ? pad.t : pad.l) + band * (j + 0.5); }
    function val(a, v) {
      var f = (v - sc[a].lo) / (sc[a].hi - sc[a].lo);
      return hz ? pad.l + f * pw : pad.t + ph - f * ph;
    }
    var gridAxis = sc[0].on.length || !two ? 0 : 1;
    sc.forEach(function (s, a) {
      if (a !== gridAxis && !s.on.length) return;
      // Across, the value labels sit side by side: every k-th, so none touch.
      var every = 1;
      if (hz && s.ticks.length > 1) {
        var gap = Math.abs(val(a, s.ticks[1]) - val(a, s.ticks[0]));
        every = Math.max(1, Math.ceil((s.width + 8) / Math.max(gap, 1)));
      }
      s.ticks.forEach(function (t, ti) {
        var p = val(a, t), stroke = a !== gridAxis ? 'none' : t === 0 ? '#9ca3af' : '#e5e7eb';
        svg.appendChild(sv('line', hz ? { x1: p, x2: p, y1: pad.t, y2: pad.t + ph, stroke: stroke }
          : { x1: pad.l, x2: w - pad.r, y1: p, y2: p, stroke: stroke }));
        var tx = sv('text', hz ? { x: p, y: h - pad.b + 16, 'text-anchor': 'middle', 'class': 'vz-axis vz-v' }
          : { x: a ? w - pad.r + 6 : pad.l - 6, y: p + 4, 'text-anchor': a ? 'start' : 'end', 'class': 'vz-axis vz-y' + a });
        tx.textContent = s.f(t);
        if (ti % every === 0) svg.appendChild(tx);
      });
      if (two && m.axis[a].title) {
        var tx = sv('text', { 'class': 'vz-axis vz-title', 'text-anchor': 'middle',
          transform: 'translate(' + (a ? w - 14 : 12) + ',' + (pad.t + ph / 2) + ') rotate(' + (a ? 90 : -90) + ')' });
        tx.textContent = m.axis[a].title;
        svg.appendChild(tx);
      }
    });
    if (hz) {
      // Every k-th name, k as small as keeps them 14 px apart.
      for (var j = 0, k = Math.ceil(14 / band); j < n; j += k) {
        var tx = sv('text', { x: pad.l - 6, y: x(j) + 4, 'text-anchor': 'end', 'class': 'vz-axis vz-x' });
        tx.textContent = names[j];
        svg.appendChild(tx);
      }
    } else {
      xLabels(m.xs, x, w).forEach(function (l) {
        var tx = sv('text', { x: l.x, y: h - pad.b + 16, 'text-anchor': 'middle', 'class': 'vz-axis vz-x' });
        tx.textContent = l.text;
        svg.appendChild(tx);
      });
    }
    var base = m.axis.map(function () { return m.xs.map(function () { return 0; }); });
    var baseNeg = m.axis.map(function () { return m.xs.map(function () { return 0; }); });
    // A band slot per visible bar series (one per stack).
    var groups = [];
    shown.forEach(function (i) {
      var g = m.axis[m.axes[i]].stacked ? 'a' + m.axes[i] : 's' + i;
      if (m.kinds[i] === 'bar' && groups.indexOf(g) < 0) groups.push(g);
    });
    var slot = band * 0.8 / Math.max(groups.length, 1);
    // Areas' fills under every series' line, so no band covers a line.
    var fills = sv('g', { 'class': 'vz-fills' });
    svg.appendChild(fills);
    shown.forEach(function (i) {
      var g = sv('g', { 'data-series': m.series[i] });
      var color = m.colors[i], row = m.grid[i], a = m.axes[i], stacked = m.axis[a].stacked, kind = m.kinds[i];
      if (kind === 'bar') {
        var off = groups.indexOf(stacked ? 'a' + a : 's' + i) * slot;
        row.forEach(function (v, j) {
          if (v === null) return;
          var v0 = 0, v1 = v;
          if (stacked) { var b = v >= 0 ? base[a] : baseNeg[a]; v0 = b[j]; v1 = b[j] + v; b[j] = v1; }
          var at = x(j) - band * 0.4 + off, p0 = Math.min(val(a, v0), val(a, v1)), len = Math.max(Math.abs(val(a, v0) - val(a, v1)), 1);
          var r = hz ? { x: p0, y: at, width: len, height: Math.max(slot - 1, 1) } : { x: at, y: p0, width: Math.max(slot - 1, 1), height: len };
          r.fill = color; r['data-value'] = v; r['data-x'] = label(m.xs[j]);
          g.appendChild(sv('rect', r));
        });
      } else {
        var d = '', on = false, pts = [];
        row.forEach(function (v, j) {
          if (v === null) { on = false; return; }
          var yy = v, y0 = Math.max(sc[a].lo, 0);
          if (stacked) { y0 = base[a][j]; yy = base[a][j] + v; base[a][j] = yy; }
          d += (on ? 'L' : 'M') + x(j).toFixed(1) + ',' + val(a, yy).toFixed(1);
          on = true;
          pts.push([j, yy, v, y0]);
        });
        if (kind !== 'point') {
          g.appendChild(sv('path', { d: d, fill: 'none', stroke: color, 'stroke-width': 2 }));
          if (kind === 'area' && pts.length) {
            // The band between this series and the one below it (or the axis).
            var ar = 'M' + pts.map(function (p) { return x(p[0]).toFixed(1) + ',' + val(a, p[1]).toFixed(1); }).join('L') + 'L' +
              pts.slice().reverse().map(function (p) { return x(p[0]).toFixed(1) + ',' + val(a, p[3]).toFixed(1); }).join('L') + 'Z';
            fills.appendChild(sv('path', { d: ar, fill: color, 'fill-opacity': 0.3, 'class': 'vz-area', 'data-of': m.series[i] }));
          }
        }
        pts.forEach(function (p) {
          g.appendChild(sv('circle', { cx: x(p[0]), cy: val(a, p[1]), r: kind === 'point' ? 4 : (n <= 40 ? 3 : 1.5),
            fill: color, 'data-value': p[2], 'data-x': label(m.xs[p[0]]) }));
        });
      }
      svg.appendChild(g);
    });
    // One hover band per x: every visible series' value there.
    m.xs.forEach(function (xv, j) {
      var r = sv('rect', hz ? { x: pad.l, y: pad.t + band * j, width: pw, height: band }
        : { x: pad.l + band * j, y: pad.t, width: band, height: ph });
      r.setAttribute('fill', 'transparent');
      r.setAttribute('class', 'vz-hit');
      r.setAttribute('data-index', j);
      r.addEventListener('mousemove', function (ev) {
        var lines = [label(xv)];
        shown.forEach(function (i) { lines.push(m.series[i] + ': ' + fmt(m.grid[i][j])); });
        tip(ev, lines);
      });
      r.addEventListener('mouseleave', function () { tip(null); });
      svg.appendChild(r);
    });
    return svg;
  }

  function drawPie(m, hidden, w, h, tip) {
    var svg = sv('svg', { 'class': 'vz-chart', viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    var cx = w / 2, cy = h / 2, r = Math.min(w, h) / 2 - 10, inner = m.donut ? r * 0.58 : 0;
    var items = m.values.filter(function (v) { return !hidden[label(v.category)] && v.value > 0; });
    var total = items.reduce(function (s, v) { return s + v.value; }, 0) || 1;
    var a = -Math.PI / 2;
    items.forEach(function (v) {
      var i = m.series.indexOf(label(v.category));
      var da = v.value / total * Math.PI * 2, a2 = a + da, large = da > Math.PI ? 1 : 0;
      var p = function (ang, rad) { return (cx + rad * Math.cos(ang)).toFixed(1) + ',' + (cy + rad * Math.sin(ang)).toFixed(1); };
      var d = items.length === 1
        ? 'M' + (cx - r) + ',' + cy + 'a' + r + ',' + r + ' 0 1,0 ' + 2 * r + ',0a' + r + ',' + r + ' 0 1,0 ' + -2 * r + ',0Z'
        : 'M' + p(a, inner) + 'L' + p(a, r) + 'A' + r + ',' + r + ' 0 ' + large + ',1 ' + p(a2, r) +
          'L' + p(a2, inner) + (inner ? 'A' + inner + ',' + inner + ' 0 ' + large + ',0 ' + p(a, inner) : '') + 'Z';
      var g = sv('g', { 'data-series': label(v.category) });
      var path = sv('path', { d: d, fill: m.colors[i % m.colors.length], stroke: '#fff', 'data-value': v.value });
      path.addEventListener('mousemove', function (ev) {
        tip(ev, [label(v.category), fmt(v.value) + ' · ' + (v.value / total * 100).toFixed(1) + '%']);
      });
      path.addEventListener('mouseleave', function () { tip(null); });
      g.appendChild(path);
      if (da >= 0.3) {
        // The share on the slice, when it has room.
        var mid = a + da / 2, at = (inner ? (r + inner) / 2 : r * 0.64);
        var t = sv('text', { x: cx + at * Math.cos(mid), y: cy + at * Math.sin(mid) + 4, 'class': 'vz-share' });
        t.textContent = Math.round(v.value / total * 100) + '%';
        g.appendChild(t);
      }
      svg.appendChild(g);
      a = a2;
    });
    return svg;
  }

  // vizier's own SVG for the chart types drawn only there; its <title>s become the tooltip.
  function drawSvg(view, tip) {
    var box = el('div', { 'class': 'vz-svg' });
    box.innerHTML = view.svg || '';
    box.addEventListener('mousemove', function (ev) {
      var t = ev.target && ev.target.querySelector && ev.target.querySelector(':scope > title');
      if (t) tip(ev, t.textContent.split('\n')); else tip(null);
    });
    box.addEventListener('mouseleave', function () { tip(null); });
    return box;
  }

  // A big number as text, which reads at any size: value, change, trend.
  function bigNumber(b) {
    var box = el('div', { 'class': 'vz-big' }, [
      el('div', { 'class': 'vz-big-value', text: b.value === null ? 'No data' : b.value }),
      b.change ? el('div', { 'class': 'note' }, [el('strong', { 'class': 'vz-' + b.direction, text: b.change }),
        document.createTextNode(' ' + (b.against || ''))]) : null]);
    if (b.trend.length > 1) {
      var lo = Math.min.apply(null, b.trend), hi = Math.max.apply(null, b.trend), n = b.trend.length - 1;
      var d = b.trend.map(function (v, i) {
        return (i ? 'L' : 'M') + (i / n * 100).toFixed(2) + ',' + (28 - (v - lo) / (hi - lo || 1) * 26).toFixed(2);
      }).join('');
      var spark = sv('svg', { 'class': 'vz-spark', viewBox: '0 0 100 30', preserveAspectRatio: 'none', role: 'img' });
      spark.appendChild(sv('path', { d: d + 'L100,30L0,30Z', fill: PALETTE[0], 'fill-opacity': 0.14 }));
      spark.appendChild(sv('path', { d: d, fill: 'none', stroke: PALETTE[0], 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
      box.appendChild(spark);
    }
    return box;
  }

  // A pivot table as a table: column headers along the top, row headers down the side.
  function pivot(p) {
    var head = el('tr', {}, p.columns.map(function (c, i) {
      return el('th', { scope: 'col', 'class': p.numeric[i] ? 'n' : '', text: c });
    }));
    var body = p.rows.map(function (r) {
      return el('tr', /^total$/i.test(r[0]) ? { 'class': 'vz-total' } : {}, r.map(function (v, i) {
        return i < p.index_columns ? el('th', { scope: 'row', text: v }) : el('td', { 'class': p.numeric[i] ? 'n' : '', text: v });
      }));
    });
    var more = p.row_count > p.rows.length
      ? el('p', { 'class': 'note', text: 'Showing ' + p.rows.length + ' of ' + p.row_count + ' rows.' }) : null;
    return el('div', { 'class': 'vz-data vz-pivot' }, [el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)]), more]);
  }

  function table(view) {
    var head = el('tr', {}, (view.columns || []).map(function (c) { return el('th', { text: c }); }));
    var body = (view.rows || []).map(function (r) {
      return el('tr', {}, r.map(function (v) {
        return el('td', { 'class': typeof v === 'number' ? 'n' : '', text: v === null ? '' : (typeof v === 'number' ? fmt(v) : String(v)) });
      }));
    });
    var more = view.row_count > (view.rows || []).length
      ? el('p', { 'class': 'note', text: 'Showing ' + view.rows.length + ' of ' + view.row_count + ' rows.' }) : null;
    return el('div', { 'class': 'vz-data' }, [el('table', {}, [el('thead', {}, [head]), el('tbody', {}, body)]), more]);
  }

  // A chart card: title, legend (toggles a series), chart and data tabs, hover tooltip.
  function chartCard(view, opts) {
    opts = opts || {};
    var card = el('div', { 'class': 'vz-card' });
    var m = model(view);
    var hidden = {};
    var tipBox = el('div', { 'class': 'vz-tip', hidden: '' });
    function tip(ev, lines) {
      if (!ev) { tipBox.hidden = true; return; }
      tipBox.textContent = '';
      lines.forEach(function (l, i) { tipBox.appendChild(el(i ? 'div' : 'strong', { text: l })); });
      tipBox.hidden = false;
      var r = card.getBoundingClientRect();
      tipBox.style.left = Math.min(ev.clientX - r.left + 12, r.width - 160) + 'px';
      tipBox.style.top = (ev.clientY - r.top + 12) + 'px';
    }
    var plot = el('div', { 'class': 'vz-plot' });
    var h = opts.height || 360, drawnWidth = 0;
    // As wide as the card: drawn at the plot's width, again when that width changes.
    function redraw() {
      var w = drawnWidth = plot.clientWidth || opts.width || 720;
      plot.textContent = '';
      // A table chart is its rows, as a table that reads at any size.
      if (!m && view.chart_type === 'table') {
        var t = table(view);
        t.style.maxHeight = h + 'px';
        plot.appendChild(t);
      }
      else if (!m && view.pivot) plot.appendChild(pivot(view.pivot)).style.maxHeight = h + 'px';
      else if (!m && view.big_number) plot.appendChild(bigNumber(view.big_number)).style.minHeight = Math.min(h, 200) + 'px';
      else if (!m) plot.appendChild(drawSvg(view, tip));
      else plot.appendChild(m.type === 'pie' ? drawPie(m, hidden, w, h, tip) : drawCartesian(m, hidden, w, h, tip));
    }
    if (m && window.ResizeObserver) {
      new ResizeObserver(function () {
        if (plot.clientWidth && Math.abs(plot.clientWidth - drawnWidth) > 4) redraw();
      }).observe(plot);
    }
    var legend = null;
    if (m && m.series.length > 1) {
      legend = el('div', { 'class': 'vz-legend' }, m.series.map(function (s, i) {
        var b = el('button', { type: 'button', 'data-series': s, 'aria-pressed': 'true', title: 'Show or hide ' + s }, [
          el('span', { 'class': 'sw', style: 'background:' + m.colors[i % m.colors.length] }), document.createTextNode(s)]);
        b.addEventListener('click', function () {
          hidden[s] = !hidden[s];
          b.setAttribute('aria-pressed', hidden[s] ? 'false' : 'true');
          redraw();
        });
        return b;
      }));
    }
    var chartTab = el('div', { 'class': 'vz-tab-chart' }, [legend, plot]);
    var dataTab = el('div', { 'class': 'vz-tab-data', hidden: '' }, [table(view)]);
    function pick(which) {
      chartTab.hidden = which !== 'chart';
      dataTab.hidden = which !== 'data';
      tabs.querySelectorAll('button').forEach(function (b) { b.setAttribute('aria-selected', b.getAttribute('data-tab') === which ? 'true' : 'false'); });
      resized();
    }
    var tabs = el('div', { 'class': 'vz-tabs', role: 'tablist' }, ['chart', 'data'].map(function (t) {
      return el('button', { type: 'button', role: 'tab', 'data-tab': t, 'aria-selected': t === 'chart' ? 'true' : 'false',
        text: t === 'chart' ? 'Chart' : 'Data', onclick: function () { pick(t); } });
    }));
    var meta = view.row_count + ' rows' + (view.dataset ? ' · ' + view.dataset : '');
    card.appendChild(el('div', { 'class': 'vz-head' }, [
      el('div', {}, [el(opts.small ? 'h3' : 'h2', { text: view.title }), el('p', { 'class': 'note', text: meta })]), tabs]));
    card.appendChild(chartTab);
    card.appendChild(dataTab);
    (view.notes || []).forEach(function (n) { card.appendChild(el('p', { 'class': 'note', text: n })); });
    card.appendChild(tipBox);
    redraw();
    return card;
  }

  // ---- the two views ----------------------------------------------------------------------
  // What the tool named: a saved chart (identifier), or a dataset and config; a saved
  // chart with config is that chart with the config changes (update_chart_preview).
  function chartRef(args, result) {
    var ref = {};
    if (args.identifier !== undefined) ref.identifier = args.identifier;
    else if (result && result.chart_id) ref.identifier = result.chart_id;
    else if (args.dataset_id !== undefined) ref.dataset_id = args.dataset_id;
    if (args.config !== undefined && (ref.dataset_id !== undefined || args.identifier !== undefined)) ref.config = args.config;
    return ref;
  }

  function chartView(args, result) {
    var ref = chartRef(args, result);
    show(el('p', { 'class': 'note', text: 'Loading the chart…' }));
    return callTool('view_chart', { chart: ref }).then(function (view) {
      show(chartCard(view, {}));
    });
  }

  // A dashboard's markdown cell as elements (never as HTML): headings, paragraphs, list
  // items, rules; inline markup (emphasis, code ticks, links, tags) reduced to its text.
  function plain(t) {
    return t.replace(/<[^>]*>/g, ' ').replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/(\*\*|__|\*|`|~~)/g, '').replace(/(^|\s)_([^_]+)_(?=\s|$)/g, '$1$2')
      .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ').trim();
  }
  function markdown(text) {
    var out = [], para = [], list = null;
    function flush() {
      if (para.length) { var t = plain(para.join(' ')); if (t) out.push(el('p', { text: t })); para = []; }
      list = null;
    }
    String(text).split('\n').forEach(function (line) {
      var t = line.trim(), m;
      if (!t) { flush(); return; }
      if ((m = /^(#{1,6})\s+(.*)$/.exec(t))) { flush(); out.push(el('h' + Math.min(6, m[1].length + 2), { text: plain(m[2]) })); return; }
      if (/^([-*_]\s*){3,}$/.test(t)) { flush(); out.push(el('hr')); return; }
      if ((m = /^([-*+]|\d+[.)])\s+(.*)$/.exec(t))) {
        if (para.length) flush();
        var ordered = /\d/.test(m[1]);
        if (!list || list.ordered !== ordered) { list = el(ordered ? 'ol' : 'ul'); list.ordered = ordered; out.push(list); }
        list.appendChild(el('li', { text: plain(m[2]) }));
        return;
      }
      if (t[0] === '>') { flush(); out.push(el('blockquote', { text: plain(t.slice(1)) })); return; }
      list = null;
      para.push(t);
    });
    flush();
    return out;
  }

  var FILTER_ROWS = 200;
  function dashboardView(args, result) {
    var ident = args.identifier !== undefined ? args.identifier : (result && (result.dashboard_id || result.id));
    show(el('p', { 'class': 'note', text: 'Loading the dashboard…' }));
    return Promise.all([
      callTool('get_dashboard_info', { identifier: ident }),
      callTool('get_dashboard_layout', { identifier: ident })
    ]).then(function (both) {
      var info = both[0], layout = both[1];
      var values = {};
      var charts = {};
      (info.charts || []).forEach(function (c) { charts[c.id] = c; });
      var filters = (info.filters || []).filter(function (f) { return f && f.targets && f.targets.length && f.targets[0].column; });
      var cells = {};
      // A select holds its chosen values; a time or numeric range its two ends.
      function kindOf(f) { return f.filter_type === 'filter_time' ? 'time' : f.filter_type === 'filter_range' ? 'range' : 'select'; }
      function filtersFor(chart) {
        var out = [];
        filters.forEach(function (f) {
          var v = values[f.id], kind = kindOf(f);
          if (!v || (kind === 'select' && !v.length)) return;
          f.targets.forEach(function (t) {
            if (t.dataset_id !== chart.datasource_id) return;
            if (kind === 'select') { out.push({ col: t.column, opr: 'in', value: v }); return; }
            if (v[0] !== null) out.push({ col: t.column, opr: 'gte', value: v[0] });
            if (v[1] !== null) out.push({ col: t.column, opr: kind === 'time' ? 'lt' : 'lte', value: v[1] });
          });
        });
        return out;
      }
      function load(id) {
        var cell = cells[id], chart = charts[id];
        if (!cell || !chart) return Promise.resolve();
        cell.setAttribute('data-state', 'loading');
        return callTool('view_chart', { chart: { identifier: id }, filters: filtersFor(chart), table_rows: 100 })
          .then(function (view) {
            cell.textContent = '';
            // The chart fills its grid cell's height, less the card's head and notes.
            var h = Number(cell.getAttribute('data-height')) || 300;
            cell.appendChild(chartCard(view, { small: true, width: 480, height: Math.max(160, h - 110) }));
            cell.setAttribute('data-state', 'ready');
          }, function (e) {
            cell.textContent = '';
            cell.appendChild(errorBox(e.message, chart.slice_name + ' cannot be shown'));
            cell.setAttribute('data-state', 'error');
          }).then(resized);
      }
      var bar = el('div', { 'class': 'vz-filters' });
      function reload(f) {
        var targets = f.targets.map(function (x) { return x.dataset_id; });
        Object.keys(cells).forEach(function (id) {
          if (charts[id] && targets.indexOf(charts[id].datasource_id) >= 0) load(Number(id));
        });
      }
      // A time or numeric range: two inputs, either end may stay empty.
      function rangeInputs(f, kind) {
        var dv = f.default_value, ends = [null, null];
        if (kind === 'time' && dv && typeof dv === 'object' && !Array.isArray(dv)) ends = [dv.start || null, dv.end || null];
        if (kind === 'range' && Array.isArray(dv)) ends = [dv[0] === undefined ? null : dv[0], dv[1] === undefined ? null : dv[1]];
        if (ends[0] !== null || ends[1] !== null) values[f.id] = ends.slice();
        var type = kind === 'time' ? 'date' : 'number';
        return ['from', 'to'].map(function (end, i) {
          var input = el('input', { type: type, 'data-filter': f.id, 'data-end': end,
            'aria-label': (f.name || f.targets[0].column) + ' ' + end });
          if (ends[i] !== null) input.value = String(ends[i]).slice(0, kind === 'time' ? 10 : undefined);
          input.addEventListener('change', function () {
            var v = values[f.id] || [null, null];
            v[i] = input.value === '' ? null : kind === 'range' ? Number(input.value) : input.value;
            values[f.id] = v;
            reload(f);
          });
          return input;
        });
      }
      filters.forEach(function (f) {
        var t = f.targets[0], kind = kindOf(f);
        if (kind !== 'select') {
          var inputs = rangeInputs(f, kind);
          bar.appendChild(el('label', { 'class': 'vz-filter' }, [el('span', { text: f.name || t.column }),
            el('span', { 'class': 'vz-range' }, [inputs[0], el('span', { text: '–' }), inputs[1]])]));
          return;
        }
        var sel = el('select', { 'data-filter': f.id, 'aria-label': f.name || t.column },
          [el('option', { value: '', text: 'All' })]);
        var dv = f.default_value;
        if (Array.isArray(dv) && dv.length) values[f.id] = dv.map(String);
        else if (dv !== null && dv !== undefined && !Array.isArray(dv)) values[f.id] = [String(dv)];
        sel.addEventListener('change', function () {
          values[f.id] = sel.value === '' ? [] : [sel.value];
          reload(f);
        });
        // The choices: the column's values, through the same chart data path.
        callTool('view_chart', { chart: { dataset_id: t.dataset_id, config: {
          chart_type: 'table', group_by: [t.column], order_by: t.column, row_limit: FILTER_ROWS,
          metrics: [{ column: t.column, aggregate: 'COUNT', label: 'rows' }] } }, table_rows: FILTER_ROWS })
          .then(function (view) {
            view.rows.forEach(function (r) {
              if (r[0] === null) return;
              var o = el('option', { value: String(r[0]), text: label(r[0]) });
              if (values[f.id] && values[f.id].indexOf(String(r[0])) >= 0) o.selected = true;
              sel.appendChild(o);
            });
          }, function (e) { sel.disabled = true; sel.title = e.message; });
        bar.appendChild(el('label', { 'class': 'vz-filter' }, [el('span', { text: f.name || t.column }), sel]));
      });
      var page = el('div', { 'class': 'vz-dashboard' }, [el('h1', { text: info.dashboard_title || info.title || 'Dashboard' })]);
      if (filters.length) page.appendChild(bar);
      var cols = layout.grid_columns || 12;
      var groups = [];
      (layout.positions || []).forEach(function (p) {
        var key = (p.tab || '') + '\u0000' + p.row;
        var g = groups.filter(function (x) { return x.key === key; })[0];
        if (!g) { g = { key: key, tab: p.tab, items: [] }; groups.push(g); }
        g.items.push(p);
      });
      var lastTab = null;
      groups.forEach(function (g) {
        if (g.tab && g.tab !== lastTab) { page.appendChild(el('h2', { 'class': 'vz-tabtitle', text: g.tab })); lastTab = g.tab; }
        var row = el('div', { 'class': 'vz-row', style: 'grid-template-columns:repeat(' + cols + ',1fr)' });
        g.items.forEach(function (p) {
          var span = 'grid-column:' + (p.x + 1) + ' / span ' + p.width;
          if (p.chart_id === undefined) {
            var node = p.markdown !== undefined
              ? el('div', { 'class': 'vz-md', style: span + ';min-height:' + Math.max(60, Math.min(560, p.height * 8)) + 'px' }, markdown(p.markdown))
              : p.header !== undefined
                ? el('div', { 'class': 'vz-header vz-' + (p.size || 'medium'), style: span, text: p.header })
                : el('hr', { 'class': 'vz-divider', style: span });
            row.appendChild(node);
            return;
          }
          var ch = Math.max(160, Math.min(560, p.height * 8));
          var cell = el('div', { 'class': 'vz-cell', 'data-chart-id': p.chart_id, 'data-height': ch,
            style: span + ';min-height:' + ch + 'px' },
            [el('p', { 'class': 'note', text: 'Loading…' })]);
          cells[p.chart_id] = cell;
          row.appendChild(cell);
        });
        page.appendChild(row);
      });
      show(page);
      return Promise.all(Object.keys(cells).map(function (id) { return load(Number(id)); }));
    });
  }

  function start() {
    if (state.started || !state.result) return;
    state.started = true;
    var result = state.result;
    if (result.isError) { show(errorBox(failure(result).message)); return; }
    var sc = result.structuredContent || {};
    var run = kind === 'dashboard' ? dashboardView : chartView;
    run(state.input || {}, sc).catch(function (e) { show(errorBox(e.message)); });
  }

  if (inline) {
    // The explore page: the chart is in the page, which is all the window.
    document.documentElement.className = 'vz-page';
    show(inline.error ? errorBox(inline.error, inline.title) : chartCard(inline, { width: 960, height: 480 }));
  } else if (window.parent !== window) {
    request('ui/initialize', { appInfo: { name: 'vizier-' + kind + '-view', version: '1' }, appCapabilities: {},
      protocolVersion: '2026-01-26' }).then(function () {
      notify('ui/notifications/initialized');
    }, function (e) { show(errorBox(e.message, 'The host did not start this view')); });
  } else {
    show(errorBox('This view runs inside an MCP host that supports MCP Apps.'));
  }
})();
