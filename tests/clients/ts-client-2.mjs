// @modelcontextprotocol/client 2.x against a running vizier, in one protocol era:
//   node ts-client-2.mjs URL legacy   initialize handshake (2025-era)
//   node ts-client-2.mjs URL auto     server/discover probe; vizier must answer 2026-07-28
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import assert from 'node:assert/strict';
import { installedVersion, runChecks, runMain, step } from './lib/checks.mjs';

const [url, mode] = process.argv.slice(2);
const version = installedVersion('@modelcontextprotocol/client');

runMain(async () => {
  assert.ok(mode === 'legacy' || mode === 'auto', `mode must be legacy or auto, got ${mode}`);
  console.log(`  @modelcontextprotocol/client ${version}, versionNegotiation ${mode}`);
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client(
    { name: 'vizier-ci-ts-client-2', version },
    { versionNegotiation: { mode } },
  );
  await step(`connect (${mode === 'auto' ? 'server/discover' : 'initialize'})`, async () => {
    await client.connect(transport);
    const negotiated = client.getNegotiatedProtocolVersion();
    console.log(`       protocol ${negotiated}, server ${client.getServerVersion()?.name}`);
    if (mode === 'auto') assert.equal(negotiated, '2026-07-28', 'auto negotiation did not reach 2026-07-28');
    else assert.ok(negotiated && negotiated < '2026', `legacy handshake negotiated ${negotiated}`);
  })();
  try {
    await runChecks(client);
  } finally {
    await client.close();
  }
});
