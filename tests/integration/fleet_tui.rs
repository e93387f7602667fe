//! Issue 14 end to end: the workbench in tmux, connected with -h/-p to a real mosquitto that
//! `mosquitto_pub` fills with 50 topics; the tree filtered by `plant/+/temp`, a plot of a JSON
//! path with the published values, a diff of two messages, exports whose files hold exactly
//! what was published, and the retained messages of a subtree cleared after a count.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::BufReader;

use crate::client_support::Mosquitto;
use crate::common::{have_mosquitto, run_tool};
use crate::tui_tmux::{Tmux, have_tmux};

async fn publish(port: &str, topic: &str, payload: &str, retain: bool) {
    let mut args = vec!["mosquitto_pub", "-p", port, "-t", topic, "-m", payload];
    if retain {
        args.push("-r");
    }
    let (ok, _, err) = run_tool(&args, 10).await;
    assert!(ok, "mosquitto_pub {topic}: {err}");
}

/// The JSON readings published on `plant/1/env`, in order.
const ENV: [&str; 3] = [
    r#"{"temp": 20.5, "hum": 40, "unit": "C"}"#,
    r#"{"temp": 21.5, "hum": 41, "unit": "C"}"#,
    r#"{"hum": 41, "temp": 22.5, "unit": "C"}"#,
];

#[tokio::test(flavor = "multi_thread")]
async fn fleet_filter_plot_diff_export_and_retained_cleanup_against_mosquitto() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let m = Mosquitto::anonymous().await;
    let port = m.port.to_string();
    // Retained before the workbench subscribes, so they reach it with RETAIN 1.
    for unit in 0..10 {
        publish(&port, &format!("plant/{unit}/state"), "running", true).await;
    }
    let t = Tmux::start("fleet", &["-h", "127.0.0.1", "-p", &port]);
    t.wait_until("the retained states", |s| s.contains("Topics (10)"));
    for unit in 0..10 {
        publish(
            &port,
            &format!("plant/{unit}/temp"),
            &format!("2{unit}.5"),
            false,
        )
        .await;
        publish(
            &port,
            &format!("plant/{unit}/hum"),
            &format!("4{unit}"),
            false,
        )
        .await;
    }
    for line in 0..19 {
        publish(&port, &format!("line/{line}/speed"), "1200", false).await;
    }
    for doc in ENV {
        publish(&port, "plant/1/env", doc, false).await;
    }
    t.wait_until("50 topics", |s| s.contains("Topics (50)"));

    // The tree filtered by an MQTT filter, with the mode and the count.
    t.keys(&["/"]);
    t.text("plant/+/temp");
    t.keys(&["Enter"]);
    let s = t.wait_until("the filtered tree", |s| {
        // The title is cut to the pane and says so (task `polish`, item 1).
        s.contains("Topics (10/50) · mqtt 'plant…")
    });
    assert!(
        s.contains("mqtt filter 'plant/+/temp': 10 of 50 topics"),
        "{s}"
    );

    // A plot of the JSON path $.temp of plant/1/env.
    t.keys(&["/", "C-u"]);
    t.text("env");
    t.keys(&["Enter"]);
    t.wait_until("the env filter", |s| {
        s.contains("Topics (1/50) · text 'env'")
    });
    t.keys(&["G", "3", "P"]);
    t.wait_until("the path picker", |s| s.contains("$.temp  = 22.5"));
    t.keys(&["j", "Enter"]);
    let s = t.wait_until("the plot", |s| {
        s.contains("Plot: plant/1/env · $.temp · 3 points · latest 22.5 · min 20.5 max 22.5")
    });
    assert!(s.contains("Esc closes"), "{s}");
    t.keys(&["Escape"]);
    // The next key only once the view is gone: ESC and a key right after it read as Alt+key.
    t.wait_until("the view to close", |s| !s.contains("Esc closes"));

    // The diff of the last two messages: JSON with sorted keys, so only temp changed.
    t.keys(&["2", "D"]);
    let s = t.wait_until("the diff", |s| s.contains("Diff: plant/1/env"));
    assert!(s.contains("-   \"temp\": 21.5"), "{s}");
    assert!(s.contains("+   \"temp\": 22.5"), "{s}");
    assert!(s.contains("-1 +1"), "key order is not a change: {s}");
    t.keys(&["Escape"]);
    // The next key only once the view is gone: ESC and a key right after it read as Alt+key.
    t.wait_until("the view to close", |s| !s.contains("Esc closes"));

    // The payload exported exactly, then the subtree's history as a record.
    let out = tempfile::tempdir().unwrap();
    let payload_file = out.path().join("env.json");
    t.keys(&["x", "C-u"]);
    t.text(payload_file.to_str().unwrap());
    t.keys(&["Enter"]);
    t.wait_until("the export notice", |s| {
        s.contains("exported to ") && s.contains(": the payload of 'plant/1/env'")
    });
    assert_eq!(std::fs::read(&payload_file).unwrap(), ENV[2].as_bytes());
    // A second export to the same file asks first.
    t.keys(&["x", "C-u"]);
    t.text(payload_file.to_str().unwrap());
    t.keys(&["Enter"]);
    t.wait_until("the overwrite question", |s| {
        s.contains("Replace the file?")
    });
    t.keys(&["n"]);
    let record = out.path().join("env.jsonl");
    t.keys(&["1", "x", "C-u"]);
    t.text(record.to_str().unwrap());
    t.keys(&["Enter"]);
    t.wait_until("the history export", |s| {
        s.contains("env.jsonl: 3 messages of 'plant/1/env' as JSON lines")
    });
    let file = std::fs::File::open(&record).unwrap();
    let (_, mut reader) =
        mqtt_workbench::record::RecordReader::open(BufReader::new(file), "env.jsonl").unwrap();
    let mut payloads = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        assert_eq!(e.topic, "plant/1/env");
        payloads.push(e.payload);
    }
    let want: Vec<&[u8]> = ENV.iter().map(|d| d.as_bytes()).collect();
    assert_eq!(payloads, want);

    // Retained cleanup of the plant subtree: the count, the question, then empty retained
    // messages that leave mosquitto with none.
    t.keys(&["/", "C-u"]);
    t.text("state");
    t.keys(&["Enter"]);
    t.wait_until("the state filter", |s| s.contains("Topics (10/50) · text"));
    t.keys(&["g", "j", "X"]);
    let s = t.wait_until("the cleanup question", |s| {
        s.contains("Clear retained messages")
    });
    assert!(
        s.contains("Publish an empty retained message to 10 topics under 'plant'?"),
        "{s}"
    );
    t.keys(&["y"]);
    t.wait_until("the cleanup notice", |s| {
        s.contains("clearing 10 retained messages under 'plant'")
    });
    // Every empty retained PUBLISH reached mosquitto (each is a QoS 1 PUBLISH it logs).
    for unit in 0..10 {
        m.wait_log(&format!("'plant/{unit}/state', ... (0 bytes)"))
            .await;
    }
    let (_, stdout, _) = run_tool(
        &[
            "mosquitto_sub",
            "-p",
            &port,
            "-t",
            "plant/#",
            "--retained-only",
            "-W",
            "2",
            "-v",
        ],
        10,
    )
    .await;
    assert_eq!(stdout, "", "no retained message is left under plant/");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}
