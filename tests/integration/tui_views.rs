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

/// The display width of a captured row, as the terminal lays it out.
fn row_width(row: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(row)
}

#[tokio::test(flavor = "multi_thread")]
async fn zwj_emoji_and_cjk_at_a_pane_edge_leave_other_rows_intact() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("graphemes", &["--port", &port.to_string()]);
    wait_ready(&t);
    let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
    // A topic and payloads long enough to reach every pane's right edge.
    let topic = format!("家/{}/東京都/{family}/leaf-end", "深い".repeat(20));
    let payload = format!(
        "{}{}e\u{301}\u{1b}[2J",
        family.repeat(40),
        "漢字".repeat(40)
    );
    publish(port, &topic, payload.as_bytes(), &[]).await;
    publish(port, "plain/after", b"still-aligned", &[]).await;
    let s = t.wait_until("both messages", |s| s.contains("still-aligned"));
    let rows_fit = |s: &str| {
        // Every row between the status line and the footer fills exactly the 160 columns:
        // no cluster was split (a split ZWJ sequence joins the next row's text) and no
        // control character reached the terminal.
        let lines: Vec<&str> = s.lines().collect();
        for (i, row) in lines
            .iter()
            .enumerate()
            .take(lines.len().saturating_sub(1))
            .skip(1)
        {
            assert_eq!(row_width(row), 160, "row {i}: {row}\n{s}");
        }
    };
    rows_fit(&s);
    // The tree keeps the deep leaf and the CJK and emoji levels visible.
    assert!(s.contains("leaf-end"), "{s}");
    assert!(s.contains("東京都"), "{s}");
    assert!(s.contains(family), "{s}");
    assert!(s.contains("still-alig"), "{s}");
    // Select the older message: its payload wraps by cluster, the escape shows escaped, and
    // the title is cut from the left so the leaf shows.
    t.keys(&["2", "j"]);
    let s = t.wait_until("the emoji payload", |s| s.contains("\\u{1b}[2J"));
    rows_fit(&s);
    assert!(s.contains("leaf-end · auto:text · "), "{s}");
    assert!(s.contains("漢字漢字"), "{s}");
    assert!(s.contains("e\u{301}"), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn p_topic_enter_lands_in_the_payload_and_an_empty_payload_asks_first() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("enter", &["--port", &port.to_string()]);
    wait_ready(&t);
    t.keys(&["p"]);
    t.wait_until("the composer", |s| s.contains("Publish · Tab next field"));
    t.text("mqtt");
    t.keys(&["Enter"]);
    // Enter moved on: what is typed now is the payload, and nothing was published.
    t.text("typed after Enter");
    t.keys(&["C-s"]);
    let s = t.wait_until("the publish notice", |s| {
        s.contains("published 17 bytes to 'mqtt'")
    });
    assert!(!s.contains("published 0 bytes"), "{s}");
    t.wait_until("the message back", |s| {
        s.contains("Payload: mqtt · auto:text · 17 bytes")
    });
    // An empty retained payload asks first and says what it does.
    // The composer opens on the selected topic with the payload focused: back to the topic.
    t.keys(&["p", "BTab", "C-u"]);
    t.text("gone");
    t.keys(&["Enter", "Tab", "Tab", "Space", "C-s"]);
    let s = t.wait_until("the question", |s| s.contains("C-s again"));
    assert!(
        s.contains("DELETES the retained message on") && s.contains("'gone'"),
        "{s}"
    );
    assert!(!s.contains("to 'gone'"), "sent without asking: {s}");
    t.keys(&["C-s"]);
    t.wait_until("the empty publish after confirming", |s| {
        s.contains("published 0 bytes to 'gone' (QoS 0, retained)")
    });
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn retained_messages_are_marked_in_tree_list_and_title() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("retained", &["--port", &port.to_string()]);
    wait_ready(&t);
    // Published with Retain while the workbench is subscribed: delivered live as RETAIN 0.
    publish(port, "keep/me", b"kept", &["-r"]).await;
    // The message (client side) and the broker's note that it was retained arrive on two
    // channels: wait for both on one screen.
    let s = t.wait_until("the live delivery, marked retained", |s| {
        s.contains("keep/me · auto:text") && s.contains("· retained (sent live: RETAIN 0)")
    });
    assert!(s.contains("carries RETAIN 0"), "{s}");
    assert!(s.contains("[MQTT311-3.3.1-9]"), "{s}");
    let tree_row = s.lines().find(|l| l.starts_with("┃    me "));
    assert!(
        tree_row.is_some_and(|r| r.contains(" R 1")),
        "tree row: {tree_row:?}\n{s}"
    );
    let list_row = s
        .lines()
        .find(|l| l.contains("keep/me") && l.contains(" kept"));
    assert!(
        list_row.is_some_and(|r| r.contains(" 0 r      -      4 ")),
        "list row: {list_row:?}\n{s}"
    );
    // Subscribing again delivers it from the retained store: RETAIN 1.
    t.keys(&["u", "Enter"]);
    t.wait_until("the unsubscribe", |s| s.contains("unsubscribed from '#'"));
    t.keys(&["s"]);
    t.text("keep/#");
    t.keys(&["Enter"]);
    let s = t.wait_until("the retained delivery", |s| {
        s.contains("retained (RETAIN 1, from the store)")
    });
    let list_row = s.lines().find(|l| l.contains(" R      -      4 "));
    assert!(list_row.is_some(), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_bar_never_shows_a_stale_state() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("stale", &["--port", &port.to_string()]);
    wait_ready(&t);
    t.keys(&["s"]);
    t.text("a/b");
    t.keys(&["Enter"]);
    // After the SUBACK the notice says how it went, not `subscribing…`.
    let s = t.wait_until("the granted subscription", |s| {
        s.contains("subscribed to 'a/b' (QoS 0 granted)")
    });
    assert!(
        !s.lines().next().is_some_and(|l| l.contains("subscribing")),
        "{s}"
    );
    // A reconnect: once connected again, the status bar no longer says it is reconnecting.
    t.keys(&["r"]);
    let s = t.wait_until("the reconnect to settle", |s| {
        let status = s.lines().next().unwrap_or_default();
        status.contains("client connected") && !status.contains("reconnecting")
    });
    assert!(s.contains("Sending SUBACK"), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn mqtt5_properties_from_mosquitto_pub_are_labelled_after_the_payload() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("props", &["--port", &port.to_string()]);
    wait_ready(&t);
    publish(
        port,
        "props/t",
        b"payload-first-line",
        &[
            "-V",
            "5",
            "-D",
            "publish",
            "user-property",
            "unit",
            "celsius",
            "-D",
            "publish",
            "content-type",
            "text/plain",
            "-D",
            "publish",
            "response-topic",
            "replies/x",
        ],
    )
    .await;
    let s = t.wait_until("the payload", |s| s.contains("payload-first-line"));
    assert!(s.contains("3 properties at the end"), "{s}");
    for label in [
        "MQTT 5 properties (3):",
        "User Property: unit = celsius",
        "Content Type: text/plain",
        "Response Topic: replies/x",
    ] {
        assert!(s.contains(label), "{label}: {s}");
    }
    // The payload comes first: its row is above the properties.
    let row = |needle: &str| s.lines().position(|l| l.contains(needle));
    assert!(
        row("payload-first-line") < row("MQTT 5 properties (3):"),
        "{s}"
    );
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}
