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

/// The normative statement ids of MQTT 3.1.1 (OASIS Standard, appendix B). The standard spells
/// one of them `MQTT-3-8.3-4`; it is kept under that spelling.
const KNOWN_MQTT311: &[&str] = &[
    "MQTT311-1.5.3-1",
    "MQTT311-1.5.3-2",
    "MQTT311-1.5.3-3",
    "MQTT311-2.2.2-1",
    "MQTT311-2.2.2-2",
    "MQTT311-2.3.1-1",
    "MQTT311-2.3.1-2",
    "MQTT311-2.3.1-3",
    "MQTT311-2.3.1-4",
    "MQTT311-2.3.1-5",
    "MQTT311-2.3.1-6",
    "MQTT311-2.3.1-7",
    "MQTT311-3.1.0-1",
    "MQTT311-3.1.0-2",
    "MQTT311-3.1.2-1",
    "MQTT311-3.1.2-2",
    "MQTT311-3.1.2-3",
    "MQTT311-3.1.2-4",
    "MQTT311-3.1.2-5",
    "MQTT311-3.1.2-6",
    "MQTT311-3.1.2-7",
    "MQTT311-3.1.2-8",
    "MQTT311-3.1.2-9",
    "MQTT311-3.1.2-10",
    "MQTT311-3.1.2-11",
    "MQTT311-3.1.2-12",
    "MQTT311-3.1.2-13",
    "MQTT311-3.1.2-14",
    "MQTT311-3.1.2-15",
    "MQTT311-3.1.2-16",
    "MQTT311-3.1.2-17",
    "MQTT311-3.1.2-18",
    "MQTT311-3.1.2-19",
    "MQTT311-3.1.2-20",
    "MQTT311-3.1.2-21",
    "MQTT311-3.1.2-22",
    "MQTT311-3.1.2-23",
    "MQTT311-3.1.2-24",
    "MQTT311-3.1.3-1",
    "MQTT311-3.1.3-2",
    "MQTT311-3.1.3-3",
    "MQTT311-3.1.3-4",
    "MQTT311-3.1.3-5",
    "MQTT311-3.1.3-6",
    "MQTT311-3.1.3-7",
    "MQTT311-3.1.3-8",
    "MQTT311-3.1.3-9",
    "MQTT311-3.1.3-10",
    "MQTT311-3.1.3-11",
    "MQTT311-3.1.4-1",
    "MQTT311-3.1.4-2",
    "MQTT311-3.1.4-3",
    "MQTT311-3.1.4-4",
    "MQTT311-3.1.4-5",
    "MQTT311-3.2.0-1",
    "MQTT311-3.2.2-1",
    "MQTT311-3.2.2-2",
    "MQTT311-3.2.2-3",
    "MQTT311-3.2.2-4",
    "MQTT311-3.2.2-5",
    "MQTT311-3.2.2-6",
    "MQTT311-3.3.1-1",
    "MQTT311-3.3.1-2",
    "MQTT311-3.3.1-3",
    "MQTT311-3.3.1-4",
    "MQTT311-3.3.1-5",
    "MQTT311-3.3.1-6",
    "MQTT311-3.3.1-7",
    "MQTT311-3.3.1-8",
    "MQTT311-3.3.1-9",
    "MQTT311-3.3.1-10",
    "MQTT311-3.3.1-11",
    "MQTT311-3.3.1-12",
    "MQTT311-3.3.2-1",
    "MQTT311-3.3.2-2",
    "MQTT311-3.3.2-3",
    "MQTT311-3.3.4-1",
    "MQTT311-3.3.5-1",
    "MQTT311-3.3.5-2",
    "MQTT311-3.6.1-1",
    "MQTT311-3.8.1-1",
    "MQTT311-3.8.3-1",
    "MQTT311-3.8.3-2",
    "MQTT311-3.8.3-3",
    "MQTT311-3-8.3-4",
    "MQTT311-3.8.4-1",
    "MQTT311-3.8.4-2",
    "MQTT311-3.8.4-3",
    "MQTT311-3.8.4-4",
    "MQTT311-3.8.4-5",
    "MQTT311-3.8.4-6",
    "MQTT311-3.9.3-1",
    "MQTT311-3.9.3-2",
    "MQTT311-3.10.1-1",
    "MQTT311-3.10.3-1",
    "MQTT311-3.10.3-2",
    "MQTT311-3.10.4-1",
    "MQTT311-3.10.4-2",
    "MQTT311-3.10.4-3",
    "MQTT311-3.10.4-4",
    "MQTT311-3.10.4-5",
    "MQTT311-3.10.4-6",
    "MQTT311-3.12.4-1",
    "MQTT311-3.14.1-1",
    "MQTT311-3.14.4-1",
    "MQTT311-3.14.4-2",
    "MQTT311-3.14.4-3",
    "MQTT311-4.1.0-1",
    "MQTT311-4.1.0-2",
    "MQTT311-4.3.1-1",
    "MQTT311-4.3.2-1",
    "MQTT311-4.3.2-2",
    "MQTT311-4.3.3-1",
    "MQTT311-4.3.3-2",
    "MQTT311-4.4.0-1",
    "MQTT311-4.5.0-1",
    "MQTT311-4.5.0-2",
    "MQTT311-4.6.0-1",
    "MQTT311-4.6.0-2",
    "MQTT311-4.6.0-3",
    "MQTT311-4.6.0-4",
    "MQTT311-4.6.0-5",
    "MQTT311-4.6.0-6",
    "MQTT311-4.7.1-1",
    "MQTT311-4.7.1-2",
    "MQTT311-4.7.1-3",
    "MQTT311-4.7.2-1",
    "MQTT311-4.7.3-1",
    "MQTT311-4.7.3-2",
    "MQTT311-4.7.3-3",
    "MQTT311-4.7.3-4",
    "MQTT311-4.8.0-1",
    "MQTT311-4.8.0-2",
    "MQTT311-6.0.0-1",
    "MQTT311-6.0.0-2",
    "MQTT311-6.0.0-3",
    "MQTT311-6.0.0-4",
];

/// The normative statement ids of MQTT 5.0 (OASIS Standard, appendix B) that this crate cites.
const KNOWN_MQTT5: &[&str] = &[
    "MQTT5-1.5.4-1",
    "MQTT5-1.5.4-2",
    "MQTT5-1.5.5-1",
    "MQTT5-2.1.3-1",
    "MQTT5-2.2.1-3",
    "MQTT5-2.2.1-4",
    "MQTT5-3.1.0-1",
    "MQTT5-3.1.0-2",
    "MQTT5-3.1.2-1",
    "MQTT5-3.1.2-2",
    "MQTT5-3.1.2-3",
    "MQTT5-3.1.2-8",
    "MQTT5-3.1.2-11",
    "MQTT5-3.1.2-12",
    "MQTT5-3.1.2-13",
    "MQTT5-3.1.2-22",
    "MQTT5-3.1.2-24",
    "MQTT5-3.1.2-25",
    "MQTT5-3.1.4-3",
    "MQTT5-3.2.0-1",
    "MQTT5-3.2.2-1",
    "MQTT5-3.3.1-2",
    "MQTT5-3.3.1-4",
    "MQTT5-3.3.1-9",
    "MQTT5-3.3.1-12",
    "MQTT5-3.3.2-2",
    "MQTT5-3.3.2-5",
    "MQTT5-3.3.2-14",
    "MQTT5-3.3.4-1",
    "MQTT5-3.3.4-6",
    "MQTT5-3.6.1-1",
    "MQTT5-3.8.1-1",
    "MQTT5-3.8.3-2",
    "MQTT5-3.8.3-3",
    "MQTT5-3.8.3-4",
    "MQTT5-3.8.3-5",
    "MQTT5-3.8.4-1",
    "MQTT5-3.9.3-1",
    "MQTT5-3.10.1-1",
    "MQTT5-3.10.3-2",
    "MQTT5-3.10.4-4",
    "MQTT5-3.12.4-1",
    "MQTT5-3.14.1-1",
    "MQTT5-3.14.2-1",
    "MQTT5-3.14.4-3",
    "MQTT5-3.15.1-1",
    "MQTT5-3.15.2-1",
    "MQTT5-4.7.0-1",
    "MQTT5-4.7.1-1",
    "MQTT5-4.7.1-2",
    "MQTT5-4.7.2-1",
    "MQTT5-4.7.3-1",
    "MQTT5-4.7.3-2",
    "MQTT5-4.8.2-1",
    "MQTT5-4.8.2-2",
];

/// True when `clause` is spelled as this project requires and names a statement or section that
/// exists: `[MQTT311-x.y.z-n]` / `[MQTT5-x.y.z-n]` from the lists above, or
/// `MQTT311 §x.y` / `MQTT5 §x.y` with a chapter of the standard (1 to 6).
#[must_use]
pub fn is_known(clause: &str) -> bool {
    if let Some(id) = clause.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
        return KNOWN_MQTT311.contains(&id) || KNOWN_MQTT5.contains(&id);
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

    /// The 3.1.1 list agrees with the conformance helper's list when that file is around (it is
    /// not required: the check is skipped without it).
    #[test]
    fn mqtt311_list_matches_the_conformance_list_if_present() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/conformance/normative-3.1.1.txt"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        for id in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').next())
        {
            assert!(
                KNOWN_MQTT311.contains(&id),
                "{id} missing from KNOWN_MQTT311"
            );
        }
    }

    /// Every clause literal in the inspector's sources (and `match`'s) is spelled right and
    /// exists, including the branches no test reaches.
    #[test]
    fn every_clause_literal_in_the_sources_exists() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let mut checked = 0;
        for file in [
            "src/inspect/parse.rs",
            "src/inspect/why.rs",
            "src/inspect/topic_match.rs",
            "src/cli/matching.rs",
            "src/cli/decode.rs",
        ] {
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
