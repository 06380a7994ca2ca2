// The MCP conformance suite's server scenarios against a running vizier:
//   node conformance.mjs URL OUTPUT_DIR
// Runs `conformance server --url URL` (its default, "active" suite), reads each scenario's
// checks.json, and holds the outcome against conformance-not-applicable.txt:
// - a scenario passes when it has checks and none is FAILURE or WARNING (the suite's own
//   baseline rule);
// - a failing scenario not listed in the file fails this run;
// - a listed scenario that passes, or a listed name the suite no longer has, is reported
//   (the file should shrink), without failing the run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedVersion, runMain } from './lib/checks.mjs';

const [url, outDir] = process.argv.slice(2);
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

function notApplicable() {
  const listed = new Map();
  for (const raw of readFileSync(here('./conformance-not-applicable.txt'), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^(\S+)\s+(.+)$/);
    if (!m) throw new Error(`conformance-not-applicable.txt: "${line}" has no reason`);
    listed.set(m[1], m[2]);
  }
  return listed;
}

runMain(async () => {
  console.log(`  @modelcontextprotocol/conformance ${installedVersion('@modelcontextprotocol/conformance')}`);
  const listed = notApplicable();
  const started = Date.now();
  const run = spawnSync(here('./node_modules/.bin/conformance'), ['server', '--url', url, '-o', outDir], {
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new Error(`conformance did not finish: ${run.error.message}`);
  const ran = [...(run.stdout ?? '').matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]);
  if (ran.length === 0) {
    console.log((run.stdout + run.stderr).split('\n').slice(-30).join('\n'));
    throw new Error(`conformance ran no scenario (exit ${run.status})`);
  }

  // Results land in OUTPUT_DIR/server-<scenario>-<timestamp>/checks.json.
  const checks = new Map();
  for (const dir of existsSync(outDir) ? readdirSync(outDir) : []) {
    const m = dir.match(/^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/);
    const file = join(outDir, dir, 'checks.json');
    if (m && existsSync(file)) checks.set(m[1], JSON.parse(readFileSync(file, 'utf8')));
  }

  const rows = [];
  let unexpected = 0;
  for (const scenario of ran) {
    const cs = checks.get(scenario) ?? [];
    const bad = cs.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
    const passed = cs.length > 0 && bad.length === 0;
    const why = cs.length === 0
      ? 'no checks recorded'
      : bad.map((c) => `${c.status} ${c.name}: ${c.errorMessage ?? c.details?.message ?? c.description}`).join('; ');
    const reason = listed.get(scenario);
    let verdict;
    let detail;
    if (passed) {
      verdict = 'PASS';
      detail = reason ? 'listed as not applicable, yet passed: delete its line from conformance-not-applicable.txt' : '';
    } else if (reason) {
      verdict = 'n/a';
      detail = reason;
    } else {
      verdict = 'FAIL';
      detail = why;
      unexpected += 1;
    }
    rows.push({ scenario, verdict, detail });
  }
  const width = Math.max(...rows.map((r) => r.scenario.length));
  for (const r of rows) {
    const detail = r.detail.replace(/\s+/g, ' ');
    console.log(`       ${r.verdict.padEnd(4)} ${r.scenario.padEnd(width)}  ${detail.length > 600 ? `${detail.slice(0, 600)}…` : detail}`);
  }
  for (const name of listed.keys()) {
    if (!ran.includes(name)) console.log(`       NOTE ${name} is listed as not applicable but the suite no longer runs it: delete its line`);
  }
  const count = (v) => rows.filter((r) => r.verdict === v).length;
  console.log(
    `       ${ran.length} scenarios in ${Date.now() - started} ms: ${count('PASS')} passed, ${unexpected} failed, ${count('n/a')} not applicable`,
  );
  if (unexpected > 0) throw new Error(`${unexpected} applicable conformance scenario(s) failed`);
  console.log('  ok   every applicable scenario passed');
}, 300);
