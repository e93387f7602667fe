//! `mqtt-workbench match TOPIC FILTER...`, the real binary: verdicts and level-by-level reasons
//! for `+`, `#` (including the parent level), `$` topics, empty levels, shared subscriptions
//! and invalid filters, with the documented exit statuses. The verdicts are checked against the
//! broker's own matcher by a property test in src/inspect/topic_match.rs.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

use crate::client_support::wb;

fn run_match(args: &[&str]) -> (i32, String) {
    let out = Command::new(wb()).arg("match").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn wildcards_levels_and_dollar_topics_byte_exact() {
    let cases: &[(&str, &[&str])] = &[
        (
            "sport_tennis",
            &[
                "sport/tennis/player1",
                "sport/#",
                "sport/+",
                "+/tennis/#",
                "sport/tennis/player1/#",
                "Sport/#",
            ],
        ),
        ("parent_level", &["sport", "sport/#", "sport/+", "#"]),
        (
            "dollar_topic",
            &[
                "$SYS/broker/uptime",
                "#",
                "+/broker/uptime",
                "$SYS/#",
                "$SYS/+/uptime",
            ],
        ),
        ("empty_levels", &["/finance", "+/+", "/+", "+", "//finance"]),
        (
            "shared",
            &[
                "jobs/42",
                "$share/workers/jobs/+",
                "$share/workers/#",
                "$share/audit/other",
            ],
        ),
        ("invalid", &["a/b", "a/#/b", "a+", "$share/g", "a/b"]),
    ];
    for (name, args) in cases {
        let (code, out) = run_match(args);
        insta::assert_snapshot!(format!("match_{name}"), format!("exit {code}\n{out}"));
    }
}

#[test]
fn exit_statuses() {
    assert_eq!(run_match(&["a/b", "a/+", "x"]).0, 0, "one matches");
    assert_eq!(run_match(&["a/b", "a", "x/#"]).0, 1, "none matches");
    let (code, out) = run_match(&["a/b", "a/#/b", "a/+"]);
    assert_eq!(code, 2, "an invalid filter wins: {out}");
    assert!(out.contains("[MQTT311-4.7.1-2] [MQTT5-4.7.1-1]"), "{out}");
    let (code, out) = run_match(&["a/+", "#"]);
    assert_eq!(code, 2, "a topic with a wildcard: {out}");
    assert!(out.contains("INVALID topic"), "{out}");
    let (code, out) = run_match(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit status: 0 at least one filter matches; 1 none matches; 2"),
        "{out}"
    );
}

#[test]
fn dollar_rule_cites_its_clause() {
    let (code, out) = run_match(&["$SYS/x", "#"]);
    assert_eq!(code, 1);
    assert!(out.contains("[MQTT311-4.7.2-1] [MQTT5-4.7.2-1]"), "{out}");
    let (code, out) = run_match(&["$share/g/x", "$share/#"]);
    assert_eq!(
        code, 2,
        "'$share/#' is not a valid shared subscription: {out}"
    );
}
