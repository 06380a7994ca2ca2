//! Turning an HTTP request's credentials into a [`Principal`], fail closed.
//!
//! `Authorization: Bearer <token>` carries a JWT or an API key (`vz_…`); `X-API-Key` an API
//! key. While auth is off every call runs as the dev user (loopback only, checked at start).
//! With auth on: no credentials → 401; a token that does not verify → 401 naming the reason
//! (never the token); a verified user vizier does not know → 403 unless auto-provisioning
//! is on; scopes and token-mapped roles narrow or widen the principal for that call only.

use std::sync::Arc;
use std::time::Duration;

use super::jwt::JwtVerifier;
use super::{Principal, PrincipalCache, Who};
use crate::actors::Db;
use crate::config::Config;
use crate::db::api_keys::ApiKey;
use crate::db::models::User;
use crate::error::{ErrorKind, ToolError};

/// What authenticating a caller reads: the configuration, the metadata store, the JWT
/// verifier and the caches of principals and recently used API keys (borrowed from the app
/// state).
pub struct AuthState<'a> {
    pub config: &'a Config,
    pub db: &'a Db,
    pub jwt: &'a Option<Arc<JwtVerifier>>,
    pub principals: &'a PrincipalCache,
    pub api_key_touched: &'a moka::sync::Cache<i32, ()>,
}

/// How often an API key's `last_used_on` is written at most.
const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// Why a request was not authenticated.
#[derive(Debug)]
pub enum AuthFailure {
    /// No credentials: 401 with a bare challenge.
    Missing,
    /// Credentials that do not verify: 401 `invalid_token`, with a reason for metrics.
    Invalid {
        reason: &'static str,
        description: String,
    },
    /// A verified user that vizier refuses: 403.
    Forbidden(String),
    /// A verified token that lacks scopes `auth.jwt.required_scopes` lists: 403
    /// `insufficient_scope` naming them (RFC 6750 §3.1), as a tool's missing scope is.
    InsufficientScope(Vec<String>),
    /// Verification could not run (key set or metadata store unreachable): 503.
    Unavailable(String),
}

impl AuthFailure {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid { reason, .. } => reason,
            Self::Forbidden(_) => "forbidden",
            Self::InsufficientScope(_) => "missing_scope",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

fn store_unavailable(e: ToolError) -> AuthFailure {
    AuthFailure::Unavailable(format!(
        "the metadata store is unavailable ({})",
        e.error_type()
    ))
}

/// The principal of a request, from its `Authorization` / `X-API-Key` headers.
pub async fn authenticate(
    app: &AuthState<'_>,
    authorization: Option<&str>,
    api_key: Option<&str>,
) -> Result<Arc<Principal>, AuthFailure> {
    let token = match (authorization, api_key) {
        (Some(h), _) => match bearer_token(h) {
            Some(t) if !t.is_empty() => t,
            _ => {
                return Err(AuthFailure::Invalid {
                    reason: "malformed",
                    description: "the Authorization header must be `Bearer <token>`".into(),
                });
            }
        },
        (None, Some(k)) => k.trim(),
        (None, None) => return Err(AuthFailure::Missing),
    };
    let (who, scopes, claim_roles, claim_tenant) = if super::api_keys::looks_like_api_key(token) {
        let (user_id, scopes) = verify_api_key(app, token).await?;
        (Who::Id(user_id), scopes, Vec::new(), None)
    } else {
        let verifier = app.jwt.as_ref().ok_or_else(|| AuthFailure::Invalid {
            reason: "malformed",
            description: "only API keys are accepted here".into(),
        })?;
        let claims = verifier.verify(token).await.map_err(|e| {
            let reason = e.reason();
            if reason == "jwks_unavailable" {
                AuthFailure::Unavailable(e.to_string())
            } else if let super::jwt::AuthError::MissingScope(missing) = e {
                AuthFailure::InsufficientScope(missing)
            } else {
                AuthFailure::Invalid {
                    reason,
                    description: e.to_string(),
                }
            }
        })?;
        let name =
            claims
                .principal_name()
                .map(str::to_owned)
                .ok_or_else(|| AuthFailure::Invalid {
                    reason: "malformed",
                    description:
                        "the token names no user (preferred_username, username, email or sub)"
                            .into(),
                })?;
        let scopes = (!claims.scopes.is_empty()).then(|| claims.scopes.clone());
        let mapping = &app.config.auth.role_mapping;
        let roles: Vec<String> = claims
            .roles
            .iter()
            .chain(claims.groups.iter())
            .filter_map(|r| mapping.get(r).cloned())
            .collect();
        // `Some` for every token while tenants are on: a token without one is refused below.
        let tenant = Some(claims.tenant_id.clone());
        let named_in = claims
            .tenant_id
            .as_deref()
            .filter(|_| app.config.auth.tenants);
        (Who::named(&name, named_in), scopes, roles, tenant)
    };
    let tenants = app.config.auth.tenants;
    let mut base = principal_of(app, &who).await?;
    if tenants {
        base = tenant_of(app, base, claim_tenant).await?;
    }
    if scopes.is_none() && claim_roles.is_empty() {
        return Ok(base);
    }
    let mut conn = app.db.conn().await.map_err(store_unavailable)?;
    Principal::for_token(&base, &mut conn, scopes, &claim_roles)
        .await
        .map(Arc::new)
        .map_err(store_unavailable)
}

/// With tenants on, the call's tenant: the user's. A user belongs to one tenant: the first
/// verified token naming a tenant for a user that has none records it; a token naming
/// another tenant, a token naming none, and an API key of a user without a tenant are
/// refused (403). `claim` is `None` for API keys, `Some(claim)` for tokens.
async fn tenant_of(
    app: &AuthState<'_>,
    principal: Arc<Principal>,
    claim: Option<Option<String>>,
) -> Result<Arc<Principal>, AuthFailure> {
    let user = &principal.username;
    match (&principal.tenant, claim) {
        (Some(_), None) => Ok(principal),
        (None, None) => Err(AuthFailure::Forbidden(format!(
            "User '{user}' belongs to no tenant, and tenants are on. Give the user a tenant \
             (a token with a tenant_id claim, or `vizier tenant adopt <tenant>`)."
        ))),
        (_, Some(None)) => Err(AuthFailure::Forbidden(
            "The token carries no tenant_id (or tid) claim, and tenants are on. \
             Request a token that names the tenant."
                .into(),
        )),
        (Some(t), Some(Some(c))) if *t == c => Ok(principal),
        // Not reached through a lookup by the token's tenant; said without naming either.
        (Some(_), Some(Some(_))) => Err(AuthFailure::Forbidden(format!(
            "User '{user}' does not belong to the tenant the token names."
        ))),
        (None, Some(Some(c))) => {
            if c.is_empty() || c.len() > 255 {
                return Err(AuthFailure::Forbidden(
                    "The token's tenant_id claim must be 1 to 255 characters.".into(),
                ));
            }
            let mut conn = app.db.conn().await.map_err(store_unavailable)?;
            let id = principal.user_id;
            let bound = User::bind_tenant(&mut conn, id, &c)
                .await
                .map_err(|e| store_unavailable(ToolError::from(e)))?;
            if bound {
                tracing::info!(user = %user, tenant = %c, "recorded a user's tenant from a token");
            }
            app.principals.forget(id).await;
            let who = Who::named(user, Some(&c));
            let p = Principal::load(&mut conn, &Who::Id(id), true)
                .await
                .map_err(store_unavailable)?;
            let p = app.principals.put(who, p).await;
            // Another replica may have bound the user to another tenant in between.
            Box::pin(tenant_of(app, p, Some(Some(c)))).await
        }
    }
}

/// The credentials of an `Authorization: Bearer <token>` header. The scheme name is
/// case-insensitive (RFC 9110 §11.1), so `bearer` and `BEARER` are accepted too.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case("bearer ").then(|| rest.trim())
}

/// The (cached) principal credentials name, provisioning a named user (in the token's
/// tenant, with tenants on) when configured.
async fn principal_of(app: &AuthState<'_>, who: &Who) -> Result<Arc<Principal>, AuthFailure> {
    let tenants = app.config.auth.tenants;
    match app.principals.fetch(app.db, who, tenants).await {
        Ok(p) => Ok(p),
        Err(e) if e.kind == ErrorKind::Unauthenticated && app.config.auth.auto_provision => {
            let Who::Named { name, tenant } = who else {
                return Err(AuthFailure::Forbidden(e.message));
            };
            let mut conn = app.db.conn().await.map_err(store_unavailable)?;
            let tenant = tenant.as_deref().filter(|_| tenants);
            super::roles::ensure_user(&mut conn, name, &app.config.auth.default_role, tenant)
                .await
                .map_err(|e| store_unavailable(ToolError::from(e)))?;
            tracing::info!(user = %name, role = %app.config.auth.default_role, tenant, "provisioned a user from a token");
            app.principals
                .fetch(app.db, who, tenants)
                .await
                .map_err(store_unavailable)
        }
        Err(e)
            if matches!(
                e.kind,
                ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
            ) =>
        {
            Err(AuthFailure::Forbidden(format!(
                "{} Ask an admin to create the user or enable auth.auto_provision.",
                e.message
            )))
        }
        Err(e) => Err(store_unavailable(e)),
    }
}

/// (user id, scopes) of a valid API key.
async fn verify_api_key(
    app: &AuthState<'_>,
    key: &str,
) -> Result<(i32, Option<Vec<String>>), AuthFailure> {
    let invalid = |d: &str| AuthFailure::Invalid {
        reason: "bad_api_key",
        description: d.into(),
    };
    let (prefix, secret) =
        super::api_keys::parse(key).ok_or_else(|| invalid("the API key is malformed"))?;
    let mut conn = app.db.conn().await.map_err(store_unavailable)?;
    let stored = ApiKey::stored_by_prefix(&mut conn, prefix)
        .await
        .map_err(|e| store_unavailable(ToolError::from(e)))?
        .ok_or_else(|| invalid("unknown API key"))?;
    if !super::api_keys::verify(secret, &stored.key_hash) {
        return Err(invalid("unknown API key"));
    }
    if stored.revoked_on.is_some() {
        return Err(invalid("the API key was revoked"));
    }
    let now = crate::db::models::now();
    if stored.expires_on.is_some_and(|e| e <= now) {
        return Err(AuthFailure::Invalid {
            reason: "expired",
            description: "the API key expired".into(),
        });
    }
    if app.api_key_touched.get(&stored.id).is_none() {
        app.api_key_touched.insert(stored.id, ());
        if let Err(e) = ApiKey::mark_used(&mut conn, stored.id, now).await {
            tracing::warn!(error = %e, "could not record API key use");
        }
    }
    let scopes: Vec<String> = stored
        .scopes
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Ok((stored.user_id, (!scopes.is_empty()).then_some(scopes)))
}

/// A cache of API key ids whose `last_used_on` was written recently.
pub fn touched_cache() -> moka::sync::Cache<i32, ()> {
    moka::sync::Cache::builder()
        .time_to_live(LAST_USED_EVERY)
        .max_capacity(100_000)
        .build()
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for h in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR  abc "] {
            assert_eq!(bearer_token(h), Some("abc"), "{h}");
        }
        for h in ["Basic abc", "Bearer", "Bearerabc", "", "Béarer abc"] {
            assert!(bearer_token(h).is_none_or(str::is_empty), "{h}");
        }
    }
}
