//! Authentication over HTTP: JWT bearer tokens (HS256 here; the verifier's own tests cover
//! every algorithm and JWKS rotation), API keys, 401/403 semantics with WWW-Authenticate,
//! scopes, unknown users, auto-provisioning, RFC 9728 metadata.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use vizier::config::{Config, Secret};

use super::support::*;

const SECRET: &str = "vizier-test-secret-0123456789-abcdefghij";
const ISS: &str = "https://idp.test";
const AUD: &str = "vizier";

pub fn auth_on(c: &mut Config) {
    c.auth.enabled = true;
    c.auth.dev_user = None;
    c.auth.jwt.algorithms = vec!["HS256".into()];
    c.auth.jwt.issuers = vec![ISS.into()];
    c.auth.jwt.audience = AUD.into();
    c.auth.jwt.hs_secret = Some(Secret::new(SECRET));
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An HS256 JWT signed with `secret`, with the given header and claims.
fn sign(header: Value, claims: Value, secret: &str) -> String {
    let h = B64.encode(header.to_string());
    let c = B64.encode(claims.to_string());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let sig = ring::hmac::sign(&key, format!("{h}.{c}").as_bytes());
    format!("{h}.{c}.{}", B64.encode(sig.as_ref()))
}

pub fn token(user: &str, extra: Value) -> String {
    let mut claims = json!({"iss": ISS, "aud": AUD, "preferred_username": user, "sub": format!("id-{user}"),
        "iat": now(), "exp": now() + 600});
    if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    sign(json!({"alg": "HS256", "typ": "JWT"}), claims, SECRET)
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
pub const V: (&str, &str) = ("mcp-protocol-version", "2025-11-25");

pub fn call_body(tool: &str, args: Value) -> String {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name": tool, "arguments": args}})
        .to_string()
}

#[actix_web::test]
async fn tokens_are_verified_and_refusals_follow_the_mcp_authorization_spec() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(auth_on)
        .start()
        .await
        .expect("app");
    add_user(&app, "alice", "admin", &[]).await;

    // No credentials: 401 with the resource metadata link.
    let (status, headers, _) = app.post_raw(LIST, &[V]).await;
    assert_eq!(status, 401);
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with("Bearer resource_metadata=\"")
            && challenge.contains("/.well-known/oauth-protected-resource/mcp"),
        "{challenge}"
    );
    let (status, meta) = app.get("/.well-known/oauth-protected-resource").await;
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_str(&meta).expect("json");
    assert!(
        meta["resource"]
            .as_str()
            .is_some_and(|r| r.ends_with("/mcp"))
    );
    assert!(
        meta["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("vizier:write")))
    );

    let good = token("alice", json!({}));
    let (status, _, text) = app
        .post_raw(LIST, &[V, ("authorization", &format!("Bearer {good}"))])
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("generate_dashboard"));

    let header = json!({"alg": "HS256", "typ": "JWT"});
    let base = |extra: Value| {
        let mut c = json!({"iss": ISS, "aud": AUD, "preferred_username": "alice", "iat": now(), "exp": now() + 600});
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        c
    };
    let bad = [
        (
            "expired",
            sign(header.clone(), base(json!({"exp": now() - 3600})), SECRET),
        ),
        (
            "not yet valid",
            sign(header.clone(), base(json!({"nbf": now() + 3600})), SECRET),
        ),
        (
            "wrong audience",
            sign(header.clone(), base(json!({"aud": "someone-else"})), SECRET),
        ),
        (
            "wrong issuer",
            sign(
                header.clone(),
                base(json!({"iss": "https://evil.test"})),
                SECRET,
            ),
        ),
        (
            "bad signature",
            sign(
                header.clone(),
                base(json!({})),
                "another-secret-another-secret-1234567",
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
                B64.encode(base(json!({})).to_string())
            ),
        ),
        ("malformed", "not.a.jwt".to_string()),
        ("oversized", "a".repeat(20_000)),
        (
            "no exp",
            sign(
                header.clone(),
                json!({"iss": ISS, "aud": AUD, "preferred_username": "alice"}),
                SECRET,
            ),
        ),
        (
            "unknown api key",
            "vz_abcdefgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        ),
    ];
    for (what, t) in bad {
        let (status, headers, text) = app
            .post_raw(LIST, &[V, ("authorization", &format!("Bearer {t}"))])
            .await;
        assert_eq!(status, 401, "{what}: {text}");
        let challenge = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        if t.len() > 16 {
            assert!(
                !text.contains(&t) && !challenge.contains(&t),
                "{what}: the token was echoed"
            );
        }
    }

    // A verified user vizier does not know: 403.
    let (status, _, text) = app
        .post_raw(
            LIST,
            &[
                V,
                (
                    "authorization",
                    &format!("Bearer {}", token("mallory", json!({}))),
                ),
            ],
        )
        .await;
    assert_eq!(status, 403, "{text}");

    // Scopes narrow what a token may do: read-only here.
    let read = token("alice", json!({"scope": "vizier:read"}));
    let auth = format!("Bearer {read}");
    let (status, _, text) = app.post_raw(LIST, &[V, ("authorization", &auth)]).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("list_charts") && !text.contains("generate_dashboard"),
        "{text}"
    );
    let (status, headers, text) = app
        .post_raw(
            call_body("generate_dashboard", json!({"chart_ids": [1]})),
            &[V, ("authorization", &auth)],
        )
        .await;
    assert_eq!(status, 403, "{text}");
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("vizier:write"),
        "{challenge}"
    );
    assert_eq!(
        parse_body(&text)["result"]["structuredContent"]["details"]["missing_scope"],
        "vizier:write"
    );
    let (status, _, text) = app
        .post_raw(
            call_body("list_charts", json!({})),
            &[V, ("authorization", &auth)],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        parse_body(&text)["result"]["structuredContent"]["total_count"],
        7
    );
    app.stop().await;
}

#[actix_web::test]
async fn api_keys_are_created_used_and_revoked() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(auth_on)
        .start()
        .await
        .expect("app");
    add_user(&app, "alice", "admin", &[]).await;
    add_user(
        &app,
        "bob",
        "gamma",
        &[("dataset_access", Some("dataset"), Some(7))],
    )
    .await;
    let admin = format!("Bearer {}", token("alice", json!({})));
    let (_, _, text) = app
        .post_raw(
            call_body(
                "create_api_key",
                json!({"username": "bob", "name": "nightly export", "scopes": ["vizier:read"]}),
            ),
            &[V, ("authorization", &admin)],
        )
        .await;
    let created = parse_body(&text)["result"]["structuredContent"].clone();
    let key = created["api_key"]
        .as_str()
        .expect("key shown once")
        .to_string();
    assert!(key.starts_with("vz_"));
    for headers in [
        vec![("authorization", format!("Bearer {key}"))],
        vec![("x-api-key", key.clone())],
    ] {
        let hs: Vec<(&str, &str)> = std::iter::once(V)
            .chain(headers.iter().map(|(k, v)| (*k, v.as_str())))
            .collect();
        let (status, _, text) = app.post_raw(call_body("list_charts", json!({})), &hs).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            parse_body(&text)["result"]["structuredContent"]["total_count"],
            7
        );
    }
    let (_, _, text) = app
        .post_raw(
            call_body("list_api_keys", json!({})),
            &[V, ("authorization", &admin)],
        )
        .await;
    let listed = parse_body(&text)["result"]["structuredContent"].clone();
    assert!(!text.contains(&key), "the key is never shown again");
    assert_eq!(listed["items"][0]["username"], "bob");
    assert!(listed["items"][0]["last_used_on"].is_string());
    let (status, _, _) = app
        .post_raw(
            call_body("revoke_api_key", json!({"id": created["id"]})),
            &[V, ("authorization", &admin)],
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = app
        .post_raw(
            call_body("list_charts", json!({})),
            &[V, ("authorization", &format!("Bearer {key}"))],
        )
        .await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[actix_web::test]
async fn auto_provisioning_and_role_mapping() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            auth_on(c);
            c.auth.auto_provision = true;
            c.auth
                .role_mapping
                .insert("bi-editors".into(), "alpha".into());
        })
        .start()
        .await
        .expect("app");
    let (status, _, text) = app
        .post_raw(
            LIST,
            &[
                V,
                (
                    "authorization",
                    &format!("Bearer {}", token("newcomer", json!({}))),
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("list_charts") && !text.contains("generate_dashboard"),
        "gamma by default: {text}"
    );
    let editor = token("newcomer", json!({"groups": ["bi-editors"]}));
    let (status, _, text) = app
        .post_raw(LIST, &[V, ("authorization", &format!("Bearer {editor}"))])
        .await;
    assert_eq!(status, 200);
    assert!(
        text.contains("generate_dashboard"),
        "the mapped role adds write tools: {text}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_token_without_a_required_scope_is_403_insufficient_scope() {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            auth_on(c);
            c.auth.jwt.required_scopes = vec!["bi.read".into(), "bi.mcp".into()];
        })
        .start()
        .await
        .expect("app");
    add_user(&app, "alice", "admin", &[]).await;

    let partial = token("alice", json!({"scope": "bi.read vizier:read"}));
    let (status, headers, text) = app
        .post_raw(LIST, &[V, ("authorization", &format!("Bearer {partial}"))])
        .await;
    assert_eq!(status, 403, "{text}");
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(
        challenge, "Bearer error=\"insufficient_scope\", scope=\"bi.mcp\"",
        "RFC 6750 §3.1 names the missing scope"
    );
    assert_eq!(
        parse_body(&text)["error"]["data"]["reason"],
        "missing_scope"
    );

    let none = token("alice", json!({}));
    let (status, headers, _) = app
        .post_raw(LIST, &[V, ("authorization", &format!("Bearer {none}"))])
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer error=\"insufficient_scope\", scope=\"bi.read bi.mcp\"")
    );

    let full = token("alice", json!({"scope": "bi.read bi.mcp"}));
    let (status, _, text) = app
        .post_raw(LIST, &[V, ("authorization", &format!("Bearer {full}"))])
        .await;
    assert_eq!(status, 200, "{text}");
    app.stop().await;
}
