//! Architecture rules that the compiler does not check (docs/architecture.md):
//! - `protocol` and `broker` never name `tui`, `cli`, ratatui, crossterm or clap, so the broker
//!   stays the same code headless and embedded, and the wire format knows nothing of a terminal;
//! - no import cycle between the files of `src/tui`, of `src/broker` or of `src/inspect`;
//! - no source file over 900 lines of code (see [`counted_lines`] for what counts).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively, in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The file's code with `//` comments (including doc comments) removed, line by line.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let code = match line.find("//") {
                // Keep `//` inside a string literal such as "ws://": only cut when the part
                // before it has an even number of quotes.
                Some(at) if line[..at].matches('"').count() % 2 == 0 => &line[..at],
                _ => line,
            };
            (i + 1, code.to_string())
        })
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn protocol_and_broker_never_name_the_ui_or_the_command_line() {
    let forbidden = ["crate::tui", "crate::cli", "ratatui", "crossterm", "clap"];
    let mut found = Vec::new();
    let mut files = 0;
    for layer in ["protocol", "broker"] {
        for file in rust_files(&src().join(layer)) {
            files += 1;
            for (line_no, code) in code_lines(&file) {
                for word in forbidden {
                    let hit = code.match_indices(word).any(|(at, _)| {
                        // A whole path segment: not part of a longer identifier.
                        let before = code[..at].chars().next_back();
                        let after = code[at + word.len()..].chars().next();
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    });
                    if hit {
                        found.push(format!("{}:{line_no}: names `{word}`", file.display()));
                    }
                }
            }
        }
    }
    assert!(
        files > 10,
        "expected the protocol and broker sources, found {files} files"
    );
    assert!(
        found.is_empty(),
        "layering violations:\n{}",
        found.join("\n")
    );
}

/// The module path of a file below `src/`: `src/broker/router/mod.rs` -> `broker::router`.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("file below the source root");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The modules of `layer` a file refers to through `crate::…`, `super::…` or `self::…` paths.
fn references(file: &Path, module: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    // `super` from `a/b.rs` is `a`; from `a/b/mod.rs` it is `a` too (mod.rs is module `a::b`).
    let parent = module
        .rsplit_once("::")
        .map(|(p, _)| p.to_string())
        .unwrap_or_default();
    let mut out = BTreeSet::new();
    for (_, code) in code_lines(file) {
        if code.trim_start().starts_with("mod ") || code.trim_start().starts_with("pub mod ") {
            continue;
        }
        for (prefix, base) in [
            ("crate::", String::new()),
            ("super::", parent.clone()),
            ("self::", module.to_string()),
        ] {
            for (at, _) in code.match_indices(prefix) {
                if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let rest: String = code[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // The longest known module that the path names.
                let mut path = base.clone();
                let mut best = None;
                for seg in rest.split("::").filter(|s| !s.is_empty()) {
                    path = if path.is_empty() {
                        seg.to_string()
                    } else {
                        format!("{path}::{seg}")
                    };
                    if known.contains(&path) {
                        best = Some(path.clone());
                    }
                }
                if let Some(target) = best {
                    // A child naming its parent's items (`super::Router`) and a parent calling
                    // into its children is how a module is split into files; only edges
                    // between modules of which neither contains the other count.
                    let nested = |outer: &str, inner: &str| {
                        inner == outer || inner.starts_with(&format!("{outer}::"))
                    };
                    if !nested(&target, module) && !nested(module, &target) {
                        out.insert(target);
                    }
                }
            }
        }
    }
    out
}

/// A cycle in the file graph of `layer`, if there is one (as a list of modules).
fn find_cycle(root: &Path, layer: &str) -> Option<Vec<String>> {
    let files = rust_files(&root.join(layer));
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .map(|f| (module_of(root, f), f.clone()))
        .collect();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let edges: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|(m, f)| (m.clone(), references(f, m, &known)))
        .collect();
    // Iterative depth-first search with colours.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 = on the stack, 2 = done
    for start in edges.keys() {
        if state.contains_key(start.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(
            start.as_str(),
            edges[start].iter().map(String::as_str).collect(),
        )];
        state.insert(start, 1);
        while let Some((node, pending)) = stack.last_mut() {
            if let Some(next) = pending.pop() {
                match state.get(next) {
                    Some(1) => {
                        let mut cycle: Vec<String> =
                            stack.iter().map(|(n, _)| n.to_string()).collect();
                        let from = cycle.iter().position(|n| n == next).unwrap_or(0);
                        cycle.drain(..from);
                        cycle.push(next.to_string());
                        return Some(cycle);
                    }
                    Some(_) => {}
                    None => {
                        state.insert(next, 1);
                        let children = edges
                            .get(next)
                            .map(|s| s.iter().map(String::as_str).collect());
                        stack.push((next, children.unwrap_or_default()));
                    }
                }
            } else {
                state.insert(node, 2);
                stack.pop();
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_between_files_of_tui_broker_or_inspect() {
    for layer in ["broker", "tui", "inspect"] {
        if let Some(cycle) = find_cycle(&src(), layer) {
            panic!("import cycle in src/{layer}: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    // A check that cannot fail proves nothing: lay out three sibling files that import each
    // other in a ring, and a parent/child pair that must not count.
    let dir = tempfile::tempdir().expect("temp dir");
    let x = dir.path().join("x");
    fs::create_dir_all(x.join("p")).expect("mkdir");
    fs::write(x.join("mod.rs"), "use crate::x::p::Child;\n").expect("write");
    fs::write(
        x.join("p/mod.rs"),
        "use super::super::x::a::A; // a comment naming crate::x::c\n",
    )
    .expect("write");
    fs::write(x.join("p/child.rs"), "use super::Parent;\n").expect("write");
    fs::write(x.join("a.rs"), "use crate::x::b::B;\n").expect("write");
    fs::write(x.join("b.rs"), "pub fn f() { super::c::g() }\n").expect("write");
    fs::write(x.join("c.rs"), "use self::inner; use crate::x::a::A;\n").expect("write");
    let cycle = find_cycle(dir.path(), "x").expect("the a -> b -> c -> a ring is found");
    assert_eq!(
        cycle.first(),
        cycle.last(),
        "a cycle ends where it starts: {cycle:?}"
    );
    assert_eq!(cycle.len(), 4, "{cycle:?}");
    for m in ["x::a", "x::b", "x::c"] {
        assert!(cycle.iter().any(|c| c == m), "{m} in {cycle:?}");
    }
    // Break the ring: no cycle is left (the parent/child pair does not count).
    fs::write(x.join("c.rs"), "pub fn g() {}\n").expect("write");
    assert_eq!(find_cycle(dir.path(), "x"), None);
}

/// The most lines of code a file under `src/` may have.
const MAX_LINES: usize = 900;

/// The lines of a file that count against [`MAX_LINES`]: every line (blank and comment lines
/// included), except a trailing unit-test module, that is a `#[cfg(test)]` line at the start of
/// a line, followed by `mod tests {`, whose closing `}` at the start of a line ends the file.
fn counted_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    for (i, pair) in lines.windows(2).enumerate() {
        if pair[0].trim_end() == "#[cfg(test)]" && pair[1].trim_end() == "mod tests {" {
            // The module's end: the first `}` in column 0 after its opening line.
            let close = lines[i + 2..]
                .iter()
                .position(|l| l.trim_end() == "}")
                .map(|at| i + 2 + at + 1);
            if close == Some(last) {
                return i;
            }
        }
    }
    lines.len()
}

/// Every file under `root` with more than [`MAX_LINES`] counted lines, with its count. Test
/// code is left out: files named `tests.rs`, files under a `tests` directory, and a trailing
/// `#[cfg(test)] mod tests { ... }` block.
fn oversized(root: &Path) -> Vec<(PathBuf, usize)> {
    rust_files(root)
        .into_iter()
        .filter(|f| {
            let rel = f.strip_prefix(root).unwrap_or(f);
            f.file_name().is_none_or(|n| n != "tests.rs")
                && !rel
                    .parent()
                    .is_some_and(|d| d.iter().any(|part| part == "tests"))
        })
        .filter_map(|f| {
            let text =
                fs::read_to_string(&f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display()));
            let n = counted_lines(&text);
            (n > MAX_LINES).then_some((f, n))
        })
        .collect()
}

/// No `.rs` file under `src/` has more than 900 lines of code. Code is every line of the file,
/// blank and comment lines included, except test code: a file named `tests.rs`, a file under a
/// `tests/` directory, and a trailing `#[cfg(test)] mod tests { ... }` block (issue 9).
#[test]
fn no_source_file_over_900_lines_of_code() {
    let root = src();
    assert!(
        rust_files(&root).len() > 50,
        "expected the crate's sources below {}",
        root.display()
    );
    let found = oversized(&root);
    assert!(
        found.is_empty(),
        "files over {MAX_LINES} lines of code (split them by what they hold):\n{}",
        found
            .iter()
            .map(|(f, n)| format!("{}: {n} lines", f.display()))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_line_count_leaves_out_only_test_code() {
    // The limit must be able to fail: lay out files just over and just under it.
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    fs::create_dir_all(root.join("m/tests")).expect("mkdir");
    let body = |n: usize| "// a line\n".repeat(n);
    let test_block = format!("#[cfg(test)]\nmod tests {{\n{}}}\n", body(50));
    // Over: blank and comment lines count.
    fs::write(root.join("m/big.rs"), body(MAX_LINES + 1)).expect("write");
    // Under: the trailing test module does not count.
    fs::write(
        root.join("m/ok.rs"),
        format!("{}{test_block}", body(MAX_LINES)),
    )
    .expect("write");
    // Over: a test module that is not trailing counts.
    fs::write(
        root.join("m/middle.rs"),
        format!("{}{test_block}fn after() {{}}\n", body(MAX_LINES - 10)),
    )
    .expect("write");
    // Test files are left out.
    fs::write(root.join("m/tests.rs"), body(MAX_LINES + 1)).expect("write");
    fs::write(root.join("m/tests/harness.rs"), body(MAX_LINES + 1)).expect("write");
    let mut found: Vec<(String, usize)> = oversized(root)
        .into_iter()
        .map(|(f, n)| (f.strip_prefix(root).unwrap_or(&f).display().to_string(), n))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("m/big.rs".to_owned(), MAX_LINES + 1),
            ("m/middle.rs".to_owned(), MAX_LINES - 10 + 53 + 1),
        ]
    );
}
