"""The Python MCP SDK (mcp 2.x, `mcp.Client(url)`) against a running vizier, in one era.

    python python_client.py URL legacy   initialize handshake (handshake era, 2025-11-25)
    python python_client.py URL auto     server/discover probe; vizier must answer 2026-07-28

The same checks as lib/checks.mjs: every tools/list page, list_charts, get_chart_preview as a
PNG image, list_databases and execute_sql, asserting on results. Exit 0 on success.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from importlib.metadata import version

import anyio
import mcp
from mcp.types import CallToolResult, Tool

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class CheckFailed(Exception):
    pass


def check(cond: object, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


def describe(e: BaseException) -> str:
    # anyio task groups wrap errors; show the innermost ones.
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(describe(x) for x in e.exceptions)
    text = " ".join(f"{type(e).__name__}: {e}".split())
    return text if len(text) <= 4000 else f"{text[:4000]}… ({len(text)} chars)"


async def step(name: str, fn):
    started = time.monotonic()
    try:
        out = await fn()
    except BaseException as e:
        print(f"  FAIL {name} ({(time.monotonic() - started) * 1000:.0f} ms): {describe(e)}", flush=True)
        e.reported = True  # type: ignore[attr-defined]
        raise
    print(f"  ok   {name} ({(time.monotonic() - started) * 1000:.0f} ms)", flush=True)
    return out


def require_args(tools: list[Tool], name: str, args: list[str]) -> None:
    tool = next((t for t in tools if t.name == name), None)
    check(tool is not None, f"tools/list has no {name}")
    props = list((tool.input_schema or {}).get("properties", {}).keys())
    for a in args:
        check(a in props, f"{name}'s inputSchema has no property {a!r} (has: {', '.join(props)})")


def structured(result: CallToolResult, name: str) -> dict:
    check(not result.is_error, f"{name} returned is_error: {str(result.content)[:500]}")
    if result.structured_content is not None:
        return result.structured_content
    text = next((c for c in result.content if c.type == "text"), None)
    check(text is not None, f"{name}: no structured content and no text content")
    return json.loads(text.text)


async def run(url: str, mode: str) -> None:
    print(f"  mcp {version('mcp')}, mode {mode}", flush=True)
    async with mcp.Client(url, mode=mode, read_timeout_seconds=30) as client:
        negotiated = client.protocol_version
        info = client.server_info
        print(f"       protocol {negotiated}, server {info.name if info else None}", flush=True)
        if mode == "auto":
            check(negotiated == "2026-07-28", f"auto negotiation reached {negotiated}, not 2026-07-28")
        else:
            check(negotiated < "2026", f"legacy handshake negotiated {negotiated}")

        async def list_tools() -> list[Tool]:
            tools: list[Tool] = []
            cursor = None
            pages = 0
            while True:
                page = await client.list_tools(cursor=cursor)
                pages += 1
                tools.extend(page.tools)
                cursor = page.next_cursor
                check(pages <= 50, "tools/list: more than 50 pages (cursor loop?)")
                if not cursor:
                    break
            names = [t.name for t in tools]
            check(len(set(names)) == len(names), "tools/list: duplicate tool names across pages")
            for want in ("list_charts", "get_chart_preview", "list_databases", "execute_sql"):
                check(want in names, f"tools/list: {want} missing (got {len(names)} tools)")
            for t in tools:
                check(t.input_schema.get("type") == "object", f"{t.name}: inputSchema.type is not 'object'")
            print(f"       {len(tools)} tools in {pages} page(s)", flush=True)
            return tools

        tools = await step("tools/list (all pages)", list_tools)

        async def list_charts() -> int:
            require_args(tools, "list_charts", ["page_size"])
            r = structured(await client.call_tool("list_charts", {"page_size": 5}), "list_charts")
            items = r.get("items")
            check(isinstance(items, list) and len(items) >= 1, "list_charts: no charts")
            check(len(items) <= 5, f"list_charts: page_size 5 gave {len(items)} items")
            check(r.get("total_count", -1) >= len(items), "list_charts: total_count < items")
            check(isinstance(items[0].get("id"), int), "list_charts: first item has no integer id")
            return items[0]["id"]

        chart_id = await step("tools/call list_charts", list_charts)

        async def chart_preview() -> None:
            require_args(tools, "get_chart_preview", ["identifier", "format"])
            r = await client.call_tool("get_chart_preview", {"identifier": chart_id, "format": "png"})
            check(not r.is_error, f"get_chart_preview returned is_error: {str(r.content)[:500]}")
            image = next((c for c in r.content if c.type == "image"), None)
            check(image is not None, f"get_chart_preview: no image content ({[c.type for c in r.content]})")
            check(image.mime_type == "image/png", f"get_chart_preview: mime type {image.mime_type}")
            data = base64.b64decode(image.data)
            check(len(data) > 1000, f"get_chart_preview: PNG of {len(data)} bytes")
            check(data[:8] == PNG_SIGNATURE, "get_chart_preview: image data is not a PNG")

        await step("tools/call get_chart_preview (png)", chart_preview)

        async def list_databases():
            r = structured(await client.call_tool("list_databases", {}), "list_databases")
            check(r.get("items"), "list_databases: no databases")
            return r["items"][0]["id"]

        database_id = await step("tools/call list_databases", list_databases)

        async def execute_sql() -> None:
            require_args(tools, "execute_sql", ["database_id", "sql"])
            r = structured(
                await client.call_tool("execute_sql", {"database_id": database_id, "sql": "SELECT 1 AS one"}),
                "execute_sql",
            )
            check([c["name"] for c in r.get("columns", [])] == ["one"], f"execute_sql: columns {r.get('columns')}")
            check(r.get("rows") == [[1]], f"execute_sql: rows {r.get('rows')}")
            check(r.get("row_count") == 1, f"execute_sql: row_count {r.get('row_count')}")

        await step("tools/call execute_sql", execute_sql)


def main() -> int:
    url, mode = sys.argv[1], sys.argv[2]
    if mode not in ("legacy", "auto"):
        print(f"  FAIL mode must be legacy or auto, got {mode}")
        return 2

    async def bounded() -> None:
        with anyio.fail_after(60):
            await run(url, mode)

    try:
        anyio.run(bounded)
    except TimeoutError:
        print("  FAIL timed out after 60 s", flush=True)
        return 1
    except BaseException as e:  # noqa: BLE001 - every failure is reported, then exit 1
        if not getattr(e, "reported", False):
            print(f"  FAIL {describe(e)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
