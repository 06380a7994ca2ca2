//! `list_permissions` (admin): every grant a role can hold, the tools each unlocks and the
//! built-in roles that hold it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hints, Registry, ToolCtx, tool};
use crate::actors::PoolKind;
use crate::auth::roles::BUILTIN_ROLES;
use crate::auth::{DATA_GRANTS, Permission};
use crate::error::ToolError;

pub fn register(r: &mut Registry) {
    r.add(tool(
        "list_permissions",
        "List permissions",
        "Every grant a role can hold: tool permissions (with their OAuth scope and tools) and data grants.",
        PoolKind::Admin,
        Permission::Admin,
        Hints::READ,
        list_permissions,
    ));
}

/// One grant a role can hold.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PermissionItem {
    pub name: String,
    pub description: String,
    /// tool: unlocks tools; data: opens databases and datasets to the tool permissions.
    pub kind: String,
    /// The OAuth scope a token needs to use the permission (when the token carries scopes);
    /// none for data grants.
    pub scope: Option<String>,
    /// For data grants narrowed to one object: database or dataset.
    pub object_type: Option<String>,
    /// Tools the permission unlocks.
    pub tools: Vec<String>,
    /// Built-in roles holding it.
    pub builtin_roles: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PermissionList {
    pub items: Vec<PermissionItem>,
    pub count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

async fn list_permissions(ctx: ToolCtx, _args: NoArgs) -> Result<PermissionList, ToolError> {
    let registry = &ctx.app.registry;
    let builtin_with = |name: &str| -> Vec<String> {
        BUILTIN_ROLES
            .iter()
            .filter(|(_, _, grants)| grants.contains(&name))
            .map(|(role, _, _)| role.to_string())
            .collect()
    };
    let tools_items = Permission::ALL.iter().map(|p| PermissionItem {
        name: p.as_str().into(),
        description: p.description().into(),
        kind: "tool".into(),
        scope: Some(p.scope().into()),
        object_type: None,
        tools: registry
            .names()
            .filter(|n| registry.get(n).is_some_and(|t| t.permission == *p))
            .map(String::from)
            .collect(),
        builtin_roles: builtin_with(p.as_str()),
    });
    let data_items = DATA_GRANTS
        .iter()
        .map(|(name, object_type, description)| PermissionItem {
            name: (*name).into(),
            description: (*description).into(),
            kind: "data".into(),
            scope: None,
            object_type: object_type.map(String::from),
            tools: vec![],
            builtin_roles: builtin_with(name),
        });
    let items: Vec<PermissionItem> = tools_items.chain(data_items).collect();
    Ok(PermissionList {
        count: items.len(),
        items,
    })
}
