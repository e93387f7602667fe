//! The workbench shows what was sent, exactly (issue 11): the real binary in tmux, messages
//! from mosquitto_pub, the screen read back with `capture-pane`.

use std::fmt::Write as _;

use crate::common::{have_mosquitto, run_tool};
use crate::tui_tmux::{Tmux, free_port, have_tmux, wait_ready};

/// Publishes `payload` (from a file, so any bytes go) to `topic` with mosquitto_pub.
async fn publish(port: u16, topic: &str, payload: &[u8], extra: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("payload");
    std::fs::write(&file, payload).expect("write payload");
    let p = port.to_string();
    let f = file.display().to_string();
    let mut args = vec!["mosquitto_pub", "-p", &p, "-t", topic, "-f", &f];
    args.extend_from_slice(extra);
    let (ok, _, err) = run_tool(&args, 10).await;
    assert!(ok, "mosquitto_pub failed: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_120_kib_json_payload_is_shown_whole_in_order_and_end_reaches_its_last_line() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("bigjson", &["--port", &port.to_string()]);
    wait_ready(&t);
    // Keys out of order, a duplicate key, number text a map would rewrite, escapes.
    let mut doc = String::from(
        "{\"zeta\": 1.10, \"alpha\": 123456789012345678901234567890, \"esc\": \"a\\u00e9\\/b\"",
    );
    let mut i = 0;
    while doc.len() < 120 * 1024 {
        let _ = write!(doc, ", \"key{i:05}\": {i}");
        i += 1;
    }
    doc.push_str(", \"zeta\": 2, \"last\": \"END-OF-DOCUMENT\"}");
    publish(port, "big/json", doc.as_bytes(), &[]).await;
    let s = t.wait_until("the JSON view", |s| {
        s.contains(&format!("big/json · auto:json · {} bytes", doc.len()))
    });
    assert!(s.contains("\"zeta\": 1.10,"), "{s}");
    assert!(
        s.contains("\"alpha\": 123456789012345678901234567890,"),
        "{s}"
    );
    assert!(s.contains("\"esc\": \"a\\u00e9\\/b\","), "{s}");
    assert!(!s.contains("not JSON"), "{s}");
    // The payload pane: End (and G) reach the document's last line, and no further.
    t.keys(&["3", "End"]);
    let s = t.wait_until("the last line", |s| {
        s.contains("\"last\": \"END-OF-DOCUMENT\"")
    });
    assert!(s.contains("\"zeta\": 2,"), "{s}");
    assert!(
        s.contains(&format!("\"key{:05}\": {},", i - 1, i - 1)),
        "{s}"
    );
    let last_rows = format!("/{} ", i + 7);
    assert!(
        s.contains(&last_rows),
        "the title counts {} rows: {s}",
        i + 7
    );
    t.keys(&["j", "PageDown", "G"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let s2 = t.screen();
    assert!(s2.contains("\"last\": \"END-OF-DOCUMENT\""), "{s2}");
    assert!(s2.contains("\"zeta\": 2,"), "scrolled past the end: {s2}");
    t.keys(&["g"]);
    t.wait_until("the first line again", |s| s.contains("\"zeta\": 1.10,"));
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}
