//! Reading a Superset export bundle, safely: the ZIP and its YAML come from whoever calls the
//! import, so every size is bounded before it is read, every entry path is checked, and every
//! file is parsed into a typed shape whose wrong fields are named.
//!
//! A bundle is `ROOT/metadata.yaml` (`version: 1.0.0`, `type`, `timestamp`) and YAML files
//! under `ROOT/databases/`, `ROOT/datasets/`, `ROOT/charts/`, `ROOT/dashboards/`, linked by
//! UUID: a dataset names its `database_uuid`, a chart its `dataset_uuid`, a dashboard its
//! charts in `position` (`CHART` nodes' `meta.uuid`) and its native filters' datasets in
//! `metadata.native_filter_configuration[].targets[].datasetUuid`. [`Bundle::read`] checks
//! that every such link lands inside the bundle.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ToolError;

/// What a bundle may hold; a bundle over any of these is refused before it is unpacked.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest ZIP accepted, in bytes.
    pub max_zip_bytes: u64,
    /// Most entries (files and directories).
    pub max_entries: usize,
    /// Largest total of the unpacked entries, in bytes.
    pub max_total_bytes: u64,
    /// Largest unpacked/packed ratio of one entry (a ZIP bomb compresses far better).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_zip_bytes: 32 << 20,
            max_entries: 5_000,
            max_total_bytes: 128 << 20,
            max_ratio: 200,
        }
    }
}

/// The bundle format version vizier reads and writes.
pub const VERSION: &str = "1.0.0";
/// Superset's placeholder for a masked password.
pub const MASKED_PASSWORD: &str = "XXXXXXXXXX";

/// A refused bundle: what is wrong (naming the file) and how to fix it.
pub fn bad(file: &str, problem: impl std::fmt::Display, fix: &str) -> ToolError {
    let place = if file.is_empty() {
        String::new()
    } else {
        format!("{file}: ")
    };
    ToolError::invalid(format!("bundle: {place}{problem}. {fix}"))
        .with_details(json!({"field": "bundle", "file": file, "fix": fix}))
}

/// `metadata.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Metadata {
    pub version: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// `databases/*.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatabaseFile {
    pub database_name: String,
    pub sqlalchemy_uri: String,
    pub uuid: String,
    #[serde(default)]
    pub allow_dml: bool,
    #[serde(default)]
    pub expose_in_sqllab: Option<bool>,
    #[serde(default)]
    pub extra: Option<Value>,
    #[serde(default)]
    pub version: Option<String>,
}

/// One column of `datasets/*.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ColumnFile {
    pub column_name: String,
    #[serde(default)]
    pub verbose_name: Option<String>,
    #[serde(default)]
    pub is_dttm: Option<bool>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default, rename = "type")]
    pub data_type: Option<String>,
    #[serde(default)]
    pub groupby: Option<bool>,
    #[serde(default)]
    pub filterable: Option<bool>,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub python_date_format: Option<String>,
}

/// One saved metric of `datasets/*.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct MetricFile {
    pub metric_name: String,
    #[serde(default)]
    pub verbose_name: Option<String>,
    #[serde(default)]
    pub metric_type: Option<String>,
    pub expression: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub d3format: Option<String>,
}

/// `datasets/*.yaml`: a physical table, or a virtual dataset when `sql` is set.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatasetFile {
    pub table_name: String,
    #[serde(default)]
    pub main_dttm_col: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub sql: Option<String>,
    /// Superset's seconds: -1 bypasses the cache, 0 is its default (never expires in
    /// Flask-Caching), more is a lifetime. See [`crate::superset::import`] for vizier's.
    #[serde(default)]
    pub cache_timeout: Option<i64>,
    pub uuid: String,
    pub database_uuid: String,
    #[serde(default)]
    pub metrics: Vec<MetricFile>,
    #[serde(default)]
    pub columns: Vec<ColumnFile>,
}

/// `charts/*.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChartFile {
    pub slice_name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub viz_type: String,
    /// Superset writes a mapping; an older export may hold it as a JSON string.
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub query_context: Option<Value>,
    pub uuid: String,
    pub dataset_uuid: String,
}

/// `dashboards/*.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DashboardFile {
    pub dashboard_title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub published: Option<bool>,
    pub uuid: String,
    #[serde(default)]
    pub position: Value,
    #[serde(default)]
    pub metadata: Value,
}

/// A bundle, read and checked: every link between its files resolves.
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    pub kind: String,
    /// Each file with its path inside the bundle (root folder removed).
    pub databases: Vec<(String, DatabaseFile)>,
    pub datasets: Vec<(String, DatasetFile)>,
    pub charts: Vec<(String, ChartFile)>,
    pub dashboards: Vec<(String, DashboardFile)>,
    /// Files the bundle holds that vizier does not read (saved queries, tags, …).
    pub ignored: Vec<String>,
}

/// A path inside the archive that is safe to use as a key: relative, no `..`, no
/// backslashes or NUL, no drive letter.
fn check_path(name: &str) -> Result<(), ToolError> {
    let fix = "Export the bundle again from Superset; entry paths must be relative, inside the bundle's folder.";
    if name.is_empty() || name.len() > 1024 {
        return Err(bad(name, "an entry has an empty or over-long path", fix));
    }
    if name.starts_with('/') || name.starts_with('\\') || name.as_bytes().get(1) == Some(&b':') {
        return Err(bad(name, "the entry path is absolute", fix));
    }
    if name.contains('\\') || name.contains('\0') {
        return Err(bad(name, "the entry path holds a backslash or NUL", fix));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(bad(name, "the entry path climbs out with '..'", fix));
    }
    Ok(())
}

/// Parse one YAML file into `T`, naming the file and the field on failure. YAML aliases
/// that expand past the parser's limit are refused by the parser (billion laughs).
fn yaml<T: DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, ToolError> {
    serde_yaml_ng::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        let fix = if msg.contains("recursion") || msg.contains("repetition") {
            "Remove YAML anchors and aliases; Superset's own exports do not need them."
        } else {
            "Fix the field's type (Superset's export schema) or export the bundle again."
        };
        bad(file, format_args!("invalid YAML: {msg}"), fix)
    })
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

impl Bundle {
    /// Read and check a bundle from the bytes of its ZIP.
    pub fn read(zip: &[u8], limits: &Limits) -> Result<Bundle, ToolError> {
        let files = unpack(zip, limits)?;
        Self::from_files(files)
    }

    /// Check files already unpacked (path inside the bundle → bytes).
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Result<Bundle, ToolError> {
        let Some(meta) = files.get("metadata.yaml") else {
            return Err(bad(
                "metadata.yaml",
                "the bundle has no metadata.yaml",
                "A Superset export bundle holds metadata.yaml (version: 1.0.0, type, timestamp) at its root; export it again with Superset.",
            ));
        };
        let meta: Metadata = yaml("metadata.yaml", meta)?;
        if meta.version != VERSION {
            return Err(bad(
                "metadata.yaml",
                format_args!("version '{}' is not supported", meta.version),
                "vizier reads bundles of version 1.0.0 (Superset 1.0 and later).",
            ));
        }
        const KINDS: &[&str] = &["Dashboard", "Slice", "SqlaTable", "Database", "assets"];
        if !KINDS.contains(&meta.kind.as_str()) {
            return Err(bad(
                "metadata.yaml",
                format_args!("type '{}' is not a bundle type", meta.kind),
                "type must be one of Dashboard, Slice, SqlaTable, Database, assets.",
            ));
        }
        let mut b = Bundle {
            kind: meta.kind,
            ..Default::default()
        };
        for (path, bytes) in &files {
            if path == "metadata.yaml" || path.ends_with('/') {
                continue;
            }
            let yaml_file = path.ends_with(".yaml") || path.ends_with(".yml");
            let top = path.split('/').next().unwrap_or_default();
            match (top, yaml_file) {
                ("databases", true) => b.databases.push((path.clone(), yaml(path, bytes)?)),
                ("datasets", true) => b.datasets.push((path.clone(), yaml(path, bytes)?)),
                ("charts", true) => b.charts.push((path.clone(), yaml(path, bytes)?)),
                ("dashboards", true) => b.dashboards.push((path.clone(), yaml(path, bytes)?)),
                _ => b.ignored.push(path.clone()),
            }
        }
        b.check_links()?;
        Ok(b)
    }

    /// Every UUID well formed and unique per kind, every link resolving inside the bundle,
    /// every JSON-ish field of the right shape.
    fn check_links(&mut self) -> Result<(), ToolError> {
        let fix_uuid = "Every object needs its own uuid; export the bundle again from Superset.";
        let mut seen = HashSet::new();
        let uuids = |kind: &str, items: Vec<(&String, &String)>, seen: &mut HashSet<String>| {
            let mut set = HashSet::new();
            for (path, uuid) in items {
                if !is_uuid(uuid) {
                    return Err(bad(
                        path,
                        format_args!("uuid '{uuid}' is not a UUID"),
                        fix_uuid,
                    ));
                }
                if !set.insert(uuid.to_ascii_lowercase()) || !seen.insert(uuid.to_ascii_lowercase())
                {
                    return Err(bad(
                        path,
                        format_args!("uuid {uuid} is used by another {kind} of the bundle"),
                        fix_uuid,
                    ));
                }
            }
            Ok(set)
        };
        let dbs = uuids(
            "object",
            self.databases.iter().map(|(p, d)| (p, &d.uuid)).collect(),
            &mut seen,
        )?;
        let dss = uuids(
            "object",
            self.datasets.iter().map(|(p, d)| (p, &d.uuid)).collect(),
            &mut seen,
        )?;
        let chs = uuids(
            "object",
            self.charts.iter().map(|(p, c)| (p, &c.uuid)).collect(),
            &mut seen,
        )?;
        uuids(
            "object",
            self.dashboards.iter().map(|(p, d)| (p, &d.uuid)).collect(),
            &mut seen,
        )?;
        let dangling = |path: &str, field: &str, uuid: &str, kind: &str| {
            bad(
                path,
                format_args!("{field} {uuid} names no {kind} in the bundle"),
                "Export the objects together (a dashboard export carries its charts, datasets and databases), or remove the reference.",
            )
        };
        for (path, d) in &self.datasets {
            if !dbs.contains(&d.database_uuid.to_ascii_lowercase()) {
                return Err(dangling(
                    path,
                    "database_uuid",
                    &d.database_uuid,
                    "database",
                ));
            }
            if d.table_name.trim().is_empty() {
                return Err(bad(
                    path,
                    "table_name is empty",
                    "Give the dataset its table name.",
                ));
            }
            let mut names = HashSet::new();
            for c in &d.columns {
                if !names.insert(c.column_name.as_str()) {
                    return Err(bad(
                        path,
                        format_args!("column '{}' appears twice", c.column_name),
                        "Column names must be unique within a dataset.",
                    ));
                }
            }
        }
        for (path, c) in &mut self.charts {
            if !dss.contains(&c.dataset_uuid.to_ascii_lowercase()) {
                return Err(dangling(path, "dataset_uuid", &c.dataset_uuid, "dataset"));
            }
            // Older exports hold params as a JSON string.
            if let Value::String(s) = &c.params {
                c.params = serde_json::from_str(s).map_err(|e| {
                    bad(
                        path,
                        format_args!("params is not JSON: {e}"),
                        "params must be a mapping.",
                    )
                })?;
            }
            if c.params.is_null() {
                c.params = json!({});
            }
            if !c.params.is_object() {
                return Err(bad(
                    path,
                    "params is not a mapping",
                    "params must be a mapping of the chart's form data.",
                ));
            }
        }
        self.fill_chart_uuids();
        for (path, d) in &self.dashboards {
            if !(d.position.is_object() || d.position.is_null()) {
                return Err(bad(
                    path,
                    "position is not a mapping",
                    "position must map layout node ids to nodes.",
                ));
            }
            if !(d.metadata.is_object() || d.metadata.is_null()) {
                return Err(bad(
                    path,
                    "metadata is not a mapping",
                    "metadata must be a mapping.",
                ));
            }
            for uuid in chart_uuids(&d.position) {
                if !chs.contains(&uuid.to_ascii_lowercase()) {
                    return Err(dangling(path, "position chart uuid", &uuid, "chart"));
                }
            }
            for uuid in filter_dataset_uuids(&d.metadata) {
                if !dss.contains(&uuid.to_ascii_lowercase()) {
                    return Err(dangling(
                        path,
                        "native filter datasetUuid",
                        &uuid,
                        "dataset",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Bundle {
    /// Superset 6.1 exports a position built through its REST API without `meta.uuid` on
    /// chart nodes, only `chartId` (its own id) and `sliceName`. Its chart files are named
    /// `NAME_ID.yaml`: find each such node's chart by that id, else by a unique name.
    fn fill_chart_uuids(&mut self) {
        let by_id: HashMap<i64, String> = self
            .charts
            .iter()
            .filter_map(|(path, c)| {
                let stem = path.rsplit('/').next()?.strip_suffix(".yaml")?;
                let id = stem.rsplit('_').next()?.parse().ok()?;
                Some((id, c.uuid.clone()))
            })
            .collect();
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for (_, c) in &self.charts {
            by_name
                .entry(c.slice_name.as_str())
                .or_default()
                .push(c.uuid.as_str());
        }
        let by_name: HashMap<String, String> = by_name
            .into_iter()
            .filter(|(_, v)| v.len() == 1)
            .map(|(k, v)| (k.to_string(), v[0].to_string()))
            .collect();
        for (_, d) in &mut self.dashboards {
            let Some(nodes) = d.position.as_object_mut() else {
                continue;
            };
            for n in nodes.values_mut() {
                if n.get("type").and_then(Value::as_str) != Some("CHART") {
                    continue;
                }
                let Some(meta) = n.get_mut("meta").and_then(Value::as_object_mut) else {
                    continue;
                };
                if meta.get("uuid").and_then(Value::as_str).is_some() {
                    continue;
                }
                let found = meta
                    .get("chartId")
                    .and_then(Value::as_i64)
                    .and_then(|id| by_id.get(&id))
                    .or_else(|| {
                        meta.get("sliceName")
                            .and_then(Value::as_str)
                            .and_then(|n| by_name.get(n))
                    })
                    .cloned();
                if let Some(uuid) = found {
                    meta.insert("uuid".into(), Value::String(uuid));
                }
            }
        }
    }
}

/// The chart UUIDs a dashboard's `position` places, in node order.
pub fn chart_uuids(position: &Value) -> Vec<String> {
    let Some(nodes) = position.as_object() else {
        return vec![];
    };
    nodes
        .values()
        .filter(|n| n.get("type").and_then(Value::as_str) == Some("CHART"))
        .filter_map(|n| n.pointer("/meta/uuid").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The dataset UUIDs a dashboard's native filters target.
pub fn filter_dataset_uuids(metadata: &Value) -> Vec<String> {
    metadata
        .get("native_filter_configuration")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|f| {
            f.get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|t| t.get("datasetUuid").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Unpack the ZIP into path (root folder removed) → bytes, within `limits`.
fn unpack(zip: &[u8], limits: &Limits) -> Result<BTreeMap<String, Vec<u8>>, ToolError> {
    if zip.len() as u64 > limits.max_zip_bytes {
        return Err(bad(
            "",
            format_args!(
                "the ZIP is {} bytes, over the limit of {}",
                zip.len(),
                limits.max_zip_bytes
            ),
            "Export fewer dashboards per bundle.",
        ));
    }
    let not_zip = |e: zip::result::ZipError| {
        bad(
            "",
            format_args!("not a readable ZIP ({e})"),
            "Give the ZIP file Superset's export wrote (Export → Download as ZIP, or `superset export-dashboards`).",
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(not_zip)?;
    if archive.len() > limits.max_entries {
        return Err(bad(
            "",
            format_args!(
                "the ZIP has {} entries, over the limit of {}",
                archive.len(),
                limits.max_entries
            ),
            "Export fewer objects per bundle.",
        ));
    }
    let mut names = Vec::with_capacity(archive.len());
    let mut declared: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(not_zip)?;
        let name = entry
            .name()
            .map_err(|_| {
                bad(
                    "",
                    "an entry's name is not UTF-8",
                    "Export the bundle again.",
                )
            })?
            .into_owned();
        check_path(&name)?;
        declared = declared.saturating_add(entry.size());
        if declared > limits.max_total_bytes {
            return Err(bad(
                &name,
                format_args!(
                    "the bundle unpacks to more than {} bytes",
                    limits.max_total_bytes
                ),
                "Export fewer objects per bundle.",
            ));
        }
        let packed = entry.compressed_size().max(1);
        if entry.size() > 4096 && entry.size() / packed > limits.max_ratio {
            return Err(bad(
                &name,
                format_args!(
                    "the entry compresses {}:1, past the limit of {}:1 (a ZIP bomb)",
                    entry.size() / packed,
                    limits.max_ratio
                ),
                "Superset's YAML never compresses that well; give a bundle Superset exported.",
            ));
        }
        names.push((name, entry.is_dir()));
    }
    // The root folder Superset puts everything in: metadata.yaml's folder.
    let root = names
        .iter()
        .filter(|(n, _)| n == "metadata.yaml" || n.ends_with("/metadata.yaml"))
        .map(|(n, _)| n.trim_end_matches("metadata.yaml").to_string())
        .min_by_key(String::len)
        .ok_or_else(|| {
            bad(
                "metadata.yaml",
                "the bundle has no metadata.yaml",
                "A Superset export bundle holds metadata.yaml (version: 1.0.0, type, timestamp) at its root; export it again with Superset.",
            )
        })?;
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    for (i, (name, is_dir)) in names.into_iter().enumerate() {
        if is_dir {
            continue;
        }
        let Some(rel) = name.strip_prefix(&root) else {
            return Err(bad(
                &name,
                format_args!("the entry is outside the bundle's folder '{root}'"),
                "Every file of a bundle sits in the folder of its metadata.yaml.",
            ));
        };
        let entry = archive.by_index(i).map_err(not_zip)?;
        // Never trust the declared size: read at most what is left of the budget.
        let budget = limits.max_total_bytes - total;
        let mut bytes = Vec::new();
        entry
            .take(budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                bad(
                    &name,
                    format_args!("the entry cannot be unpacked ({e})"),
                    "Export the bundle again.",
                )
            })?;
        total += bytes.len() as u64;
        if total > limits.max_total_bytes {
            return Err(bad(
                &name,
                format_args!(
                    "the bundle unpacks to more than {} bytes",
                    limits.max_total_bytes
                ),
                "Export fewer objects per bundle.",
            ));
        }
        if files.insert(rel.to_string(), bytes).is_some() {
            return Err(bad(
                &name,
                "the entry appears twice",
                "Export the bundle again.",
            ));
        }
    }
    Ok(files)
}

/// Write files (path inside the bundle → bytes) as a ZIP under `root/`.
pub fn write_zip(root: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, ToolError> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        w.start_file(format!("{root}/{path}"), opts)
            .map_err(ToolError::internal)?;
        w.write_all(bytes).map_err(ToolError::internal)?;
    }
    Ok(w.finish().map_err(ToolError::internal)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const DB: &str = "database_name: shop\nsqlalchemy_uri: sqlite:////tmp/shop.db\nuuid: 11111111-1111-1111-1111-111111111111\nversion: 1.0.0\n";
    const DS: &str = "table_name: orders\nmain_dttm_col: day\nschema: null\nsql: null\nuuid: 22222222-2222-2222-2222-222222222222\ndatabase_uuid: 11111111-1111-1111-1111-111111111111\nmetrics:\n- metric_name: n\n  expression: COUNT(*)\ncolumns:\n- column_name: day\n  is_dttm: true\n  type: TEXT\n  python_date_format: '%Y-%m-%d'\n- column_name: amount\n  type: REAL\nversion: 1.0.0\n";
    const CH: &str = "slice_name: Count\nviz_type: big_number_total\nparams:\n  metric: n\n  viz_type: big_number_total\nquery_context: null\nuuid: 33333333-3333-3333-3333-333333333333\ndataset_uuid: 22222222-2222-2222-2222-222222222222\nversion: 1.0.0\n";
    const DA: &str = "dashboard_title: D\nslug: d\nuuid: 44444444-4444-4444-4444-444444444444\nposition:\n  CHART-1:\n    type: CHART\n    id: CHART-1\n    children: []\n    meta: {chartId: 1, uuid: 33333333-3333-3333-3333-333333333333, width: 4, height: 50}\nmetadata: {}\nversion: 1.0.0\n";
    const META: &str = "version: 1.0.0\ntype: Dashboard\ntimestamp: '2026-01-01T00:00:00+00:00'\n";

    fn good() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("export/metadata.yaml", META.into()),
            ("export/databases/shop.yaml", DB.into()),
            ("export/datasets/shop/orders.yaml", DS.into()),
            ("export/charts/Count_1.yaml", CH.into()),
            ("export/dashboards/D_1.yaml", DA.into()),
        ]
    }

    fn zip_owned(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        zip_of(&refs)
    }

    fn err(zip: &[u8]) -> String {
        Bundle::read(zip, &Limits::default())
            .expect_err("refused")
            .message
    }

    #[test]
    fn a_good_bundle_reads_with_its_links() {
        let b = Bundle::read(&zip_owned(&good()), &Limits::default()).expect("reads");
        assert_eq!(
            (
                b.databases.len(),
                b.datasets.len(),
                b.charts.len(),
                b.dashboards.len()
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(
            b.datasets[0].1.columns[0].python_date_format.as_deref(),
            Some("%Y-%m-%d")
        );
        assert_eq!(b.charts[0].1.params["metric"], "n");
    }

    #[test]
    fn hostile_bundles_get_clear_errors() {
        assert!(err(b"PK not a zip at all").contains("not a readable ZIP"));
        let mut no_meta = good();
        no_meta.remove(0);
        assert!(err(&zip_owned(&no_meta)).contains("no metadata.yaml"));
        let mut wrong = good();
        wrong[0].1 = b"version: 2.0.0\ntype: Dashboard\n".to_vec();
        assert!(err(&zip_owned(&wrong)).contains("version '2.0.0'"));
        let mut kind = good();
        kind[0].1 = b"version: 1.0.0\ntype: Spaceship\n".to_vec();
        assert!(err(&zip_owned(&kind)).contains("type 'Spaceship'"));
        for evil in [
            "export/../../etc/passwd",
            "/etc/passwd",
            "export\\..\\x",
            "C:/x",
        ] {
            let mut e = good();
            e.push((evil, b"x".to_vec()));
            let m = err(&zip_owned(&e));
            assert!(m.contains("path"), "{evil}: {m}");
        }
        let mut dangling = good();
        dangling[3].1 = CH
            .replace("dataset_uuid: 2222", "dataset_uuid: 9999")
            .into_bytes();
        assert!(err(&zip_owned(&dangling)).contains("names no dataset"));
        let mut dash = good();
        dash[4].1 = DA.replace("uuid: 3333", "uuid: 8888").into_bytes();
        assert!(err(&zip_owned(&dash)).contains("names no chart"));
        let mut types = good();
        types[2].1 = DS
            .replace(
                "metrics:\n- metric_name: n",
                "metrics:\n- metric_name: [1, 2]",
            )
            .into_bytes();
        let m = err(&zip_owned(&types));
        assert!(
            m.contains("datasets/shop/orders.yaml") && m.contains("invalid type"),
            "{m}"
        );
        let mut bad_uuid = good();
        bad_uuid[1].1 = DB
            .replace("11111111-1111-1111-1111-111111111111", "nope")
            .into_bytes();
        assert!(err(&zip_owned(&bad_uuid)).contains("is not a UUID"));
    }

    #[test]
    fn limits_hold() {
        let zip = zip_owned(&good());
        let small = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        assert!(
            Bundle::read(&zip, &small)
                .unwrap_err()
                .message
                .contains("entries")
        );
        let tiny = Limits {
            max_total_bytes: 100,
            ..Limits::default()
        };
        assert!(
            Bundle::read(&zip, &tiny)
                .unwrap_err()
                .message
                .contains("unpacks to more")
        );
        let bomb = vec![b' '; 4 << 20];
        let mut e = good();
        e.push(("export/charts/bomb.yaml", bomb));
        assert!(err(&zip_owned(&e)).contains("ZIP bomb"));
        let smallzip = Limits {
            max_zip_bytes: 10,
            ..Limits::default()
        };
        assert!(
            Bundle::read(&zip, &smallzip)
                .unwrap_err()
                .message
                .contains("over the limit")
        );
    }

    #[test]
    fn yaml_alias_blow_up_is_refused() {
        let mut lol = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (i, prev) in ('b'..='i').zip('a'..='h') {
            lol.push_str(&format!("{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        lol.push_str("slice_name: x\nviz_type: pie\nuuid: 33333333-3333-3333-3333-333333333333\ndataset_uuid: 22222222-2222-2222-2222-222222222222\nparams: *i\n");
        let mut e = good();
        e[3].1 = lol.into_bytes();
        let started = std::time::Instant::now();
        let m = err(&zip_owned(&e));
        assert!(
            started.elapsed().as_secs() < 5,
            "took {:?}",
            started.elapsed()
        );
        assert!(m.contains("charts/Count_1.yaml"), "{m}");
    }

    /// Mutations of a good bundle (flipped bytes in the ZIP, in the YAML, truncations,
    /// swapped files) never panic: each is read or refused with a bundle error.
    #[test]
    fn mutated_bundles_never_panic() {
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let base = good();
        let zip = zip_owned(&base);
        for round in 0..1500 {
            let bytes = match round % 3 {
                0 => {
                    let mut z = zip.clone();
                    for _ in 0..(1 + next() % 8) {
                        let i = (next() as usize) % z.len();
                        z[i] = next() as u8;
                    }
                    if next() % 4 == 0 {
                        z.truncate((next() as usize) % z.len());
                    }
                    z
                }
                _ => {
                    let mut files = base.clone();
                    let f = 1 + (next() as usize) % (files.len() - 1);
                    let text = &mut files[f].1;
                    for _ in 0..(1 + next() % 6) {
                        if text.is_empty() {
                            break;
                        }
                        let i = (next() as usize) % text.len();
                        let pick = b":-[]{}&*!|>'\"\n #0aZ%";
                        text[i] = pick[(next() as usize) % pick.len()];
                    }
                    zip_owned(&files)
                }
            };
            let outcome = std::panic::catch_unwind(|| Bundle::read(&bytes, &Limits::default()));
            match outcome {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => assert!(
                    e.message.starts_with("bundle: "),
                    "round {round}: {}",
                    e.message
                ),
                Err(_) => panic!("round {round}: the reader panicked"),
            }
        }
    }
}
