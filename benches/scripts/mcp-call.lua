-- wrk script: POST one MCP `tools/call` in the stateless 2026-07-28 form (per-request
-- `_meta`, headers MCP-Protocol-Version, Mcp-Method and Mcp-Name; no handshake), the same
-- request on every connection.
--   MCP_TOOL=list_charts MCP_ARGS='{"page_size":10}' \
--     wrk -t2 -c64 -d8s -s benches/scripts/mcp-call.lua http://127.0.0.1:18080/mcp
-- Prints one line `RESULT calls_per_s=… p50_ms=… p99_ms=… errors=…` at the end (errors:
-- connect/read/write/timeout and non-2xx responses).
local version = "2026-07-28"
local tool = os.getenv("MCP_TOOL") or "health_check"
local args = os.getenv("MCP_ARGS") or "{}"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = version
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = tool
wrk.body = string.format(
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":%s,' ..
  '"_meta":{"io.modelcontextprotocol/protocolVersion":"%s",' ..
  '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"4.1"},' ..
  '"io.modelcontextprotocol/clientCapabilities":{}}}}',
  tool, args, version)

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format("RESULT calls_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
