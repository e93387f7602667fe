//! Issue 12's learning views through the real keymap: the packet inspector (`i`/Enter on a
//! log line, bytes from a real capture ring), the broker state view (`B`) and its polling,
//! "Why didn't I receive it?" (`W`), the concept pages (`?` then Tab), with snapshots at
//! 80x24 and 160x48.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;
use crate::broker::capture::{Capture, CaptureLimits, Way};
use crate::broker::event::{Tag, Why};
use crate::broker::router::state::{BrokerState, ClientState, MessageState, SubscriptionState};
use crate::protocol::{ProtocolVersion, QoS, RetainHandling, SubscriptionOptions};
use crate::tui::app::inspector::{Learn, LearnRequest, LearnResult, POLL_EVERY};
use crate::tui::app::{Cmd, Modal, Pane};
use crate::tui::keymap::{BINDINGS, Ctx};

/// `Hello2 mqtt` at QoS 1 on `mqtt`, Packet Identifier 5, as `pub1` sends it.
fn hello_publish() -> Vec<u8> {
    // Topic "mqtt", packet id 5, payload "Hello2 mqtt".
    let mut v = vec![0x32, 0x13, 0x00, 0x04];
    v.extend_from_slice(b"mqtt");
    v.extend_from_slice(&[0x00, 0x05]);
    v.extend_from_slice(b"Hello2 mqtt");
    v
}

fn publish_event(client: &str, pkid: u16, len: usize) -> BrokerEvent {
    BrokerEvent::PublishReceived {
        client: client.into(),
        flags: PublishFlags {
            dup: false,
            qos: 1,
            retain: false,
            pkid,
        },
        topic: "mqtt".into(),
        len,
    }
}

/// The log with two PUBLISH lines from `pub1` (ids 5, then 5 again) and the broker's capture
/// of both; the log pane focused, following the newest line.
fn inspected_app() -> (App, Arc<Capture>) {
    let mut app = app();
    let cap = Capture::new(CaptureLimits::default());
    let client: Arc<str> = "pub1".into();
    let first = hello_publish();
    let mut second = hello_publish();
    second[10..16].copy_from_slice(b"HELLO2");
    for (n, bytes) in [first, second].iter().enumerate() {
        cap.record(&client, Way::In, ProtocolVersion::V311, bytes);
        log(&mut app, publish_event("pub1", 5, 11), at(1, n as u64 * 10));
        log(
            &mut app,
            BrokerEvent::PubAckSent {
                client: client.clone(),
                pkid: 5,
                rc: 0,
            },
            at(1, n as u64 * 10 + 1),
        );
    }
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    (app, cap)
}

fn capture_request(effects: &[Effect]) -> crate::tui::app::inspector::CaptureRequest {
    match effects {
        [Effect::Learn(LearnRequest::Capture(r))] => r.clone(),
        other => panic!("expected one capture request, got {other:?}"),
    }
}

fn packet_lines(app: &App) -> Vec<String> {
    match app.modal() {
        Some(Modal::Learn(l)) => match &**l {
            Learn::Packet(v) => v.lines.clone(),
            other => panic!("not the inspector: {other:?}"),
        },
        other => panic!("no learning view: {other:?}"),
    }
}

#[test]
fn i_on_a_log_line_finds_its_own_bytes_and_shows_what_decode_prints() {
    let (mut app, cap) = inspected_app();
    // Scroll up to the first PUBLISH line: the PUBACK, the second PUBLISH and the second
    // PUBACK are newer.
    for _ in 0..3 {
        key(&mut app, 'k');
    }
    let req = capture_request(&key(&mut app, 'i'));
    assert_eq!(&*req.client, "pub1");
    assert_eq!(req.way, Way::In);
    assert_eq!(req.newer, 1, "one newer PUBLISH m5 from pub1");
    let found = req.find(&cap);
    assert_eq!(
        found.as_ref().map(|c| c.bytes.to_vec()),
        Ok(hello_publish())
    );
    app.update(Action::Learn(LearnResult::Captured(found)));
    let lines = packet_lines(&app).join("\n");
    let decode = crate::inspect::render::render(&crate::inspect::inspect(
        &hello_publish(),
        ProtocolVersion::V311,
    ));
    assert!(
        lines.contains(decode.trim_end()),
        "the inspector prints what decode prints:\n{lines}"
    );
    assert!(lines.contains("Byte map"));
    assert!(lines.contains("'Hello2 mqtt'") || lines.contains("Hello2 mqtt"));
    assert!(lines.contains("21 of 21 captured"), "{lines}");
    // Esc closes; Enter on the newest line opens the inspector on the PUBACK.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.modal().is_none());
    key(&mut app, 'G');
    let req = capture_request(&press(&mut app, KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!((req.packet_type, req.way, req.newer), (4, Way::Out, 0));
}

#[test]
fn bytes_that_are_gone_or_do_not_agree_are_not_shown() {
    let (mut app, cap) = inspected_app();
    key(&mut app, 'k');
    let req = capture_request(&key(&mut app, 'i'));
    // The second PUBLISH's bytes say HELLO2 but the same length: they agree with the line.
    assert!(req.find(&cap).is_ok());
    // A capture that kept other bytes under the same key (a different topic) disagrees.
    let other = Capture::new(CaptureLimits::default());
    let mut wrong = hello_publish();
    wrong[4..8].copy_from_slice(b"mqtx");
    other.record(&"pub1".into(), Way::In, ProtocolVersion::V311, &wrong);
    app.update(Action::Learn(LearnResult::Captured(req.find(&other))));
    let lines = packet_lines(&app).join(" ");
    assert!(
        lines.contains("does not agree with the log line (topic \"mqtx\" (4 bytes))"),
        "{lines}"
    );
    assert!(!lines.contains("Byte map"), "{lines}");
    assert!(lines.contains("Fields from the log line"));
    assert!(lines.contains("Packet Identifier"));
    // An empty capture: the bytes are gone, said plainly, with the line's fields.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    let req = capture_request(&key(&mut app, 'i'));
    let empty = Capture::new(CaptureLimits::default());
    app.update(Action::Learn(LearnResult::Captured(req.find(&empty))));
    let lines = packet_lines(&app).join("\n");
    assert!(lines.contains("no longer kept"), "{lines}");
    assert!(lines.contains("'mqtt'"), "{lines}");
}

#[test]
fn a_line_that_is_no_packet_asks_for_no_bytes_and_still_says_why() {
    let mut app = app();
    log(&mut app, BrokerEvent::Notice("hello".into()), at(1, 0));
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    assert!(key(&mut app, 'i').is_empty());
    let lines = packet_lines(&app).join("\n");
    assert!(lines.contains("not about one packet"), "{lines}");
    assert!(!lines.contains("Why (from the log line)"), "{lines}");
    // A keep-alive timeout alone does not say whether the client had a will: no guess.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    log(
        &mut app,
        BrokerEvent::KeepAliveTimeout("dev1".into()),
        at(2, 0),
    );
    assert!(key(&mut app, 'i').is_empty());
    let lines = packet_lines(&app).join("\n");
    assert!(!lines.contains("Will sent"), "{lines}");
    // The line the broker writes when it does publish the will carries the exact note.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    let mut entry = LogEntry::new(
        at(2, 1),
        BrokerEvent::WillPublished {
            client: "dev1".into(),
            topic: "dev1/status".into(),
            qos: 1,
            retain: false,
            len: 7,
        },
    );
    entry.tag = Tag::msg(7).why(Why::WillSent("the keep-alive ran out"));
    app.update(Action::Broker(entry));
    assert!(key(&mut app, 'i').is_empty());
    let lines = packet_lines(&app).join("\n");
    assert!(
        lines.contains("Why (the broker's note on this line)"),
        "{lines}"
    );
    assert!(lines.contains("the keep-alive ran out"), "{lines}");
    assert!(lines.contains("[MQTT311-3.1.2-8]"), "{lines}");
}

#[test]
fn a_retained_delivery_without_its_bytes_still_explains_retain() {
    let mut app = app();
    let ev = BrokerEvent::PublishSent {
        client: "sub1".into(),
        flags: PublishFlags {
            dup: false,
            qos: 0,
            retain: true,
            pkid: 0,
        },
        topic: "lamp".into(),
        len: 2,
    };
    log(&mut app, ev, at(1, 0));
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    let req = capture_request(&key(&mut app, 'i'));
    let empty = Capture::new(CaptureLimits::default());
    app.update(Action::Learn(LearnResult::Captured(req.find(&empty))));
    let lines = packet_lines(&app).join("\n");
    assert!(
        lines.contains("- RETAIN on live and subscribe-time delivery:"),
        "{lines}"
    );
    assert!(lines.contains("RETAIN                   1"), "{lines}");
}

#[test]
fn inspector_at_80x24_and_160x48() {
    for (w, h) in [(80, 24), (160, 48)] {
        let (mut app, cap) = inspected_app();
        key(&mut app, 'k');
        let req = capture_request(&key(&mut app, 'i'));
        app.update(Action::Learn(LearnResult::Captured(req.find(&cap))));
        let t = screen(&mut app, w, h);
        let text = t.backend().to_string();
        assert!(text.contains("Packet inspector"));
        assert!(text.contains("Topic Name"));
        let name = format!("inspector_at_{w}x{h}");
        settings().bind(|| insta::assert_snapshot!(name, t.backend()));
    }
}

fn opts(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: RetainHandling::SendAtSubscribe,
    }
}

fn sub(filter: &str, o: SubscriptionOptions) -> SubscriptionState {
    SubscriptionState {
        filter: filter.into(),
        options: o,
        id: None,
        group: Vec::new(),
        group_next: None,
    }
}

fn client(id: &str, online: bool, subs: Vec<SubscriptionState>) -> ClientState {
    ClientState {
        client_id: id.into(),
        online,
        version: ProtocolVersion::V5,
        username: None,
        session_expiry: if online { 0 } else { u32::MAX },
        will: false,
        max_packet_size: None,
        subscriptions: subs,
        inflight: Vec::new(),
        inflight_count: 0,
        queued: Vec::new(),
        queued_count: 0,
        may_read: None,
    }
}

fn queued(topic: &str) -> MessageState {
    MessageState {
        topic: topic.into(),
        qos: 1,
        retain: false,
        len: 9,
        packet_id: None,
        released: false,
        expires_in: None,
    }
}

/// The workbench's client on `#`, a persistent `keeper` offline with two queued messages,
/// and a `watcher` with No Local, RAP and a Subscription Identifier, ACL-denied on the topic.
fn broker_state(topic: Option<&str>) -> BrokerState {
    let mut keeper = client(
        "keeper",
        false,
        vec![sub("sensors/#", opts(QoS::AtLeastOnce))],
    );
    keeper.version = ProtocolVersion::V311;
    keeper.queued = vec![queued("sensors/t1"), queued("sensors/t2")];
    keeper.queued_count = 2;
    keeper.will = true;
    let mut watch = sub(
        "sensors/+",
        SubscriptionOptions {
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
            ..opts(QoS::ExactlyOnce)
        },
    );
    watch.id = Some(7);
    let mut watcher = client(
        "watcher",
        true,
        vec![watch, sub("lights/#", opts(QoS::AtMostOnce))],
    );
    watcher.max_packet_size = Some(1024);
    let me = client(
        "mqtt-workbench-1",
        true,
        vec![sub("#", opts(QoS::AtMostOnce))],
    );
    let check = |c: &mut ClientState, ok: bool| c.may_read = topic.map(|_| ok);
    check(&mut keeper, true);
    check(&mut watcher, false);
    let mut me = me;
    check(&mut me, true);
    BrokerState {
        clients: vec![keeper, me, watcher],
        retained: vec![MessageState {
            retain: true,
            ..queued("sensors/config")
        }],
        retained_count: 1,
        max_queued_messages: 1000,
        max_inflight_messages: 20,
        topic: topic.map(Arc::from),
    }
}

fn state_poll(effects: &[Effect]) -> (Option<String>, Duration, u64) {
    match effects {
        [Effect::Learn(LearnRequest::State { topic, after, poll })] => {
            (topic.clone(), *after, *poll)
        }
        other => panic!("expected one state request, got {other:?}"),
    }
}

/// The CONNECT log line that gives `keeper` its keep-alive in the state view.
fn keeper_connected(app: &mut App) {
    let ev = BrokerEvent::ClientConnected {
        peer: peer(40100),
        client: "keeper".into(),
        protocol: 4,
        clean: false,
        keep_alive: 30,
        username: None,
    };
    log(app, ev, at(0, 500));
}

#[test]
fn b_polls_the_broker_state_while_open_and_never_after() {
    let mut app = app();
    keeper_connected(&mut app);
    let (topic, after, poll) = state_poll(&key(&mut app, 'B'));
    assert_eq!((topic, after), (None, Duration::ZERO));
    let next = app.update(Action::Learn(LearnResult::State(
        poll,
        Some(Box::new(broker_state(None))),
    )));
    let (_, after, again) = state_poll(&next);
    assert_eq!((after, again), (POLL_EVERY, poll), "about 4 Hz while open");
    let text = screen(&mut app, 160, 48).backend().to_string();
    assert!(
        text.contains("mqtt-workbench-1  connected  ← you"),
        "{text}"
    );
    assert!(text.contains("keeper  offline, session kept"));
    assert!(
        text.contains("MQTT 3.1.1, keep-alive 30 s, will set"),
        "{text}"
    );
    assert!(text.contains("Retain Handling 2 (never)"));
    assert!(text.contains("Subscription Identifier 7"));
    assert!(text.contains("⋯ 'sensors/t2' QoS 1 9 bytes"));
    // An answer for an older poll (a view closed and opened again) starts no second loop.
    assert!(
        app.update(Action::Learn(LearnResult::State(poll + 1000, None)))
            .is_empty()
    );
    // Closed: the answer in flight is dropped and nothing more is asked.
    key(&mut app, 'q');
    assert!(app.modal().is_none());
    assert!(!app.quit(), "q closes the view, it does not quit");
    let after_close = app.update(Action::Learn(LearnResult::State(
        poll,
        Some(Box::new(broker_state(None))),
    )));
    assert!(after_close.is_empty(), "no polling while closed");
}

#[test]
fn b_finds_every_clients_keep_alive_past_newer_lines_of_departed_clients() {
    // Review item 17: our own client connected first; later clients that have gone since
    // (not in the snapshot) connected after it. The state view still finds its keep-alive.
    let mut app = app();
    let connected = |client: &str, keep_alive| BrokerEvent::ClientConnected {
        peer: peer(40200),
        client: client.into(),
        protocol: 4,
        clean: true,
        keep_alive,
        username: None,
    };
    log(&mut app, connected("mqtt-workbench-1", 45), at(0, 100));
    keeper_connected(&mut app);
    for i in 0..3 {
        log(
            &mut app,
            connected(&format!("gone-{i}"), 10),
            at(0, 600 + i),
        );
    }
    log(&mut app, connected("watcher", 20), at(0, 700));
    let (_, _, poll) = state_poll(&key(&mut app, 'B'));
    app.update(Action::Learn(LearnResult::State(
        poll,
        Some(Box::new(broker_state(None))),
    )));
    let text = screen(&mut app, 160, 48).backend().to_string();
    assert!(text.contains("keep-alive 45 s"), "{text}");
    assert!(text.contains("keep-alive 30 s"), "{text}");
    assert!(text.contains("keep-alive 20 s"), "{text}");
    assert!(!text.contains("keep-alive unknown"), "{text}");
}

#[test]
fn in_the_why_view_e_types_a_new_topic_instead_of_appending_to_the_current_one() {
    // Review item 17: the topic field starts empty; Enter on it keeps the current topic.
    let mut app = app();
    message(&mut app, "sensors/t1", b"21.5", at(1, 0));
    app.update(Action::Frame);
    state_poll(&key(&mut app, 'W'));
    let topic = |app: &App| match app.modal() {
        Some(Modal::Learn(l)) => match &**l {
            Learn::Why(v) => (v.topic().to_owned(), v.prompt().is_some()),
            other => panic!("not the why view: {other:?}"),
        },
        other => panic!("no learning view: {other:?}"),
    };
    assert_eq!(topic(&app), ("sensors/t1".to_owned(), false));
    key(&mut app, 'e');
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(topic(&app), ("sensors/t1".to_owned(), false));
    key(&mut app, 'e');
    typed(&mut app, "lights/l2");
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(topic(&app), ("lights/l2".to_owned(), false));
    assert_eq!(state_poll(&fx).0.as_deref(), Some("lights/l2"));
}

#[test]
fn without_the_embedded_broker_b_and_w_say_why_and_ask_nothing() {
    let mut app = App::new(StartInfo::default(), Limits::default());
    for k in ['B', 'W'] {
        assert!(key(&mut app, k).is_empty(), "no state request");
        match app.modal() {
            Some(Modal::Learn(l)) => match &**l {
                Learn::Note(n) => assert!(n.lines.join(" ").contains("need the embedded broker")),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
        assert!(app.modal().is_none());
    }
    // An empty log: the inspector says so.
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    assert!(key(&mut app, 'i').is_empty());
    assert!(matches!(app.modal(), Some(Modal::Learn(l)) if matches!(&**l, Learn::Note(_))));
}

#[test]
fn state_view_at_80x24_and_160x48() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = app();
        keeper_connected(&mut app);
        let (_, _, poll) = state_poll(&key(&mut app, 'B'));
        app.update(Action::Learn(LearnResult::State(
            poll,
            Some(Box::new(broker_state(None))),
        )));
        let t = screen(&mut app, w, h);
        let name = format!("state_view_at_{w}x{h}");
        settings().bind(|| insta::assert_snapshot!(name, t.backend()));
    }
}

#[test]
fn w_explains_every_subscription_for_the_selected_topic() {
    let mut app = app();
    message(&mut app, "sensors/t1", b"21.5", at(1, 0));
    app.update(Action::Frame);
    let (topic, _, poll) = state_poll(&key(&mut app, 'W'));
    assert_eq!(topic.as_deref(), Some("sensors/t1"));
    app.update(Action::Learn(LearnResult::State(
        poll,
        Some(Box::new(broker_state(Some("sensors/t1")))),
    )));
    let lines = why_lines(&app);
    let text = lines.join("\n");
    assert!(text.contains("3 of 4 subscriptions match"), "{text}");
    assert!(text.contains("MATCH    'sensors/#'"));
    assert!(text.contains("no match 'lights/#'"));
    assert!(
        text.contains("level 1: 'lights' differs from 'sensors'"),
        "{text}"
    );
    assert!(
        text.contains("ACL: 'watcher' may not read this topic: nothing is sent"),
        "{text}"
    );
    assert!(text.contains("No Local: not sent back when 'watcher' publishes"));
    assert!(text.contains("Maximum Packet Size 1024"));
    assert!(text.contains("offline: QoS 1 and 2 wait in the session"));
    assert!(text.contains("arrives at QoS 0 at most"));
    assert!(text.contains("mqtt-workbench-1 (you), connected"));
    // Type another topic: `e`, the text, Enter. A new poll asks with the new topic.
    key(&mut app, 'e');
    for _ in 0..20 {
        press(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    }
    typed(&mut app, "$SYS/broker/uptime");
    let (topic, after, poll2) = state_poll(&press(&mut app, KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(topic.as_deref(), Some("$SYS/broker/uptime"));
    assert_eq!(after, Duration::ZERO);
    assert_ne!(poll2, poll);
    app.update(Action::Learn(LearnResult::State(
        poll2,
        Some(Box::new(broker_state(Some("$SYS/broker/uptime")))),
    )));
    let text = why_lines(&app).join("\n");
    assert!(text.contains("0 of 4 subscriptions match"), "{text}");
    assert!(text.contains("never matches a '$' topic"), "{text}");
    assert!(
        text.contains("nobody receives it [No matching subscription"),
        "{text}"
    );
    // A wildcard is no topic name: refused, the old topic stays.
    key(&mut app, 'e');
    typed(&mut app, "/+");
    assert!(press(&mut app, KeyCode::Enter, KeyModifiers::NONE).is_empty());
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(why_lines(&app)[0].contains("$SYS/broker/uptime"));
}

fn why_lines(app: &App) -> Vec<String> {
    match app.modal() {
        Some(Modal::Learn(l)) => match &**l {
            Learn::Why(v) => v.lines().to_vec(),
            other => panic!("not the why view: {other:?}"),
        },
        other => panic!("no learning view: {other:?}"),
    }
}

#[test]
fn why_view_at_80x24_and_160x48() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = app();
        message(&mut app, "sensors/t1", b"21.5", at(1, 0));
        app.update(Action::Frame);
        let (_, _, poll) = state_poll(&key(&mut app, 'W'));
        app.update(Action::Learn(LearnResult::State(
            poll,
            Some(Box::new(broker_state(Some("sensors/t1")))),
        )));
        let t = screen(&mut app, w, h);
        let name = format!("why_view_at_{w}x{h}");
        settings().bind(|| insta::assert_snapshot!(name, t.backend()));
    }
}

#[test]
fn concept_pages_open_from_help_and_page_with_tab() {
    let mut app = app();
    key(&mut app, '?');
    assert!(matches!(app.modal(), Some(Modal::Help { .. })));
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    let page = |app: &App| match app.modal() {
        Some(Modal::Learn(l)) => match &**l {
            Learn::Concepts(c) => c.page,
            _ => usize::MAX,
        },
        _ => usize::MAX,
    };
    assert_eq!(page(&app), 0);
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(page(&app), 1);
    press(&mut app, KeyCode::BackTab, KeyModifiers::NONE);
    press(&mut app, KeyCode::BackTab, KeyModifiers::NONE);
    assert_eq!(page(&app), 6, "wraps to the last page");
    for (w, h) in [(80, 24), (160, 48)] {
        let t = screen(&mut app, w, h);
        assert!(t.backend().to_string().contains("MQTT 5 properties"));
        let name = format!("concepts_at_{w}x{h}");
        settings().bind(|| insta::assert_snapshot!(name, t.backend()));
    }
}

/// Every concept page names keys that exist, for what they really do, and only clauses that
/// exist in the version they cite.
#[test]
fn concept_pages_name_real_keys_views_and_clauses() {
    use crate::tui::app::inspector::CONCEPTS;
    let mut named = 0;
    for (file, text) in CONCEPTS {
        let see = text
            .split("## See it")
            .nth(1)
            .unwrap_or_else(|| panic!("{file}: no '## See it' section"));
        let mut here = 0;
        for line in see.lines().filter(|l| l.starts_with("- `")) {
            let rest = &line[3..];
            let (k, what) = rest
                .split_once("`: ")
                .unwrap_or_else(|| panic!("{file}: {line}"));
            let view = what.split(" (").next().unwrap_or(what).to_lowercase();
            let mut chars = k.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                panic!("{file}: not one key: {k}");
            };
            let bound = BINDINGS.iter().any(|b| {
                b.code == KeyCode::Char(c)
                    && b.ctx != Ctx::Learn
                    && !b.help.is_empty()
                    && b.help.to_lowercase().contains(&view)
            });
            assert!(bound, "{file}: `{c}` is not bound to '{view}'");
            here += 1;
        }
        assert!(here > 0, "{file}: names no view");
        named += here;
        for (at, _) in text.match_indices("[MQTT") {
            let id = &text[at..=at + text[at..].find(']').unwrap_or(0)];
            assert!(crate::inspect::clause::is_known(id), "{file}: {id}");
        }
        for tag in ["MQTT311 §", "MQTT5 §"] {
            for (at, _) in text.match_indices(tag) {
                let rest = &text[at + tag.len()..];
                let n: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let id = format!("{tag}{}", n.trim_end_matches('.'));
                assert!(crate::inspect::clause::is_known(&id), "{file}: {id}");
            }
        }
        assert!(!text.contains("[MQTT-"), "{file}: an untagged clause id");
    }
    assert!(named >= 14, "{named}");
    // The check can fail: a key that does nothing of the kind.
    let fake = BINDINGS
        .iter()
        .any(|b| b.code == KeyCode::Char('B') && b.help.contains("publish"));
    assert!(!fake);
}
