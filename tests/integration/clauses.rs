//! Every clause id in the project says which MQTT version it cites, and exists there
//! (issue 9): `[MQTT311-3.1.2-24]` for 3.1.1, `[MQTT5-3.1.2-22]` for 5.0, checked against the
//! normative statement lists in tests/conformance/normative-{3.1.1,5.0}.txt.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The ids of one list (`MQTT311-3.1.2-24` …), from its first column.
fn statements(file: &str) -> BTreeSet<String> {
    let path = root().join("tests/conformance").join(file);
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

/// Text files of the project that may cite the standard.
fn project_files() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut stack: Vec<PathBuf> = ["src", "tests", "docs", "benches", "assets"]
        .iter()
        .map(|d| root().join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| {
                ["rs", "md", "toml", "sh", "py", "jsonl", "snap"]
                    .contains(&x.to_str().unwrap_or(""))
            }) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every `MQTT311-x.y.z-n` / `MQTT5-x.y.z-n` citation in `text`; a range
/// (`MQTT5-3.3.2-16..-20`) gives its first and its last statement.
fn citations(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["MQTT311-", "MQTT5-"] {
        for (at, _) in text.match_indices(prefix) {
            // Part of a longer word (a case name such as `protocol-MQTT5-5`) is no citation.
            if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-') {
                continue;
            }
            let rest = &text[at + prefix.len()..];
            // `x.y.z-n`: a section number, a dash, a statement number.
            let section: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let after = &rest[section.len()..];
            let Some(number) = after.strip_prefix('-') else {
                continue;
            };
            let number: String = number.chars().take_while(char::is_ascii_digit).collect();
            if section.is_empty() || section.ends_with('.') || number.is_empty() {
                continue;
            }
            out.push(format!("{prefix}{section}-{number}"));
            let tail = &after[1 + number.len()..];
            if let Some(end) = tail.strip_prefix("..-") {
                let end: String = end.chars().take_while(char::is_ascii_digit).collect();
                out.push(format!("{prefix}{section}-{end}"));
            }
        }
    }
    out
}

#[test]
fn every_clause_id_says_its_version_and_exists_there() {
    let v311 = statements("normative-3.1.1.txt");
    let v5 = statements("normative-5.0.txt");
    assert!(
        v311.len() > 100 && v5.len() > 200,
        "the lists look truncated"
    );
    let mut bad = Vec::new();
    let mut cited = 0;
    for file in project_files() {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let rel = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        if rel.starts_with("tests/conformance/normative-") || rel == "tests/integration/clauses.rs"
        {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            // An untagged id: `[MQTT-3.1.2-24]` means different rules in 3.1.1 and 5.0.
            for (at, _) in line.match_indices("[MQTT-") {
                if line[at + 6..].starts_with(|c: char| c.is_ascii_digit())
                    && !line.contains("untagged")
                {
                    bad.push(format!(
                        "{rel}:{}: untagged clause id: {}",
                        n + 1,
                        line.trim()
                    ));
                }
            }
            // Tests of a clause checker name a missing statement on purpose.
            if line.contains("!is_known(") {
                continue;
            }
            for id in citations(line) {
                cited += 1;
                let known = if id.starts_with("MQTT311-") {
                    &v311
                } else {
                    &v5
                };
                if !known.contains(&id) {
                    bad.push(format!("{rel}:{}: {id} is not in the standard", n + 1));
                }
            }
        }
    }
    assert!(
        cited > 200,
        "only {cited} citations found: is the scan looking in the right place?"
    );
    assert!(
        bad.is_empty(),
        "{} bad clause ids:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn citations_are_read_with_their_ranges() {
    assert_eq!(
        citations("see [MQTT5-3.3.2-16..-20] and [MQTT311-4.7.2-1]; NOTMQTT5-1.2-3, case-MQTT5-5"),
        ["MQTT311-4.7.2-1", "MQTT5-3.3.2-16", "MQTT5-3.3.2-20"]
    );
}
