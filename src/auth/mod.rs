//! Who is calling and what they may do.
//!
//! A [`Principal`] is resolved once per call (from the dev user while auth is off) and
//! carries the caller's roles and grants. Tools declare the [`Permission`] they need; the
//! tool registry refuses a call without it and hides the tool from `tools/list`.

pub mod api_keys;
pub mod jwks;
pub mod jwt;
pub mod resolve;
pub mod roles;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::RwLock;

use crate::db::MetaConn;
use crate::db::models::User;
use crate::error::ToolError;

/// A permission a tool needs. Roles grant them (`role_permissions.permission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Permission {
    /// Health, instance info, schema discovery.
    SystemRead,
    /// Read dashboards, charts, datasets, databases.
    CatalogRead,
    /// Create, change and delete catalog objects.
    CatalogWrite,
    /// Run SQL against data sources.
    SqlExecute,
    /// Users, roles, RLS rules, API keys, data-source registration.
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Self::SystemRead,
        Self::CatalogRead,
        Self::CatalogWrite,
        Self::SqlExecute,
        Self::Admin,
    ];

    /// The OAuth scope a token needs for this permission (when the token carries scopes).
    pub const fn scope(self) -> &'static str {
        match self {
            Self::SystemRead | Self::CatalogRead => "vizier:read",
            Self::CatalogWrite => "vizier:write",
            Self::SqlExecute => "vizier:sql",
            Self::Admin => "vizier:admin",
        }
    }

    pub const SCOPES: [&'static str; 4] =
        ["vizier:read", "vizier:write", "vizier:sql", "vizier:admin"];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SystemRead => "system.read",
            Self::CatalogRead => "catalog.read",
            Self::CatalogWrite => "catalog.write",
            Self::SqlExecute => "sql.execute",
            Self::Admin => "admin",
        }
    }

    /// What the permission lets a role do, for `list_permissions`.
    pub const fn description(self) -> &'static str {
        match self {
            Self::SystemRead => "Health, instance info and schema discovery.",
            Self::CatalogRead => {
                "Read dashboards, charts, datasets and databases (only those the role's data grants open)."
            }
            Self::CatalogWrite => "Create, change and delete dashboards, charts and datasets.",
            Self::SqlExecute => "Run SQL on the databases the role's data grants open.",
            Self::Admin => {
                "Users, roles, permissions, RLS rules, API keys, data sources and the audit log."
            }
        }
    }

    /// The permission named `name` (`role_permissions.permission`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Grant that opens every database and dataset (admins and editors).
pub const ALL_DATASOURCE_ACCESS: &str = "all_datasource_access";
/// Grant that opens one database (`object_type` database, `object_id` its id).
pub const DATABASE_ACCESS: &str = "database_access";
/// Grant that opens one dataset (`object_type` dataset, `object_id` its id).
pub const DATASET_ACCESS: &str = "dataset_access";

/// Data grants a role can hold besides the tool permissions: (name, the object type it is
/// narrowed to, description).
pub const DATA_GRANTS: [(&str, Option<&str>, &str); 3] = [
    (
        ALL_DATASOURCE_ACCESS,
        None,
        "Every database and dataset, present and future.",
    ),
    (
        DATABASE_ACCESS,
        Some("database"),
        "One database and every dataset on it (object_type database, object_id its id).",
    ),
    (
        DATASET_ACCESS,
        Some("dataset"),
        "One dataset, and its database for listing (object_type dataset, object_id its id).",
    ),
];

/// The caller of one tool call.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub user_id: i32,
    pub username: String,
    pub roles: Vec<String>,
    pub permissions: HashSet<&'static str>,
    pub all_datasource_access: bool,
    pub database_ids: HashSet<i32>,
    pub dataset_ids: HashSet<i32>,
    /// Scopes of the token the call came with; `None` when it carried none (or no token:
    /// auth off, stdio), in which case roles alone decide.
    pub token_scopes: Option<Vec<String>>,
    /// The tenant every object of this call must belong to; `None` while tenants are off.
    pub tenant: Option<String>,
}

impl Principal {
    /// The key rate limits count this caller under: the user's id, which every replica
    /// sharing a metadata store agrees on (a username may repeat across tenants).
    pub fn rate_key(&self) -> String {
        format!("user:{}", self.user_id)
    }

    /// A hash of everything that decides what this principal sees: two principals with the
    /// same fingerprint get the same answers (cache keys use it).
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.user_id.hash(&mut h);
        self.roles.hash(&mut h);
        let mut perms: Vec<_> = self.permissions.iter().collect();
        perms.sort();
        perms.hash(&mut h);
        self.all_datasource_access.hash(&mut h);
        let mut dbs: Vec<_> = self.database_ids.iter().collect();
        dbs.sort();
        dbs.hash(&mut h);
        let mut ds: Vec<_> = self.dataset_ids.iter().collect();
        ds.sort();
        ds.hash(&mut h);
        self.token_scopes.hash(&mut h);
        self.tenant.hash(&mut h);
        h.finish()
    }

    fn scope_ok(&self, permission: Permission) -> bool {
        self.token_scopes
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == permission.scope()))
    }

    /// Granted by a role, and (when the token carries scopes) by the token's scopes.
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(permission.as_str()) && self.scope_ok(permission)
    }

    /// Refuse with `permission_denied` naming what is missing: the permission, or the
    /// token scope ([`ToolError::insufficient_scope`]).
    pub fn require(&self, permission: Permission, action: &str) -> Result<(), ToolError> {
        if !self.permissions.contains(permission.as_str()) {
            return Err(ToolError::permission_denied(permission.as_str(), action));
        }
        if !self.scope_ok(permission) {
            return Err(ToolError::insufficient_scope(permission.scope(), action));
        }
        Ok(())
    }

    /// This principal with a token's scopes and the grants of extra (token-mapped) roles.
    pub async fn for_token(
        base: &Principal,
        conn: &mut MetaConn,
        scopes: Option<Vec<String>>,
        extra_roles: &[String],
    ) -> Result<Self, ToolError> {
        let mut p = base.clone();
        p.token_scopes = scopes;
        let missing: Vec<&String> = extra_roles
            .iter()
            .filter(|r| !p.roles.contains(r))
            .collect();
        for role in missing {
            let grants = crate::db::models::role_grants(conn, role, p.tenant.as_deref()).await?;
            p.roles.push(role.clone());
            p.apply_grants(grants);
        }
        Ok(p)
    }

    fn apply_grants(&mut self, grants: Vec<(String, Option<String>, Option<i32>)>) {
        for (perm, object_type, object_id) in grants {
            if let Some(p) = Permission::ALL.iter().find(|p| p.as_str() == perm) {
                self.permissions.insert(p.as_str());
            } else if perm == ALL_DATASOURCE_ACCESS {
                self.all_datasource_access = true;
            } else if let (Some(kind), Some(id)) = (object_type.as_deref(), object_id) {
                match kind {
                    "database" => {
                        self.database_ids.insert(id);
                    }
                    "dataset" => {
                        self.dataset_ids.insert(id);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Load a user's roles and grants. Unknown or inactive users are refused (fail closed).
    /// With `tenants` on, the principal is scoped to the user's tenant (`None`: the user
    /// belongs to none yet; authentication binds or refuses it).
    pub async fn load(conn: &mut MetaConn, who: &Who, tenants: bool) -> Result<Self, ToolError> {
        let user = match who {
            Who::Id(id) => User::by_id(conn, *id).await?,
            Who::Named {
                name,
                tenant: Some(t),
            } => match User::by_username(conn, name, Some(t)).await? {
                Some(u) => Some(u),
                None => User::in_tenant(conn, name, None).await?,
            },
            Who::Named { name, tenant: None } => User::by_username(conn, name, None).await?,
        };
        let user = user.ok_or_else(|| {
            ToolError::new(
                crate::error::ErrorKind::Unauthenticated,
                format!("No {who} exists; calls cannot run as an unknown principal."),
            )
        })?;
        if !user.active {
            return Err(ToolError::new(
                crate::error::ErrorKind::PermissionDenied,
                format!("User '{}' is deactivated.", user.username),
            ));
        }
        let roles = User::role_names(conn, user.id).await?;
        let grants = User::grants(conn, user.id).await?;
        let mut principal = Principal {
            user_id: user.id,
            username: user.username,
            roles,
            permissions: HashSet::new(),
            all_datasource_access: false,
            database_ids: HashSet::new(),
            dataset_ids: HashSet::new(),
            token_scopes: None,
            tenant: if tenants { user.tenant } else { None },
        };
        principal.apply_grants(grants);
        Ok(principal)
    }
}

/// Whom credentials name. Usernames are unique per tenant, so a name comes with the tenant
/// it was asserted in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    /// A user by name: of `tenant` (a token's tenant, with tenants on; a user bound to no
    /// tenant yet also answers, to be bound by authentication), or with `None` of any
    /// tenant, preferring the unbound user (tenants off, the dev user).
    Named {
        name: String,
        tenant: Option<String>,
    },
    /// A user by id: an API key's owner.
    Id(i32),
}

impl Who {
    pub fn named(name: &str, tenant: Option<&str>) -> Self {
        Self::Named {
            name: name.to_owned(),
            tenant: tenant.map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Who {
    /// As an error names it: never another tenant's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Named { name, .. } => write!(f, "user named '{name}'"),
            Self::Id(id) => write!(f, "user with id {id}"),
        }
    }
}

/// Principals by whom credentials name, reloaded after a short time so role changes take
/// effect without a per-call query of roles and grants.
pub struct PrincipalCache {
    ttl: Duration,
    entries: RwLock<HashMap<Who, (Instant, Arc<Principal>)>>,
}

impl PrincipalCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub async fn get(&self, who: &Who) -> Option<Arc<Principal>> {
        let entries = self.entries.read().await;
        entries
            .get(who)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, p)| p.clone())
    }

    /// The principal `who` names: cached, else loaded (and cached). The one way calls,
    /// explore pages and authentication load a principal.
    pub async fn fetch(
        &self,
        db: &crate::actors::Db,
        who: &Who,
        tenants: bool,
    ) -> Result<Arc<Principal>, ToolError> {
        if let Some(p) = self.get(who).await {
            return Ok(p);
        }
        let mut conn = db.conn().await?;
        let p = Principal::load(&mut conn, who, tenants).await?;
        Ok(self.put(who.clone(), p).await)
    }

    /// Drop one user's cached principals: their roles or status changed. Other replicas
    /// notice within the TTL.
    pub async fn forget(&self, user_id: i32) {
        self.entries
            .write()
            .await
            .retain(|_, (_, p)| p.user_id != user_id);
    }

    /// Drop every cached principal: a role's grants changed.
    pub async fn clear(&self) {
        self.entries.write().await.clear();
    }

    /// How long another replica may keep using a principal after a change.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub async fn put(&self, who: Who, principal: Principal) -> Arc<Principal> {
        let p = Arc::new(principal);
        self.entries
            .write()
            .await
            .insert(who, (Instant::now(), p.clone()));
        p
    }
}
