#!/usr/bin/env python3
"""Write every example chart as PNG (plus the dashboard) from a running vizier.

    cargo run --release -- serve &          # the bundled example data
    python3 benches/scripts/chart-pictures.py /tmp/pictures [http://127.0.0.1:8080/mcp]

Standard library only. Each picture comes from get_chart_preview / get_dashboard_screenshot,
exactly as an MCP client receives it (image content, base64).
"""
import base64
import json
import os
import sys
import urllib.request

out = sys.argv[1] if len(sys.argv) > 1 else "pictures"
url = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8080/mcp"
os.makedirs(out, exist_ok=True)


def call(name, args):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}).encode()
    req = urllib.request.Request(url, body, {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    })
    return json.load(urllib.request.urlopen(req, timeout=120))["result"]


def save(result, path):
    for c in result["content"]:
        if c["type"] == "image":
            with open(path, "wb") as f:
                f.write(base64.b64decode(c["data"]))
            print(path)


charts = call("list_charts", {"page_size": 100})["structuredContent"]["items"]
for c in charts:
    save(call("get_chart_preview", {"identifier": c["id"], "format": "png"}),
         os.path.join(out, f"chart-{c['id']}.png"))
    ascii_art = call("get_chart_preview", {"identifier": c["id"], "format": "ascii"})
    with open(os.path.join(out, f"chart-{c['id']}.txt"), "w") as f:
        f.write(ascii_art["structuredContent"]["preview"]["content"])
save(call("get_dashboard_screenshot", {"identifier": 1}), os.path.join(out, "dashboard.png"))
