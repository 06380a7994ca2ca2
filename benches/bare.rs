//! `bare` — the reference for vizier's load figures: a bare actix-web handler that answers
//! every `POST /mcp` with a fixed JSON-RPC result of 100 rows (the shape of an
//! `execute_sql` answer), with no MCP, auth, actors or store behind it.
//!
//! ```text
//! cargo bench --bench bare -- [--bind 127.0.0.1:18090] [--workers 2]
//! ```
//!
//! Each request's body is parsed as JSON (its `id` is echoed) and the answer is serialized
//! per request, so the reference pays what any JSON-RPC server must. Run it in the same
//! run as the server being measured (benches/scripts/speed.sh does) and quote figures as
//! ratios to it: the machine's load moves both alike.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// Rows in the fixed answer (as a 100-row `SELECT`).
const ROWS: usize = 100;

/// The fixed result: columns, rows and the text rendering a tool result carries.
fn fixed_result() -> Value {
    let columns = json!([
        {"name": "order_id", "type": "INTEGER"},
        {"name": "order_date", "type": "TEXT"},
        {"name": "region", "type": "TEXT"},
        {"name": "revenue", "type": "REAL"},
    ]);
    let regions = ["North", "South", "East", "West"];
    let rows: Vec<Value> = (0..ROWS)
        .map(|i| {
            json!([
                i + 1,
                format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
                regions[i % regions.len()],
                (i as f64) * 12.5 + 0.25,
            ])
        })
        .collect();
    let structured = json!({
        "columns": columns,
        "rows": rows,
        "row_count": ROWS,
        "truncated": false,
    });
    json!({
        "content": [{"type": "text", "text": structured.to_string()}],
        "structuredContent": structured,
        "isError": false,
    })
}

async fn mcp(body: web::Bytes, result: web::Data<Value>) -> HttpResponse {
    let id = match serde_json::from_slice::<Value>(&body) {
        Ok(request) => request.get("id").cloned().unwrap_or(Value::Null),
        Err(e) => {
            return HttpResponse::BadRequest().json(json!({
                "jsonrpc": "2.0", "id": null,
                "error": {"code": -32700, "message": format!("parse error: {e}")},
            }));
        }
    };
    HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": id, "result": result.get_ref()}))
}

fn main() -> std::io::Result<()> {
    let mut bind = "127.0.0.1:18090".to_string();
    let mut workers = std::thread::available_parallelism().map_or(2, usize::from);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => bind = args.next().unwrap_or(bind),
            "--workers" => workers = args.next().and_then(|w| w.parse().ok()).unwrap_or(workers),
            // `cargo bench` passes --bench; nothing else is understood.
            "--bench" => {}
            other => {
                eprintln!("bare: unknown argument {other}; use --bind ADDR --workers N");
                std::process::exit(2);
            }
        }
    }
    let result = web::Data::new(fixed_result());
    actix_web::rt::System::new().block_on(async move {
        eprintln!("bare: answering POST /mcp on {bind} with {workers} workers");
        HttpServer::new(move || {
            App::new()
                .app_data(result.clone())
                .route("/mcp", web::post().to(mcp))
        })
        .workers(workers)
        .bind(&bind)?
        .run()
        .await
    })
}
