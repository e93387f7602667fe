//! The shape of `src/tui` as the architecture notes describe it, checked on the source: the
//! sub-models of `app/` form no import cycle, rendering only borrows the model, and no file
//! grows past 900 lines of code (tests aside).

use std::fs;
use std::path::{Path, PathBuf};

fn tui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` module (the tests sit at the end).
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[test]
fn sub_models_import_only_siblings_never_the_app_or_the_views() {
    let app = tui_dir().join("app");
    let mut files = Vec::new();
    rust_files(&app, &mut files);
    let siblings: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_owned))
        .filter(|s| s != "mod")
        .collect();
    assert!(siblings.len() >= 8, "sub-model files: {siblings:?}");
    for f in files.iter().filter(|p| !p.ends_with("mod.rs")) {
        let code = code_of(f);
        for (n, line) in code.lines().enumerate() {
            let l = line.trim_start();
            if !l.starts_with("use ") {
                continue;
            }
            let at = format!("{}:{}: {l}", f.display(), n + 1);
            assert!(!l.contains("crate::tui::app"), "imports the app: {at}");
            for view in ["keymap", "widgets", "terminal", "super::super"] {
                assert!(!l.contains(view), "imports {view}: {at}");
            }
            if let Some(rest) = l.strip_prefix("use super::") {
                let module = rest.split("::").next().unwrap_or_default();
                assert!(
                    siblings.iter().any(|s| s == module),
                    "imports from app/mod.rs, not a sibling: {at}"
                );
            }
        }
    }
    // Siblings form no cycle either: the profile dialogs may use the link's types, the link
    // never uses a dialog.
    let link = code_of(&app.join("link.rs"));
    for dialog in ["profiles", "composer", "prompt"] {
        assert!(
            !link.contains(&format!("super::{dialog}")),
            "link imports {dialog}"
        );
    }
}

#[test]
fn rendering_borrows_the_model() {
    let mut files = Vec::new();
    rust_files(&tui_dir().join("widgets"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let code = code_of(&f);
        assert!(!code.contains("&mut App"), "{} takes &mut App", f.display());
    }
}

#[test]
fn no_tui_file_is_over_900_lines_of_code() {
    let mut files = Vec::new();
    rust_files(&tui_dir(), &mut files);
    for f in files
        .iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "tests"))
    {
        let n = code_of(f).lines().count();
        assert!(n <= 900, "{} has {n} lines of code", f.display());
    }
}
