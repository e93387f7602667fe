//! Issue 12 end to end: the real binary in tmux, mosquitto_pub outside it. The packet
//! inspector opens on a PUBLISH log line and shows the bytes the broker really sent, as a
//! byte map; the broker state view marks the workbench's own client.

use crate::common::{have_mosquitto, run_tool};
use crate::tui_tmux::{Tmux, free_port, have_tmux, wait_ready};

#[tokio::test(flavor = "multi_thread")]
async fn inspector_opens_on_a_publish_line_with_its_byte_map_and_b_shows_the_state() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let t = Tmux::start("learn", &["--port", &port.to_string()]);
    wait_ready(&t);
    let p = port.to_string();
    let (ok, _, err) = run_tool(
        &["mosquitto_pub", "-p", &p, "-t", "mqtt", "-m", "Hello2 mqtt"],
        10,
    )
    .await;
    assert!(ok, "mosquitto_pub failed: {err}");
    t.wait_until("the delivery to the client pane in the log", |s| {
        s.contains("Sending PUBLISH to mqtt-workbench")
    });
    // Only the workbench client's lines: the newest is the PUBLISH sent to it.
    t.keys(&["4", "c"]);
    t.text("mqtt-workbench");
    t.keys(&["Enter"]);
    t.keys(&["i"]);
    let s = t.wait_until("the inspector with the byte map", |s| {
        s.contains("Packet inspector") && s.contains("Byte map") && s.contains("Payload")
    });
    assert!(
        s.contains("Log line  Sending PUBLISH to mqtt-workbench"),
        "{s}"
    );
    assert!(s.contains("sent by the broker"), "{s}");
    // The payload's bytes as on the wire, labelled.
    let payload = s
        .lines()
        .find(|l| l.contains("48 65 6c 6c 6f 32 20 6d 71 74 74"))
        .unwrap_or_else(|| panic!("no payload bytes: {s}"));
    assert!(
        payload
            .trim_end_matches(['│', '┐', '┘', ' '])
            .ends_with("Payload"),
        "{payload}"
    );
    let topic = s.lines().find(|l| l.contains("  00 04 6d 71 74 74"));
    assert!(
        topic.is_some_and(|l| l.contains("Topic Name")),
        "the topic's bytes: {s}"
    );
    assert!(s.contains("Topic Name"), "{s}");
    // The broker state view, live: the workbench's client is "you".
    // Each key after Escape waits for its effect: ESC and a quick next key read as Alt-key.
    t.keys(&["Escape"]);
    t.wait_until("the inspector to close", |s| {
        !s.contains("Packet inspector")
    });
    t.keys(&["B"]);
    let s = t.wait_until("the broker state view", |s| {
        s.contains("Broker state") && s.contains("← you")
    });
    assert!(s.contains("sub '#'  QoS 0"), "{s}");
    t.keys(&["Escape"]);
    t.wait_until("the state view to close", |s| !s.contains("Broker state"));
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}
