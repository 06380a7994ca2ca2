//! The layer rule of `ARCHITECTURE.md`, checked on the source text: every file of `src/` is
//! given a layer, every `crate::…` path it names (in `use` lines and inline) is resolved to the
//! file that defines it, and the test fails, naming file and import, when
//! - an import points to a higher layer,
//! - a file outside `src/mcp/` and `src/app.rs` imports `src/tools/`,
//! - files import each other in a cycle (of any length).
//!
//! Resolution: a path is resolved to the deepest module file it names (`crate::tools::list::Cond`
//! → `src/tools/list.rs`); a name that a module re-exports (`pub use child::Name` in a
//! `mod.rs`) is followed to the file that defines it, and the re-export itself is no import of
//! the re-exporting file. `super::`, `self::`, a child module's name and `vizier::` (in
//! `main.rs`) are resolved the same way. Comments and string literals are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The layers, top first. A file may import files of its own layer or of a lower one; within a
/// layer only the cycle rule applies. A prefix ending in `/` names a directory.
const LAYERS: &[(&str, &[&str])] = &[
    ("main", &["main.rs"]),
    ("app", &["app.rs"]),
    ("mcp", &["mcp/"]),
    ("tools", &["tools/"]),
    (
        "domain",
        &[
            "charts/",
            "query/",
            "layout.rs",
            "superset/",
            "auth/",
            "actors/",
            // Audit records and call metrics know principals, pools and actors.
            "observability/audit.rs",
            "observability/metrics.rs",
        ],
    ),
    (
        "infrastructure",
        &[
            "db/",
            "datasources/",
            "example/",
            "sql/",
            "render/",
            "limits.rs",
            "outage.rs",
            "observability/",
            "priority.rs",
            "output.rs",
            "config.rs",
            "error.rs",
            "lib.rs",
        ],
    ),
];

/// The only files that may import `src/tools/` (besides `src/tools/` itself).
const TOOL_USERS: &[&str] = &["app.rs", "mcp/"];

#[test]
fn layers_point_one_way_and_no_file_imports_form_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let crate_ = Crate::read(&src);
    let problems = check(&crate_);
    assert!(
        problems.is_empty(),
        "the layer rule of ARCHITECTURE.md is broken:\n{}",
        problems.join("\n")
    );
}

/// The rule must be able to fail: an upward import, a use of `tools/` from below and a cycle,
/// planted in a copy of the real crate, are each reported with file and import.
#[test]
fn the_layer_check_reports_bad_imports() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut crate_ = Crate::read(&src);
    let planted = [
        ("db/mod.rs", "use crate::charts::config::ChartConfig;"),
        ("mcp/stdio.rs", "use crate::app::AppState;"),
        ("charts/picture.rs", "use crate::tools::ToolCtx;"),
        ("main.rs", "use vizier::tools::Registry;"),
        ("config.rs", "use crate::error::ToolError;"),
        ("error.rs", "fn f() { crate::config::Config::default(); }"),
    ];
    for (file, line) in planted {
        let text = crate_.files.get_mut(file).expect("planted file exists");
        text.push('\n');
        text.push_str(line);
    }
    let problems = check(&crate_).join("\n");
    for expected in [
        "src/db/mod.rs imports crate::charts::config::ChartConfig",
        "src/mcp/stdio.rs imports crate::app::AppState",
        "src/charts/picture.rs imports crate::tools::ToolCtx",
        "tools: src/main.rs imports crate::tools::Registry",
        "cycle: src/config.rs → src/error.rs → src/config.rs",
    ] {
        assert!(
            problems.contains(expected),
            "expected {expected:?} among:\n{problems}"
        );
    }
}

/// The source files of `src/`, by path relative to it (`tools/list.rs`).
struct Crate {
    files: BTreeMap<String, String>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut dirs = vec![src.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read src/") {
                let path = entry.expect("read src/").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let rel = path.strip_prefix(src).expect("under src/");
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    files.insert(
                        rel,
                        std::fs::read_to_string(&path).expect("read a source file"),
                    );
                }
            }
        }
        Crate { files }
    }
}

/// Module path of a file: `tools/list.rs` → `tools::list`, `tools/mod.rs` → `tools`,
/// `lib.rs` and `main.rs` → the crate root.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn layer_of(file: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, prefixes)| prefixes.iter().any(|p| in_place(file, p)))
        .unwrap_or_else(|| panic!("src/{file} has no layer: add it to LAYERS"))
}

fn in_place(file: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        file.starts_with(prefix)
    } else {
        file == prefix
    }
}

/// One `crate::…` path a file names, resolved.
struct Import {
    from: String,
    path: String,
    to: String,
    /// `to` defines the name (else it only re-exports it on the way).
    defines: bool,
}

fn check(crate_: &Crate) -> Vec<String> {
    let modules: BTreeMap<Vec<String>, String> = crate_
        .files
        .keys()
        .filter(|f| f.as_str() != "main.rs")
        .map(|f| (module_of(f), f.clone()))
        .collect();
    let scanned: BTreeMap<&str, Scan> = crate_
        .files
        .iter()
        .map(|(file, text)| (file.as_str(), scan(file, text)))
        .collect();
    let reexports: BTreeMap<&str, &BTreeMap<String, Vec<String>>> = scanned
        .iter()
        .map(|(file, s)| (*file, &s.reexports))
        .collect();
    let macros: BTreeMap<&str, &str> = scanned
        .iter()
        .flat_map(|(file, s)| s.macros.iter().map(move |m| (m.as_str(), *file)))
        .collect();
    // The files a path passes through: the module it names, then, while that module only
    // re-exports the name, the module the name comes from. The last one defines it.
    let resolve = |path: &[String]| -> Vec<String> {
        if let [name] = path
            && let Some(file) = macros.get(name.as_str())
        {
            return vec![file.to_string()];
        }
        let mut path = path.to_vec();
        let mut through = Vec::new();
        while through.len() < 8 {
            let Some((len, file)) = (0..=path.len())
                .rev()
                .find_map(|n| modules.get(&path[..n]).map(|f| (n, f)))
            else {
                break;
            };
            through.push(file.clone());
            let target = path
                .get(len)
                .and_then(|name| reexports.get(file.as_str())?.get(name));
            let Some(target) = target else { break };
            let mut next = target.clone();
            next.extend_from_slice(&path[len + 1..]);
            path = next;
        }
        through
    };

    let mut imports = Vec::new();
    for (file, s) in &scanned {
        for path in &s.paths {
            let through = resolve(path);
            for (n, to) in through.iter().enumerate() {
                if to != file {
                    imports.push(Import {
                        from: file.to_string(),
                        path: format!("crate::{}", path.join("::")),
                        to: to.clone(),
                        defines: n + 1 == through.len(),
                    });
                }
            }
        }
    }

    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for i in &imports {
        let (from, to) = (layer_of(&i.from), layer_of(&i.to));
        let key = (i.from.clone(), i.path.clone(), i.to.clone());
        if !seen.insert(key) {
            continue;
        }
        if to < from {
            problems.push(format!(
                "up: src/{} imports {} (src/{}): layer {} may not import layer {}",
                i.from, i.path, i.to, LAYERS[from].0, LAYERS[to].0
            ));
        } else if in_place(&i.to, "tools/")
            && !in_place(&i.from, "tools/")
            && !TOOL_USERS.iter().any(|p| in_place(&i.from, p))
        {
            problems.push(format!(
                "tools: src/{} imports {} (src/{}): only src/mcp/ and src/app.rs use src/tools/",
                i.from, i.path, i.to
            ));
        }
    }

    let mut graph: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    // A module's root file reaching into its own submodules (declaring and dispatching to
    // them) is how a directory module is built, not a cycle; everything else counts.
    let own_submodule = |i: &Import| {
        i.from
            .strip_suffix("/mod.rs")
            .is_some_and(|dir| i.to.starts_with(&format!("{dir}/")))
    };
    for i in imports.iter().filter(|i| i.defines && !own_submodule(i)) {
        graph
            .entry(i.from.as_str())
            .or_default()
            .entry(i.to.as_str())
            .or_insert(i.path.as_str());
    }
    for cycle in cycles(&graph) {
        let mut line = String::from("cycle: ");
        for file in &cycle {
            let _ = write!(line, "src/{file} → ");
        }
        let _ = write!(line, "src/{}  (", cycle[0]);
        for (n, file) in cycle.iter().enumerate() {
            let next = cycle[(n + 1) % cycle.len()];
            let _ = write!(
                line,
                "{}{file}: {}",
                if n > 0 { "; " } else { "" },
                graph[file][next]
            );
        }
        line.push(')');
        problems.push(line);
    }
    problems
}

/// One shortest cycle through each strongly connected component of more than one file.
fn cycles<'a>(graph: &BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>) -> Vec<Vec<&'a str>> {
    let nodes: BTreeSet<&str> = graph
        .iter()
        .flat_map(|(from, to)| std::iter::once(*from).chain(to.keys().copied()))
        .collect();
    let reach = |start: &'a str| -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(n) = todo.pop() {
            for next in graph.get(n).into_iter().flat_map(|m| m.keys()) {
                if seen.insert(*next) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<&str>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut found = Vec::new();
    for n in &nodes {
        if done.contains(n) || !reachable[n].contains(n) {
            continue;
        }
        let component: BTreeSet<&str> = reachable[n]
            .iter()
            .copied()
            .filter(|m| reachable[m].contains(n))
            .collect();
        done.extend(component.iter().copied());
        // Breadth-first from n back to n inside the component: a shortest cycle.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([*n]);
        'search: while let Some(at) = queue.pop_front() {
            for next in graph.get(at).into_iter().flat_map(|m| m.keys()) {
                if !component.contains(next) {
                    continue;
                }
                if next == n {
                    parent.insert(n, at);
                    break 'search;
                }
                if !parent.contains_key(next) {
                    parent.insert(next, at);
                    queue.push_back(next);
                }
            }
        }
        let mut cycle = vec![];
        let mut at = parent[n];
        while at != *n {
            cycle.push(at);
            at = parent[at];
        }
        cycle.push(n);
        cycle.reverse();
        found.push(cycle);
    }
    found
}

/// What one file names: the crate paths it imports and the names it re-exports.
struct Scan {
    paths: Vec<Vec<String>>,
    reexports: BTreeMap<String, Vec<String>>,
    /// `#[macro_export]` macros: they live at the crate root but belong to this file.
    macros: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    /// `::`
    Sep,
}

fn scan(file: &str, text: &str) -> Scan {
    let toks = tokens(text);
    let file_module = module_of(file);
    let children: BTreeSet<String> = toks
        .windows(3)
        .filter_map(|w| match w {
            [Tok::Ident(m), Tok::Ident(name), Tok::Punct(';')] if m == "mod" => Some(name.clone()),
            _ => None,
        })
        .collect();
    // Inline modules (`mod tests { … }`) change what `super` and `self` mean.
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut paths = Vec::new();
    let mut reexports = BTreeMap::new();
    let mut i = 0;
    while i < toks.len() {
        if let Some(end) = test_module_end(&toks, i) {
            i = end;
            continue;
        }
        match &toks[i] {
            Tok::Punct('{') => {
                if let (Some(Tok::Ident(m)), Some(Tok::Ident(name))) = (
                    i.checked_sub(2).map(|j| &toks[j]),
                    i.checked_sub(1).map(|j| &toks[j]),
                ) && m == "mod"
                {
                    inline.push((depth, name.clone()));
                }
                depth += 1;
            }
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
            }
            _ => {}
        }
        let starts_path = matches!(toks.get(i + 1), Some(Tok::Sep))
            && !matches!(i.checked_sub(1).map(|j| &toks[j]), Some(Tok::Sep));
        let Tok::Ident(first) = &toks[i] else {
            i += 1;
            continue;
        };
        if !starts_path {
            i += 1;
            continue;
        }
        let mut here = file_module.clone();
        here.extend(inline.iter().map(|(_, m)| m.clone()));
        let base: Option<Vec<String>> = match first.as_str() {
            "crate" => Some(vec![]),
            "vizier" if file == "main.rs" => Some(vec![]),
            "self" => Some(here.clone()),
            "super" => {
                let mut up = here.clone();
                up.pop();
                Some(up)
            }
            name if inline.is_empty() && children.contains(name) => {
                let mut down = here.clone();
                down.push(name.to_owned());
                Some(down)
            }
            _ => None,
        };
        let Some(base) = base else {
            i += 1;
            continue;
        };
        let is_pub_use = is_pub_use(&toks, i);
        let mut trees = Vec::new();
        i = tree(&toks, i + 1, base, &mut trees);
        for (path, alias) in trees {
            if is_pub_use && inline.is_empty() {
                if let Some(name) = alias.or_else(|| path.last().cloned()) {
                    reexports.insert(name, path);
                }
            } else {
                paths.push(path);
            }
        }
    }
    let macros = toks
        .windows(7)
        .filter_map(|w| match w {
            [
                Tok::Punct('#'),
                Tok::Punct('['),
                Tok::Ident(export),
                Tok::Punct(']'),
                Tok::Ident(rules),
                Tok::Punct('!'),
                Tok::Ident(name),
            ] if export == "macro_export" && rules == "macro_rules" => Some(name.clone()),
            _ => None,
        })
        .collect();
    Scan {
        paths,
        reexports,
        macros,
    }
}

/// If `toks[i]` starts `#[cfg(test)] … mod name { … }`, the index after its closing brace:
/// unit tests may use what they test from anywhere.
fn test_module_end(toks: &[Tok], i: usize) -> Option<usize> {
    let attr = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    if toks.get(i..i + attr.len())? != attr {
        return None;
    }
    let open = i + toks[i..]
        .iter()
        .position(|t| matches!(t, Tok::Punct('{' | ';')))?;
    let is_mod = toks[i..open].contains(&Tok::Ident("mod".into()));
    if !is_mod || toks[open] != Tok::Punct('{') {
        return None;
    }
    let mut depth = 0;
    for (n, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(n + 1);
                }
            }
            _ => {}
        }
    }
    Some(toks.len())
}

/// Is the path at `i` the root of a `pub use` (or `pub(crate) use`) item?
fn is_pub_use(toks: &[Tok], i: usize) -> bool {
    let before: Vec<&Tok> = toks[..i].iter().rev().take(5).collect();
    match before.as_slice() {
        [Tok::Ident(u), Tok::Ident(p), ..] => u == "use" && p == "pub",
        [
            Tok::Ident(u),
            Tok::Punct(')'),
            Tok::Ident(_),
            Tok::Punct('('),
            Tok::Ident(p),
        ] => u == "use" && p == "pub",
        _ => false,
    }
}

/// Parse the rest of a path from `toks[i]` (just after its first segment): `::a::b`,
/// `::{a, b::c}`, `::*`, `… as name`. Appends (path, alias) pairs; returns the index after it.
fn tree(
    toks: &[Tok],
    mut i: usize,
    mut path: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    while matches!(toks.get(i), Some(Tok::Sep)) {
        match toks.get(i + 1) {
            Some(Tok::Ident(seg)) if seg == "super" => {
                path.pop();
                i += 2;
            }
            Some(Tok::Ident(seg)) => {
                path.push(seg.clone());
                i += 2;
            }
            Some(Tok::Punct('{')) => {
                i += 2;
                loop {
                    match toks.get(i) {
                        Some(Tok::Punct('}')) | None => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        Some(Tok::Ident(seg)) if seg == "self" => {
                            let (next, alias) = alias(toks, i + 1);
                            out.push((path.clone(), alias));
                            i = next;
                        }
                        Some(Tok::Ident(seg)) => {
                            let mut sub = path.clone();
                            sub.push(seg.clone());
                            i = tree(toks, i + 1, sub, out);
                        }
                        Some(Tok::Punct('*')) => {
                            out.push((path.clone(), None));
                            i += 1;
                        }
                        Some(Tok::Punct('{')) => {
                            // `{{…}}` does not occur in use trees; skip defensively.
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                out.push((path, None));
                return i + 2;
            }
            _ => break,
        }
    }
    let (next, alias) = alias(toks, i);
    out.push((path, alias));
    next
}

fn alias(toks: &[Tok], i: usize) -> (usize, Option<String>) {
    match (toks.get(i), toks.get(i + 1)) {
        (Some(Tok::Ident(a)), Some(Tok::Ident(name))) if a == "as" => (i + 2, Some(name.clone())),
        _ => (i, None),
    }
}

/// Identifiers, `::` and single punctuation of Rust source, without comments, strings and
/// character literals.
fn tokens(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1);
        } else if c == '\'' {
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                // A lifetime or label: drop the quote, keep the name as an identifier.
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw = matches!(word.as_str(), "r" | "br" | "cr");
            if raw && matches!(chars.get(i), Some('"' | '#')) {
                let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
                if chars.get(i + hashes) == Some(&'"') {
                    i = skip_raw(&chars, i + hashes + 1, hashes);
                    continue;
                }
                // A raw identifier `r#name`.
                i += hashes;
                continue;
            }
            if matches!(word.as_str(), "b" | "c") && chars.get(i) == Some(&'"') {
                i = skip_string(&chars, i + 1);
                continue;
            }
            if word == "b" && chars.get(i) == Some(&'\'') {
                continue;
            }
            toks.push(Tok::Ident(word));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            toks.push(Tok::Sep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                toks.push(Tok::Punct(c));
            }
            i += 1;
        }
    }
    toks
}

/// Index after the closing quote of a string whose opening quote is just before `i`.
fn skip_string(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Index after `"###` closing a raw string with `hashes` hashes.
fn skip_raw(chars: &[char], mut i: usize, hashes: usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}
