//! The in-memory catalog index: charts, dashboards and datasets as the lists and
//! `get_chart_info` read them, held in memory so that a list call costs no store round trip
//! and little more than the rows it returns, however large the catalog.
//!
//! What it holds is a [`Snapshot`] of the metadata store: every row of those three tables
//! (deleted ones too) without the big text a list never shows (chart configs, dashboard
//! layouts), their links and owners, database names and tenants, usernames. On it each
//! list runs the plan the store would run, with the store's own semantics (see
//! [`Snapshot::list_charts`]): the trash, the caller's [`Access`], every filter operator,
//! the search, the order with its id tie-break, the page and the total. Where a plan needs
//! what the snapshot lacks (a chart's config, a dataset's columns) or the store would order
//! or fold text in a way not proven here (a PostgreSQL collation that is not byte order),
//! the caller goes to the store instead (`None`).
//!
//! Speed comes from bit sets over row positions: the trash, access and equality filters on
//! low-cardinality columns are set intersections, a search walks only the rows holding the
//! rarest trigram of its term (posting lists), and only the rows left are checked one by
//! one; the page is chosen by precomputed sort ranks.
//!
//! Coherence ([`CatalogIndex`]): a snapshot carries the version it was loaded at. A write
//! through this replica bumps the version at once (`AppState::invalidate_caches`); every
//! other writer (another replica, a script) moves the store's `catalog_version` counter,
//! which triggers keep and `app::watch_catalog` polls. A call that finds its snapshot
//! older than the version reloads it (one load at a time; the others wait for it). While
//! the counter cannot be read (the store down or not answering) the index answers nothing:
//! calls go to the store and are answered, or refused, as the store answers them.

use std::cmp::Ordering as CmpOrdering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::auth::Principal;
use crate::config::MetadataBackend;
use crate::db::MetaConn;
use crate::db::charts::Chart;
use crate::db::dashboards::Dashboard;
use crate::db::datasets::Dataset;
use crate::db::schema::*;
use crate::query::catalog::Access;
use crate::query::list::{Cond, DeletedState, ListPlan, Lit};

// ---------------------------------------------------------------------------------------
// Bit sets over row positions.

/// A set of row positions.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn empty(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }

    fn full(n: usize) -> Self {
        let mut b = Self(vec![u64::MAX; n.div_ceil(64)]);
        if !n.is_multiple_of(64)
            && let Some(last) = b.0.last_mut()
        {
            *last = (1u64 << (n % 64)) - 1;
        }
        b
    }

    fn from_positions(n: usize, positions: &[u32]) -> Self {
        let mut b = Self::empty(n);
        for &p in positions {
            b.set(p as usize);
        }
        b
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn and(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }

    fn or(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    /// The complement within `n` rows.
    fn not(&self, n: usize) -> Bits {
        let mut out = Bits::full(n);
        for (a, b) in out.0.iter_mut().zip(&self.0) {
            *a &= !b;
        }
        out
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                Some(w * 64 + bit)
            })
        })
    }
}

// ---------------------------------------------------------------------------------------
// Values, text folding and LIKE, as the store evaluates them.

/// A column's value as a filter or an order sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Time(NaiveDateTime),
    Bool(bool),
}

/// A value as a key of an equality index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl Key {
    fn of(v: Val<'_>) -> Key {
        match v {
            Val::Null | Val::Time(_) => Key::Null,
            Val::Int(i) => Key::Int(i),
            Val::Text(t) => Key::Text(t.to_owned()),
            Val::Bool(b) => Key::Bool(b),
        }
    }

    fn of_lit(l: &Lit) -> Option<Key> {
        match l {
            Lit::Int(i) => Some(Key::Int(i64::from(*i))),
            Lit::Text(t) => Some(Key::Text(t.clone())),
            Lit::Bool(b) => Some(Key::Bool(*b)),
            Lit::Time(_) => None,
        }
    }
}

/// How the store folds text for a case-insensitive comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// SQLite's `LIKE`: ASCII letters only, on both sides, for `like` and `ilike` alike.
    Ascii,
    /// PostgreSQL's `lower()` in a UTF-8 locale: each character to its lower case.
    Unicode,
}

impl Fold {
    pub fn apply(self, s: &str) -> String {
        match self {
            Fold::Ascii => s.to_ascii_lowercase(),
            Fold::Unicode => s
                .chars()
                .map(|c| c.to_lowercase().next().unwrap_or(c))
                .collect(),
        }
    }
}

/// One piece of a LIKE pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece {
    Char(char),
    One,
    Any,
}

/// A LIKE pattern with `\` as its escape, or `None` when it ends in a lone escape.
fn pieces(pattern: &str) -> Option<Vec<Piece>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => Piece::Char(chars.next()?),
            '%' => Piece::Any,
            '_' => Piece::One,
            c => Piece::Char(c),
        });
    }
    Some(out)
}

/// Whether `text` matches `pattern` (LIKE, escape `\`), comparing ASCII letters without
/// case when `ascii_ci`. `None`: the pattern ends in a lone escape.
pub fn like(text: &str, pattern: &str, ascii_ci: bool) -> Option<bool> {
    let p = pieces(pattern)?;
    let t: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if ascii_ci {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Greedy with one backtrack point (the last `%`): linear in practice.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Piece::Any) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(Piece::One) => {
                ti += 1;
                pi += 1;
            }
            Some(Piece::Char(c)) if same(*c, t[ti]) => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return Some(false),
            },
        }
    }
    Some(p[pi..].iter().all(|x| *x == Piece::Any))
}

/// The term of a search pattern `%term%` whose term has no wildcard of its own (what
/// `ListArgs::plan` makes of a search), unescaped.
fn plain_term(pattern: &str) -> Option<String> {
    let inner = pattern.strip_prefix('%')?.strip_suffix('%')?;
    let p = pieces(inner)?;
    p.iter()
        .map(|x| match x {
            Piece::Char(c) => Some(*c),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The models.

/// A row the index holds, and how the store's list binds its columns.
pub trait Indexed: Clone {
    /// Spec columns the store's list sorts by (the others sort by `DEFAULT_ORDER`).
    const SORTS: &'static [&'static str];
    const DEFAULT_ORDER: &'static str;
    /// Columns with an equality index (low cardinality, often filtered or scoped on).
    const EQ_INDEXED: &'static [&'static str];
    fn id(&self) -> i32;
    fn uuid(&self) -> &str;
    fn deleted(&self) -> bool;
    fn editors(&self) -> (Option<i32>, Option<i32>);
    /// The value of a column the store's list binds; `None` for one it does not (a
    /// condition on it matches nothing there, as here).
    fn value(&self, col: &str) -> Option<Val<'_>>;
    /// The columns the search reads, in the store's order.
    fn searched(&self) -> [Option<&str>; 3];
    /// A condition the model decides itself (`None`: the generic rule for its value).
    fn custom(&self, _col: &str, _cond: &Cond) -> Option<bool> {
        None
    }
}

impl Indexed for Chart {
    const SORTS: &'static [&'static str] = &[
        "id",
        "datasource_id",
        "slice_name",
        "viz_type",
        "created_on",
        "changed_on",
    ];
    const DEFAULT_ORDER: &'static str = "changed_on";
    const EQ_INDEXED: &'static [&'static str] = &["viz_type", "datasource_id"];

    fn id(&self) -> i32 {
        self.id
    }
    fn uuid(&self) -> &str {
        &self.uuid
    }
    fn deleted(&self) -> bool {
        self.deleted_on.is_some()
    }
    fn editors(&self) -> (Option<i32>, Option<i32>) {
        (self.created_by_fk, self.changed_by_fk)
    }
    fn value(&self, col: &str) -> Option<Val<'_>> {
        Some(match col {
            "id" => Val::Int(self.id.into()),
            "datasource_id" => Val::Int(self.dataset_id.into()),
            "uuid" => Val::Text(&self.uuid),
            "slice_name" => Val::Text(&self.name),
            "viz_type" => Val::Text(&self.chart_type),
            "description" => Val::Text(&self.description),
            "created_on" => Val::Time(self.created_on),
            "changed_on" => Val::Time(self.changed_on),
            _ => return None,
        })
    }
    fn searched(&self) -> [Option<&str>; 3] {
        [Some(&self.name), Some(&self.description), None]
    }
}

/// A dashboard with its tenant (which the list scopes by but never shows).
#[derive(Debug, Clone)]
pub struct DashboardRow {
    pub dashboard: Dashboard,
    pub tenant: Option<String>,
}

impl Indexed for DashboardRow {
    const SORTS: &'static [&'static str] = &[
        "id",
        "dashboard_title",
        "slug",
        "published",
        "created_on",
        "changed_on",
    ];
    const DEFAULT_ORDER: &'static str = "changed_on";
    const EQ_INDEXED: &'static [&'static str] = &["published", "tenant"];

    fn id(&self) -> i32 {
        self.dashboard.id
    }
    fn uuid(&self) -> &str {
        &self.dashboard.uuid
    }
    fn deleted(&self) -> bool {
        self.dashboard.deleted_on.is_some()
    }
    fn editors(&self) -> (Option<i32>, Option<i32>) {
        (self.dashboard.created_by_fk, self.dashboard.changed_by_fk)
    }
    fn value(&self, col: &str) -> Option<Val<'_>> {
        let d = &self.dashboard;
        Some(match col {
            "id" => Val::Int(d.id.into()),
            "uuid" => Val::Text(&d.uuid),
            "dashboard_title" => Val::Text(&d.title),
            "slug" => d.slug.as_deref().map_or(Val::Null, Val::Text),
            "description" => Val::Text(&d.description),
            "published" => Val::Bool(d.published),
            "created_on" => Val::Time(d.created_on),
            "changed_on" => Val::Time(d.changed_on),
            // Not a spec column: the scope's own key.
            "tenant" => self.tenant.as_deref().map_or(Val::Null, Val::Text),
            _ => return None,
        })
    }
    fn searched(&self) -> [Option<&str>; 3] {
        let d = &self.dashboard;
        [Some(&d.title), d.slug.as_deref(), Some(&d.description)]
    }
}

impl Indexed for Dataset {
    const SORTS: &'static [&'static str] = &[
        "id",
        "database_id",
        "table_name",
        "schema",
        "kind",
        "created_on",
        "changed_on",
    ];
    const DEFAULT_ORDER: &'static str = "changed_on";
    const EQ_INDEXED: &'static [&'static str] = &["database_id"];

    fn id(&self) -> i32 {
        self.id
    }
    fn uuid(&self) -> &str {
        &self.uuid
    }
    fn deleted(&self) -> bool {
        self.deleted_on.is_some()
    }
    fn editors(&self) -> (Option<i32>, Option<i32>) {
        (self.created_by_fk, self.changed_by_fk)
    }
    fn value(&self, col: &str) -> Option<Val<'_>> {
        Some(match col {
            "id" => Val::Int(self.id.into()),
            "database_id" => Val::Int(self.database_id.into()),
            "uuid" => Val::Text(&self.uuid),
            "table_name" => Val::Text(&self.table_name),
            "schema" => self.schema_name.as_deref().map_or(Val::Null, Val::Text),
            "description" => Val::Text(&self.description),
            // The store sorts the kind by `sql IS NULL` (virtual first, ascending).
            "kind" => Val::Bool(self.sql.is_none()),
            "created_on" => Val::Time(self.created_on),
            "changed_on" => Val::Time(self.changed_on),
            _ => return None,
        })
    }
    fn searched(&self) -> [Option<&str>; 3] {
        [
            Some(&self.table_name),
            self.schema_name.as_deref(),
            Some(&self.description),
        ]
    }
    fn custom(&self, col: &str, cond: &Cond) -> Option<bool> {
        if col != "kind" {
            return None;
        }
        let virtual_ = self.sql.is_some();
        Some(match cond {
            Cond::Eq(Lit::Text(k)) if k == "virtual" => virtual_,
            Cond::Eq(Lit::Text(k)) if k == "physical" => !virtual_,
            Cond::Ne(Lit::Text(k)) if k == "virtual" => !virtual_,
            Cond::Ne(Lit::Text(k)) if k == "physical" => virtual_,
            _ => false,
        })
    }
}

// ---------------------------------------------------------------------------------------
// One model's rows with their indexes.

/// How the store compares text and places NULLs: what a snapshot was proven to match.
#[derive(Debug, Clone, Copy)]
pub struct Semantics {
    pub backend: MetadataBackend,
    /// How `lower()` (PostgreSQL) or `LIKE` (SQLite) folds; `None`: not proven, so plans
    /// that fold text go to the store.
    pub fold: Option<Fold>,
    /// Whether `ORDER BY` on text is byte order (SQLite; PostgreSQL under the C collation).
    pub byte_order: bool,
}

impl Semantics {
    /// NULL sorts as the smallest value (SQLite) or the largest (PostgreSQL).
    fn nulls_first(&self) -> bool {
        self.backend == MetadataBackend::Sqlite
    }

    fn cmp(&self, a: Val<'_>, b: Val<'_>) -> CmpOrdering {
        match (a, b) {
            (Val::Null, Val::Null) => CmpOrdering::Equal,
            (Val::Null, _) if self.nulls_first() => CmpOrdering::Less,
            (Val::Null, _) => CmpOrdering::Greater,
            (_, Val::Null) if self.nulls_first() => CmpOrdering::Greater,
            (_, Val::Null) => CmpOrdering::Less,
            (Val::Int(x), Val::Int(y)) => x.cmp(&y),
            (Val::Text(x), Val::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            (Val::Time(x), Val::Time(y)) => x.cmp(&y),
            (Val::Bool(x), Val::Bool(y)) => x.cmp(&y),
            _ => CmpOrdering::Equal,
        }
    }
}

/// The rows holding one value of an equality-indexed column; as a bit set too when they
/// are many (a set is then cheaper to intersect than the list is to walk).
struct Posting {
    rows: Vec<u32>,
    bits: Option<Bits>,
}

fn uuid_hash(uuid: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(uuid)
}

pub struct Table<R> {
    rows: Vec<R>,
    by_id: HashMap<i32, u32>,
    /// Rows by a hash of their uuid (checked against the row on lookup); the rare uuid
    /// whose hash another one took first is in `uuid_clashes`.
    by_uuid: HashMap<u64, u32>,
    uuid_clashes: HashMap<String, u32>,
    live: Bits,
    /// Each row's searched columns folded as the store folds them, one after another in
    /// one text (one allocation, not three per row).
    folded: String,
    /// Per row and searched column: where its folded text is in `folded` (`None`: NULL).
    folded_at: Vec<[Option<(u32, u32)>; 3]>,
    /// Trigrams of the folded searched text (within one column), to the rows holding them.
    trigrams: HashMap<[u8; 3], Vec<u32>>,
    /// Per equality-indexed column: value to rows.
    eq: HashMap<&'static str, HashMap<Key, Posting>>,
    /// Per sortable column: each row's rank in ascending order (ties by id).
    ranks: HashMap<&'static str, Vec<u32>>,
}

impl<R: Indexed> Table<R> {
    fn build(mut rows: Vec<R>, sem: &Semantics) -> Self {
        rows.sort_by_key(R::id);
        let n = rows.len();
        let by_id = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id(), i as u32))
            .collect();
        let mut by_uuid: HashMap<u64, u32> = HashMap::with_capacity(n);
        let mut uuid_clashes = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some(first) = by_uuid.insert(uuid_hash(r.uuid()), i as u32) {
                by_uuid.insert(uuid_hash(r.uuid()), first);
                uuid_clashes.insert(r.uuid().to_owned(), i as u32);
            }
        }
        let mut live = Bits::empty(n);
        for (i, r) in rows.iter().enumerate() {
            if !r.deleted() {
                live.set(i);
            }
        }
        let fold = sem.fold.unwrap_or(Fold::Ascii);
        let mut folded = String::new();
        let mut folded_at = Vec::with_capacity(n);
        let mut trigrams: HashMap<[u8; 3], Vec<u32>> = HashMap::new();
        let mut seen: Vec<[u8; 3]> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            seen.clear();
            let at = r.searched().map(|s| {
                let s = fold.apply(s?);
                for w in s.as_bytes().windows(3) {
                    seen.push([w[0], w[1], w[2]]);
                }
                let start = folded.len() as u32;
                folded.push_str(&s);
                Some((start, s.len() as u32))
            });
            folded_at.push(at);
            seen.sort_unstable();
            seen.dedup();
            for t in &seen {
                trigrams.entry(*t).or_default().push(i as u32);
            }
        }
        folded.shrink_to_fit();
        for list in trigrams.values_mut() {
            list.shrink_to_fit();
        }
        let mut eq: HashMap<&'static str, HashMap<Key, Posting>> = HashMap::new();
        for col in R::EQ_INDEXED {
            let mut m: HashMap<Key, Vec<u32>> = HashMap::new();
            for (i, r) in rows.iter().enumerate() {
                if let Some(v) = r.value(col) {
                    m.entry(Key::of(v)).or_default().push(i as u32);
                }
            }
            let postings = m
                .into_iter()
                .map(|(k, rows)| {
                    let bits = (rows.len() * 16 >= n).then(|| Bits::from_positions(n, &rows));
                    (k, Posting { rows, bits })
                })
                .collect();
            eq.insert(col, postings);
        }
        let mut ranks = HashMap::new();
        for col in R::SORTS {
            let is_text = rows
                .iter()
                .any(|r| matches!(r.value(col), Some(Val::Text(_))));
            if is_text && !sem.byte_order {
                continue;
            }
            let mut perm: Vec<u32> = (0..n as u32).collect();
            perm.sort_by(|&a, &b| {
                let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
                let va = ra.value(col).unwrap_or(Val::Null);
                let vb = rb.value(col).unwrap_or(Val::Null);
                sem.cmp(va, vb).then(ra.id().cmp(&rb.id()))
            });
            let mut rank = vec![0u32; n];
            for (r, &p) in perm.iter().enumerate() {
                rank[p as usize] = r as u32;
            }
            ranks.insert(*col, rank);
        }
        Self {
            rows,
            by_id,
            by_uuid,
            uuid_clashes,
            live,
            folded,
            folded_at,
            trigrams,
            eq,
            ranks,
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn by_id(&self, id: i32) -> Option<&R> {
        self.by_id.get(&id).map(|&i| &self.rows[i as usize])
    }

    pub fn by_uuid(&self, uuid: &str) -> Option<&R> {
        let i = self.by_uuid.get(&uuid_hash(uuid))?;
        let row = &self.rows[*i as usize];
        if row.uuid() == uuid {
            return Some(row);
        }
        self.uuid_clashes.get(uuid).map(|&i| &self.rows[i as usize])
    }

    /// The rows whose `col` equals `key` (an equality-indexed column).
    fn eq_bits(&self, col: &str, keys: impl IntoIterator<Item = Key>) -> Bits {
        let mut keys = keys.into_iter();
        let Some(m) = self.eq.get(col) else {
            return Bits::empty(self.len());
        };
        let (first, second) = (keys.next(), keys.next());
        if second.is_none()
            && let Some(bits) = first.as_ref().and_then(|k| m.get(k)?.bits.as_ref())
        {
            return bits.clone();
        }
        let mut b = Bits::empty(self.len());
        for k in first.into_iter().chain(second).chain(keys) {
            for &p in m.get(&k).map(|p| p.rows.as_slice()).unwrap_or_default() {
                b.set(p as usize);
            }
        }
        b
    }

    /// The rows holding the rarest trigram of `term` in their folded searched text (every
    /// row whose text holds the term is among them); `None` when the term is too short to
    /// narrow by.
    fn rarest_trigram(&self, term: &str) -> Option<&[u32]> {
        let bytes = term.as_bytes();
        if bytes.len() < 3 {
            return None;
        }
        let mut rarest: &[u32] = &[];
        for (i, w) in bytes.windows(3).enumerate() {
            match self.trigrams.get(&[w[0], w[1], w[2]]) {
                Some(l) if i == 0 || l.len() < rarest.len() => rarest = l,
                Some(_) => {}
                None => return Some(&[]),
            }
        }
        Some(rarest)
    }
}

/// A plan decided on a table: which condition goes how.
struct Evaluation<'p> {
    /// Conditions checked row by row.
    rows: Vec<(&'static str, &'p Cond)>,
    /// The search's plain term (folded as the store folds it), checked row by row (unless
    /// its one trigram proves it).
    term: Option<memchr::memmem::Finder<'static>>,
    /// A search pattern that is not a plain term, checked with LIKE.
    pattern: Option<&'p str>,
}

/// What a list answers: the page's rows and the total.
pub type Listed<'a, R> = (Vec<&'a R>, i64);

impl<R: Indexed> Table<R> {
    /// The plan run over `scope` (the rows the caller may see), as the store runs it;
    /// `None` when a part of it is not proven equal here.
    fn list<'a>(&'a self, plan: &ListPlan, scope: Bits, sem: &Semantics) -> Option<Listed<'a, R>> {
        let n = self.len();
        let mut bits = match plan.deleted {
            DeletedState::Exclude => self.live.clone(),
            DeletedState::Only => self.live.not(n),
            DeletedState::Include => Bits::full(n),
        };
        bits.and(&scope);
        let mut ev = Evaluation {
            rows: Vec::new(),
            term: None,
            pattern: None,
        };
        for (col, cond) in &plan.conds {
            // A pattern the store would refuse, or fold in a way not proven here, goes there.
            match cond {
                Cond::Like(p) | Cond::ILike(p) => {
                    pieces(p)?;
                    if matches!(cond, Cond::ILike(_)) || sem.backend == MetadataBackend::Sqlite {
                        sem.fold?;
                    }
                }
                _ => {}
            }
            if R::EQ_INDEXED.contains(col)
                && let Cond::Eq(l) = cond
            {
                bits.and(&self.eq_bits(col, Key::of_lit(l)));
                continue;
            }
            ev.rows.push((col, cond));
        }
        let mut narrowed: Option<&[u32]> = None;
        if let Some(p) = &plan.search {
            let fold = sem.fold?;
            match plain_term(p) {
                Some(term) => {
                    // SQLite's LIKE folds the pattern's ASCII letters too; PostgreSQL
                    // lowers the column only.
                    let term = match sem.backend {
                        MetadataBackend::Sqlite => fold.apply(&term),
                        MetadataBackend::Postgres => term,
                    };
                    narrowed = self.rarest_trigram(&term);
                    // Three bytes are one trigram: its presence is the match.
                    if term.len() != 3 {
                        ev.term = Some(memchr::memmem::Finder::new(term.as_bytes()).into_owned());
                    }
                }
                None => {
                    pieces(p)?;
                    ev.pattern = Some(p.as_str());
                }
            }
        }
        let order = if R::SORTS.contains(&plan.order_column) {
            plan.order_column
        } else {
            R::DEFAULT_ORDER
        };
        let rank = self.ranks.get(order)?;
        let mut hits: Vec<u32> = Vec::new();
        match narrowed {
            // The search's rarest trigram is rarer than the rest together: walk its rows.
            Some(rows) => {
                for &i in rows {
                    if bits.get(i as usize) && self.keeps(i as usize, plan, &ev, sem) {
                        hits.push(i);
                    }
                }
            }
            None => {
                for i in bits.iter() {
                    if self.keeps(i, plan, &ev, sem) {
                        hits.push(i as u32);
                    }
                }
            }
        }
        let total = hits.len() as i64;
        let key = |p: &u32| {
            let r = rank[*p as usize];
            if plan.descending { u32::MAX - r } else { r }
        };
        let from = usize::try_from(plan.offset()).unwrap_or(usize::MAX);
        let take = usize::try_from(plan.page_size).unwrap_or(0);
        let end = from.saturating_add(take).min(hits.len());
        if from >= hits.len() {
            return Some((Vec::new(), total));
        }
        if end < hits.len() {
            hits.select_nth_unstable_by_key(end, key);
            hits.truncate(end);
        }
        hits.sort_unstable_by_key(key);
        Some((
            hits[from..]
                .iter()
                .map(|&p| &self.rows[p as usize])
                .collect(),
            total,
        ))
    }

    /// Row `i`'s searched columns, folded (NULLs left out).
    fn folded_of(&self, i: usize) -> impl Iterator<Item = &str> {
        self.folded_at[i]
            .iter()
            .flatten()
            .map(|&(at, len)| &self.folded[at as usize..(at + len) as usize])
    }

    /// Whether row `i` passes what the bit sets did not decide.
    fn keeps(&self, i: usize, plan: &ListPlan, ev: &Evaluation<'_>, sem: &Semantics) -> bool {
        let row = &self.rows[i];
        if plan.created_by.is_some() || plan.changed_by.is_some() {
            let (created, changed) = row.editors();
            if plan.created_by.is_some_and(|u| created != Some(u))
                || plan.changed_by.is_some_and(|u| changed != Some(u))
            {
                return false;
            }
        }
        for (col, cond) in &ev.rows {
            let ok = match row.custom(col, cond) {
                Some(ok) => ok,
                None => match row.value(col) {
                    Some(v) => matches(v, cond, sem),
                    None => false,
                },
            };
            if !ok {
                return false;
            }
        }
        if let Some(term) = &ev.term
            && !self.folded_of(i).any(|f| term.find(f.as_bytes()).is_some())
        {
            return false;
        }
        if let Some(p) = ev.pattern
            && !self
                .folded_of(i)
                .any(|f| like(f, p, sem.backend == MetadataBackend::Sqlite).unwrap_or(false))
        {
            return false;
        }
        true
    }
}

/// Whether value `v` meets `cond` as the store's list evaluates it: SQL's NULL rule (a
/// comparison with NULL is not true), and a condition that does not fit the column's type
/// matches nothing.
fn matches(v: Val<'_>, cond: &Cond, sem: &Semantics) -> bool {
    let cmp = |l: &Lit| -> Option<CmpOrdering> {
        match (v, l) {
            (Val::Int(a), Lit::Int(b)) => Some(a.cmp(&i64::from(*b))),
            (Val::Time(a), Lit::Time(b)) => Some(a.cmp(b)),
            (Val::Text(a), Lit::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Val::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    };
    let ordered = matches!(v, Val::Int(_) | Val::Time(_));
    fn listed<'l>(v: Val<'_>, vs: &'l [Lit]) -> Vec<&'l Lit> {
        vs.iter()
            .filter(|l| {
                matches!(
                    (v, l),
                    (Val::Int(_), Lit::Int(_))
                        | (Val::Time(_), Lit::Time(_))
                        | (Val::Text(_), Lit::Text(_))
                )
            })
            .collect()
    }
    match cond {
        Cond::IsNull => v == Val::Null,
        Cond::IsNotNull => v != Val::Null,
        _ if v == Val::Null => false,
        Cond::Eq(l) => cmp(l) == Some(CmpOrdering::Equal),
        Cond::Ne(l) => cmp(l).is_some_and(|o| o != CmpOrdering::Equal),
        Cond::Gt(l) if ordered => cmp(l) == Some(CmpOrdering::Greater),
        Cond::Gte(l) if ordered => cmp(l).is_some_and(|o| o != CmpOrdering::Less),
        Cond::Lt(l) if ordered => cmp(l) == Some(CmpOrdering::Less),
        Cond::Lte(l) if ordered => cmp(l).is_some_and(|o| o != CmpOrdering::Greater),
        Cond::In(vs) if !matches!(v, Val::Bool(_)) => listed(v, vs)
            .iter()
            .any(|l| cmp(l) == Some(CmpOrdering::Equal)),
        Cond::Nin(vs) if !matches!(v, Val::Bool(_)) => !listed(v, vs)
            .iter()
            .any(|l| cmp(l) == Some(CmpOrdering::Equal)),
        Cond::Like(p) => match v {
            Val::Text(t) => like(t, p, sem.backend == MetadataBackend::Sqlite).unwrap_or(false),
            _ => false,
        },
        Cond::ILike(p) => match (v, sem.fold) {
            (Val::Text(t), Some(Fold::Ascii)) => like(t, p, true).unwrap_or(false),
            (Val::Text(t), Some(Fold::Unicode)) => {
                like(&Fold::Unicode.apply(t), p, false).unwrap_or(false)
            }
            _ => false,
        },
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// The snapshot.

/// The catalog as loaded at one version.
pub struct Snapshot {
    pub version: u64,
    pub semantics: Semantics,
    pub charts: Table<Chart>,
    pub dashboards: Table<DashboardRow>,
    pub datasets: Table<Dataset>,
    /// id → (name, tenant).
    databases: HashMap<i32, (String, Option<String>)>,
    usernames: HashMap<i32, String>,
    /// Per dashboard position: its charts' ids (deleted ones too).
    dashboard_charts: Vec<Vec<i32>>,
    /// Per chart id: the dashboards (positions) it is on.
    chart_dashboards: HashMap<i32, Vec<u32>>,
    /// Per dataset id: dashboards (positions) holding a chart on it (deleted charts too).
    dataset_dashboards: HashMap<i32, Vec<u32>>,
    /// Per user id: the dashboards (positions) they own.
    owned_dashboards: HashMap<i32, Vec<u32>>,
}

type ChartTuple = (
    i32,
    String,
    String,
    String,
    i32,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<i32>,
    Option<i32>,
    Option<NaiveDateTime>,
);

type DashboardTuple = (
    (i32, String, String, Option<String>, String, bool, i32),
    (
        NaiveDateTime,
        NaiveDateTime,
        Option<i32>,
        Option<i32>,
        Option<NaiveDateTime>,
        Option<String>,
    ),
);

/// What one load reads, in one read transaction.
struct Loaded {
    charts: Vec<ChartTuple>,
    dashboards: Vec<DashboardTuple>,
    links: Vec<(i32, i32)>,
    owners: Vec<(i32, i32)>,
    datasets: Vec<Dataset>,
    databases: Vec<(i32, String, Option<String>)>,
    users: Vec<(i32, String)>,
}

/// A text every probe folds and orders: ASCII and non-ASCII capitals, a final sigma.
const FOLD_PROBE: &str = "AZ ÄÉÎØÜ ΣΑΣ ЖЯ";

#[derive(QueryableByName)]
struct Probe {
    #[diesel(sql_type = diesel::sql_types::Text)]
    folded: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    linguistic: bool,
}

impl Snapshot {
    /// Load the catalog at `version` from the store.
    pub async fn load(conn: &mut MetaConn, version: u64) -> QueryResult<Snapshot> {
        let backend = conn.backend();
        let setup = match backend {
            MetadataBackend::Postgres => {
                Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            }
            MetadataBackend::Sqlite => None,
        };
        let (loaded, probe): (Loaded, Option<Probe>) = crate::with_conn!(conn, |c| {
            use diesel_async::AsyncConnection as _;
            c.transaction(async move |c| {
                if let Some(s) = setup {
                    diesel::sql_query(s).execute(c).await?;
                }
                let charts = charts::table
                    .select((
                        charts::id,
                        charts::uuid,
                        charts::name,
                        charts::chart_type,
                        charts::dataset_id,
                        charts::description,
                        charts::created_on,
                        charts::changed_on,
                        charts::created_by_fk,
                        charts::changed_by_fk,
                        charts::deleted_on,
                    ))
                    .load(c)
                    .await?;
                let dashboards = dashboards::table
                    .select((
                        (
                            dashboards::id,
                            dashboards::uuid,
                            dashboards::title,
                            dashboards::slug,
                            dashboards::description,
                            dashboards::published,
                            dashboards::version,
                        ),
                        (
                            dashboards::created_on,
                            dashboards::changed_on,
                            dashboards::created_by_fk,
                            dashboards::changed_by_fk,
                            dashboards::deleted_on,
                            dashboards::tenant,
                        ),
                    ))
                    .load(c)
                    .await?;
                let links = dashboard_charts::table
                    .select((dashboard_charts::dashboard_id, dashboard_charts::chart_id))
                    .load(c)
                    .await?;
                let owners = dashboard_owners::table
                    .select((dashboard_owners::dashboard_id, dashboard_owners::user_id))
                    .load(c)
                    .await?;
                let datasets = datasets::table.select(Dataset::as_select()).load(c).await?;
                let databases = databases::table
                    .select((databases::id, databases::name, databases::tenant))
                    .load(c)
                    .await?;
                let users = users::table
                    .select((users::id, users::username))
                    .load(c)
                    .await?;
                let probe = if setup.is_some() {
                    Some(
                        diesel::sql_query(format!(
                            "SELECT lower('{FOLD_PROBE}') AS folded, 'a' < 'B' AS linguistic"
                        ))
                        .get_result::<Probe>(c)
                        .await?,
                    )
                } else {
                    None
                };
                Ok::<_, diesel::result::Error>((
                    Loaded {
                        charts,
                        dashboards,
                        links,
                        owners,
                        datasets,
                        databases,
                        users,
                    },
                    probe,
                ))
            })
            .await
        })?;
        let semantics = match probe {
            None => Semantics {
                backend,
                fold: Some(Fold::Ascii),
                byte_order: true,
            },
            Some(p) => Semantics {
                backend,
                fold: [Fold::Unicode, Fold::Ascii]
                    .into_iter()
                    .find(|f| f.apply(FOLD_PROBE) == p.folded),
                byte_order: !p.linguistic,
            },
        };
        Ok(Self::build(loaded, version, semantics))
    }

    fn build(l: Loaded, version: u64, semantics: Semantics) -> Snapshot {
        let charts: Vec<Chart> = l
            .charts
            .into_iter()
            .map(|t| Chart {
                id: t.0,
                uuid: t.1,
                name: t.2,
                chart_type: t.3,
                dataset_id: t.4,
                config: String::new(),
                description: t.5,
                created_on: t.6,
                changed_on: t.7,
                created_by_fk: t.8,
                changed_by_fk: t.9,
                deleted_on: t.10,
            })
            .collect();
        let dashboards: Vec<DashboardRow> = l
            .dashboards
            .into_iter()
            .map(|(a, b)| DashboardRow {
                dashboard: Dashboard {
                    id: a.0,
                    uuid: a.1,
                    title: a.2,
                    slug: a.3,
                    description: a.4,
                    published: a.5,
                    layout: String::new(),
                    json_metadata: String::new(),
                    version: a.6,
                    created_on: b.0,
                    changed_on: b.1,
                    created_by_fk: b.2,
                    changed_by_fk: b.3,
                    deleted_on: b.4,
                },
                tenant: b.5,
            })
            .collect();
        let datasets: Vec<Dataset> = l
            .datasets
            .into_iter()
            .map(|mut d| {
                d.extra = String::new();
                d
            })
            .collect();
        let charts = Table::build(charts, &semantics);
        let dashboards = Table::build(dashboards, &semantics);
        let datasets = Table::build(datasets, &semantics);
        let mut dashboard_charts = vec![Vec::new(); dashboards.len()];
        let mut chart_dashboards: HashMap<i32, Vec<u32>> = HashMap::new();
        let mut dataset_dashboards: HashMap<i32, Vec<u32>> = HashMap::new();
        for (d, c) in l.links {
            let Some(&dp) = dashboards.by_id.get(&d) else {
                continue;
            };
            dashboard_charts[dp as usize].push(c);
            chart_dashboards.entry(c).or_default().push(dp);
            if let Some(chart) = charts.by_id(c) {
                dataset_dashboards
                    .entry(chart.dataset_id)
                    .or_default()
                    .push(dp);
            }
        }
        for list in dataset_dashboards
            .values_mut()
            .chain(chart_dashboards.values_mut())
        {
            list.sort_unstable();
            list.dedup();
        }
        let mut owned_dashboards: HashMap<i32, Vec<u32>> = HashMap::new();
        for (d, u) in l.owners {
            if let Some(&dp) = dashboards.by_id.get(&d) {
                owned_dashboards.entry(u).or_default().push(dp);
            }
        }
        Snapshot {
            version,
            semantics,
            charts,
            dashboards,
            datasets,
            databases: l
                .databases
                .into_iter()
                .map(|(id, name, tenant)| (id, (name, tenant)))
                .collect(),
            usernames: l.users.into_iter().collect(),
            dashboard_charts,
            chart_dashboards,
            dataset_dashboards,
            owned_dashboards,
        }
    }

    /// What `principal` may see, as [`Access::load`] decides it from the store.
    pub fn access(&self, p: &Principal) -> Access {
        let owned: Option<Vec<i32>> = p.tenant.as_ref().map(|t| {
            self.databases
                .iter()
                .filter(|(_, (_, tenant))| tenant.as_deref() == Some(t.as_str()))
                .map(|(id, _)| *id)
                .collect()
        });
        let (mut access, granted) = Access::begin(p, owned.as_deref());
        if let Some(granted) = granted {
            access.datasets = self
                .datasets
                .rows
                .iter()
                .filter(|d| {
                    (access.databases.contains(&d.database_id) || granted.contains(&d.id))
                        && owned.as_ref().is_none_or(|o| o.contains(&d.database_id))
                })
                .map(|d| d.id)
                .collect();
        }
        access
    }

    /// `catalog::list_charts` on the snapshot.
    pub fn list_charts(&self, plan: &ListPlan, access: &Access) -> Option<(Vec<Chart>, i64)> {
        let t = &self.charts;
        let scope = if access.all_datasources {
            Bits::full(t.len())
        } else {
            t.eq_bits(
                "datasource_id",
                access.datasets.iter().map(|&d| Key::Int(d.into())),
            )
        };
        let (rows, total) = t.list(plan, scope, &self.semantics)?;
        Some((rows.into_iter().cloned().collect(), total))
    }

    /// `catalog::list_dashboards` on the snapshot.
    pub fn list_dashboards(
        &self,
        plan: &ListPlan,
        access: &Access,
    ) -> Option<(Vec<Dashboard>, i64)> {
        let t = &self.dashboards;
        let n = t.len();
        let mut scope = match &access.tenant {
            Some(tenant) => t.eq_bits("tenant", [Key::Text(tenant.clone())]),
            None => Bits::full(n),
        };
        let own = Bits::from_positions(
            n,
            self.owned_dashboards
                .get(&access.user_id)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        );
        if access.read_only {
            let mut seen = t.eq_bits("published", [Key::Bool(true)]);
            seen.or(&own);
            scope.and(&seen);
        }
        if !access.all_datasources {
            let mut seen = own.clone();
            for ds in &access.datasets {
                for &p in self
                    .dataset_dashboards
                    .get(ds)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    seen.set(p as usize);
                }
            }
            scope.and(&seen);
        }
        let (rows, total) = t.list(plan, scope, &self.semantics)?;
        Some((
            rows.into_iter().map(|r| r.dashboard.clone()).collect(),
            total,
        ))
    }

    /// `catalog::list_datasets` on the snapshot.
    pub fn list_datasets(&self, plan: &ListPlan, access: &Access) -> Option<(Vec<Dataset>, i64)> {
        let t = &self.datasets;
        let scope = if access.all_datasources {
            Bits::full(t.len())
        } else {
            let mut b = Bits::empty(t.len());
            for id in &access.datasets {
                if let Some(&p) = t.by_id.get(id) {
                    b.set(p as usize);
                }
            }
            b
        };
        let (rows, total) = t.list(plan, scope, &self.semantics)?;
        Some((rows.into_iter().cloned().collect(), total))
    }

    /// Usernames of the creators and last editors of rows when `cols` asks for them
    /// (`catalog::editor_names` on the snapshot).
    pub fn editor_names(
        &self,
        pairs: impl Iterator<Item = [Option<i32>; 2]>,
        cols: &[&str],
    ) -> HashMap<i32, String> {
        if !cols.iter().any(|c| c.ends_with("_by")) {
            return HashMap::new();
        }
        pairs
            .flatten()
            .flatten()
            .filter_map(|id| Some((id, self.usernames.get(&id)?.clone())))
            .collect()
    }

    /// Dataset names (table names) by id.
    pub fn dataset_names(&self, ids: impl Iterator<Item = i32>) -> HashMap<i32, String> {
        ids.filter_map(|id| Some((id, self.datasets.by_id(id)?.table_name.clone())))
            .collect()
    }

    /// Database names by id.
    pub fn database_names(&self, ids: impl Iterator<Item = i32>) -> HashMap<i32, String> {
        ids.filter_map(|id| Some((id, self.databases.get(&id)?.0.clone())))
            .collect()
    }

    /// Live charts per dashboard, for these dashboards (those with any).
    pub fn dashboard_chart_counts(&self, ids: impl Iterator<Item = i32>) -> HashMap<i32, i64> {
        ids.filter_map(|id| {
            let p = *self.dashboards.by_id.get(&id)?;
            let n = self.dashboard_charts[p as usize]
                .iter()
                .filter(|c| self.charts.by_id(**c).is_some_and(|c| !c.deleted()))
                .count();
            (n > 0).then_some((id, n as i64))
        })
        .collect()
    }

    /// The live dashboards chart `id` is on, as (id, title) by id (`Chart::dashboards_of`).
    pub fn dashboards_of(&self, chart: i32) -> Vec<(i32, String)> {
        let mut out: Vec<(i32, String)> = self
            .chart_dashboards
            .get(&chart)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&p| &self.dashboards.rows[p as usize].dashboard)
            .filter(|d| d.deleted_on.is_none())
            .map(|d| (d.id, d.title.clone()))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }
}

// ---------------------------------------------------------------------------------------
// The holder.

/// Count a catalog call by where it was answered: the index, or the store (the index off,
/// or a plan it does not hold).
pub fn answered(tool: &'static str, from_index: bool) {
    let by = if from_index { "index" } else { "store" };
    metrics::counter!("vizier_catalog_index_calls_total", "tool" => tool, "answered" => by)
        .increment(1);
}

/// The current snapshot and the version it must have (see the module's doc).
pub struct CatalogIndex {
    enabled: bool,
    /// Whether the last read of the store's change counter succeeded: only then is a
    /// snapshot known to be current (a store that stopped answering may have changed, or
    /// be down, and a call then goes to the store and is answered as the store answers).
    verified: AtomicBool,
    version: AtomicU64,
    current: RwLock<Option<Arc<Snapshot>>>,
    loading: tokio::sync::Mutex<()>,
    loads: AtomicU64,
}

impl CatalogIndex {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            verified: AtomicBool::new(false),
            version: AtomicU64::new(1),
            current: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
            loads: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Something the catalog lists may have changed: the next call loads it again.
    pub fn changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// Snapshots loaded so far (by calls and by [`CatalogIndex::refresh`]).
    pub fn loads(&self) -> u64 {
        AtomicU64::load(&self.loads, Ordering::Acquire)
    }

    /// Between calls (the change watcher): reload a snapshot that went stale, so that the
    /// next call does not wait for the load. The first snapshot is loaded by a first call,
    /// not at start: a replica's index is never older than its first call.
    pub async fn refresh<F, Fut, E>(&self, conn: F) -> Result<(), E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<MetaConn, E>>,
        E: From<diesel::result::Error>,
    {
        if self.current.read().map_or(true, |c| c.is_none()) {
            return Ok(());
        }
        self.snapshot(conn).await.map(drop)
    }

    fn fresh(&self, want: u64) -> Option<Arc<Snapshot>> {
        let current = self.current.read().ok()?;
        current.as_ref().filter(|s| s.version == want).cloned()
    }

    /// The snapshot at the current version, loading it if needed through `conn()`; `None`
    /// when the index is off.
    pub async fn snapshot<F, Fut, E>(&self, conn: F) -> Result<Option<Arc<Snapshot>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<MetaConn, E>>,
        E: From<diesel::result::Error>,
    {
        if !self.enabled || !AtomicBool::load(&self.verified, Ordering::Acquire) {
            return Ok(None);
        }
        if let Some(s) = self.fresh(AtomicU64::load(&self.version, Ordering::Acquire)) {
            return Ok(Some(s));
        }
        let _one_load = self.loading.lock().await;
        let want = AtomicU64::load(&self.version, Ordering::Acquire);
        if let Some(s) = self.fresh(want) {
            return Ok(Some(s));
        }
        let started = std::time::Instant::now();
        let mut conn = conn().await?;
        let snapshot = Arc::new(Snapshot::load(&mut conn, want).await?);
        metrics::histogram!("vizier_catalog_index_load_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::gauge!("vizier_catalog_index_rows").set(
            (snapshot.charts.len() + snapshot.dashboards.len() + snapshot.datasets.len()) as f64,
        );
        if let Ok(mut current) = self.current.write() {
            *current = Some(snapshot.clone());
        }
        self.loads.fetch_add(1, Ordering::AcqRel);
        Ok(Some(snapshot))
    }

    /// The store's change counter (moved by triggers on every catalog table).
    pub async fn store_counter(conn: &mut MetaConn) -> QueryResult<i64> {
        #[derive(QueryableByName)]
        struct Counter {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let row: Counter = crate::with_conn!(conn, |c| {
            diesel::sql_query("SELECT n FROM catalog_version WHERE id = 1")
                .get_result(c)
                .await
        })?;
        Ok(row.n)
    }

    /// Note a counter read: a move since the last read is a change made elsewhere; `None`,
    /// a failed read, leaves the index unverified until a read succeeds again.
    pub fn saw_counter(&self, last: &mut Option<i64>, now: Option<i64>) {
        let Some(now) = now else {
            self.verified.store(false, Ordering::Release);
            return;
        };
        if last.is_some_and(|l| l != now) {
            self.changed();
        }
        *last = Some(now);
        self.verified.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_sql_does() {
        for (text, pattern, ci, want) in [
            ("Revenue by region", "%revenue%", true, true),
            ("Revenue by region", "%revenue%", false, false),
            ("Revenue", "Rev%", false, true),
            ("a_b", "a\\_b", false, true),
            ("axb", "a\\_b", false, false),
            ("axb", "a_b", false, true),
            ("50% off", "%50\\%%", false, true),
            ("500 off", "%50\\%%", false, false),
            ("back\\slash", "%\\\\%", false, true),
            ("été", "_t_", false, true),
            ("", "%", false, true),
            ("", "_", false, false),
            ("abcabd", "%abd", false, true),
            ("ÉTÉ", "%été%", true, false),
        ] {
            assert_eq!(
                like(text, pattern, ci),
                Some(want),
                "{text:?} LIKE {pattern:?}"
            );
        }
        assert_eq!(like("x", "x\\", false), None);
    }

    #[test]
    fn a_search_term_is_read_from_its_pattern() {
        assert_eq!(plain_term("%rev%").as_deref(), Some("rev"));
        assert_eq!(plain_term("%50\\%%").as_deref(), Some("50%"));
        assert_eq!(plain_term("%a_b%"), None);
        assert_eq!(plain_term("rev"), None);
    }

    #[test]
    fn bit_sets_iterate_what_they_hold() {
        let mut b = Bits::empty(130);
        for i in [0, 63, 64, 129] {
            b.set(i);
        }
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![0, 63, 64, 129]);
        assert_eq!(b.not(130).iter().count(), 126);
        assert_eq!(Bits::full(130).iter().count(), 130);
    }
}
