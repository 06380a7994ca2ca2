// The checks every JavaScript client runs against vizier. `client` is a connected Client of
// @modelcontextprotocol/sdk 1.x or @modelcontextprotocol/client 2.x: both have
// listTools({cursor}) and callTool({name, arguments}). Each check asserts on results; the
// first failed assertion ends the run with its message.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// The installed version of a package (its package.json is not always exported).
export function installedVersion(pkg) {
  const file = new URL(`../node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(file, 'utf8')).version;
}

export function step(name, fn) {
  return async (...args) => {
    const started = Date.now();
    try {
      const out = await fn(...args);
      console.log(`  ok   ${name} (${Date.now() - started} ms)`);
      return out;
    } catch (e) {
      console.log(`  FAIL ${name} (${Date.now() - started} ms): ${describe(e)}`);
      if (e && typeof e === 'object') e.reported = true;
      throw e;
    }
  };
}

export function describe(e) {
  if (e == null) return String(e);
  let text = (e.message ?? String(e)).replace(/\s*\n\s*/g, ' ');
  if (e.code !== undefined && !text.includes(String(e.code))) text = `[code ${e.code}] ${text}`;
  return text.length > 4000 ? `${text.slice(0, 4000)}… (${text.length} chars)` : text;
}

// The properties a tool's input schema names; the call fails loudly if an argument the
// checks pass is not among them.
function requireArgs(tools, name, args) {
  const tool = tools.find((t) => t.name === name);
  assert.ok(tool, `tools/list has no ${name}`);
  const props = Object.keys(tool.inputSchema?.properties ?? {});
  for (const a of args) {
    assert.ok(props.includes(a), `${name}'s inputSchema has no property "${a}" (has: ${props.join(', ')})`);
  }
  return tool;
}

// structuredContent, or the JSON of the first text block when a client drops it.
function structured(result, name) {
  assert.ok(!result.isError, `${name} returned isError: ${JSON.stringify(result.content).slice(0, 500)}`);
  if (result.structuredContent) return result.structuredContent;
  const text = (result.content ?? []).find((c) => c.type === 'text');
  assert.ok(text, `${name}: no structuredContent and no text content`);
  return JSON.parse(text.text);
}

export async function listAllTools(client) {
  const tools = [];
  let cursor;
  let pages = 0;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    pages += 1;
    assert.ok(Array.isArray(page.tools), 'tools/list result has no tools array');
    tools.push(...page.tools);
    cursor = page.nextCursor;
    assert.ok(pages <= 50, 'tools/list: more than 50 pages (cursor loop?)');
  } while (cursor);
  const names = tools.map((t) => t.name);
  assert.equal(new Set(names).size, names.length, 'tools/list: duplicate tool names across pages');
  for (const want of ['list_charts', 'get_chart_preview', 'list_databases', 'execute_sql']) {
    assert.ok(names.includes(want), `tools/list: ${want} missing (got ${names.length} tools)`);
  }
  for (const t of tools) {
    assert.equal(t.inputSchema?.type, 'object', `${t.name}: inputSchema.type is not "object"`);
  }
  return { tools, pages };
}

export async function runChecks(client) {
  const { tools, pages } = await step('tools/list (all pages)', async () => {
    const r = await listAllTools(client);
    console.log(`       ${r.tools.length} tools in ${r.pages} page(s)`);
    return r;
  })();

  const chartId = await step('tools/call list_charts', async () => {
    requireArgs(tools, 'list_charts', ['page_size']);
    const r = structured(await client.callTool({ name: 'list_charts', arguments: { page_size: 5 } }), 'list_charts');
    assert.ok(Array.isArray(r.items), 'list_charts: no items array');
    assert.ok(r.items.length >= 1, 'list_charts: no charts (the example charts are missing)');
    assert.ok(r.items.length <= 5, `list_charts: page_size 5 gave ${r.items.length} items`);
    assert.ok(r.total_count >= r.items.length, `list_charts: total_count ${r.total_count} < items`);
    assert.ok(Number.isInteger(r.items[0].id), 'list_charts: first item has no integer id');
    return r.items[0].id;
  })();

  await step('tools/call get_chart_preview (png)', async () => {
    requireArgs(tools, 'get_chart_preview', ['identifier', 'format']);
    const r = await client.callTool({
      name: 'get_chart_preview',
      arguments: { identifier: chartId, format: 'png' },
    });
    assert.ok(!r.isError, `get_chart_preview returned isError: ${JSON.stringify(r.content).slice(0, 500)}`);
    const image = (r.content ?? []).find((c) => c.type === 'image');
    assert.ok(image, `get_chart_preview: no image content (types: ${(r.content ?? []).map((c) => c.type).join(', ')})`);
    assert.equal(image.mimeType, 'image/png');
    const bytes = Buffer.from(image.data, 'base64');
    assert.ok(bytes.length > 1000, `get_chart_preview: PNG of ${bytes.length} bytes`);
    assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), 'get_chart_preview: image data is not a PNG');
  })();

  const databaseId = await step('tools/call list_databases', async () => {
    const r = structured(await client.callTool({ name: 'list_databases', arguments: {} }), 'list_databases');
    assert.ok(Array.isArray(r.items) && r.items.length >= 1, 'list_databases: no databases');
    return r.items[0].id;
  })();

  await step('tools/call execute_sql', async () => {
    requireArgs(tools, 'execute_sql', ['database_id', 'sql']);
    const r = structured(
      await client.callTool({ name: 'execute_sql', arguments: { database_id: databaseId, sql: 'SELECT 1 AS one' } }),
      'execute_sql',
    );
    assert.deepEqual(r.columns?.map((c) => c.name), ['one'], 'execute_sql: columns');
    assert.deepEqual(r.rows, [[1]], 'execute_sql: rows');
    assert.equal(r.row_count, 1);
  })();

  return { tools: tools.length, pages };
}

// Run main() with an overall deadline; exit 0 on success, 1 on any failure.
export function runMain(main, seconds = 60) {
  const timer = setTimeout(() => {
    console.log(`  FAIL timed out after ${seconds} s`);
    process.exit(1);
  }, seconds * 1000);
  main().then(
    () => {
      clearTimeout(timer);
      process.exit(0);
    },
    (e) => {
      clearTimeout(timer);
      if (!e?.reported) console.log(`  FAIL ${describe(e)}`);
      process.exit(1);
    },
  );
}
