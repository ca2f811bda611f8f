//! `cargo xtask tidy`: the layer rules of ARCHITECTURE.md ("Layer rules"), and the links of the user docs.
//!
//! Dependency rules come from `cargo metadata --format-version 1 --no-deps`; the `[lints]`
//! table and the crate doc lines come from the files themselves (metadata doesn't show them).
//! Every rule is a function of plain data, so the tests below feed it hand-made metadata.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Failure;
use crate::process::cargo;

const DOMAIN: &str = "rekey-domain";
const APPLICATION: &str = "rekey-application";
const SERVER: &str = "rekey-server";
const TESTS: &str = "rekey-tests";
const XTASK: &str = "xtask";
/// ZITADEL's protobuf messages and gRPC services: the wire format, no logic.
const PROTO: &str = "rekey-proto";
/// The transport-neutral middle both adapters will share (issue 14); may speak the wire types.
const API: &str = "rekey-api";
/// Native gRPC and gRPC-Web: speaks the wire types, calls `rekey-api`, holds no business rule.
const GRPC_ADAPTER: &str = "rekey-grpc-adapter";
/// The workspace crates `rekey-grpc-adapter` may use (any other is a violation).
const GRPC_ADAPTER_MAY_USE: &[&str] = &[DOMAIN, APPLICATION, PROTO, API];
/// Test support (fresh PostgreSQL databases); only ever a dev-dependency.
const TEST_DB: &str = "rekey-test-db";

/// Crates that do I/O or bring an async runtime; `domain` and `application` take none of them.
const IO_CRATES: &[&str] = &[
    "tokio",
    "diesel",
    "diesel-async",
    "diesel_migrations",
    "bb8",
    "actix-web",
    "lettre",
    "reqwest",
    "handlebars",
    "config",
    "tracing-subscriber",
    "argon2",
    "rand",
    "hyper",
    "sqlx",
];

/// The transports' frameworks: rekey-api decides what every transport says, so it takes none
/// of them (the adapters frame).
const TRANSPORT_CRATES: &[&str] = &[
    "actix-web",
    "actix-http",
    "tonic",
    "tonic-web",
    "hyper",
    "axum",
    "tower",
];

/// The protobuf and gRPC crates: like `rekey-proto`, the wire format; `domain` and `application`
/// take none of them.
const WIRE_CRATES: &[&str] = &["prost", "prost-types", "tonic", "tonic-prost"];

/// `cargo xtask tidy`: prints each violation on its own line; Err if there is any.
pub fn run(args: &[String]) -> Result<(), Failure> {
    if let Some(arg) = args.first() {
        return Err(Failure::Usage(format!(
            "`tidy` takes no arguments, got `{arg}`"
        )));
    }
    let root = crate::process::workspace_root()?;
    let violations = check(&root)?;
    if violations.is_empty() {
        println!("tidy: no violations");
        Ok(())
    } else {
        print(&violations);
        Err(Failure::Failed(format!(
            "{} tidy violation(s)",
            violations.len()
        )))
    }
}

/// Prints one violation a line.
pub fn print(violations: &[String]) {
    for violation in violations {
        println!("tidy: {violation}");
    }
}

/// Every rule against the workspace at `root`. Ok(empty) means tidy.
pub fn check(root: &Path) -> Result<Vec<String>, String> {
    let metadata = cargo_metadata(root)?;
    let packages = packages(&metadata)?;
    let mut violations = check_dependencies(&packages);
    violations.extend(check_publish(&packages));
    violations.extend(check_folder_names(root, &packages));
    for package in &packages {
        let text = std::fs::read_to_string(&package.manifest_path)
            .map_err(|err| format!("cannot read {}: {err}", package.manifest_path.display()))?;
        if !has_workspace_lints(&text) {
            violations.push(format!(
                "{}: {} has no `[lints] workspace = true`",
                relative(root, &package.manifest_path),
                package.name
            ));
        }
    }
    violations.extend(check_doc_lines(root)?);
    violations.extend(check_docs(root)?);
    Ok(dedup(violations))
}

fn cargo_metadata(root: &Path) -> Result<Value, String> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .current_dir(root)
        .output()
        .map_err(|err| format!("cannot run `cargo metadata`: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("cannot parse `cargo metadata` output: {err}"))
}

/// A workspace member, as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub manifest_path: PathBuf,
    /// `publish` unset or true (metadata `null`) or a list of registries.
    pub publishable: bool,
    pub dependencies: Vec<Dependency>,
}

/// One entry of a manifest's dependency tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The package name (what `package = ".."` names when renamed).
    pub name: String,
    pub kind: DependencyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyKind {
    Normal,
    Dev,
    Build,
}

/// The workspace members of `cargo metadata --no-deps` output.
pub fn packages(metadata: &Value) -> Result<Vec<Package>, String> {
    let list = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("cargo metadata: no `packages` array")?;
    list.iter().map(package).collect()
}

fn package(value: &Value) -> Result<Package, String> {
    let name = string_field(value, "name", "package")?;
    let manifest_path = PathBuf::from(string_field(value, "manifest_path", &name)?);
    let publishable = match value.get("publish") {
        None | Some(Value::Null) => true,
        Some(Value::Array(registries)) => !registries.is_empty(),
        Some(other) => return Err(format!("cargo metadata: {name}: odd `publish` {other}")),
    };
    let dependencies = value
        .get("dependencies")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("cargo metadata: {name}: no `dependencies` array"))?
        .iter()
        .map(|dep| {
            let dep_name = string_field(dep, "name", &name)?;
            let kind = match dep.get("kind") {
                None | Some(Value::Null) => DependencyKind::Normal,
                Some(Value::String(kind)) if kind == "dev" => DependencyKind::Dev,
                Some(Value::String(kind)) if kind == "build" => DependencyKind::Build,
                Some(other) => {
                    return Err(format!(
                        "cargo metadata: {name} -> {dep_name}: odd kind {other}"
                    ));
                }
            };
            Ok(Dependency {
                name: dep_name,
                kind,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Package {
        name,
        manifest_path,
        publishable,
        dependencies,
    })
}

fn string_field(value: &Value, field: &str, context: &str) -> Result<String, String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("cargo metadata: {context}: no string `{field}`"))
}

fn is_internal(name: &str) -> bool {
    name.starts_with("rekey-")
}

fn is_adapter(name: &str) -> bool {
    is_internal(name) && name.ends_with("-adapter")
}

impl Package {
    fn normal_dependencies(&self) -> impl Iterator<Item = &str> {
        self.dependencies
            .iter()
            .filter(|dep| dep.kind == DependencyKind::Normal)
            .map(|dep| dep.name.as_str())
    }
}

/// The dependency direction of ARCHITECTURE.md.
pub fn check_dependencies(packages: &[Package]) -> Vec<String> {
    let mut violations = Vec::new();
    for package in packages {
        let name = package.name.as_str();
        if name == DOMAIN || name == APPLICATION {
            for dep in package.normal_dependencies() {
                if IO_CRATES.contains(&dep) {
                    violations.push(format!(
                        "{name} depends on `{dep}`: no I/O or async runtime below the adapters"
                    ));
                }
                if dep == PROTO || WIRE_CRATES.contains(&dep) {
                    violations.push(format!(
                        "{name} depends on `{dep}`: the wire format belongs to the adapters and {API}"
                    ));
                }
            }
        }
        if name == DOMAIN {
            for dep in package
                .normal_dependencies()
                .filter(|dep| is_internal(dep) && *dep != PROTO)
            {
                violations.push(format!(
                    "{name} depends on `{dep}`: the domain depends on no workspace crate"
                ));
            }
        }
        if name == APPLICATION {
            for dep in package.normal_dependencies() {
                if is_internal(dep) && dep != DOMAIN && dep != PROTO {
                    violations.push(format!(
                        "{name} depends on `{dep}`: the application depends only on {DOMAIN}"
                    ));
                }
            }
        }
        if is_adapter(name) {
            for dep in package.normal_dependencies() {
                if is_adapter(dep) && dep != name {
                    violations.push(format!(
                        "{name} depends on `{dep}`: adapters never depend on each other"
                    ));
                }
            }
        } else if name != SERVER {
            let adapters: Vec<&str> = package
                .normal_dependencies()
                .filter(|dep| is_adapter(dep))
                .collect();
            if adapters.len() > 1 {
                violations.push(format!(
                    "{name} depends on {} adapters ({}): only {SERVER} may know more than one",
                    adapters.len(),
                    adapters.join(", ")
                ));
            }
        }
        if name == GRPC_ADAPTER {
            for dep in package
                .normal_dependencies()
                .filter(|dep| is_internal(dep) && !GRPC_ADAPTER_MAY_USE.contains(dep))
            {
                violations.push(format!(
                    "{name} depends on `{dep}`: the gRPC adapter uses only {}",
                    GRPC_ADAPTER_MAY_USE.join(", ")
                ));
            }
        }
        if name == API {
            for dep in package.normal_dependencies() {
                if TRANSPORT_CRATES.contains(&dep) {
                    violations.push(format!(
                        "{name} depends on `{dep}`: the middle knows no transport; the adapters frame"
                    ));
                }
                if is_adapter(dep) {
                    violations.push(format!(
                        "{name} depends on `{dep}`: the adapters depend on the middle, not the reverse"
                    ));
                }
            }
        }
        if name == PROTO {
            // Any kind: generated code only, so the adapters and rekey-api can share it.
            for dep in package
                .dependencies
                .iter()
                .filter(|dep| is_internal(&dep.name))
            {
                violations.push(format!(
                    "{name} depends on `{}`: the wire types depend on no workspace crate",
                    dep.name
                ));
            }
        }
        if package.normal_dependencies().any(|dep| dep == TEST_DB) {
            violations.push(format!(
                "{name} depends on `{TEST_DB}` outside [dev-dependencies]: it is test support"
            ));
        }
        if name == TESTS || name == XTASK || name == TEST_DB {
            // Any kind: black-box tests reach rekey over the network only (plus the test-database
            // support), xtask over cargo, and the test support knows no product crate. Tests and
            // xtask's bench may use the wire types a gRPC client needs, which hold no logic.
            for dep in package
                .dependencies
                .iter()
                .filter(|dep| is_internal(&dep.name))
                .filter(|dep| !(name == TESTS && dep.name == TEST_DB))
                .filter(|dep| !(name != TEST_DB && dep.name == PROTO))
            {
                violations.push(format!(
                    "{name} depends on `{}`: it depends on no workspace crate",
                    dep.name
                ));
            }
        }
    }
    violations
}

/// Only rekey-domain is publishable, and it is.
pub fn check_publish(packages: &[Package]) -> Vec<String> {
    let mut violations = Vec::new();
    for package in packages {
        let name = &package.name;
        if name == DOMAIN && !package.publishable {
            violations.push(format!(
                "{name} has `publish = false`: the domain is the one crate written for reuse"
            ));
        } else if name != DOMAIN && package.publishable {
            violations.push(format!(
                "{name} is publishable: set `publish = false` (only {DOMAIN} is published)"
            ));
        }
    }
    violations
}

/// `crates/<folder>` holds the package `rekey-<folder>`: the rules above go by these names.
pub fn check_folder_names(root: &Path, packages: &[Package]) -> Vec<String> {
    let crates = root.join("crates");
    let mut violations = Vec::new();
    for package in packages {
        let Some(dir) = package.manifest_path.parent() else {
            continue;
        };
        if dir.parent() != Some(crates.as_path()) {
            continue;
        }
        let folder = dir
            .file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default();
        let expected = format!("rekey-{folder}");
        if package.name != expected {
            violations.push(format!(
                "{}: package `{}` should be named `{expected}` (package = rekey- + folder)",
                relative(root, &package.manifest_path),
                package.name
            ));
        }
    }
    violations
}

/// True if the manifest text opts into the workspace lints:
/// `[lints]` + `workspace = true`, or top-level `lints.workspace = true` / `lints = { workspace = true }`.
pub fn has_workspace_lints(manifest: &str) -> bool {
    let mut table: Option<String> = None;
    for line in manifest.lines() {
        let line = strip_comment(line).trim();
        if line.starts_with('[') {
            let header: String = line
                .trim_matches(|c| c == '[' || c == ']')
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            table = Some(header);
            continue;
        }
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        let found = match table.as_deref() {
            Some("lints") => compact == "workspace=true",
            None => compact == "lints.workspace=true" || compact == "lints={workspace=true}",
            Some(_) => false,
        };
        if found {
            return true;
        }
    }
    false
}

/// The line without a trailing `# comment` (a `#` inside a "string" is kept).
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    for (index, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..index],
            _ => {}
        }
    }
    line
}

/// True if the first non-blank line is a `//!` doc line.
pub fn starts_with_doc_line(source: &str) -> bool {
    source
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| line.trim_start().starts_with("//!"))
}

/// Every `crates/*/src/lib.rs` and `crates/*/src/main.rs` starts with a `//!` doc line.
fn check_doc_lines(root: &Path) -> Result<Vec<String>, String> {
    let crates = root.join("crates");
    let entries = std::fs::read_dir(&crates)
        .map_err(|err| format!("cannot list {}: {err}", crates.display()))?;
    let mut roots = Vec::new();
    for entry in entries {
        let dir = entry
            .map_err(|err| format!("cannot list {}: {err}", crates.display()))?
            .path();
        for file in ["lib.rs", "main.rs"] {
            let path = dir.join("src").join(file);
            if path.is_file() {
                roots.push(path);
            }
        }
    }
    roots.sort();
    let mut violations = Vec::new();
    for path in roots {
        let text = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        if !starts_with_doc_line(&text) {
            violations.push(format!(
                "{}: does not start with a `//!` doc line",
                relative(root, &path)
            ));
        }
    }
    Ok(violations)
}

/// The documents a user reads: they link only to files of the repository (and to headings that
/// exist), and never send the reader to the team's own documents, which are not shipped.
const USER_DOCS: &[&str] = &["README.md", "ARCHITECTURE.md", "SECURITY.md", "docs"];
/// The team's documents, outside the repository.
const TEAM_DOCS: &[&str] = &[
    "../shared",
    "CONTRACT.md",
    "DESIGN.md",
    "STYLE.md",
    "REVIEW.md",
    "STACK.md",
];

fn check_docs(root: &Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    for name in USER_DOCS {
        let path = root.join(name);
        if path.is_dir() {
            let entries = std::fs::read_dir(&path)
                .map_err(|err| format!("cannot list {}: {err}", path.display()))?;
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "md")),
            );
        } else if path.is_file() {
            files.push(path);
        } else {
            return Err(format!("{name} is missing"));
        }
    }
    files.sort();
    let mut violations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|err| format!("cannot read {}: {err}", file.display()))?;
        let dir = file.parent().unwrap_or(root);
        let target_text = |target: &Path| std::fs::read_to_string(target).ok();
        for problem in doc_problems(&text, |path| {
            let target = dir.join(path);
            let inside = target
                .canonicalize()
                .is_ok_and(|t| root.canonicalize().is_ok_and(|r| t.starts_with(r)));
            inside.then(|| target_text(&target).unwrap_or_default())
        }) {
            violations.push(format!("{}: {problem}", relative(root, &file)));
        }
    }
    Ok(violations)
}

/// The broken links and team-document mentions of one Markdown text. `open(path)` gives the
/// text of a linked file of the repository (empty for a folder or a binary), or None when it
/// does not exist there.
pub fn doc_problems(text: &str, open: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for name in TEAM_DOCS {
        if text.contains(name) {
            problems.push(format!(
                "names the team's {name}, which readers do not have"
            ));
        }
    }
    for target in link_targets(text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
        let linked = if path.is_empty() {
            Some(text.to_owned())
        } else {
            open(path)
        };
        match linked {
            None => problems.push(format!("links to {path}, which is not in the repository")),
            Some(linked) => {
                let markdown = path.is_empty() || path.ends_with(".md");
                if markdown
                    && !anchor.is_empty()
                    && !heading_slugs(&linked).iter().any(|slug| slug == anchor)
                {
                    problems.push(format!("links to {target}, a heading that does not exist"));
                }
            }
        }
    }
    problems
}

/// The targets of inline links `[text](target)`, outside code blocks.
fn link_targets(text: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else {
                break;
            };
            targets.push(after[..end].trim());
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's anchors of a Markdown text's headings: lower case, punctuation dropped, spaces as
/// hyphens.
fn heading_slugs(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut slugs = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        if in_code {
            continue;
        }
        let heading = heading.trim_start_matches('#').trim();
        let slug: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        slugs.push(slug);
    }
    slugs
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Drops repeated violations (a dependency listed twice, e.g. per target), keeping order.
fn dedup(violations: Vec<String>) -> Vec<String> {
    let mut seen = Vec::with_capacity(violations.len());
    for violation in violations {
        if !seen.contains(&violation) {
            seen.push(violation);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_link_only_to_what_exists() {
        let text = "# Top\n\n## Running on PostgreSQL\n\nSee [a](docs/API.md), [b](docs/gone.md), \
            [c](#running-on-postgresql), [d](#nowhere), [e](https://example.com/x.md), \
            [f](docs/API.md#errors), [g](docs/API.md#missing).\n\
            ```md\n[h](in/code.md)\n```\n";
        let open = |path: &str| (path == "docs/API.md").then(|| "# API\n## Errors\n".to_owned());
        assert_eq!(
            doc_problems(text, open),
            [
                "links to docs/gone.md, which is not in the repository",
                "links to #nowhere, a heading that does not exist",
                "links to docs/API.md#missing, a heading that does not exist",
            ]
        );
    }

    #[test]
    fn docs_do_not_send_readers_to_the_team_documents() {
        let problems = doc_problems("See `CONTRACT.md` in the team's shared documents.", |_| {
            None
        });
        assert_eq!(
            problems,
            ["names the team's CONTRACT.md, which readers do not have"]
        );
    }
    use serde_json::json;

    /// A metadata package: `deps` are `(name, kind)` with kind `null`, `"dev"` or `"build"`.
    fn pkg(name: &str, publish: Value, deps: &[(&str, Value)]) -> Value {
        let dependencies: Vec<Value> = deps
            .iter()
            .map(|(dep, kind)| json!({ "name": dep, "kind": kind, "rename": null, "target": null }))
            .collect();
        let folder = match name {
            TESTS => "tests".to_owned(),
            XTASK => "xtask".to_owned(),
            _ => format!("crates/{}", name.trim_start_matches("rekey-")),
        };
        json!({
            "name": name,
            "manifest_path": format!("/ws/{folder}/Cargo.toml"),
            "publish": publish,
            "dependencies": dependencies,
        })
    }

    fn private(name: &str, deps: &[(&str, Value)]) -> Value {
        pkg(name, json!([]), deps)
    }

    /// The layout of ARCHITECTURE.md, tidy.
    fn good_workspace() -> Vec<Value> {
        let n = Value::Null;
        vec![
            pkg(
                DOMAIN,
                n.clone(),
                &[("serde", n.clone()), ("tokio", json!("dev"))],
            ),
            private(APPLICATION, &[(DOMAIN, n.clone()), ("tokio", json!("dev"))]),
            private(
                "rekey-persistence-adapter",
                &[(APPLICATION, n.clone()), ("diesel", n.clone())],
            ),
            private(
                "rekey-notifier-adapter",
                &[(APPLICATION, n.clone()), (DOMAIN, n.clone())],
            ),
            private(
                SERVER,
                &[
                    ("rekey-persistence-adapter", n.clone()),
                    ("rekey-notifier-adapter", n.clone()),
                    ("tokio", n.clone()),
                ],
            ),
            private(
                PROTO,
                &[
                    ("prost", n.clone()),
                    ("tonic", n.clone()),
                    ("protox", json!("build")),
                ],
            ),
            private(TESTS, &[("reqwest", json!("dev"))]),
            private(XTASK, &[("serde_json", n)]),
        ]
    }

    fn violations(packages_json: Vec<Value>) -> Vec<String> {
        let parsed = packages(&json!({ "packages": packages_json })).expect("valid metadata");
        let mut all = check_dependencies(&parsed);
        all.extend(check_publish(&parsed));
        all.extend(check_folder_names(Path::new("/ws"), &parsed));
        all
    }

    fn replace(mut workspace: Vec<Value>, package: Value) -> Vec<Value> {
        let name = package["name"].clone();
        for slot in &mut workspace {
            if slot["name"] == name {
                *slot = package.clone();
            }
        }
        workspace
    }

    #[test]
    fn the_design_layout_is_tidy() {
        assert_eq!(violations(good_workspace()), Vec::<String>::new());
    }

    #[test]
    fn domain_depending_on_tokio_is_reported() {
        let bad = pkg(DOMAIN, Value::Null, &[("tokio", Value::Null)]);
        let found = violations(replace(good_workspace(), bad));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("rekey-domain depends on `tokio`"),
            "{found:?}"
        );
    }

    #[test]
    fn domain_may_use_io_crates_in_dev_and_build_dependencies_only() {
        let dev_only = pkg(
            DOMAIN,
            Value::Null,
            &[("tokio", json!("dev")), ("rand", json!("build"))],
        );
        assert!(violations(replace(good_workspace(), dev_only)).is_empty());
    }

    #[test]
    fn domain_depending_on_a_workspace_crate_is_reported() {
        let bad = pkg(DOMAIN, Value::Null, &[(APPLICATION, Value::Null)]);
        let found = violations(replace(good_workspace(), bad));
        assert!(
            found
                .iter()
                .any(|v| v.contains("rekey-domain depends on `rekey-application`"))
        );
    }

    #[test]
    fn application_depending_on_io_or_an_adapter_is_reported() {
        let bad = private(
            APPLICATION,
            &[
                (DOMAIN, Value::Null),
                ("diesel-async", Value::Null),
                ("rekey-crypto-adapter", Value::Null),
            ],
        );
        let found = violations(replace(good_workspace(), bad));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("`diesel-async`"), "{found:?}");
        assert!(found[1].contains("`rekey-crypto-adapter`"), "{found:?}");
    }

    #[test]
    fn adapter_depending_on_another_adapter_is_reported() {
        let bad = private(
            "rekey-notifier-adapter",
            &[
                (APPLICATION, Value::Null),
                ("rekey-persistence-adapter", Value::Null),
            ],
        );
        let found = violations(replace(good_workspace(), bad));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("adapters never depend on each other"),
            "{found:?}"
        );
    }

    #[test]
    fn only_the_server_may_know_several_adapters() {
        let mut workspace = good_workspace();
        workspace.push(private(
            "rekey-cli",
            &[
                ("rekey-persistence-adapter", Value::Null),
                ("rekey-notifier-adapter", Value::Null),
            ],
        ));
        let found = violations(workspace);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("rekey-cli depends on 2 adapters"),
            "{found:?}"
        );
    }

    #[test]
    fn adapters_and_the_api_may_depend_on_the_wire_types() {
        let n = Value::Null;
        let mut workspace = good_workspace();
        workspace.push(private(
            "rekey-grpc-adapter",
            &[
                (API, n.clone()),
                (APPLICATION, n.clone()),
                (PROTO, n.clone()),
                ("tonic", n.clone()),
            ],
        ));
        workspace.push(private(
            API,
            &[
                (APPLICATION, n.clone()),
                (DOMAIN, n.clone()),
                (PROTO, n.clone()),
                ("prost", n),
            ],
        ));
        assert_eq!(violations(workspace), Vec::<String>::new());
    }

    #[test]
    fn the_grpc_adapter_uses_only_the_inner_crates_the_wire_types_and_the_api() {
        let n = Value::Null;
        let mut workspace = good_workspace();
        workspace.push(private(
            GRPC_ADAPTER,
            &[
                (DOMAIN, n.clone()),
                (API, n.clone()),
                ("rekey-http-adapter", n.clone()),
                ("rekey-persistence-adapter", n.clone()),
                ("rekey-test-db", json!("dev")),
            ],
        ));
        let found = violations(workspace);
        for bad in ["rekey-http-adapter", "rekey-persistence-adapter"] {
            assert!(
                found.iter().any(|v| v.starts_with(&format!(
                    "rekey-grpc-adapter depends on `{bad}`: the gRPC adapter uses only"
                ))),
                "{found:?}"
            );
        }
        let workspace = replace(
            good_workspace(),
            private(TESTS, &[(PROTO, json!("dev")), (TEST_DB, json!("dev"))]),
        );
        assert_eq!(violations(workspace), Vec::<String>::new());
    }

    #[test]
    fn the_api_knows_no_transport_and_no_adapter() {
        let n = Value::Null;
        let mut workspace = good_workspace();
        workspace.push(private(
            API,
            &[
                (APPLICATION, n.clone()),
                (PROTO, n.clone()),
                ("actix-web", n.clone()),
                ("tonic", n.clone()),
                ("rekey-http-adapter", n),
                ("tower", json!("dev")),
            ],
        ));
        assert_eq!(
            violations(workspace),
            [
                "rekey-api depends on `actix-web`: the middle knows no transport; the adapters frame",
                "rekey-api depends on `tonic`: the middle knows no transport; the adapters frame",
                "rekey-api depends on `rekey-http-adapter`: the adapters depend on the middle, not the reverse",
            ]
        );
    }

    #[test]
    fn domain_and_application_never_see_the_wire_types() {
        let workspace = replace(
            good_workspace(),
            pkg(DOMAIN, Value::Null, &[(PROTO, Value::Null)]),
        );
        let workspace = replace(
            workspace,
            private(
                APPLICATION,
                &[
                    (DOMAIN, Value::Null),
                    (PROTO, Value::Null),
                    ("prost", Value::Null),
                    ("tonic", json!("dev")),
                ],
            ),
        );
        let found = violations(workspace);
        assert_eq!(
            found,
            [
                "rekey-domain depends on `rekey-proto`: the wire format belongs to the adapters and rekey-api",
                "rekey-application depends on `rekey-proto`: the wire format belongs to the adapters and rekey-api",
                "rekey-application depends on `prost`: the wire format belongs to the adapters and rekey-api",
            ]
        );
    }

    #[test]
    fn the_wire_types_depend_on_no_workspace_crate() {
        let bad = private(PROTO, &[("prost", Value::Null), (DOMAIN, json!("build"))]);
        let found = violations(replace(good_workspace(), bad));
        assert_eq!(
            found,
            ["rekey-proto depends on `rekey-domain`: the wire types depend on no workspace crate"]
        );
    }

    #[test]
    fn black_box_tests_may_speak_the_wire_types_but_not_call_the_product() {
        let workspace = replace(
            good_workspace(),
            private(TESTS, &[(PROTO, json!("dev")), ("tonic", json!("dev"))]),
        );
        assert_eq!(violations(workspace.clone()), Vec::<String>::new());
        let workspace = replace(workspace, private(TESTS, &[(API, json!("dev"))]));
        assert_eq!(
            violations(workspace),
            ["rekey-tests depends on `rekey-api`: it depends on no workspace crate"]
        );
    }

    #[test]
    fn the_test_database_support_is_a_dev_dependency_only() {
        let mut workspace = good_workspace();
        workspace.push(private(TEST_DB, &[("tokio-postgres", Value::Null)]));
        let workspace = replace(workspace, private(TESTS, &[(TEST_DB, json!("dev"))]));
        assert_eq!(violations(workspace.clone()), Vec::<String>::new());
        let workspace = replace(workspace, private(TEST_DB, &[(DOMAIN, Value::Null)]));
        let workspace = replace(workspace, private(SERVER, &[(TEST_DB, Value::Null)]));
        let found = violations(workspace);
        assert!(
            found
                .iter()
                .any(|v| v.starts_with("rekey-server depends on `rekey-test-db` outside")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|v| v.starts_with("rekey-test-db depends on `rekey-domain`")),
            "{found:?}"
        );
    }

    #[test]
    fn tests_and_xtask_depending_on_a_workspace_crate_are_reported_for_any_kind() {
        let workspace = replace(good_workspace(), private(TESTS, &[(SERVER, json!("dev"))]));
        let workspace = replace(workspace, private(XTASK, &[(DOMAIN, Value::Null)]));
        let found = violations(workspace);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("rekey-tests depends on `rekey-server`"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("xtask depends on `rekey-domain`"),
            "{found:?}"
        );
    }

    #[test]
    fn publish_flags_are_checked_both_ways() {
        let workspace = replace(good_workspace(), private(DOMAIN, &[]));
        let workspace = replace(workspace, pkg(SERVER, Value::Null, &[]));
        let workspace = replace(workspace, pkg(TESTS, json!(["crates-io"]), &[]));
        let found = violations(workspace);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].starts_with("rekey-domain has `publish = false`"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("rekey-server is publishable"),
            "{found:?}"
        );
        assert!(
            found[2].starts_with("rekey-tests is publishable"),
            "{found:?}"
        );
    }

    #[test]
    fn a_crate_folder_must_match_its_package_name() {
        let mut renamed = private("rekey-mailer", &[]);
        renamed["manifest_path"] = json!("/ws/crates/notifier-adapter/Cargo.toml");
        let mut workspace = good_workspace();
        workspace.push(renamed);
        let found = violations(workspace);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("should be named `rekey-notifier-adapter`"),
            "{found:?}"
        );
    }

    #[test]
    fn workspace_lints_are_recognised() {
        assert!(has_workspace_lints(
            "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n"
        ));
        assert!(has_workspace_lints("[ lints ]\nworkspace=true # inherit\n"));
        assert!(has_workspace_lints("lints.workspace = true\n[package]\n"));
        assert!(has_workspace_lints("lints = { workspace = true }\n"));
        assert!(!has_workspace_lints("[package]\nname = \"a\"\n"));
        assert!(!has_workspace_lints("[lints]\n# workspace = true\n"));
        assert!(!has_workspace_lints("[lints]\nworkspace = false\n"));
        assert!(!has_workspace_lints(
            "[lints]\n[package]\nworkspace = true\n"
        ));
        assert!(!has_workspace_lints("[lints.clippy]\nworkspace = true\n"));
    }

    #[test]
    fn doc_lines_are_recognised() {
        assert!(starts_with_doc_line("//! The crate.\n\nfn main() {}\n"));
        assert!(starts_with_doc_line("\n//! After a blank line.\n"));
        assert!(!starts_with_doc_line("fn main() {}\n"));
        assert!(!starts_with_doc_line("// plain comment\n//! doc\n"));
        assert!(!starts_with_doc_line("#![allow(dead_code)]\n//! doc\n"));
        assert!(!starts_with_doc_line(""));
    }

    #[test]
    fn odd_metadata_is_an_error_not_a_pass() {
        assert!(packages(&json!({})).is_err());
        assert!(packages(&json!({ "packages": [{ "name": "x" }] })).is_err());
    }

    /// The real workspace keeps the rules of ARCHITECTURE.md.
    #[test]
    fn workspace_is_tidy() {
        let root = crate::process::workspace_root().expect("workspace root");
        let violations = check(&root).expect("tidy checks ran");
        assert!(
            violations.is_empty(),
            "tidy violations:\n{}",
            violations.join("\n")
        );
    }
}
