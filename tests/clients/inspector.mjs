// The MCP Inspector CLI against a running vizier: node inspector.mjs URL
// Runs `inspector --cli URL --transport http --method tools/list --strict`, which lints every
// tool schema for portability (--strict: errors fail the run). Passes when the CLI exits 0
// and printed a tool list that has vizier's tools; otherwise prints the CLI's errors.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { installedVersion, runMain } from './lib/checks.mjs';

const url = process.argv[2];
const bin = fileURLToPath(new URL('./node_modules/.bin/mcp-inspector', import.meta.url));

runMain(async () => {
  console.log(`  @modelcontextprotocol/inspector ${installedVersion('@modelcontextprotocol/inspector')}`);
  const started = Date.now();
  const run = spawnSync(bin, ['--cli', url, '--transport', 'http', '--method', 'tools/list', '--strict'], {
    encoding: 'utf8',
    timeout: 90_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Date.now() - started;
  const stderr = run.stderr ?? '';
  // The lint report: "Error:"/"Warning:" blocks, then "N errors, N warnings across N tools."
  const blocks = stderr.split(/\n(?=(?:Error|Warning): )/);
  const errors = blocks.filter((b) => b.startsWith('Error: '));
  const warnings = blocks.filter((b) => b.startsWith('Warning: '));
  const summary = stderr.split('\n').filter((l) => /errors?, \d+ warnings?/.test(l) || l.startsWith('{"error"'));
  const issues = new Map();
  for (const w of warnings) {
    const issue = (w.match(/Issue: ([^\n(.]*)/)?.[1] ?? '?').trim();
    issues.set(issue, (issues.get(issue) ?? 0) + 1);
  }
  for (const e of errors) {
    const lines = e.split('\n').map((l) => l.trim());
    console.log(`       lint ${lines[0]} ${lines.find((l) => l.startsWith('Path:')) ?? ''}: ${(lines.find((l) => l.startsWith('Issue:')) ?? '').slice(7)}`);
  }
  for (const [issue, n] of [...issues].sort((a, b) => b[1] - a[1])) {
    console.log(`       lint warnings: ${n} × ${issue}`);
  }
  for (const l of summary) console.log(`       ${l}`);
  if (run.error) throw new Error(`inspector did not finish: ${run.error.message}`);
  if (run.status !== 0) {
    if (errors.length === 0 && summary.length === 0) console.log(stderr.split('\n').slice(-20).join('\n'));
    throw new Error(`inspector --cli --strict exited ${run.status} after ${ms} ms`);
  }
  const listed = JSON.parse(run.stdout);
  const names = (listed.tools ?? []).map((t) => t.name);
  for (const want of ['list_charts', 'get_chart_preview', 'execute_sql']) {
    if (!names.includes(want)) throw new Error(`inspector's tools/list has no ${want} (${names.length} tools)`);
  }
  console.log(`  ok   inspector --cli tools/list --strict: exit 0, ${names.length} tools (${ms} ms)`);
}, 120);
