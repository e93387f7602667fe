//! Clause references, always tagged with their version: `[MQTT311-3.3.1-4]` for a normative
//! statement of 3.1.1, `[MQTT5-3.3.1-4]` for 5.0, and `MQTT311 §2.2.3` / `MQTT5 §2.1.4` for a
//! section that has no normative id. MQTT 3.1 has no numbered statements; it is explained with
//! the 3.1.1 clauses, which restate it.

use crate::protocol::ProtocolVersion;

/// Picks the 3.1.1 or the 5.0 clause for a packet of version `v` (3.1 uses the 3.1.1 one).
#[must_use]
pub fn pick(v: ProtocolVersion, v311: &'static str, v5: &'static str) -> &'static str {
    if v.is_v5() { v5 } else { v311 }
}

/// The normative statement lists (id, who it binds, summary; one a line), shared with the
/// conformance suite so that there is one list per version.
const MQTT311_LIST: &str = include_str!("../../tests/conformance/normative-3.1.1.txt");
const MQTT5_LIST: &str = include_str!("../../tests/conformance/normative-5.0.txt");

/// True when `id` (`MQTT311-3.1.2-24`) is a statement of `list`.
fn listed(list: &str, id: &str) -> bool {
    list.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .any(|known| known == id)
}

/// True when `clause` is spelled as this project requires and names a statement or section that
/// exists: `[MQTT311-x.y.z-n]` / `[MQTT5-x.y.z-n]` from the normative lists, or
/// `MQTT311 §x.y` / `MQTT5 §x.y` with a chapter of the standard (1 to 6).
#[must_use]
pub fn is_known(clause: &str) -> bool {
    if let Some(id) = clause.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
        return if id.starts_with("MQTT311-") {
            listed(MQTT311_LIST, id)
        } else {
            id.starts_with("MQTT5-") && listed(MQTT5_LIST, id)
        };
    }
    let Some((tag, section)) = clause.split_once(" §") else {
        return false;
    };
    if tag != "MQTT311" && tag != "MQTT5" {
        return false;
    }
    let mut parts = section.split('.');
    let chapter_ok = parts
        .next()
        .and_then(|c| c.parse::<u8>().ok())
        .is_some_and(|c| (1..=6).contains(&c));
    chapter_ok && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_and_existence() {
        assert!(is_known("[MQTT311-3.3.1-4]"));
        assert!(is_known("[MQTT5-3.3.1-4]"));
        assert!(is_known("MQTT5 §2.1.4"));
        assert!(is_known("MQTT311 §2.2.3"));
        assert!(!is_known("[MQTT-3.3.1-4]"), "an untagged id");
        assert!(!is_known("[MQTT311-3.3.1-99]"), "no such statement");
        assert!(!is_known("MQTT5 §9.1"), "no such chapter");
        assert!(!is_known("MQTT5 §"));
    }

    #[test]
    fn every_clause_literal_in_the_sources_exists() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let mut checked = 0;
        let mut files: Vec<String> = std::fs::read_dir(format!("{dir}/src/inspect/parse"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| format!("src/inspect/parse/{}", e.file_name().to_string_lossy()))
                    .filter(|f| f.ends_with(".rs"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(files.len() > 5, "the packet parse files: {files:?}");
        for file in [
            "src/inspect/why.rs",
            "src/inspect/topic_match.rs",
            "src/cli/matching.rs",
            "src/cli/decode.rs",
        ] {
            files.push(file.to_owned());
        }
        for file in &files {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap_or_default();
            for start in ["\"[MQTT", "\"MQTT311 §", "\"MQTT5 §"] {
                for (at, _) in text.match_indices(start) {
                    let lit = text[at + 1..].split('"').next().unwrap_or_default();
                    assert!(is_known(lit), "{file}: unknown clause {lit}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 80, "only {checked} clause literals found");
    }
}
