//! Who is calling and what they may do.
//!
//! A [`Principal`] is resolved once per call (from the dev user while auth is off) and
//! carries the caller's roles and grants. Tools declare the [`Permission`] they need; the
//! tool registry refuses a call without it and hides the tool from `tools/list`.

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

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SystemRead => "system.read",
            Self::CatalogRead => "catalog.read",
            Self::CatalogWrite => "catalog.write",
            Self::SqlExecute => "sql.execute",
            Self::Admin => "admin",
        }
    }
}

/// Grant that opens every database and dataset (admins and editors).
pub const ALL_DATASOURCE_ACCESS: &str = "all_datasource_access";

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
}

impl Principal {
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
        h.finish()
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(permission.as_str())
    }

    /// Refuse with `permission_denied` naming what is missing.
    pub fn require(&self, permission: Permission, action: &str) -> Result<(), ToolError> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(ToolError::permission_denied(permission.as_str(), action))
        }
    }

    /// Load a user's roles and grants. Unknown or inactive users are refused (fail closed).
    pub async fn load(conn: &mut MetaConn, username: &str) -> Result<Self, ToolError> {
        let user = User::by_username(conn, username).await?.ok_or_else(|| {
            ToolError::new(
                crate::error::ErrorKind::Unauthenticated,
                format!(
                    "No user named '{username}' exists; calls cannot run as an unknown principal."
                ),
            )
        })?;
        if !user.active {
            return Err(ToolError::new(
                crate::error::ErrorKind::PermissionDenied,
                format!("User '{username}' is deactivated."),
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
        };
        for (perm, object_type, object_id) in grants {
            if let Some(p) = Permission::ALL.iter().find(|p| p.as_str() == perm) {
                principal.permissions.insert(p.as_str());
            } else if perm == ALL_DATASOURCE_ACCESS {
                principal.all_datasource_access = true;
            } else if let (Some(kind), Some(id)) = (object_type.as_deref(), object_id) {
                match kind {
                    "database" => {
                        principal.database_ids.insert(id);
                    }
                    "dataset" => {
                        principal.dataset_ids.insert(id);
                    }
                    _ => {}
                }
            }
        }
        Ok(principal)
    }
}

/// Principals by username, reloaded after a short time so role changes take effect
/// without a per-call query of roles and grants.
pub struct PrincipalCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Instant, Arc<Principal>)>>,
}

impl PrincipalCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub async fn get(&self, username: &str) -> Option<Arc<Principal>> {
        let entries = self.entries.read().await;
        entries
            .get(username)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, p)| p.clone())
    }

    pub async fn put(&self, principal: Principal) -> Arc<Principal> {
        let p = Arc::new(principal);
        self.entries
            .write()
            .await
            .insert(p.username.clone(), (Instant::now(), p.clone()));
        p
    }
}
