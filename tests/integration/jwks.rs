//! JWT bearer tokens verified against an identity provider's JSON Web Key Set, end to end:
//! a JWKS endpoint served by the test (so it can rotate keys, count fetches and go away),
//! RS256/ES256 tokens signed the way an identity provider would (biscuit on *ring*), and
//! every call made through POST /mcp of the real server.
//!
//! What is covered here and not in the verifier's unit tests: the app starts the background
//! refresh itself, `auth.jwt.jwks_*` settings reach the cache, the verified-token cache does
//! not outlive a key removal, and refusals are HTTP 401 with `WWW-Authenticate` (503 while
//! no key set was ever loaded) without the token in the answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use biscuit::jwa::SignatureAlgorithm;
use biscuit::jws::{Compact, Header, RegisteredHeader, Secret as JwsSecret};
use biscuit::{CompactJson, Empty};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents,
};
use serde_json::{Value, json};
use vizier::config::Config;

use super::support::*;

const ISS: &str = "https://idp.test/realms/vizier";
const AUD: &str = "vizier";
const USER: &str = "alice";
const V: (&str, &str) = ("mcp-protocol-version", "2025-11-25");

/// `auth.jwt.jwks_min_refetch_secs` in the tests: the smallest the config accepts.
const MIN_REFETCH: Duration = Duration::from_secs(1);

// TEST-ONLY keys, made once with `openssl genpkey -algorithm RSA -pkeyopt
// rsa_keygen_bits:2048` (PKCS#8), `openssl pkey -pubout`, and `openssl genpkey -algorithm EC
// -pkeyopt ec_paramgen_curve:P-256`. *ring* cannot generate RSA keys. Never use them elsewhere.

/// TEST-ONLY RSA key "a".
const RSA_A_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCocGrIbxKyPGlN
JNidWP6PIP2yndmFh4XhfKhJ3ucY+iZ6zXmMr8/mtIgxYIt9Bk09WGa2Elkj9C31
Ai5SNmZYslXbayDEkjbl3LeFPbtbtVi4rcB8xJd/7t7HphfLM01OtcjisdLlUzqi
Sy1+1POQ5TNonEcR/EXCfCgokz2UFG89C7CbCUFmKkopI66kEqsMrdD+epIJZpar
Woz580w9xqph2xqp5CZKMkN7sR4aZiGEVDIJQfVPjRqGj9CSINoOIPIlB0H+ESq9
8ewJNyRn33bo0wiDSPMG4Ja/xYFPahs5L9vjZvhEf0Mh43MrIsxW6b4AG882Mknf
oGWM5k77AgMBAAECggEAH7h8A58XUEWcNxD3UjqORfoajOa5LjJlfh9xueemcce6
M2o6t8nsRzA8bcAWxMbJCQJ65VLzQpgbh4aPnp/sCkwbayTzmNFIUWWNkiQcAptW
SAFAvL5xIYCkp8iZtoTEzEvjtv1yEAnqguHRgY8tB16CnfLAV5zArm2fSnTgJeCd
Dpghqa1a8RCAiuZ8+lNmveCoP9U75+yNFLSYFrQCqTWsNpR0V6uqmUnJgwpBAC2H
YICrXqPHw5Dkv4u9wtEixoYJOqf7NgmKxiG2CqbYG/rCsqHoTUM3Urdnm7QnUVPx
SANI2U+XBJibPPwFMjoOQ9ywHdLIVypLghiuklrBcQKBgQDUeC38CNLgUQF3Sx24
o3vbNOS6lO7AeYw/6Hj86ZHJgkH0WXXF7+mpsjIkQqz/wDlZaSBbu0g5dY6oB2ln
kDZzaNr422MgP6bd/csHz611QBkSYCrE82lFqQhippGF5fEnmJfSa0A4pvMCeImZ
QlErjYaBYMHHonnnY/JiaH8p1wKBgQDK8uOXPuQFGmXlltCStp1YIk3LG6Y1RC0J
st/4SYtXEM2nDTxTRZ1ZRVBrSbKZ15zXFNq7OskwT8u/MTDWTqSh+a1bofpMLpLF
j1CUZrzG80d6Xf+xjeR6LSB2aLEpI3ZTVSngzWSDC11g8eGK9act6w2dECEG1NZn
yPYOh2YHfQKBgQCwV0KLMOOci370/KIhUYaFi+Peu6dglkEB9bcc6do27eZBoFIw
Qwui7SPSlogxB+BRRgA2Qj0Se3A4I1anPrkCll9PNf6SkGG1U2PECujDLLziVHCK
4B9aUo2EGw0inZLGM06mtJ8rpdyBC3vgeHsX87FUBfMu9rnIg1pztJj+JwKBgHtw
3QmDkUGhWtUYtGhodq/CvbqKaMABZbt+d0gXw48Dg3LWVBj6QMippk57lwyH3rfb
0WcMTI78GhuCmgff8bcrnEwd65YmxdMwZny9OJlyI8nEHuAqRAwkIpii+Q7iqPfq
1vwLMdWbNgLfXKYe4L7HN5KO2ufC0V5zF2ai6GYpAoGBAJYEHUftUSdPiGwsd+Xv
L22WXK11BzzYl8alAzaz3GFhG+GN5PGweFeSHUHSV7Qsc1D5tqlHWB1QYmH0oRq9
F4gcoPj44dqUiz8GDI3mamgoEAYEFyPrppa0LdOKueVzNi2+5dE3r5uP7QvKna+h
mOdaa/Verb95YToqvzSXBtJe
-----END PRIVATE KEY-----
";

/// TEST-ONLY RSA key "b", the key rotated to.
const RSA_B_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCrLyXmaTGj538o
Bb45dg/TxNCWCIXAgjeiYvtgibru8Iw/2MWd3uLkBo1be7yOG7YtfGLJhJr61V9c
UaNifWEdb265iDV97anVJCo+3MUwzyjIzpRCsPdi17jSVhhYW4zSPnyKWl9y/UB7
cX+E9edD7knyv8qjLhuQQAvbWyWayfIIIf1c9hUSUGNA9NRSH7abeBiNsCtoI+aM
XBjrT2wZUSMobwf2gglhc3/G2xvE9XlDQKHc9c9tasqbwap6ZVdOIW/QUYm0B6Er
iEdwAbH8AUHINGrPSvKtlK14z4kNcZFni+7BpoNLVRL7HzLT8lRwJ/xmehA+GBx7
Qem+7rzhAgMBAAECggEANNUD0vVjYy0m0vDW0UAtSVQEdlGiChSGXCFFaPmJDoaC
GpBqCTvJdcvJ49KwEoHd+3LYwE4jUMf6uvDdRp/gkaebGjq+G6P2lvgm66jSWSqO
cU9EdcLNTx26BnyY3eg/cYHkiQS0UbZ0qMSSMTR9kDsian+j6DHqQt5pamVamUc5
9lS8pEEkgseB1ywTl2wFyQ2tXEcNBjO79E9YfXiek73PQQKT6qgXRnuo7R07KRsG
lR4b5Q3CiHmUfbl4eAAUwKRej+HVR80JUeKnYwJgHwi7Ij48fCGEh1anutWOYZLO
g0DsOwVgbHdU9lQswlyAHohBS67OUG2alrRuF0HlcwKBgQDdaoUR406l7Tjj5elo
bqY4+iPcvDgakjfFNchSzzRUKbiFuc/4gkwadBssLC7BhiDOnUr3c68upOl0xVbF
OllXlHIjg/+jsfHHliAwOfTSpnAUIyR8qxpnTtG4mIMZ2/rUiTPZJC56gDFFCrLj
ICX4HBpDuY5HFnb2Gxvo4Qj7AwKBgQDF7BGwx7EBbN4UOjU8WAWipmRltl2qngIg
Ip/JnjVn9Z2nAliAGgNLe//E4LtyzSpK+YkVgOdnkNiaeiUHPXH+6zcOobWcp54q
wHVlTPl5cwIkqkqD2jYeHqJdYeLzdCY/IvAL/yuvCNGhyMsYkce8Ie2whn5+2dR8
MK+LwjYRSwKBgQCQN7SLLTJqEzTOBE/ejMvKKuu2+AXXEMwwsNJVVc8wzqf4uknD
BSOKy3tzbyfZN4Mg8QUGXpyJVjMVsv/MoS/WQsOBbJXTSrFAHgHDR8y2dGBmTWmT
pmMhTQ5/HR+vdUBQtTlHQzDe66ar4McZ9zOkArH80NziYriDnq60JfeSfwKBgH93
JIGEadOwKGpAfo6JZb+1h40V4McEEfxeMCgp0t1MCqdHVHXTyvFvP26tCSvLRASb
JpUJun4xg74hEf3SrbruAzxSGuNz8+I2pqSB6V01G1k/rtOx0g6dzhVz+DSwRf19
Y7lmMdz9Qfz+kwYUxNy9wRVh2M+bPERrGnNYtXd3AoGBAJ6OuISiBlMFETFle9AZ
uL66Iv/QQivnxgRF53kODqe5x7NBQ33A7ZAhcP5AZofruSqQjSL1og0iQF9grPFr
4BXGW0jmxYdmbEXzLiDslXzUdcxDuZq/9bjq8Czqff5k0lmCEth00FPF4v5nL3Wq
ZIttRViYCsEgz8Rhu8qJ06lh
-----END PRIVATE KEY-----
";

/// TEST-ONLY: the public half of key "b" (SubjectPublicKeyInfo), what an attacker would have.
const RSA_B_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqy8l5mkxo+d/KAW+OXYP
08TQlgiFwII3omL7YIm67vCMP9jFnd7i5AaNW3u8jhu2LXxiyYSa+tVfXFGjYn1h
HW9uuYg1fe2p1SQqPtzFMM8oyM6UQrD3Yte40lYYWFuM0j58ilpfcv1Ae3F/hPXn
Q+5J8r/Koy4bkEAL21slmsnyCCH9XPYVElBjQPTUUh+2m3gYjbAraCPmjFwY609s
GVEjKG8H9oIJYXN/xtsbxPV5Q0Ch3PXPbWrKm8GqemVXTiFv0FGJtAehK4hHcAGx
/AFByDRqz0ryrZSteM+JDXGRZ4vuwaaDS1US+x8y0/JUcCf8ZnoQPhgce0Hpvu68
4QIDAQAB
-----END PUBLIC KEY-----
";

/// TEST-ONLY EC P-256 key "e" (ES256).
const EC_P256_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+L9ouhIpp+uzTP52
xE+Mp0TbvnFHWisRAirZMMJHQD6hRANCAARa8hkFZMpyii//CNqct2dndnoN2GSw
mShRzaNEGk6EBo+lAXk4wozCDJhXAId8Udl6p6cBdvca5HhaiFWFG4Lj
-----END PRIVATE KEY-----
";

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("PEM body")
}

fn rsa_pair(pem: &str) -> Arc<RsaKeyPair> {
    Arc::new(RsaKeyPair::from_pkcs8(&der(pem)).expect("RSA PKCS#8"))
}

fn ec_pair() -> Arc<EcdsaKeyPair> {
    Arc::new(
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &der(EC_P256_PRIVATE),
            &SystemRandom::new(),
        )
        .expect("EC PKCS#8"),
    )
}

/// The public JWK of an RSA test key, as an identity provider publishes it.
fn rsa_jwk(pem: &str, kid: &str) -> Value {
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(rsa_pair(pem).public());
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": B64.encode(&public.n), "e": B64.encode(&public.e)})
}

fn ec_jwk(kid: &str) -> Value {
    let pair = ec_pair();
    // The uncompressed SEC1 point: 0x04 || x || y.
    let point = pair.public_key().as_ref();
    json!({"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
        "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
}

/// A claims set biscuit serializes as given.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct Claims(Value);

impl CompactJson for Claims {}

/// Fresh claims for `USER`: a new `jti` each time, so no two tokens are the same string
/// (the server caches verified tokens by their hash).
fn claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": ISS, "aud": AUD, "sub": "id-alice", "preferred_username": USER,
        "iat": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string()})
}

/// A token signed with biscuit, the way an identity provider would sign it.
fn sign(alg: SignatureAlgorithm, key: &JwsSecret, kid: &str) -> String {
    let header = Header::from_registered_header(RegisteredHeader {
        algorithm: alg,
        key_id: Some(kid.to_string()),
        ..Default::default()
    });
    Compact::<Claims, Empty>::new_decoded(header, Claims(claims()))
        .encode(key)
        .expect("sign")
        .encoded()
        .expect("encoded")
        .to_string()
}

/// A token put together by hand (for the forgeries biscuit refuses to make).
fn hand(header: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims().to_string()),
        B64.encode(signature)
    )
}

/// HS256 over a token's first two parts with `secret`: how an attacker forges with a
/// public key used as the HMAC secret.
fn hs256_forgery(secret: &[u8], kid: &str) -> String {
    let unsigned = hand(&json!({"alg": "HS256", "typ": "JWT", "kid": kid}), b"");
    let input = unsigned.trim_end_matches('.');
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", B64.encode(tag.as_ref()))
}

struct Signers {
    a: JwsSecret,
    b: JwsSecret,
    e: JwsSecret,
}

fn signers() -> Signers {
    Signers {
        a: JwsSecret::RsaKeyPair(rsa_pair(RSA_A_PRIVATE)),
        b: JwsSecret::RsaKeyPair(rsa_pair(RSA_B_PRIVATE)),
        e: JwsSecret::EcdsaKeyPair(ec_pair()),
    }
}

/// What the test's identity provider serves, and how often it was asked.
struct JwksState {
    body: Mutex<Value>,
    hits: AtomicU64,
}

/// A JWKS endpoint on a free loopback port: GET /jwks.json.
struct JwksServer {
    url: String,
    state: Arc<JwksState>,
    handle: actix_web::dev::ServerHandle,
}

async fn jwks_document(state: actix_web::web::Data<Arc<JwksState>>) -> actix_web::HttpResponse {
    let body = state.body.lock().expect("lock").to_string();
    // Counted after the body is taken: once `hits` moves, that fetch saw the old body.
    state.hits.fetch_add(1, Ordering::SeqCst);
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

impl JwksServer {
    fn start(keys: Value) -> Self {
        let state = Arc::new(JwksState {
            body: Mutex::new(json!({ "keys": keys })),
            hits: AtomicU64::new(0),
        });
        let data = actix_web::web::Data::new(state.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .route("/jwks.json", actix_web::web::get().to(jwks_document))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind the JWKS server");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://{addr}/jwks.json"),
            state,
            handle,
        }
    }

    fn serve(&self, keys: Value) {
        *self.state.body.lock().expect("lock") = json!({ "keys": keys });
    }

    fn hits(&self) -> u64 {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Stop listening, and check nothing answers at the URL any more.
    async fn stop(&self) {
        self.handle.stop(false).await;
        assert!(
            http_client().get(&self.url).send().await.is_err(),
            "the JWKS server still answers after stop"
        );
    }
}

fn jwks_auth(c: &mut Config, url: &str, refresh_secs: u64, min_refetch_secs: u64) {
    c.auth.enabled = true;
    c.auth.dev_user = None;
    c.auth.jwt.algorithms = vec!["RS256".into(), "ES256".into()];
    c.auth.jwt.issuers = vec![ISS.into()];
    c.auth.jwt.audience = AUD.into();
    c.auth.jwt.jwks_uri = Some(url.into());
    c.auth.jwt.jwks_refresh_secs = refresh_secs;
    c.auth.jwt.jwks_min_refetch_secs = min_refetch_secs;
    c.auth.jwt.jwks_timeout_secs = 2;
}

async fn start_app(url: &str, refresh_secs: u64, min_refetch_secs: u64) -> TestApp {
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| jwks_auth(c, url, refresh_secs, min_refetch_secs))
        .start()
        .await
        .expect("app");
    add_user(&app, USER, "admin", &[]).await;
    app
}

/// Key-set fetches the app attempted, failed ones included (the JWKS server cannot count
/// those once it is gone).
fn attempts(app: &TestApp) -> u64 {
    app.app
        .jwt
        .as_ref()
        .and_then(|v| v.jwks())
        .expect("JWKS verifier")
        .fetch_count()
}

/// Poll instead of sleeping a fixed time: the machine may be busy.
async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("waited 10 s for {what}");
}

/// Sleep until `min_refetch` has passed since `since`, so an unknown `kid` may refetch.
async fn refetch_allowed_after(since: Instant) {
    let ready = since + MIN_REFETCH + Duration::from_millis(50);
    tokio::time::sleep(ready.saturating_duration_since(Instant::now())).await;
}

/// Most key-set fetches allowed for unknown kids in `elapsed`: one per `min_refetch`, plus
/// one for the interval already under way.
fn fetch_bound(elapsed: Duration) -> u64 {
    elapsed.as_secs() / MIN_REFETCH.as_secs() + 1
}

async fn call(app: &TestApp, token: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_instance_info", "arguments": {}}});
    app.post_raw(
        body.to_string(),
        &[V, ("authorization", &format!("Bearer {token}"))],
    )
    .await
}

async fn accepted(app: &TestApp, token: &str, what: &str) {
    let (status, _, text) = call(app, token).await;
    assert_eq!(status, 200, "{what}: {text}");
    let reply = parse_body(&text);
    assert!(
        reply["result"].is_object() && reply["result"]["isError"] != json!(true),
        "{what}: {text}"
    );
}

/// 401 with an `invalid_token` challenge, the expected reason, and no token text anywhere.
async fn refused(app: &TestApp, token: &str, reason: &str, what: &str) {
    let (status, headers, text) = call(app, token).await;
    assert_eq!(status, 401, "{what}: {text}");
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
    assert_eq!(
        parse_body(&text)["error"]["data"]["reason"],
        reason,
        "{what}: {text}"
    );
    assert_no_echo(token, &text, &challenge, what);
}

fn assert_no_echo(token: &str, body: &str, challenge: &str, what: &str) {
    // The whole token, and each part long enough to be recognisable (the claims and the
    // signature; a header such as {"alg":"none"} is too short to mean anything).
    for piece in std::iter::once(token).chain(token.split('.').filter(|p| p.len() > 24)) {
        assert!(
            !body.contains(piece) && !challenge.contains(piece),
            "{what}: the token was echoed"
        );
    }
}

#[actix_web::test]
async fn rotation_refetch_outage_and_forgeries_through_the_server() {
    let keys = signers();
    let idp = JwksServer::start(json!([rsa_jwk(RSA_A_PRIVATE, "a"), ec_jwk("e")]));
    // The background refresh is far away: every fetch below is one a token caused.
    let app = start_app(&idp.url, 3600, MIN_REFETCH.as_secs()).await;

    // The app loads the key set at start, in the background.
    wait_for("the first key-set fetch", || idp.hits() == 1).await;
    let mut last_fetch = Instant::now();
    let token_a = sign(SignatureAlgorithm::RS256, &keys.a, "a");
    accepted(&app, &token_a, "RS256, kid a").await;
    accepted(&app, &token_a, "the same token again (cached)").await;
    accepted(
        &app,
        &sign(SignatureAlgorithm::ES256, &keys.e, "e"),
        "ES256, kid e",
    )
    .await;
    assert_eq!(idp.hits(), 1, "known kids need no fetch");

    // Forgeries, refused before any key is looked up.
    let b_public_spki = der(RSA_B_PUBLIC);
    let b_public_pkcs1 = rsa_pair(RSA_B_PRIVATE).public().as_ref().to_vec();
    for (what, secret) in [
        (
            "HS256 keyed with the public key PEM",
            RSA_B_PUBLIC.as_bytes(),
        ),
        (
            "HS256 keyed with the public key DER (SPKI)",
            b_public_spki.as_slice(),
        ),
        (
            "HS256 keyed with the public key DER (PKCS#1)",
            b_public_pkcs1.as_slice(),
        ),
    ] {
        for kid in ["a", "b"] {
            refused(&app, &hs256_forgery(secret, kid), "alg_not_allowed", what).await;
        }
    }
    let real = sign(SignatureAlgorithm::RS256, &keys.a, "a");
    let signature = real.rsplit('.').next().unwrap_or_default();
    for alg in ["none", "None", "NONE"] {
        let what = format!("alg {alg}");
        let header = json!({"alg": alg, "typ": "JWT", "kid": "a"});
        refused(&app, &hand(&header, b""), "alg_not_allowed", &what).await;
        // With a real signature of key a attached: still not a token signed with key a.
        let with_signature = format!("{}{signature}", hand(&header, b""));
        refused(&app, &with_signature, "alg_not_allowed", &what).await;
    }
    // RS256 signed by key b but named as key a: the signature does not verify.
    refused(
        &app,
        &sign(SignatureAlgorithm::RS256, &keys.b, "a"),
        "bad_signature",
        "key b posing as kid a",
    )
    .await;
    assert_eq!(idp.hits(), 1, "forgeries cause no fetch");

    // Rotation: the identity provider now publishes key b only.
    idp.serve(json!([rsa_jwk(RSA_B_PRIVATE, "b")]));
    refetch_allowed_after(last_fetch).await;
    let token_b = sign(SignatureAlgorithm::RS256, &keys.b, "b");
    accepted(&app, &token_b, "RS256, kid b after rotation").await;
    assert_eq!(
        idp.hits(),
        2,
        "the unknown kid b refetched the key set once"
    );
    last_fetch = Instant::now();
    accepted(&app, &token_b, "the same token b again").await;

    // Key a is gone from the refreshed set: a token accepted (and cached) before is
    // refused now, as are new ones and the EC key's.
    refused(
        &app,
        &token_a,
        "unknown_kid",
        "the cached token of removed key a",
    )
    .await;
    refused(
        &app,
        &sign(SignatureAlgorithm::RS256, &keys.a, "a"),
        "unknown_kid",
        "a new token of removed key a",
    )
    .await;
    refused(
        &app,
        &sign(SignatureAlgorithm::ES256, &keys.e, "e"),
        "unknown_kid",
        "removed EC key e",
    )
    .await;

    // Kids that exist nowhere, many at once: refused, at a bounded fetch rate.
    let before = idp.hits();
    let burst = Instant::now();
    let tokens: Vec<String> = (0..24)
        .map(|i| sign(SignatureAlgorithm::RS256, &keys.b, &format!("nowhere-{i}")))
        .collect();
    let calls = tokens
        .iter()
        .map(|t| refused(&app, t, "unknown_kid", "a kid that exists nowhere"));
    futures::future::join_all(calls).await;
    let fetched = idp.hits() - before;
    let bound = fetch_bound(last_fetch.elapsed());
    assert!(
        fetched <= bound,
        "{fetched} fetches for 24 unknown kids in {:?} (at most {bound})",
        burst.elapsed()
    );
    if fetched > 0 {
        last_fetch = Instant::now();
    }

    // Outage: the identity provider is gone. Cached keys keep working; unknown kids are
    // refused as unknown (not unavailable), after at most one attempt per interval.
    idp.stop().await;
    refetch_allowed_after(last_fetch).await;
    accepted(
        &app,
        &sign(SignatureAlgorithm::RS256, &keys.b, "b"),
        "a new token of cached key b during the outage",
    )
    .await;
    let tried = attempts(&app);
    let outage = Instant::now();
    let calls = tokens
        .iter()
        .map(|t| refused(&app, t, "unknown_kid", "an unknown kid during the outage"));
    futures::future::join_all(calls).await;
    let attempted = attempts(&app) - tried;
    let bound = fetch_bound(outage.elapsed());
    assert!(
        (1..=bound).contains(&attempted),
        "{attempted} fetch attempts for 24 unknown kids during the outage (1 to {bound})"
    );
    accepted(&app, &token_b, "token b after the failed refetch").await;
    accepted(
        &app,
        &sign(SignatureAlgorithm::RS256, &keys.b, "b"),
        "another new token of key b",
    )
    .await;
    refused(&app, &token_a, "unknown_kid", "key a stays removed").await;
    app.stop().await;
}

#[actix_web::test]
async fn background_refresh_rotates_keys_and_keeps_them_through_an_outage() {
    let keys = signers();
    let idp = JwksServer::start(json!([rsa_jwk(RSA_A_PRIVATE, "a")]));
    // Refresh every second; unknown kids may not refetch for a minute, so any new key
    // below arrives through the background refresh.
    let app = start_app(&idp.url, 1, 60).await;
    wait_for("the first key-set fetch", || idp.hits() == 1).await;
    let token_a = sign(SignatureAlgorithm::RS256, &keys.a, "a");
    accepted(&app, &token_a, "RS256, kid a").await;

    wait_for("a background refresh", || idp.hits() >= 2).await;
    // Rotate right after a refresh: the next one is about a second away.
    idp.serve(json!([rsa_jwk(RSA_B_PRIVATE, "b")]));
    let rotated = idp.hits();
    let token_b = sign(SignatureAlgorithm::RS256, &keys.b, "b");
    let (status, _, text) = call(&app, &token_b).await;
    if idp.hits() == rotated {
        // No refresh came in between (the likely case): the unknown kid may not refetch
        // for a minute, so it had to wait for one.
        assert_eq!(status, 401, "kid b before any refresh saw it: {text}");
    }

    wait_for("the refresh after the rotation", || idp.hits() > rotated).await;
    // The fetch is counted when the body is taken; the cache is updated right after.
    wait_for("key b in the cache", || {
        let cache = app.app.jwt.as_ref().and_then(|v| v.jwks());
        cache.is_some_and(|c| c.current().keys.iter().any(|k| k.kid() == Some("b")))
    })
    .await;
    accepted(&app, &token_b, "kid b after the background refresh").await;
    refused(
        &app,
        &token_a,
        "unknown_kid",
        "the cached token of removed key a",
    )
    .await;

    // Outage: refreshes fail, the last good key set stays.
    idp.stop().await;
    let tried = attempts(&app);
    // Two more attempts: the first of them has then surely failed (the second starts after).
    wait_for("a failed background refresh", || {
        attempts(&app) >= tried + 2
    })
    .await;
    accepted(
        &app,
        &sign(SignatureAlgorithm::RS256, &keys.b, "b"),
        "a new token of key b during the outage",
    )
    .await;
    accepted(&app, &token_b, "token b during the outage").await;
    app.stop().await;
}

#[actix_web::test]
async fn no_key_set_ever_loaded_is_unavailable_not_unauthorized() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let app = start_app(&format!("http://127.0.0.1:{port}/jwks.json"), 3600, 1).await;
    let token = sign(SignatureAlgorithm::RS256, &signers().a, "a");
    let (status, headers, text) = call(&app, &token).await;
    assert_eq!(status, 503, "{text}");
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    assert_eq!(parse_body(&text)["error"]["data"]["reason"], "unavailable");
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_no_echo(&token, &text, challenge, "JWKS unreachable");
    app.stop().await;
}
