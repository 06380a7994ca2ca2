// @modelcontextprotocol/sdk 1.x (the TypeScript client most desktop and IDE clients embed)
// against a running vizier: node ts-sdk-1.mjs URL
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { installedVersion, runChecks, runMain, step } from './lib/checks.mjs';

const url = process.argv[2];
const version = installedVersion('@modelcontextprotocol/sdk');

runMain(async () => {
  console.log(`  @modelcontextprotocol/sdk ${version}`);
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'vizier-ci-ts-sdk-1', version });
  await step('connect (initialize)', async () => {
    await client.connect(transport);
    console.log(`       protocol ${transport.protocolVersion}, server ${client.getServerVersion()?.name}`);
  })();
  try {
    await runChecks(client);
  } finally {
    await client.close();
  }
});
