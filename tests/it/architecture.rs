//! ARCHITECTURE.md's invariants that a reading of the source can check.
//!
//! The domain stands alone: nothing in `src/domain/` names the crate outside `crate::domain`
//! (by `crate::` or by a `super::` that climbs out of it), nor the gRPC, protobuf, HTTP or
//! storage crates. Only the source is read, so a violation is reported with its file and line.

use std::path::{Path, PathBuf};

/// Crates the domain must not name: the layers above and below it are built on these.
const FORBIDDEN: &[&str] =
    &["tonic", "tonic_types", "tonic_health", "prost", "prost_types", "sled", "axum", "http", "hyper"];

#[test]
fn the_domain_imports_nothing_outside_itself_but_std_and_third_party_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root.join("domain"), &mut files);
    assert!(files.len() > 5, "the domain's files were found: {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let relative = file.strip_prefix(&root).unwrap();
        for (line, what) in domain_violations(&text, module_depth(relative)) {
            problems.push(format!("src/{}:{line}: {what}", relative.display()));
        }
    }
    assert!(problems.is_empty(), "the domain reaches outside itself:\n{}", problems.join("\n"));
}

/// The configuration composes the subsystems' settings and depends on them, never the other
/// way: only `server` (which maps a `Config` into each subsystem's settings) and the binary
/// name it.
#[test]
fn no_subsystem_reads_the_configuration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let allowed = ["config", "server.rs", "lib.rs", "main.rs", "cli.rs"];
    let mut problems = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_string_lossy();
        if allowed.contains(&top.as_ref()) {
            continue;
        }
        let tokens = tokens(&code_only(&std::fs::read_to_string(file).unwrap()));
        for window in tokens.windows(3) {
            if window[0].1 == "crate" && window[1].1 == "::" && window[2].1 == "config" {
                problems.push(format!("src/{}:{}", relative.display(), window[0].0));
            }
        }
    }
    assert!(files.len() > 40 && problems.is_empty(), "the configuration is read from:\n{}", problems.join("\n"));
}

#[test]
fn the_import_rule_catches_each_way_out_of_the_domain() {
    // Depth 2 is a file such as src/domain/session.rs (module crate::domain::session).
    let found = |src: &str| domain_violations(src, 2).into_iter().map(|(line, _)| line).collect::<Vec<_>>();
    assert_eq!(found("use crate::error::{Error, Kind};"), [1]);
    assert_eq!(found("fn f() {}\nuse crate::{domain::Session, store::Store};"), [2]);
    assert_eq!(found("use super::super::error::Error;"), [1], "super::super from a domain file is the crate");
    assert_eq!(found("mod tests {\n    use super::super::super::app::Agenda;\n}"), [2]);
    assert_eq!(found("use tonic::Status;\nfn f() -> sled::Db { todo!() }\nuse http;"), [1, 2, 3]);
    // What the domain may name.
    assert_eq!(found("use crate::domain::Violations;\nuse super::{PersonId, Timestamp};"), Vec::<usize>::new());
    assert_eq!(found("mod tests {\n    use super::super::Session;\n}"), Vec::<usize>::new());
    assert_eq!(found("// crate::error in a comment\nlet s = \"crate::store { tonic::\";"), Vec::<usize>::new());
    assert_eq!(found("let c = '{';\nuse std::fmt;\nuse jiff::Timestamp;"), Vec::<usize>::new());
    assert_eq!(found("let r = r#\"crate::store\"#;\nfn f<'a>(x: &'a str) {}\nuse crate::error::E;"), [3]);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// How deep below the crate root a file's module is: `domain/mod.rs` is 1 (`crate::domain`),
/// `domain/session.rs` is 2.
fn module_depth(relative: &Path) -> usize {
    let parts = relative.components().count();
    if relative.file_name().is_some_and(|f| f == "mod.rs") { parts - 1 } else { parts }
}

/// `(line, what)` for each path in `src` that leaves the domain, for a file at `depth`.
fn domain_violations(src: &str, depth: usize) -> Vec<(usize, String)> {
    let tokens = tokens(&code_only(src));
    let mut out = Vec::new();
    let mut braces = 0usize;
    // Brace depths at which inline modules (`mod tests { ... }`) were opened.
    let mut inline_mods: Vec<usize> = Vec::new();
    for (i, (line, t)) in tokens.iter().enumerate() {
        let next = |k: usize| tokens.get(i + k).map_or("", |(_, t)| t.as_str());
        let prev = if i > 0 { tokens[i - 1].1.as_str() } else { "" };
        match t.as_str() {
            "{" => {
                braces += 1;
                if i >= 2 && tokens[i - 2].1 == "mod" {
                    inline_mods.push(braces);
                }
            }
            "}" => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
            }
            _ if prev == "::" => {} // not the start of a path
            "crate" if next(1) == "::" && next(2) != "domain" => {
                out.push((*line, format!("`crate::{}` is outside the domain", next(2))));
            }
            "super" if next(1) == "::" => {
                let mut climbs = 1;
                while next(2 * climbs) == "super" && next(2 * climbs + 1) == "::" {
                    climbs += 1;
                }
                let here = depth + inline_mods.len();
                if climbs + 1 > here {
                    out.push((*line, format!("`{}` climbs out of the domain", "super::".repeat(climbs))));
                }
            }
            name if FORBIDDEN.contains(&name) && (next(1) == "::" || prev == "use") => {
                out.push((*line, format!("names the `{name}` crate")));
            }
            _ => {}
        }
    }
    out
}

/// The source with comments and string and character literals blanked out, lines kept.
fn code_only(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nesting += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nesting -= 1;
                    out.push_str("  ");
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == '"' || raw_string_hashes(&chars, i).is_some() {
            // A string, raw or not: up to the matching quote (and hashes).
            let raw = c == 'r';
            let hashes = raw_string_hashes(&chars, i).unwrap_or(0);
            let opening = if raw { 2 + hashes } else { 1 };
            out.extend(std::iter::repeat_n(' ', opening));
            i += opening;
            while i < chars.len() {
                if !raw && chars[i] == '\\' {
                    out.push(' ');
                    out.push(blank(*chars.get(i + 1).unwrap_or(&' ')));
                    i += 2;
                    continue;
                }
                if chars[i] == '"' && (0..hashes).all(|h| chars.get(i + 1 + h) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A character literal ('{', '\n', '\u{7b}'); a lifetime has no closing quote.
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
                out.push(' ');
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The number of `#` of a raw string starting at `i` (`r"`, `r#"`), if one starts there.
fn raw_string_hashes(chars: &[char], i: usize) -> Option<usize> {
    if chars[i] != 'r' || (i > 0 && ident_char(chars.get(i - 1))) {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some(hashes)
}

fn ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// Identifiers, `::`, and single punctuation characters, each with its line (from 1).
fn tokens(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if ident_char(Some(&c)) {
                let start = i;
                while ident_char(chars.get(i)) {
                    i += 1;
                }
                out.push((n + 1, chars[start..i].iter().collect()));
            } else if c == ':' && chars.get(i + 1) == Some(&':') {
                out.push((n + 1, "::".to_owned()));
                i += 2;
            } else {
                if !c.is_whitespace() {
                    out.push((n + 1, c.to_string()));
                }
                i += 1;
            }
        }
    }
    out
}
