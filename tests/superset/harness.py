"""Round trips between vizier and a running Superset (see run.sh, which prepares both).

Builds content in Superset through its REST API, exports it, imports it into vizier, compares
chart data, exports from vizier and imports back into Superset. Prints one line per check and
`superset: N passed, N failed`; exits 1 on any failure.
"""

import argparse
import datetime as dt
import io
import json
import math
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile

import requests
import yaml

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"superset: ok   {name}", flush=True)
    else:
        failed += 1
        print(f"superset: FAIL {name}: {detail}", flush=True)
    return ok


def finish():
    print(f"superset: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


def make_source(path):
    """A deterministic shop: orders with text dates (python_date_format %Y-%m-%d)."""
    rng = random.Random(19)
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE orders (day TEXT, region TEXT, category TEXT, amount REAL, qty INTEGER)"
    )
    start = dt.date(2024, 1, 1)
    rows = []
    for i in range(600):
        d = start + dt.timedelta(days=rng.randrange(0, 540))
        rows.append(
            (
                d.isoformat(),
                rng.choice(["North", "South", "East", "West"]),
                rng.choice(["Books", "Games", "Tools"]),
                round(rng.uniform(1, 200), 2),
                rng.randrange(1, 9),
            )
        )
    con.executemany("INSERT INTO orders VALUES (?,?,?,?,?)", rows)
    con.commit()
    con.close()


class Superset:
    def __init__(self, url):
        self.url = url
        self.s = requests.Session()
        r = self.s.post(
            f"{url}/api/v1/security/login",
            json={"username": "admin", "password": "admin", "provider": "db", "refresh": True},
        )
        r.raise_for_status()
        self.s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def call(self, method, path, **kw):
        r = self.s.request(method, f"{self.url}{path}", **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:600]}")
        return r

    def post(self, path, body):
        return self.call("POST", path, json=body).json()


def metric_simple(col, agg, label):
    return {
        "expressionType": "SIMPLE",
        "column": {"column_name": col},
        "aggregate": agg,
        "label": label,
        "hasCustomLabel": True,
    }


def time_filter(col, rng="No filter"):
    return {
        "clause": "WHERE",
        "expressionType": "SIMPLE",
        "subject": col,
        "operator": "TEMPORAL_RANGE",
        "comparator": rng,
    }


def query_context(ds_id, params, columns, metrics, orderby=None, row_limit=10000, extras=None,
                  filters=None):
    q = {
        "filters": filters or [],
        "extras": extras or {"having": "", "where": ""},
        "applied_time_extras": {},
        "columns": columns,
        "metrics": metrics,
        "orderby": orderby or [],
        "annotation_layers": [],
        "row_limit": row_limit,
        "series_limit": 0,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }
    return {
        "datasource": {"id": ds_id, "type": "table"},
        "force": False,
        "queries": [q],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }


def build(sup, source_path):
    """Database, datasets, charts and a dashboard in Superset; returns the dashboard id."""
    db = sup.post(
        "/api/v1/database/",
        {"database_name": "shop", "sqlalchemy_uri": f"sqlite:///{source_path}", "expose_in_sqllab": True},
    )["id"]
    phys = sup.post("/api/v1/dataset/", {"database": db, "table_name": "orders", "schema": "main"})["id"]
    info = sup.call("GET", f"/api/v1/dataset/{phys}").json()["result"]
    cols = []
    for c in info["columns"]:
        cols.append(
            {
                "id": c["id"],
                "column_name": c["column_name"],
                "type": c.get("type"),
                "is_dttm": c["column_name"] == "day",
                "python_date_format": "%Y-%m-%d" if c["column_name"] == "day" else None,
                "groupby": True,
                "filterable": True,
            }
        )
    sup.call(
        "PUT",
        f"/api/v1/dataset/{phys}",
        json={
            "main_dttm_col": "day",
            "columns": cols,
            "metrics": [
                {"metric_name": "revenue", "expression": "SUM(amount)", "d3format": ",.2f"},
                {"metric_name": "orders", "expression": "COUNT(*)"},
            ],
        },
    )
    virt = sup.post(
        "/api/v1/dataset/",
        {
            "database": db,
            "table_name": "big_orders",
            "schema": "main",
            "sql": "SELECT day, region, category, amount, qty FROM orders WHERE amount > 100",
        },
    )["id"]
    vinfo = sup.call("GET", f"/api/v1/dataset/{virt}").json()["result"]
    vcols = [
        {
            "id": c["id"],
            "column_name": c["column_name"],
            "type": c.get("type"),
            "is_dttm": c["column_name"] == "day",
            "python_date_format": "%Y-%m-%d" if c["column_name"] == "day" else None,
            "groupby": True,
            "filterable": True,
        }
        for c in vinfo["columns"]
    ]
    sup.call(
        "PUT",
        f"/api/v1/dataset/{virt}",
        json={
            "main_dttm_col": "day",
            "columns": vcols,
            "metrics": [{"metric_name": "big_revenue", "expression": "SUM(amount)"}],
        },
    )

    dash = sup.post("/api/v1/dashboard/", {"dashboard_title": "Shop", "slug": "shop", "published": True})["id"]
    sum_qty = metric_simple("qty", "SUM", "units")
    rng = "2024-01-01 : 2025-01-01"
    charts = []

    def chart(name, viz, ds, params, qc):
        params = {"datasource": f"{ds}__table", "viz_type": viz, **params}
        qc["form_data"] = params
        cid = sup.post(
            "/api/v1/chart/",
            {
                "slice_name": name,
                "viz_type": viz,
                "datasource_id": ds,
                "datasource_type": "table",
                "params": json.dumps(params),
                "query_context": json.dumps(qc),
                "dashboards": [dash],
            },
        )["id"]
        charts.append((cid, name))
        return cid

    month_axis = {"timeGrain": "P1M", "columnType": "BASE_AXIS", "sqlExpression": "day", "label": "day", "expressionType": "SQL"}
    grain = {"having": "", "where": "", "time_grain_sqla": "P1M"}
    for viz, name in [
        ("echarts_timeseries_line", "Revenue by month"),
        ("echarts_area", "Units by month"),
        ("echarts_timeseries_scatter", "Orders by month"),
    ]:
        metric = {"echarts_timeseries_line": "revenue", "echarts_area": sum_qty, "echarts_timeseries_scatter": "orders"}[viz]
        chart(
            name, viz, phys,
            {"x_axis": "day", "time_grain_sqla": "P1M", "metrics": [metric], "groupby": [],
             "adhoc_filters": [time_filter("day", rng)], "row_limit": 10000},
            query_context(phys, {}, [month_axis], [metric], extras=grain,
                          filters=[{"col": "day", "op": "TEMPORAL_RANGE", "val": rng}]),
        )
    chart(
        "Revenue by month and region", "echarts_timeseries_bar", phys,
        {"x_axis": "day", "time_grain_sqla": "P1M", "metrics": ["revenue"], "groupby": ["region"],
         "stack": "Stack", "adhoc_filters": [time_filter("day")], "row_limit": 10000},
        query_context(phys, {}, [month_axis, "region"], ["revenue"], extras=grain),
    )
    chart(
        "Revenue by category", "pie", phys,
        {"groupby": ["category"], "metric": "revenue", "donut": True, "adhoc_filters": [time_filter("day")], "row_limit": 10},
        query_context(phys, {}, ["category"], ["revenue"], orderby=[["revenue", False]], row_limit=10),
    )
    chart(
        "Total revenue", "big_number_total", phys,
        {"metric": "revenue", "adhoc_filters": [time_filter("day")], "y_axis_format": "$,.0f"},
        query_context(phys, {}, [], ["revenue"]),
    )
    chart(
        "Revenue trend", "big_number", phys,
        {"metric": "revenue", "x_axis": "day", "time_grain_sqla": "P1M", "show_trend_line": True,
         "compare_lag": 1, "adhoc_filters": [time_filter("day")]},
        query_context(phys, {}, [month_axis], ["revenue"], extras=grain),
    )
    chart(
        "Revenue by region (West excluded)", "table", phys,
        {"query_mode": "aggregate", "groupby": ["region"], "metrics": ["revenue", sum_qty],
         "adhoc_filters": [time_filter("day"),
                           {"clause": "WHERE", "expressionType": "SIMPLE", "subject": "region", "operator": "!=", "comparator": "West"}],
         "row_limit": 1000, "order_desc": True},
        query_context(phys, {}, ["region"], ["revenue", sum_qty], orderby=[["revenue", False]], row_limit=1000,
                      filters=[{"col": "region", "op": "!=", "val": "West"}]),
    )
    chart(
        "Big orders", "table", virt,
        {"query_mode": "raw", "all_columns": ["day", "region", "amount"], "order_by_cols": [json.dumps(["amount", False])],
         "adhoc_filters": [time_filter("day")], "row_limit": 50},
        query_context(virt, {}, ["day", "region", "amount"], [], orderby=[["amount", False]], row_limit=50),
    )
    chart(
        "Revenue pivot", "pivot_table_v2", phys,
        {"groupbyRows": ["region"], "groupbyColumns": ["category"], "metrics": ["revenue"],
         "aggregateFunction": "Sum", "rowTotals": True, "colTotals": True, "adhoc_filters": [time_filter("day")],
         "row_limit": 10000},
        query_context(phys, {}, ["region", "category"], ["revenue"]),
    )
    # Relative ranges (resolved at query time on both sides) and SQL conditions on rows
    # (WHERE) and on groups (HAVING).
    ten_years = 'DATEADD(DATETIME("today"), -10, year) : 2025-01-01'
    chart(
        "Units by region before 2025 (SQL conditions)", "table", phys,
        {"query_mode": "aggregate", "groupby": ["region"], "metrics": [sum_qty],
         "adhoc_filters": [time_filter("day", ten_years),
                           {"clause": "WHERE", "expressionType": "SQL", "sqlExpression": "category <> 'Games'"},
                           {"clause": "HAVING", "expressionType": "SQL", "sqlExpression": "SUM(qty) > 150"}],
         "row_limit": 1000, "order_desc": True},
        query_context(phys, {}, ["region"], [sum_qty], orderby=[[sum_qty, False]], row_limit=1000,
                      extras={"having": "(SUM(qty) > 150)", "where": "(category <> 'Games')"},
                      filters=[{"col": "day", "op": "TEMPORAL_RANGE", "val": ten_years}]),
    )
    chart(
        "Revenue in the last 1000 days", "big_number_total", phys,
        {"metric": "revenue", "adhoc_filters": [time_filter("day", "Last 1000 days")], "y_axis_format": "$,.0f"},
        query_context(phys, {}, [], ["revenue"],
                      filters=[{"col": "day", "op": "TEMPORAL_RANGE", "val": "Last 1000 days"}]),
    )
    # A table with percent metrics (Superset's contribution step adds `%label` columns: each
    # value over its column's total), one of them not among the metrics.
    chart(
        "Revenue share by category", "table", phys,
        {"query_mode": "aggregate", "groupby": ["category"], "metrics": ["revenue"],
         "percent_metrics": ["revenue", sum_qty], "adhoc_filters": [time_filter("day")],
         "row_limit": 1000, "order_desc": True},
        {**query_context(phys, {}, ["category"], ["revenue", sum_qty], orderby=[["revenue", False]],
                         row_limit=1000),
         "queries": [{**query_context(phys, {}, ["category"], ["revenue", sum_qty],
                                      orderby=[["revenue", False]], row_limit=1000)["queries"][0],
                      "post_processing": [{"operation": "contribution",
                                           "options": {"columns": ["revenue", "units"],
                                                       "rename_columns": ["%revenue", "%units"]}}]}]},
    )
    # A SIMPLE HAVING filter on a saved metric: Superset 6.1 puts a filter on a metric in
    # HAVING.
    chart(
        "Regions with revenue over 15000", "table", phys,
        {"query_mode": "aggregate", "groupby": ["region"], "metrics": ["revenue"],
         "adhoc_filters": [time_filter("day"),
                           {"clause": "HAVING", "expressionType": "SIMPLE", "subject": "revenue",
                            "operator": ">", "comparator": 15000}],
         "row_limit": 1000, "order_desc": True},
        query_context(phys, {}, ["region"], ["revenue"], orderby=[["revenue", False]], row_limit=1000,
                      filters=[{"col": "revenue", "op": ">", "val": 15000}]),
    )
    chart(
        "Category words", "word_cloud", phys,
        {"series": "category", "metric": "orders", "adhoc_filters": [time_filter("day")], "row_limit": 100},
        query_context(phys, {}, ["category"], ["orders"], row_limit=100),
    )

    # Layout: two tabs (a header, rows of charts, a markdown note, a divider), and a native
    # filter.
    pos = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["TABS-1"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": "Shop"}},
        "TABS-1": {"id": "TABS-1", "type": "TABS", "children": ["TAB-1", "TAB-2"], "parents": ["ROOT_ID"], "meta": {}},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "children": [], "parents": ["ROOT_ID"]},
    }
    tabs = {"TAB-1": ("Trends", charts[:5]), "TAB-2": ("Details", charts[5:])}
    for tab, (title, members) in tabs.items():
        rows = []
        for i in range(0, len(members), 3):
            row = f"ROW-{tab}-{i}"
            kids = []
            for cid, name in members[i:i + 3]:
                node = f"CHART-{cid}"
                pos[node] = {"id": node, "type": "CHART", "children": [], "parents": ["ROOT_ID", "TABS-1", tab, row],
                             "meta": {"chartId": cid, "width": 4, "height": 50, "sliceName": name}}
                kids.append(node)
            pos[row] = {"id": row, "type": "ROW", "children": kids, "parents": ["ROOT_ID", "TABS-1", tab],
                        "meta": {"background": "BACKGROUND_TRANSPARENT"}}
            rows.append(row)
        if tab == "TAB-1":
            pos["HEADER-1"] = {"id": "HEADER-1", "type": "HEADER", "children": [], "parents": ["ROOT_ID", "TABS-1", tab],
                               "meta": {"text": "Monthly trends", "headerSize": "LARGE_HEADER",
                                        "background": "BACKGROUND_TRANSPARENT"}}
            rows.insert(0, "HEADER-1")
            pos["DIVIDER-1"] = {"id": "DIVIDER-1", "type": "DIVIDER", "children": [], "parents": ["ROOT_ID", "TABS-1", tab],
                                "meta": {}}
            rows.append("DIVIDER-1")
            pos["MARKDOWN-1"] = {"id": "MARKDOWN-1", "type": "MARKDOWN", "children": [], "parents": ["ROOT_ID", "TABS-1", tab],
                                 "meta": {"code": "# Shop\nMonthly trends, **net** of returns.\n\n- one row per order\n- dates as text",
                                          "width": 4, "height": 30}}
            rows.append("MARKDOWN-1")
        pos[tab] = {"id": tab, "type": "TAB", "children": rows, "parents": ["ROOT_ID", "TABS-1"],
                    "meta": {"text": title, "defaultText": "Tab title", "placeholder": "Tab title"}}
    meta = {
        "native_filter_configuration": [
            {
                "id": "NATIVE_FILTER-region",
                "name": "Region",
                "filterType": "filter_select",
                "type": "NATIVE_FILTER",
                "targets": [{"datasetId": phys, "column": {"name": "region"}}],
                "controlValues": {"multiSelect": True, "enableEmptyFilter": False},
                "defaultDataMask": {"filterState": {"value": None}, "extraFormData": {}},
                "cascadeParentIds": [],
                "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            }
        ],
        "color_scheme": "",
        "refresh_frequency": 0,
    }
    sup.call("PUT", f"/api/v1/dashboard/{dash}",
             json={"position_json": json.dumps(pos), "json_metadata": json.dumps(meta)})
    return dash, [c for c, _ in charts]


def export_dashboard(sup, dash_id):
    r = sup.call("GET", "/api/v1/dashboard/export/", params={"q": f"!({dash_id})"})
    return r.content


def superset_rows(sup, query_context_text, ds_id):
    qc = json.loads(query_context_text)
    qc["datasource"] = {"id": ds_id, "type": "table"}
    qc["result_type"] = "full"
    for q in qc["queries"]:
        # Only the contribution step (percent metrics) changes the rows a chart shows.
        q["post_processing"] = [p for p in q.get("post_processing") or [] if p.get("operation") == "contribution"]
    r = sup.call("POST", "/api/v1/chart/data", json=qc).json()
    res = r["result"][0]
    return res["colnames"], [[row[c] for c in res["colnames"]] for row in res["data"]], res.get("query")


def norm(v):
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", v)
    if isinstance(v, str):
        s = v.replace("T", " ")
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return ("t", dt.datetime.strptime(s[:19], fmt).strftime("%Y-%m-%d %H:%M:%S"))
            except ValueError:
                pass
        return ("s", v)
    return ("z", str(v))


def epoch_to_text(v, temporal):
    if temporal and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 10**11:
        return dt.datetime.fromtimestamp(v / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return v


def same_rows(a, b):
    """Same multiset of rows (values compared as a sorted tuple per row; floats 1e-9)."""
    def key(row):
        return sorted((norm(v) for v in row), key=lambda t: (t[0], str(t[1])))

    if len(a) != len(b):
        sa = {str(key(r)) for r in a}
        sb = {str(key(r)) for r in b}
        return False, (f"{len(a)} rows vs {len(b)}; only vizier: {sorted(sa - sb)[:3]}; "
                       f"only Superset: {sorted(sb - sa)[:3]}")

    ka = sorted((key(r) for r in a), key=str)
    kb = sorted((key(r) for r in b), key=str)
    for ra, rb in zip(ka, kb):
        if len(ra) != len(rb):
            return False, f"row {ra} vs {rb}"
        for (ta, va), (tb, vb) in zip(ra, rb):
            if ta != tb:
                return False, f"row {ra} vs {rb}"
            if ta == "n":
                if not math.isclose(float(va), float(vb), rel_tol=1e-9, abs_tol=1e-9):
                    return False, f"{va} vs {vb} in {ra} / {rb}"
            elif va != vb:
                return False, f"{va!r} vs {vb!r} in {ra} / {rb}"
    return True, ""


class Mcp:
    def __init__(self, url):
        self.url = url
        self.s = requests.Session()
        self.s.headers.update({"Accept": "application/json, text/event-stream"})
        self.n = 0
        r = self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "superset-harness", "version": "1"}})
        self.s.headers["MCP-Protocol-Version"] = r["protocolVersion"]

    def rpc(self, method, params):
        self.n += 1
        r = self.s.post(self.url, json={"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
        r.raise_for_status()
        body = r.json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    def tool(self, name, args):
        res = self.rpc("tools/call", {"name": name, "arguments": args})
        sc = res.get("structuredContent")
        if sc is None:
            sc = json.loads(res["content"][0]["text"])
        return res.get("isError", False), sc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--superset", required=True)
    ap.add_argument("--vizier", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--fixture")
    a = ap.parse_args()
    work = a.work
    source = os.path.join(work, "data", "shop.db")
    make_source(source)
    sup = Superset(a.superset)
    t0 = time.time()
    dash_id, _ = build(sup, source)
    print(f"superset: built content in {time.time() - t0:.1f} s", flush=True)

    # 1. Superset → vizier.
    bundle = export_dashboard(sup, dash_id)
    check("Superset exports the dashboard", bundle[:2] == b"PK", bundle[:200])
    path = os.path.join(work, "superset-export.zip")
    with open(path, "wb") as f:
        f.write(bundle)
    if a.fixture:
        shutil.copyfile(path, a.fixture)
    z = zipfile.ZipFile(io.BytesIO(bundle))
    charts = {}
    datasets = {}
    for n in z.namelist():
        if "/charts/" in n:
            c = yaml.safe_load(z.read(n))
            charts[c["uuid"]] = c
        if "/datasets/" in n:
            d = yaml.safe_load(z.read(n))
            datasets[d["uuid"]] = d
    env = dict(os.environ)
    t1 = time.time()
    r = subprocess.run([a.vizier, "superset", "import", path], capture_output=True, text=True, env=env)
    check("vizier superset import", r.returncode == 0, r.stderr[-2000:])
    if r.returncode != 0:
        finish()
    report = json.loads(r.stdout)
    print(f"superset: vizier import took {time.time() - t1:.2f} s: created {report['created']}", flush=True)
    check("import counts", report["created"]["charts"] == len(charts) and report["created"]["datasets"] == 2
          and report["created"]["dashboards"] == 1, report["created"])
    unsupported = {i["uuid"] for i in report["items"] if i["status"] == "unsupported"}
    check("word_cloud reported unsupported",
          any(charts.get(u, {}).get("viz_type") == "word_cloud" for u in unsupported), report["items"])
    r = subprocess.run([a.vizier, "superset", "import", path], capture_output=True, text=True, env=env)
    again = json.loads(r.stdout) if r.returncode == 0 else {}
    check("re-import updates in place", r.returncode == 0 and again.get("created", {}).get("charts") == 0
          and again.get("updated", {}).get("charts") == len(charts), r.stderr[-500:] or again)

    port = free_port()
    server = subprocess.Popen([a.vizier, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "vizier.log"), "w"))
    try:
        # A debug build on a loaded 2-core machine may take a while to migrate and seed.
        deadline = time.time() + 120
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.time() > deadline:
                with open(os.path.join(work, "vizier.log")) as f:
                    print(f.read()[-3000:], flush=True)
                check("vizier serve is ready", False,
                      f"exited with {server.returncode}" if server.poll() is not None else "no 200 from /ready in 120 s")
                finish()
            time.sleep(0.2)
        mcp = Mcp(f"http://127.0.0.1:{port}/mcp")
        ds_ids = {}
        for d in sup.call("GET", "/api/v1/dataset/", params={"q": "(page_size:100)"}).json()["result"]:
            ds_ids[d["table_name"]] = d["id"]
        for uuid, c in sorted(charts.items(), key=lambda kv: kv[1]["slice_name"]):
            name = f"chart data: {c['slice_name']} ({c['viz_type']})"
            err, out = mcp.tool("get_chart_data", {"identifier": uuid})
            if c["viz_type"] == "word_cloud":
                check(name + " answers a clear error", err and "word_cloud" in json.dumps(out), out)
                continue
            if err:
                check(name, False, out)
                continue
            ds = datasets[c["dataset_uuid"]]
            temporal = {col["column_name"] for col in ds["columns"] if col.get("is_dttm")}
            temporal.add("__timestamp")
            cols, srows, squery = superset_rows(sup, c["query_context"], ds_ids[ds["table_name"]])
            srows = [[epoch_to_text(v, cols[i] in temporal) for i, v in enumerate(row)] for row in srows]
            if c["slice_name"] == "Revenue share by category":
                check("percent metric columns", {"%revenue", "%units"} <= set(out.get("columns", [])), out.get("columns"))
            ok, why = same_rows(out["rows"], srows)
            check(name, ok, f"{why}\n  Superset SQL: {squery}\n  vizier SQL: {out.get('executed_sql')}")
        err, lay = mcp.tool("get_dashboard_layout", {"identifier": "shop"})
        kinds = [k for p in (lay.get("positions") or []) for k in ("markdown", "header", "divider") if k in p]
        check("vizier's layout has the markdown, header and divider",
              not err and kinds.count("markdown") == 1 and kinds.count("header") == 1 and kinds.count("divider") == 1,
              lay)
        # 2. vizier → Superset.
        out_zip = os.path.join(work, "vizier-export.zip")
        r = subprocess.run([a.vizier, "superset", "export", "--dashboard", "shop", "-o", out_zip],
                           capture_output=True, text=True, env=env)
        check("vizier superset export", r.returncode == 0, r.stderr[-1000:])
        err, tool_out = mcp.tool("export_dashboard", {"identifier": "shop"})
        check("export_dashboard tool", not err and tool_out.get("exported", {}).get("charts") == len(charts), tool_out)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if not os.path.exists(out_zip):
        finish()
    with open(out_zip, "rb") as f:
        r = sup.s.post(f"{a.superset}/api/v1/dashboard/import/",
                       files={"formData": ("vizier.zip", f, "application/zip")},
                       data={"overwrite": "true"})
    check("Superset imports vizier's bundle", r.status_code == 200, f"{r.status_code} {r.text[:300] if r.status_code != 500 else 'see superset-web.log'}")
    vz = zipfile.ZipFile(out_zip)
    vcharts = [yaml.safe_load(vz.read(n)) for n in vz.namelist() if "/charts/" in n]
    dash = sup.call("GET", "/api/v1/dashboard/shop").json()["result"]
    check("the dashboard exists in Superset", dash["dashboard_title"] == "Shop", dash.get("dashboard_title"))
    pos = json.loads(dash.get("position_json") or "{}")
    types = sorted(n.get("type") for n in pos.values() if isinstance(n, dict))
    md = [n["meta"].get("code", "") for n in pos.values() if isinstance(n, dict) and n.get("type") == "MARKDOWN"]
    check("Superset shows vizier's markdown, header and divider",
          types.count("MARKDOWN") == 1 and types.count("DIVIDER") == 1
          and any(n.get("meta", {}).get("text") == "Monthly trends" for n in pos.values() if isinstance(n, dict))
          and md and md[0].startswith("# Shop"), types)
    listed = sup.call("GET", "/api/v1/dashboard/shop/charts").json()["result"]
    check("its charts are on it", len(listed) == len(vcharts), f"{len(listed)} vs {len(vcharts)}")
    dsl = sup.call("GET", "/api/v1/dashboard/shop/datasets").json()["result"]
    check("its datasets exist", len(dsl) == 2, len(dsl))
    for c in listed:
        name = f"Superset runs vizier's {c['slice_name']} ({c['form_data'].get('viz_type')})"
        r = sup.s.get(f"{a.superset}/api/v1/chart/{c['id']}/data/", params={"format": "json"})
        check(name, r.status_code == 200, f"{r.status_code} {r.text[:400]}")
    finish()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


if __name__ == "__main__":
    main()
