//! Whole-screen snapshots with ratatui's `TestBackend` at 80x24 and 160x48, and exact-buffer
//! checks of small widgets. Wall-clock times are local, so they are masked.

use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::*;
use crate::tui::app::{Cmd, Pane};
use crate::tui::widgets;

/// The tutorial after `mosquitto_pub -t mqtt -m "Hello2 mqtt"`, plus a JSON sensor and a
/// retained lamp state.
fn tutorial_app() -> App {
    tutorial(app())
}

/// The tutorial on `app`: connected, the broker's log and live counters, three messages.
fn tutorial(mut app: App) -> App {
    app.update(Action::Client(LinkEvent::Connected));
    app.update(Action::Client(LinkEvent::SubAck {
        filter: "#".into(),
        result: Ok(0),
    }));
    tutorial_log(&mut app);
    tutorial_stats(&mut app);
    retained(&mut app, "devices/lamp/state", b"on", at(1, 0));
    message(
        &mut app,
        "sensors/kitchen/temp",
        br#"{"celsius":21.5,"ok":true}"#,
        at(1, 100),
    );
    message(&mut app, "mqtt", b"Hello2 mqtt", at(1, 200));
    app.update(Action::Tick(at(2, 0)));
    app
}

#[test]
fn tutorial_at_160x48() {
    let mut app = tutorial_app();
    let t = screen(&mut app, 160, 48);
    let text = t.backend().to_string();
    assert!(text.contains("Hello2 mqtt"));
    assert!(text.contains("Received PUBLISH from auto-1A2B3C4D (d0, q0, r0, m0, 'mqtt', ..."));
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn tutorial_at_80x24() {
    let mut app = tutorial_app();
    let t = screen(&mut app, 80, 24);
    let text = t.backend().to_string();
    assert!(text.contains("Hello2 mqtt"));
    assert!(text.contains("Received PUBLISH"));
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn json_payload_pretty_printed_at_160x48() {
    let mut app = tutorial_app();
    app.update(Action::Frame);
    // Select sensors/kitchen/temp in the tree.
    let row = app
        .topics()
        .rows()
        .iter()
        .position(|r| r.path.as_deref() == Some("sensors/kitchen/temp"))
        .unwrap();
    for _ in 0..row {
        key(&mut app, 'j');
    }
    let t = screen(&mut app, 160, 48);
    assert!(t.backend().to_string().contains(r#""celsius": 21.5,"#));
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn composer_at_80x24() {
    let mut app = tutorial_app();
    app.update(Action::Cmd(Cmd::Focus(Pane::Messages)));
    key(&mut app, 'p');
    typed(&mut app, "Hello from the workbench");
    let t = screen(&mut app, 80, 24);
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn help_at_160x48() {
    let mut app = tutorial_app();
    key(&mut app, '?');
    let t = screen(&mut app, 160, 48);
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn help_scrolls_to_its_last_line_at_80x24() {
    let mut app = tutorial_app();
    key(&mut app, '?');
    let t = screen(&mut app, 80, 24);
    let first = t.backend().to_string();
    assert!(first.contains("Everywhere"), "{first}");
    assert!(
        first.contains(" of "),
        "the title says which lines show: {first}"
    );
    // The last group (the plot, diff and sequence views) is out of view until End.
    assert!(!first.contains("Plot, diff and sequence views"), "{first}");
    press(&mut app, KeyCode::End, KeyModifiers::NONE);
    let t = screen(&mut app, 80, 24);
    let last = t.backend().to_string();
    assert!(last.contains("Plot, diff and sequence views"), "{last}");
    assert!(!last.contains("Everywhere"), "{last}");
    // Further down stays at the end; g goes back to the top; Esc closes.
    press(&mut app, KeyCode::PageDown, KeyModifiers::NONE);
    assert_eq!(screen(&mut app, 80, 24).backend().to_string(), last);
    key(&mut app, 'g');
    assert_eq!(screen(&mut app, 80, 24).backend().to_string(), first);
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.modal().is_none());
}

#[test]
fn log_zoomed_and_filtered_at_80x24() {
    let mut app = tutorial_app();
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    key(&mut app, 'z');
    key(&mut app, 'c');
    typed(&mut app, "mqtt-workbench-1");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    let t = screen(&mut app, 80, 24);
    let text = t.backend().to_string();
    assert!(!text.contains("auto-1A2B3C4D"));
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn tiny_and_empty_screens_do_not_panic() {
    let mut app = tutorial_app();
    for (w, h) in [(0, 0), (1, 1), (10, 3), (20, 5), (40, 10)] {
        screen(&mut app, w, h);
    }
    key(&mut app, 'p');
    screen(&mut app, 12, 6);
}

#[test]
fn topic_tree_rows_show_counts_and_retained_flag() {
    let mut app = tutorial_app();
    app.update(Action::Cmd(Cmd::Focus(Pane::Messages)));
    app.update(Action::Frame);
    let mut buf = Buffer::empty(Rect::new(0, 0, 30, 10));
    widgets::topic_tree::render(&app, buf.area, &mut buf);
    let lines: Vec<String> = (0..10)
        .map(|y| {
            (0..30)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect();
    assert_eq!(
        lines,
        [
            "┌ Topics (3) ────────────────┐",
            "│  (all topics)         3 3/s│",
            "│▾ devices              1 1/s│",
            "│  ▾ lamp               1 1/s│",
            "│      state          R 1 1/s│",
            "│  mqtt                 1 1/s│",
            "│▾ sensors              1 1/s│",
            "│  ▾ kitchen            1 1/s│",
            "│      temp             1 1/s│",
            "└────────────────────────────┘",
        ]
    );
}

#[test]
fn render_cost_follows_visible_rows_not_history() {
    // A long history renders the same screen as a short one ending the same way: only the
    // newest rows are looked at.
    let mut long = app();
    for i in 0..40_000 {
        message(&mut long, "flood", format!("{i}").as_bytes(), at(1, 0));
        log(
            &mut long,
            BrokerEvent::Notice(format!("line {i}")),
            at(1, 0),
        );
    }
    let t = screen(&mut long, 160, 48);
    let text = t.backend().to_string();
    assert!(text.contains("line 39999"));
    assert!(text.contains("39999"));
    assert!(!text.contains("line 39000"));
}

#[test]
fn profile_picker_at_80x24() {
    let mut app = tutorial(app_with_profiles());
    key(&mut app, 'P');
    key(&mut app, 'j');
    let t = screen(&mut app, 80, 24);
    let text = t.backend().to_string();
    assert!(text.contains("embedded broker") && text.contains("mqtts://broker.lab:8883"));
    assert!(text.contains("alice (password from $LAB_PW)"));
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn profile_editor_at_160x48() {
    let mut app = tutorial(app_with_profiles());
    key(&mut app, 'P');
    key(&mut app, 'j');
    key(&mut app, 'e');
    let t = screen(&mut app, 160, 48);
    let text = t.backend().to_string();
    assert!(text.contains("Edit profile 'lab'") && text.contains("sensors/# @1, devices/+/state"));
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn profile_editor_scrolls_at_80x24() {
    let mut app = tutorial(app_with_profiles());
    key(&mut app, 'P');
    key(&mut app, 'j');
    key(&mut app, 'e');
    press(&mut app, KeyCode::BackTab, KeyModifiers::NONE);
    let t = screen(&mut app, 80, 24);
    assert!(t.backend().to_string().contains("Subscriptions"));
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn profile_connection_failure_at_80x24() {
    let mut app = tutorial(app_with_profiles());
    key(&mut app, 'P');
    key(&mut app, 'j');
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    app.update(Action::Client(LinkEvent::Disconnected(
        "not authorised: check the user name and password (CONNACK 5)".into(),
    )));
    app.update(Action::Client(LinkEvent::Retrying {
        attempt: 2,
        delay: std::time::Duration::from_secs(2),
    }));
    let t = screen(&mut app, 80, 24);
    let text = t.backend().to_string();
    assert!(text.contains("client disconnected 'lab'"), "{text}");
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn mqtt5_properties_are_labelled_and_leave_the_payload_in_view_at_80x24() {
    let mut app = tutorial_app();
    let props: Vec<(String, String)> = [
        ("Payload Format Indicator", "1 (UTF-8 text)"),
        ("Message Expiry Interval", "60 s"),
        ("Response Topic", "replies/lamp"),
        ("Correlation Data", "req-42"),
        ("User Property", "unit = celsius"),
        ("Content Type", "application/json"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    app.update(Action::Client(LinkEvent::Message(IncomingMessage {
        time: at(5, 0),
        topic: "sensors/kitchen/temp".into(),
        payload: Bytes::from_static(b"{\"celsius\": 21.50}"),
        qos: 1,
        retain: false,
        properties: props,
        pkid: 0,
    })));
    let t = screen(&mut app, 80, 24);
    let text = t.backend().to_string();
    // The payload is the first thing in the pane; the title says where the properties are.
    assert!(text.contains("\"celsius\": 21.50"), "{text}");
    assert!(text.contains("6 properties at the end"), "{text}");
    key(&mut app, '3');
    key(&mut app, 'G');
    let text = screen(&mut app, 80, 24).backend().to_string();
    for label in [
        "User Property: unit = celsius",
        "Content Type: application/json",
    ] {
        assert!(text.contains(label), "{label}: {text}");
    }
    press(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
    key(&mut app, 'k');
    key(&mut app, 'k');
    let text = screen(&mut app, 80, 24).backend().to_string();
    assert!(text.contains("MQTT 5 properties (6):"), "{text}");
    assert!(text.contains("Message Expiry Interval: 60 s"), "{text}");
}
