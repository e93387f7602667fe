//! Issue 12's done-means, end to end: the real workbench in tmux, `mosquitto_pub -q 2` to a
//! `mosquitto_sub -q 2` outside it, the workbench's client pane also subscribed to `mqtt` at
//! QoS 2. Selecting the message and pressing `J` leaves exactly its PUBLISH / PUBREC /
//! PUBREL / PUBCOMP lines in the log, on the publisher's and the subscribers' side; `S` draws
//! the eight arrows of the mosquitto_sub delivery in the order the broker handled them. The
//! workbench's own client is a third lane, with its own four arrows.

use std::process::{Command, Stdio};

use crate::common::{KillOnDrop, have_mosquitto, run_tool};
use crate::tui_tmux::{Tmux, free_port, have_tmux, wait_ready};

/// The arrows of the sequence view on `screen`: (client lane name, points right, label).
fn arrows(screen: &str) -> Vec<(String, bool, String)> {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(h) = lines.iter().position(|l| l.contains("Δ ms")) else {
        return Vec::new();
    };
    let header: Vec<char> = lines[h].chars().collect();
    let mut out = Vec::new();
    for line in &lines[h + 1..] {
        let row: Vec<char> = line.chars().collect();
        // Lane centres: the `│` of this row (the frame's own borders excluded).
        let centres: Vec<usize> = row
            .iter()
            .enumerate()
            .skip(2)
            .take(row.len().saturating_sub(4))
            .filter(|(_, c)| **c == '│')
            .map(|(i, _)| i)
            .collect();
        if centres.len() < 3 || !line.contains(['▶', '◀']) {
            continue;
        }
        let broker = centres[1];
        // The client end: the lane left of the broker, or the first lane right of it that
        // the arrow reaches.
        let lane = if matches!(row.get(broker - 1), Some('─' | '▶' | '◀')) {
            centres[0]
        } else {
            centres
                .iter()
                .copied()
                .skip(2)
                .find(|&c| !matches!(row.get(c + 1), Some('─' | '▶' | '◀')))
                .unwrap_or(broker)
        };
        // The lane's name in the header: the word that covers its centre.
        let mut a = lane;
        while a > 0 && header.get(a - 1).is_some_and(|c| !c.is_whitespace()) {
            a -= 1;
        }
        let mut b = lane;
        while header.get(b).is_some_and(|c| !c.is_whitespace()) {
            b += 1;
        }
        let name: String = header
            .get(a..b)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        let right = line.contains('▶');
        let last = *centres.last().unwrap_or(&0);
        let label: String = row[last + 1..]
            .iter()
            .collect::<String>()
            .trim()
            .trim_end_matches('│')
            .trim()
            .to_owned();
        out.push((name, right, label));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_qos2_message_is_marked_on_both_sides_and_drawn_as_eight_arrows() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let port = free_port();
    let p = port.to_string();
    let t = Tmux::start("journey", &["--port", &p]);
    wait_ready(&t);
    // The client pane subscribes to `mqtt` at QoS 2 as well.
    t.keys(&["s"]);
    t.wait_until("the subscribe prompt", |s| s.contains("Subscribe · QoS 0"));
    t.text("mqtt");
    t.keys(&["Tab", "Tab"]);
    t.wait_until("QoS 2 chosen", |s| s.contains("Subscribe · QoS 2"));
    t.keys(&["Enter"]);
    t.wait_until("the QoS 2 subscription", |s| s.contains("mqtt (QoS 2)"));
    let sub = Command::new("timeout")
        .args(["20", "mosquitto_sub", "-p", &p, "-i", "jsub", "-q", "2"])
        .args(["-t", "mqtt", "-C", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto_sub");
    let _sub = KillOnDrop(sub);
    t.wait_until("mosquitto_sub's SUBACK", |s| {
        s.contains("Sending SUBACK to jsub")
    });
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &p,
            "-i",
            "jpub",
            "-q",
            "2",
            "-t",
            "mqtt",
            "-m",
            "Hello2 mqtt",
        ],
        10,
    )
    .await;
    assert!(ok, "mosquitto_pub: {err}");
    t.wait_until("the message and the end of both deliveries", |s| {
        s.contains("Hello2 mqtt") && s.contains("Received PUBCOMP from jsub")
    });
    // The newest message is the current one: its row shows its packet id, and it is linked
    // to its journey (the log's title names it).
    t.keys(&["2"]);
    let s = t.wait_until("the linked message", |s| s.contains(" marked "));
    let row = s
        .lines()
        .find(|l| l.contains("Hello2") && l.contains(" 2 - "));
    assert!(
        s.contains("Mid") && row.is_some_and(|r| r.contains(" 2 -      1     11 ")),
        "{row:?}\n{s}"
    );
    t.keys(&["J"]);
    let journey = [
        "Received PUBLISH from jpub (d0, q2, r0, m",
        "Sending PUBREC to jpub",
        "Received PUBREL from jpub",
        "Sending PUBCOMP to jpub",
        "Sending PUBLISH to jsub (d0, q2, r0, m",
        "Received PUBREC from jsub",
        "Sending PUBREL to jsub",
        "Received PUBCOMP from jsub",
        "Sending PUBLISH to mqtt-workbench-",
        "Received PUBREC from mqtt-workbench-",
        "Sending PUBREL to mqtt-workbench-",
        "Received PUBCOMP from mqtt-workbench-",
    ];
    // One whole redraw: the title changes with the filter, and a capture taken while the
    // terminal is still being redrawn may show the new title over the old lines.
    let s = t.wait_until("the journey filter, redrawn", |s| {
        s.contains("only (J)") && !s.contains("CONNACK") && journey.iter().all(|l| s.contains(l))
    });
    for line in journey {
        assert_eq!(s.matches(line).count(), 1, "{line:?} once; screen:\n{s}");
    }
    // Nothing but the journey: no connection, subscription or DISCONNECT lines.
    for other in [
        "CONNACK",
        "SUBSCRIBE",
        "SUBACK",
        "New client",
        "DISCONNECT",
        "disconnected",
    ] {
        assert!(!s.contains(other), "{other:?} shown; screen:\n{s}");
    }
    t.keys(&["S"]);
    let s = t.wait_until("the sequence view", |s| s.contains("Sequence of message #"));
    let all = arrows(&s);
    let ours: Vec<(String, bool, String)> = all
        .iter()
        .filter(|(name, _, _)| name == "jpub" || name == "jsub")
        .map(|(n, r, l)| (n.clone(), *r, l.split(" m").next().unwrap_or("").to_owned()))
        .collect();
    let want = [
        ("jpub", true, "PUBLISH q2"),
        ("jpub", false, "PUBREC"),
        ("jpub", true, "PUBREL"),
        ("jsub", true, "PUBLISH q2"),
        ("jpub", false, "PUBCOMP"),
        ("jsub", false, "PUBREC"),
        ("jsub", true, "PUBREL"),
        ("jsub", false, "PUBCOMP"),
    ];
    let want: Vec<(String, bool, String)> = want
        .iter()
        .map(|(n, r, l)| ((*n).to_owned(), *r, (*l).to_owned()))
        .collect();
    assert_eq!(ours, want, "arrows {all:?}; screen:\n{s}");
    // Our own client is the third lane, with its four arrows.
    assert_eq!(all.len(), 12, "{all:?}; screen:\n{s}");
    t.keys(&["Escape"]);
    t.wait_until("the view closed", |s| !s.contains("Sequence of message #"));
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}
