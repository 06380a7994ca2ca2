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
  // Long-form values from vizier's Vega-Lite spec: {x, series, value} (cartesian) or
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
    if (['line', 'bar', 'area', 'point'].indexOf(mark) < 0 || !('x' in values[0])) return null;
    var series = [], xs = [], seen = {}, sseen = {};
    values.forEach(function (v) {
      var s = v.series === undefined ? (view.title || 'value') : String(v.series);
      if (!sseen[s]) { sseen[s] = 1; series.push(s); }
      var k = JSON.stringify(v.x);
      if (!(k in seen)) { seen[k] = xs.length; xs.push(v.x); }
    });
    var grid = series.map(function () { return xs.map(function () { return null; }); });
    values.forEach(function (v) {
      var s = v.series === undefined ? (view.title || 'value') : String(v.series);
      grid[series.indexOf(s)][seen[JSON.stringify(v.x)]] = v.value;
    });
    var enc = vl.encoding || {};
    var horizontal = enc.y && enc.y.field === 'x';
    var valueEnc = horizontal ? enc.x : enc.y;
    return { type: mark, colors: colors, series: series, xs: xs, grid: grid, horizontal: horizontal,
      stacked: !!(valueEnc && valueEnc.stack === 'zero') };
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

  function drawCartesian(m, hidden, w, h, tip) {
    var svg = sv('svg', { 'class': 'vz-chart', viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    var pad = { l: 56, r: 12, t: 10, b: 34 };
    var pw = w - pad.l - pad.r, ph = h - pad.t - pad.b, n = m.xs.length;
    var shown = m.series.map(function (s, i) { return hidden[s] ? -1 : i; }).filter(function (i) { return i >= 0; });
    var lo = 0, hi = 0;
    m.xs.forEach(function (_, j) {
      var pos = 0, neg = 0;
      shown.forEach(function (i) {
        var v = m.grid[i][j];
        if (v === null) return;
        if (m.stacked) { if (v >= 0) pos += v; else neg += v; } else { hi = Math.max(hi, v); lo = Math.min(lo, v); }
      });
      if (m.stacked) { hi = Math.max(hi, pos); lo = Math.min(lo, neg); }
    });
    if (m.type === 'point' || m.type === 'line') {
      var all = [];
      shown.forEach(function (i) { m.grid[i].forEach(function (v) { if (v !== null) all.push(v); }); });
      if (all.length && m.type === 'point') { lo = Math.min.apply(null, all); hi = Math.max.apply(null, all); }
    }
    if (hi === lo) hi = lo + 1;
    var yt = ticks(lo, hi, 5);
    lo = Math.min(lo, yt[0]); hi = Math.max(hi, yt[yt.length - 1]);
    function y(v) { return pad.t + ph - (v - lo) / (hi - lo) * ph; }
    var band = pw / Math.max(n, 1);
    function x(j) { return pad.l + band * (j + 0.5); }
    yt.forEach(function (t) {
      svg.appendChild(sv('line', { x1: pad.l, x2: w - pad.r, y1: y(t), y2: y(t), stroke: t === 0 ? '#9ca3af' : '#e5e7eb' }));
      var tx = sv('text', { x: pad.l - 6, y: y(t) + 4, 'text-anchor': 'end', 'class': 'vz-axis' });
      tx.textContent = short(t);
      svg.appendChild(tx);
    });
    xLabels(m.xs, x, w).forEach(function (l) {
      var tx = sv('text', { x: l.x, y: h - pad.b + 16, 'text-anchor': 'middle', 'class': 'vz-axis vz-x' });
      tx.textContent = l.text;
      svg.appendChild(tx);
    });
    var base = [], baseNeg = [];
    m.xs.forEach(function () { base.push(0); baseNeg.push(0); });
    var slot = band * 0.8 / (m.stacked ? 1 : Math.max(shown.length, 1));
    // Areas' fills under every series' line, so no band covers a line.
    var fills = sv('g', { 'class': 'vz-fills' });
    svg.appendChild(fills);
    shown.forEach(function (i, k) {
      var g = sv('g', { 'data-series': m.series[i] });
      var color = m.colors[i % m.colors.length];
      var row = m.grid[i];
      if (m.type === 'bar') {
        row.forEach(function (v, j) {
          if (v === null) return;
          var y0, y1, bx;
          if (m.stacked) {
            var b = v >= 0 ? base : baseNeg;
            y0 = b[j]; y1 = b[j] + v; b[j] = y1; bx = x(j) - band * 0.4;
          } else { y0 = 0; y1 = v; bx = x(j) - band * 0.4 + slot * k; }
          g.appendChild(sv('rect', { x: bx, y: Math.min(y(y0), y(y1)), width: Math.max(slot - 1, 1),
            height: Math.max(Math.abs(y(y0) - y(y1)), 1), fill: color, 'data-value': v, 'data-x': label(m.xs[j]) }));
        });
      } else {
        var d = '', on = false, pts = [];
        row.forEach(function (v, j) {
          if (v === null) { on = false; return; }
          var yy = v, y0 = Math.max(lo, 0);
          if (m.stacked) { y0 = base[j]; yy = base[j] + v; base[j] = yy; }
          d += (on ? 'L' : 'M') + x(j).toFixed(1) + ',' + y(yy).toFixed(1);
          on = true;
          pts.push([j, yy, v, y0]);
        });
        if (m.type !== 'point') {
          g.appendChild(sv('path', { d: d, fill: 'none', stroke: color, 'stroke-width': 2 }));
          if (m.type === 'area' && pts.length) {
            // The band between this series and the one below it (or the axis).
            var a = 'M' + pts.map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1); }).join('L') + 'L' +
              pts.slice().reverse().map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[3]).toFixed(1); }).join('L') + 'Z';
            fills.appendChild(sv('path', { d: a, fill: color, 'fill-opacity': 0.3, 'class': 'vz-area', 'data-of': m.series[i] }));
          }
        }
        pts.forEach(function (p) {
          g.appendChild(sv('circle', { cx: x(p[0]), cy: y(p[1]), r: m.type === 'point' ? 4 : (n <= 40 ? 3 : 1.5),
            fill: color, 'data-value': p[2], 'data-x': label(m.xs[p[0]]) }));
        });
      }
      svg.appendChild(g);
    });
    // One hover band per x: every visible series' value there.
    m.xs.forEach(function (xv, j) {
      var r = sv('rect', { x: pad.l + band * j, y: pad.t, width: band, height: ph, fill: 'transparent', 'class': 'vz-hit', 'data-index': j });
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
      function filtersFor(chart) {
        var out = [];
        filters.forEach(function (f) {
          var v = values[f.id];
          if (!v || !v.length) return;
          f.targets.forEach(function (t) {
            if (t.dataset_id === chart.datasource_id) out.push({ col: t.column, opr: 'in', value: v });
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
      filters.forEach(function (f) {
        var t = f.targets[0];
        var sel = el('select', { 'data-filter': f.id, 'aria-label': f.name || t.column },
          [el('option', { value: '', text: 'All' })]);
        var dv = f.default_value;
        if (Array.isArray(dv) && dv.length) values[f.id] = dv.map(String);
        sel.addEventListener('change', function () {
          values[f.id] = sel.value === '' ? [] : [sel.value];
          var targets = f.targets.map(function (x) { return x.dataset_id; });
          Object.keys(cells).forEach(function (id) {
            if (charts[id] && targets.indexOf(charts[id].datasource_id) >= 0) load(Number(id));
          });
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
