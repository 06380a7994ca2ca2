// vizier's MCP Apps views in a real host: the SDK's AppBridge (host.js) in headless
// chromium, connected through a real MCP client (@modelcontextprotocol/client, 2026-07-28,
// declaring io.modelcontextprotocol/ui) to a running vizier.
//   node run.mjs MCP_URL ADMIN_KEY GAMMA_KEY OUT_DIR
// Checks, each printed as PASS/FAIL: the tools point at the views, the views are readable,
// the chart draws (screenshot in OUT_DIR), hover shows a value, a legend click hides a
// series, the data tab shows rows, a pie's slices hover and hide, a pivot is a table, a
// 320 px frame keeps a bar chart's x labels apart, a dashboard filter change calls the
// app-only tool and every chart on the filtered dataset updates, and a caller without
// access sees the error.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const [url, adminKey, gammaKey, outDir] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const UI = 'io.modelcontextprotocol/ui';
const MIME = 'text/html;profile=mcp-app';
mkdirSync(outDir, { recursive: true });

let failed = 0;
let passed = 0;
async function check(name, f) {
  const t0 = Date.now();
  try {
    await f();
    passed++;
    console.log(`  PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`  FAIL ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
  }
}

async function connect(key, mode = 'auto') {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  const client = new Client(
    { name: 'vizier-apps-host', version: '1.0.0' },
    { capabilities: { extensions: { [UI]: { mimeTypes: [MIME] } } }, versionNegotiation: { mode } },
  );
  await client.connect(transport);
  client.transportOf = transport;
  return client;
}

const bundle = (await build({
  entryPoints: [path.join(here, 'host.js')], bundle: true, write: false, format: 'iife',
  platform: 'browser', logLevel: 'error',
})).outputFiles[0].text;

const admin = await connect(adminKey);
const gamma = await connect(gammaKey);
// Chromium's own failed checks (`Check failed: ...` on its stderr) fail the run even when
// chromium survives them: an about:blank host page with a sandboxed srcdoc view logs
// `Check failed: has_site_` (site_instance_impl.cc) and, with --single-process, dies of it.
const browserFaults = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  logger: {
    isEnabled: (name) => name === 'browser',
    log: (name, severity, message) => {
      const m = String(message);
      if (/Check failed|FATAL/.test(m)) browserFaults.push(m.replace(/^.*?\] /, '').slice(0, 300));
    },
  },
});
browser.on('disconnected', () => browserFaults.push('chromium exited during the run'));

// A page hosting one view; the view's tools/call go to vizier as `client`.
async function host(client, html, args, result, width) {
  const page = await browser.newPage({ viewport: { width: 1040, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.exposeFunction('hostCallTool', (params) => client.callTool(params));
  // Host and view on origins of their own, as hosts serve them (see host.js).
  await page.route('http://apps-host.test/**', (r) => r.fulfill({ contentType: 'text/html; charset=utf-8',
    body: '<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"></body></html>' }));
  await page.route('http://apps-view.test/**', (r) => r.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  await page.goto('http://apps-host.test/');
  await page.addScriptTag({ content: bundle });
  let timer;
  await Promise.race([
    page.evaluate(([a, r, w]) => window.startView('http://apps-view.test/view.html', a, r, w), [args, result, width]),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(
      'the view did not complete ui/initialize and take the tool result within 30 s')), 30000); }),
  ]).finally(() => clearTimeout(timer));
  return { page, view: page.frameLocator('#view'), errors };
}

// A screenshot of the whole host page. The view is an out-of-process frame, which chromium
// paints only where it meets the viewport: the viewport grows to the page first.
async function shot(page, view, name) {
  const height = await page.evaluate(() => Math.ceil(document.getElementById('view').getBoundingClientRect().bottom));
  await page.setViewportSize({ width: 1040, height: Math.max(400, height) });
  await view.locator('html').evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: path.join(outDir, name) });
}

let chartUri, dashboardUri, chartHtml, dashboardHtml;
await check('tools point at the views (declaring client); view_chart is not listed', async () => {
  const { tools } = await admin.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  chartUri = byName.get_chart_preview?._meta?.ui?.resourceUri;
  dashboardUri = byName.get_dashboard_info?._meta?.ui?.resourceUri;
  assert.equal(chartUri, 'ui://vizier/chart.html');
  assert.equal(dashboardUri, 'ui://vizier/dashboard.html');
  for (const t of ['generate_chart', 'update_chart_preview']) assert.equal(byName[t]._meta.ui.resourceUri, chartUri);
  assert.equal(byName.get_dashboard_screenshot._meta.ui.resourceUri, dashboardUri);
  assert.ok(!byName.view_chart, 'view_chart must not be listed');
});
await check('a handshake-era client declaring the extension at initialize only sees the views', async () => {
  const legacy = await connect(adminKey, 'legacy');
  try {
    const version = legacy.getNegotiatedProtocolVersion?.() ?? legacy.transportOf.protocolVersion;
    assert.ok(version && version < '2026', `negotiated ${version}`);
    assert.ok(legacy.transportOf.sessionId?.startsWith('vz-apps-'), `session id ${legacy.transportOf.sessionId}`);
    const { tools } = await legacy.listTools();
    const preview = tools.find((t) => t.name === 'get_chart_preview');
    assert.equal(preview?._meta?.ui?.resourceUri, 'ui://vizier/chart.html');
  } finally {
    await legacy.close();
  }
});
await check('views are readable, self-contained, with CSP metadata', async () => {
  for (const uri of [chartUri, dashboardUri]) {
    const r = await admin.readResource({ uri });
    const c = r.contents[0];
    assert.equal(c.mimeType, MIME);
    assert.deepEqual(c._meta.ui.csp.connectDomains, []);
    assert.deepEqual(c._meta.ui.csp.resourceDomains, []);
    console.log(`       ${uri}: ${Buffer.byteLength(c.text)} bytes`);
    if (uri === chartUri) chartHtml = c.text; else dashboardHtml = c.text;
  }
});

const charts = (await admin.callTool({ name: 'list_charts', arguments: { page_size: 50, select_columns: ['id', 'slice_name'] } })).structuredContent.items;
const chartId = charts.find((c) => c.slice_name === 'Weekly orders by segment').id;

await check('chart view: draws, hover shows a value, legend hides a series, data tab', async () => {
  const args = { identifier: chartId, format: 'svg' };
  const result = await admin.callTool({ name: 'get_chart_preview', arguments: args });
  assert.ok(!result.isError, JSON.stringify(result.content));
  const { page, view, errors } = await host(admin, chartHtml, args, result);
  const svg = view.locator('svg.vz-chart');
  await svg.waitFor({ timeout: 60000 });
  const series = await view.locator('svg.vz-chart g[data-series]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-series')));
  assert.deepEqual(series, ['Consumer', 'Corporate', 'Home Office']);
  const points = await view.locator('svg.vz-chart g[data-series="Consumer"] circle').count();
  assert.ok(points > 40, `Consumer has ${points} points`);
  await shot(page, view, 'chart-view.png');
  // Hover the middle of the plot: the tooltip names the week and each series' value.
  const hit = view.locator('svg.vz-chart rect.vz-hit').nth(20);
  await hit.hover();
  const tip = view.locator('.vz-tip');
  await tip.waitFor({ state: 'visible' });
  const text = await tip.innerText();
  assert.match(text, /Consumer: [\d,.]+/, text);
  assert.match(text, /Corporate: [\d,.]+/, text);
  await shot(page, view, 'chart-hover.png');
  await view.locator('.vz-legend button[data-series="Corporate"]').click();
  const after = await view.locator('svg.vz-chart g[data-series]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-series')));
  assert.deepEqual(after, ['Consumer', 'Home Office']);
  await hit.hover({ position: { x: 3, y: 5 } });
  assert.doesNotMatch(await tip.innerText(), /Corporate/);
  await shot(page, view, 'chart-hidden-series.png');
  await view.locator('.vz-tabs button[data-tab="data"]').click();
  const rows = await view.locator('.vz-data tbody tr').count();
  assert.ok(rows >= 100, `data tab shows ${rows} rows`);
  assert.deepEqual(errors, []);
  await page.close();
});

await check('chart view: a pie hovers and hides slices, a pivot is a table, a 320 px frame keeps x labels apart', async () => {
  const id = (name) => charts.find((c) => c.slice_name === name).id;
  // The pie: hover names a slice's value and share; the legend hides a slice and the rest
  // fill the pie; a second click brings it back.
  let args = { identifier: id('Sales channel share'), format: 'svg' };
  let result = await admin.callTool({ name: 'get_chart_preview', arguments: args });
  let { page, view, errors } = await host(admin, chartHtml, args, result);
  await view.locator('svg.vz-chart g[data-series] path').first().waitFor({ timeout: 60000 });
  const slices = () => view.locator('svg.vz-chart g[data-series]').evaluateAll((gs) =>
    gs.map((g) => [g.getAttribute('data-series'), g.querySelector('path').getAttribute('d')]));
  const before = await slices();
  assert.ok(before.length >= 3, JSON.stringify(before));
  // The share printed on the first slice: a point on it (its box's centre may be the hole).
  const on = await view.locator('svg.vz-chart g[data-series] .vz-share').first().boundingBox();
  await page.mouse.move(on.x + on.width / 2, on.y + on.height / 2);
  const tip = view.locator('.vz-tip');
  await tip.waitFor({ state: 'visible' });
  const text = await tip.innerText();
  assert.match(text, new RegExp(`^${before[0][0]}\\n[\\d,.]+ · [\\d.]+%`), text);
  await shot(page, view, 'pie-view.png');
  await view.locator(`.vz-legend button[data-series="${before[0][0]}"]`).click();
  const after = await slices();
  assert.equal(after.length, before.length - 1);
  for (const [name, d] of after) assert.notEqual(d, before.find((b) => b[0] === name)[1], `${name} kept its shape`);
  await shot(page, view, 'pie-hidden-slice.png');
  await view.locator(`.vz-legend button[data-series="${before[0][0]}"]`).click();
  assert.deepEqual(await slices(), before);
  assert.deepEqual(errors, []);
  await page.close();
  // The pivot: an HTML table with column headers and row headers.
  args = { identifier: id('Revenue by region and category'), format: 'svg' };
  result = await admin.callTool({ name: 'get_chart_preview', arguments: args });
  ({ page, view, errors } = await host(admin, chartHtml, args, result));
  await view.locator('.vz-plot table').waitFor({ timeout: 60000 });
  const heads = await view.locator('.vz-plot thead th').allInnerTexts();
  assert.ok(heads.includes('Electronics') && heads.at(-1) === 'Total', heads.join('|'));
  const rowHeads = await view.locator('.vz-plot tbody th[scope="row"]').allInnerTexts();
  assert.ok(rowHeads.length >= 3 && rowHeads.at(-1) === 'Total', rowHeads.join('|'));
  assert.equal(await view.locator('.vz-plot svg').count(), 0);
  await shot(page, view, 'pivot-view.png');
  assert.deepEqual(errors, []);
  await page.close();
  // A bar chart of many categories in a 320 px frame: no two x labels touch.
  const datasetId = (await admin.callTool({ name: 'view_chart', arguments: { chart: { identifier: chartId } } })).structuredContent.dataset_id;
  args = { dataset_id: datasetId, config: { chart_type: 'xy', kind: 'bar', x: 'subcategory',
    metrics: [{ saved_metric: 'revenue' }], order_desc: true }, format: 'svg' };
  result = await admin.callTool({ name: 'get_chart_preview', arguments: args });
  assert.ok(!result.isError, JSON.stringify(result.content));
  ({ page, view, errors } = await host(admin, chartHtml, args, result, 320));
  await view.locator('svg.vz-chart text.vz-x').first().waitFor({ timeout: 60000 });
  await page.waitForTimeout(300);
  const boxes = await view.locator('svg.vz-chart text.vz-x').evaluateAll((ts) => ts.map((t) => {
    const r = t.getBoundingClientRect(), s = t.ownerSVGElement.getBoundingClientRect();
    return [t.textContent, r.left, r.right, s.left, s.right];
  }));
  const bars = await view.locator('svg.vz-chart rect.vz-hit').count();
  assert.ok(bars >= 20 && boxes.length >= 2 && boxes.length < bars, `${boxes.length} labels for ${bars} bars`);
  for (const b of boxes) assert.ok(b[1] >= b[3] - 0.5 && b[2] <= b[4] + 0.5, `outside the chart: ${b}`);
  for (let i = 1; i < boxes.length; i++) assert.ok(boxes[i - 1][2] <= boxes[i][1], `overlap: ${boxes[i - 1]} / ${boxes[i]}`);
  await view.locator('svg.vz-chart rect.vz-hit').nth(1).hover();
  await view.locator('.vz-tip').waitFor({ state: 'visible' });
  assert.match(await view.locator('.vz-tip').innerText(), /\$?[\d,.]+/);
  await shot(page, view, 'narrow-bar-view.png');
  assert.deepEqual(errors, []);
  await page.close();
});

await check('dashboard view: layout, native filter re-queries through view_chart, charts update', async () => {
  const dash = (await admin.callTool({ name: 'list_dashboards', arguments: {} })).structuredContent.items[0];
  const info0 = (await admin.callTool({ name: 'get_dashboard_info', arguments: { identifier: dash.id } })).structuredContent;
  const datasetId = info0.charts[0].datasource_id;
  const set = await admin.callTool({ name: 'manage_native_filters', arguments: { identifier: dash.id,
    add: [{ name: 'Region', column: 'region', dataset_ids: [datasetId] }] } });
  assert.ok(!set.isError, JSON.stringify(set.content));
  const filterId = set.structuredContent.added[0];
  const args = { identifier: dash.id };
  const result = await admin.callTool({ name: 'get_dashboard_info', arguments: args });
  const { page, view, errors } = await host(admin, dashboardHtml, args, result);
  const cells = view.locator('.vz-cell');
  await view.locator('.vz-cell[data-state="ready"]').first().waitFor({ timeout: 60000 });
  const n = result.structuredContent.charts.length;
  for (let i = 0; i < 120; i++) {
    if (await view.locator('.vz-cell[data-state="ready"]').count() === n) break;
    await page.waitForTimeout(500);
  }
  assert.equal(await cells.count(), n);
  assert.equal(await view.locator('.vz-cell[data-state="ready"]').count(), n, 'every chart drew');
  // Each chart (a picture, or a table chart's rows) fills its cell's width.
  const sizes = await cells.evaluateAll((cs) => cs.map((c) => {
    const s = c.querySelector('.vz-plot > *').getBoundingClientRect(), r = c.getBoundingClientRect();
    return { id: c.dataset.chartId, svg: [Math.round(s.width), Math.round(s.height)], cell: Math.round(r.width) };
  }));
  for (const z of sizes) {
    assert.ok(z.svg[0] >= z.cell * 0.6 && z.svg[1] >= 100, `chart ${z.id} drawn at ${z.svg} in a ${z.cell} px cell`);
  }
  const select = view.locator(`select[data-filter="${filterId}"]`);
  for (let i = 0; i < 60 && (await select.locator('option').count()) < 3; i++) await page.waitForTimeout(500);
  const options = await select.locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(options.length >= 3, `region choices: ${options}`);
  await shot(page, view, 'dashboard-view.png');
  const before = await cells.evaluateAll((cs) => cs.map((c) => c.querySelector('.vz-data')?.textContent));
  const calls0 = await page.evaluate(() => window.toolCalls.length);
  await select.selectOption(options[1]);
  for (let i = 0; i < 120; i++) {
    const done = await page.evaluate((k) => window.toolCalls.slice(k).filter((c) => c.name === 'view_chart').length, calls0);
    if (done >= n && (await view.locator('.vz-cell[data-state="ready"]').count()) === n) break;
    await page.waitForTimeout(500);
  }
  const calls = await page.evaluate((k) => window.toolCalls.slice(k), calls0);
  const filtered = calls.filter((c) => c.name === 'view_chart' && c.arguments.filters?.some((f) => f.col === 'region' && f.value[0] === options[1]));
  assert.equal(filtered.length, n, `view_chart calls with the filter: ${JSON.stringify(calls)}`);
  assert.equal(await view.locator('.vz-cell[data-state="ready"]').count(), n);
  const after = await cells.evaluateAll((cs) => cs.map((c) => c.querySelector('.vz-data')?.textContent));
  const changed = after.filter((t, i) => t !== before[i]).length;
  assert.equal(changed, n, `charts whose data changed: ${changed} of ${n}`);
  // The example's order date filter: two dates, applied as gte (from) and lt (to).
  const timeFilter = info0.filters.find((f) => f.filter_type === 'filter_time');
  assert.ok(timeFilter, `the example has a time filter: ${JSON.stringify(info0.filters)}`);
  const from = view.locator(`input[data-filter="${timeFilter.id}"][data-end="from"]`);
  assert.equal(await from.getAttribute('type'), 'date');
  const calls1 = await page.evaluate(() => window.toolCalls.length);
  await from.fill('2025-01-01');
  for (let i = 0; i < 120; i++) {
    const done = await page.evaluate((k) => window.toolCalls.slice(k).filter((c) => c.name === 'view_chart').length, calls1);
    if (done >= n && (await view.locator('.vz-cell[data-state="ready"]').count()) === n) break;
    await page.waitForTimeout(500);
  }
  const dated = (await page.evaluate((k) => window.toolCalls.slice(k), calls1)).filter((c) => c.name === 'view_chart'
    && c.arguments.filters?.some((f) => f.col === 'order_date' && f.opr === 'gte' && f.value === '2025-01-01'));
  assert.equal(dated.length, n, 'every chart re-queried from 2025-01-01');
  assert.equal(await view.locator('.vz-cell[data-state="ready"]').count(), n);
  await shot(page, view, 'dashboard-filtered.png');
  assert.deepEqual(errors, []);
  await page.close();
});

await check('a caller without access sees a readable error, in both ways', async () => {
  // The tool's own result refused: the view shows the refusal.
  const args = { identifier: chartId, format: 'svg' };
  const refused = await gamma.callTool({ name: 'get_chart_preview', arguments: args });
  assert.ok(refused.isError, 'gamma must not see the chart');
  let { page, view } = await host(gamma, chartHtml, args, refused);
  let box = view.locator('.vz-error');
  await box.waitFor({ timeout: 30000 });
  assert.ok((await box.innerText()).length > 20);
  await page.close();
  // The view's own call (view_chart) runs as the caller: refused the same way.
  const shown = await admin.callTool({ name: 'get_chart_preview', arguments: args });
  ({ page, view } = await host(gamma, chartHtml, args, shown));
  box = view.locator('.vz-error');
  await box.waitFor({ timeout: 30000 });
  const text = await box.innerText();
  assert.match(text, /not|denied|access|permission/i, text);
  await shot(page, view, 'chart-error.png');
  console.log(`       error view: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
  await page.close();
});

await check('chromium stayed up and logged no failed check', async () => {
  assert.deepEqual(browserFaults, []);
});

await browser.close();
await admin.close();
await gamma.close();
console.log(`apps: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
