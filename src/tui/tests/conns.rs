//! Several connections (issue 14) through the real keymap: a profile opens beside the
//! embedded connection, `c` lists them, `{`/`}` step, parked connections keep collecting,
//! the log pane shows the client trace of a connection to another broker, and a profile's
//! decoders show Sparkplug B payloads. Snapshots at 80x24 and 160x48.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;
use crate::profile::{DecoderKind, DecoderSpec};
use crate::tui::app::inspector::Learn;
use crate::tui::app::{ConnectTo, Modal, Pane, Target};
use crate::tui::decode::{Decoders, sparkplug};
use crate::tui::trace::TraceRow;
use crate::tui::widgets;

fn msg(topic: &str, payload: &[u8], time: SystemTime) -> LinkEvent {
    LinkEvent::Message(IncomingMessage {
        time,
        topic: topic.into(),
        payload: Bytes::copy_from_slice(payload),
        qos: 0,
        pkid: 0,
        retain: false,
        properties: Vec::new(),
    })
}

/// The embedded connection with two messages, then the `lab` profile opened from the picker.
fn two_connections() -> App {
    let mut app = app_with_profiles();
    app.update(Action::ConnEvent(0, LinkEvent::Connected));
    app.update(Action::ConnEvent(0, msg("plant/1/temp", b"20.5", at(1, 0))));
    app.update(Action::ConnEvent(0, msg("plant/2/temp", b"19", at(1, 10))));
    key(&mut app, 'P');
    key(&mut app, 'j');
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        matches!(fx.as_slice(), [Effect::Connect(ConnectTo::Profile { profile, .. })] if profile.name == "lab"),
        "{fx:?}"
    );
    app
}

#[test]
fn a_profile_opens_beside_and_switching_keeps_both_histories() {
    let mut app = two_connections();
    assert_eq!((app.conns().len(), app.conns().active()), (2, 1));
    assert_eq!(*app.link().target(), Target::Profile("lab".into()));
    assert_eq!(app.topics().count(), 0);
    // The profile connects: its subscriptions go to its own (shown) link.
    let fx = app.update(Action::ConnEvent(1, LinkEvent::Connected));
    assert_eq!(fx.len(), 2, "{fx:?}");
    assert!(fx.iter().all(|e| matches!(e, Effect::Subscribe { .. })));
    app.update(Action::ConnEvent(1, msg("sensors/a", b"1", at(2, 0))));
    // The embedded connection keeps receiving while it is not shown ...
    app.update(Action::ConnEvent(0, msg("plant/3/temp", b"18", at(2, 5))));
    assert_eq!(
        app.messages().ring().len(),
        1,
        "only lab's message is shown"
    );
    // ... and a reconnect there subscribes its own link, not the shown one.
    let fx = app.update(Action::ConnEvent(0, LinkEvent::Connected));
    assert!(
        matches!(fx.as_slice(), [Effect::OnConn(0, e)] if matches!(&**e, Effect::Subscribe { filter, .. } if filter == "#")),
        "{fx:?}"
    );
    let rows = app.conns().rows(app.topics(), app.messages(), app.link());
    let counts: Vec<_> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.messages, r.topics, r.unseen, r.active))
        .collect();
    assert_eq!(
        counts,
        [("embedded", 3, 3, 1, false), ("lab", 1, 1, 0, true)]
    );
    // `{` shows the embedded connection with everything it collected.
    assert!(key(&mut app, '{').is_empty());
    assert_eq!(app.conns().active(), 0);
    assert_eq!(*app.link().target(), Target::Embedded);
    assert_eq!((app.messages().ring().len(), app.topics().count()), (3, 3));
    assert!(
        app.notice()
            .is_some_and(|n| n.contains("connection 1/2: embedded"))
    );
    // `}` (cycling) goes back to lab, whose history is intact.
    key(&mut app, '}');
    assert_eq!(app.conns().active(), 1);
    assert_eq!(app.messages().ring().len(), 1);
    assert_eq!(
        app.messages().current().map(|m| m.topic.to_string()),
        Some("sensors/a".into())
    );
    // Picking lab again in the picker shows it; nothing new is connected.
    key(&mut app, 'P');
    key(&mut app, 'j');
    key(&mut app, 'j');
    key(&mut app, 'k');
    assert!(press(&mut app, KeyCode::Enter, KeyModifiers::NONE).is_empty());
    assert_eq!(app.conns().len(), 2);
}

#[test]
fn the_hidden_embedded_connection_still_marks_retained_topics() {
    let mut app = two_connections();
    let flags = crate::broker::event::PublishFlags {
        retain: true,
        ..publish_flags()
    };
    let publish = BrokerEvent::PublishReceived {
        client: "sensor".into(),
        flags,
        topic: "plant/1/temp".into(),
        len: 4,
    };
    log(&mut app, publish, at(3, 0));
    assert_eq!(app.topics().count(), 0, "lab's tree is not touched");
    key(&mut app, '{');
    app.update(Action::Frame);
    let node = crate::tui::app::node_ref(app.topics().tree(), "plant/1/temp").unwrap();
    assert!(node.stats.as_ref().is_some_and(|s| s.retained));
}

#[test]
fn the_connections_list_switches_and_closes_but_never_the_shown_one() {
    let mut app = two_connections();
    key(&mut app, 'c');
    assert!(matches!(app.modal(), Some(Modal::Conns { cursor: 1 })));
    // The shown connection cannot be closed from the list.
    assert!(key(&mut app, 'x').is_empty());
    assert_eq!(app.conns().len(), 2);
    key(&mut app, 'k');
    assert!(matches!(app.modal(), Some(Modal::Conns { cursor: 0 })));
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(app.modal().is_none());
    assert_eq!(app.conns().active(), 0);
    assert_eq!(app.messages().ring().len(), 2);
    // Close lab from the list: its link is stopped.
    key(&mut app, 'c');
    key(&mut app, 'j');
    assert_eq!(key(&mut app, 'x'), [Effect::CloseConn(1)]);
    assert_eq!(app.conns().len(), 1);
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.modal().is_none());
    // Its late events are ignored.
    assert!(
        app.update(Action::ConnEvent(1, LinkEvent::Connected))
            .is_empty()
    );
    assert_eq!(app.messages().ring().len(), 2);
}

#[test]
fn the_log_pane_shows_the_client_trace_of_a_connection_to_another_broker() {
    let mut app = two_connections();
    let row = |line: &str| TraceRow::new(at(3, 0), line.to_owned());
    for line in [
        "Client wb sending CONNECT",
        "Client wb received CONNACK (0)",
        "Client wb sending SUBSCRIBE (Mid: 1, Topic: sensors/#, QoS: 1, Options: 0x00)",
        "Client wb received SUBACK",
        "Client wb received PUBLISH (d0, q0, r0, m0, 'sensors/a', ... (1 bytes))",
    ] {
        app.update(Action::ConnEvent(1, LinkEvent::Trace(row(line))));
    }
    // Trace rows of a parked connection go to its own trace.
    app.update(Action::ConnEvent(
        0,
        LinkEvent::Trace(row("Client other sending PINGREQ")),
    ));
    let trace = app.conns().shown_trace().expect("lab's trace is shown");
    let packets: Vec<_> = trace.rows().map(|r| r.packet.as_str()).collect();
    assert_eq!(
        packets,
        ["CONNECT", "CONNACK", "SUBSCRIBE", "SUBACK", "PUBLISH"]
    );
    assert_eq!(
        trace.rows().nth(2).and_then(|r| r.field("Topic Filter")),
        Some("sensors/#")
    );
    let t = screen(&mut app, 80, 24);
    let text = t.backend().to_string();
    assert!(text.contains("Client trace · lab (5 packets)"), "{text}");
    assert!(text.contains("Client wb received SUBACK"), "{text}");
    // The embedded connection has the broker's log instead.
    key(&mut app, '{');
    assert!(app.conns().shown_trace().is_none());
    let text = screen(&mut app, 80, 24).backend().to_string();
    assert!(text.contains("Broker log"), "{text}");
}

#[test]
fn i_on_the_client_trace_inspects_its_newest_packet_row_with_fields_only() {
    // Review item 2: with the log pane showing a client trace (a connection to another
    // broker), `i` opens the inspector on the trace's row, not on an embedded broker line.
    let mut app = two_connections();
    app.update(Action::Broker(crate::broker::LogEntry::new(
        at(2, 0),
        BrokerEvent::Notice("an embedded broker line".into()),
    )));
    for line in [
        "Client wb sending SUBSCRIBE (Mid: 1, Topic: sensors/#, QoS: 1, Options: 0x00)",
        "Client wb received PUBLISH (d0, q1, r0, m4, 'sensors/a', ... (5 bytes))",
    ] {
        let row = TraceRow::new(at(3, 0), line.to_owned());
        app.update(Action::ConnEvent(1, LinkEvent::Trace(row)));
    }
    key(&mut app, '4');
    key(&mut app, 'i');
    let Some(Modal::Learn(l)) = app.modal() else {
        panic!("no inspector: {:?}", app.modal())
    };
    let Learn::TraceRow(v) = &**l else {
        panic!("not the trace row: {l:?}")
    };
    let text = v.lines.join("\n");
    assert!(text.contains("PUBLISH received by client 'wb'"), "{text}");
    assert!(text.contains("Topic Name"), "{text}");
    assert!(text.contains("sensors/a"), "{text}");
    assert!(text.contains("Packet Identifier      4"), "{text}");
    assert!(text.contains("Only the fields are shown"), "{text}");
    assert!(!text.contains("an embedded broker line"), "{text}");
    // The trace has a cursor: k selects the SUBSCRIBE row and i inspects it.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    key(&mut app, 'k');
    key(&mut app, 'i');
    let Some(Modal::Learn(l)) = app.modal() else {
        panic!("no inspector: {:?}", app.modal())
    };
    let Learn::TraceRow(v) = &**l else {
        panic!("not the trace row: {l:?}")
    };
    let text = v.lines.join("\n");
    assert!(text.contains("SUBSCRIBE sent by client 'wb'"), "{text}");
    assert!(text.contains("sensors/#"), "{text}");
}

#[test]
fn the_client_trace_has_milliseconds_and_marks_the_time_it_was_not_shown() {
    // Review item 13: the trace's times carry milliseconds like the broker log, and the
    // packets missed while another connection was shown are named by a gap line.
    let mut app = two_connections();
    let trace = |app: &mut App, ms: u64, line: &str| {
        let row = TraceRow::new(at(3, ms), line.to_owned());
        app.update(Action::ConnEvent(1, LinkEvent::Trace(row)));
    };
    trace(&mut app, 250, "Client wb sending PINGREQ");
    key(&mut app, '{');
    assert!(app.conns().shown_trace().is_none());
    key(&mut app, '}');
    trace(&mut app, 875, "Client wb sending PINGREQ");
    let text = screen(&mut app, 160, 24).backend().to_string();
    let stamp = |ms| super::super::widgets::clock(at(3, ms), true);
    assert!(
        text.contains(&format!("{} Client wb sending PINGREQ", stamp(875))),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "since {}: packets in between were not traced",
            stamp(250)
        )),
        "{text}"
    );
}

fn sparkplug_app() -> App {
    let mut app = two_connections();
    let (decoders, errors) = Decoders::load(
        &[DecoderSpec {
            filter: "spBv1.0/#".into(),
            kind: DecoderKind::Sparkplug,
            proto: None,
            message: None,
        }],
        std::path::Path::new("."),
    );
    assert!(errors.is_empty());
    app.update(Action::ConnDecoders(1, Arc::new(decoders), Vec::new()));
    app.update(Action::ConnEvent(1, LinkEvent::Connected));
    let payload = sparkplug::tests_sample();
    app.update(Action::ConnEvent(
        1,
        msg("spBv1.0/plant/NDATA/edge1", &payload, at(4, 0)),
    ));
    app.update(Action::Tick(at(5, 0)));
    app
}

#[test]
fn a_profile_decoder_shows_sparkplug_and_the_raw_bytes_stay_one_key_away() {
    let mut app = sparkplug_app();
    app.update(Action::Frame);
    let rows = &app.messages().payload_rows().rows;
    assert!(
        rows[0].starts_with("(sparkplug decoder for 'spBv1.0/#'"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("Line/Temperature [alias 3]: Double = 21.5"))
    );
    assert!(
        rows.iter().any(|r| r.starts_with("raw bytes (")),
        "{rows:?}"
    );
    // `m` in the payload pane: the plain views, starting with text.
    app.update(Action::Cmd(crate::tui::app::Cmd::Focus(Pane::Payload)));
    key(&mut app, 'm');
    app.update(Action::Frame);
    assert!(!app.messages().payload_rows().rows[0].starts_with("(sparkplug"));
    // Decoders belong to their connection: the embedded one shows no Sparkplug view.
    key(&mut app, '{');
    app.update(Action::ConnEvent(
        0,
        msg(
            "spBv1.0/plant/NDATA/edge1",
            &sparkplug::tests_sample(),
            at(5, 0),
        ),
    ));
    app.update(Action::Frame);
    assert!(!app.messages().payload_rows().rows[0].starts_with("(sparkplug"));
}

#[test]
fn connections_list_at_80x24() {
    let mut app = two_connections();
    app.update(Action::ConnEvent(1, LinkEvent::Connected));
    app.update(Action::ConnEvent(0, msg("plant/3/temp", b"18", at(2, 5))));
    key(&mut app, 'c');
    let t = screen(&mut app, 80, 24);
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn connections_list_at_160x48() {
    let mut app = two_connections();
    app.update(Action::ConnEvent(1, LinkEvent::Connected));
    app.update(Action::ConnEvent(0, msg("plant/3/temp", b"18", at(2, 5))));
    key(&mut app, 'c');
    let t = screen(&mut app, 160, 48);
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn sparkplug_payload_at_80x24() {
    let mut app = sparkplug_app();
    app.update(Action::Cmd(crate::tui::app::Cmd::Focus(Pane::Payload)));
    let t = screen(&mut app, 80, 24);
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

#[test]
fn sparkplug_payload_at_160x48() {
    let mut app = sparkplug_app();
    let t = screen(&mut app, 160, 48);
    settings().bind(|| insta::assert_snapshot!(t.backend()));
}

/// Review item 1: two connections to one broker took each other over because both used the
/// workbench's one client id; each connection now has its own ([MQTT311-3.1.4-2]).
#[test]
fn each_connection_connects_with_its_own_client_id() {
    let mut app = two_connections();
    assert_eq!(app.link().client_id(), "mqtt-workbench-1-1");
    key(&mut app, '{');
    assert_eq!(app.link().client_id(), "mqtt-workbench-1");
    // The options the run loop connects with agree with the model.
    let (fault_tx, _f) = tokio::sync::mpsc::unbounded_channel();
    let (restart_tx, _r) = tokio::sync::mpsc::unbounded_channel();
    let env = crate::tui::Env {
        config_dir: None,
        embedded: Some("127.0.0.1:1883".parse().unwrap()),
        client_id: "mqtt-workbench-1".into(),
        fault_tx,
        restart_tx,
    };
    let id = |conn| {
        crate::tui::connect_options(ConnectTo::Embedded, &env, conn)
            .ok()
            .and_then(|o| o.client_id)
    };
    assert_eq!(id(0).as_deref(), Some("mqtt-workbench-1"));
    assert_eq!(id(2).as_deref(), Some("mqtt-workbench-1-2"));
}

/// Review item 1: two profiles that set the same client id for the same broker are refused
/// with the reason instead of looping.
#[test]
fn a_second_profile_with_the_same_explicit_client_id_is_refused() {
    let mut a = crate::profile::Profile::named("a");
    a.host = Some("127.0.0.1".into());
    a.port = Some(1884);
    a.client_id = Some("sensor-7".into());
    let mut b = a.clone();
    b.name = "b".into();
    let mut app = app_from(vec![a, b], None, Limits::default());
    key(&mut app, 'P');
    key(&mut app, 'j');
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(fx.len(), 1, "a opens: {fx:?}");
    assert_eq!(app.link().client_id(), "sensor-7");
    key(&mut app, 'P');
    key(&mut app, 'j');
    key(&mut app, 'j');
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(app.conns().len(), 2);
    let notice = app.notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains("not connecting 'b'") && notice.contains("client id 'sensor-7'"),
        "{notice}"
    );
}

/// Review item 11: `X` in the tree of a connection to another broker finds nothing when
/// the retained messages arrived live (RETAIN 0) and says why and what works; a RETAIN 1
/// delivery (on subscribing) is known.
#[test]
fn clearing_retained_on_another_broker_says_what_is_known_and_why() {
    let mut app = two_connections();
    app.update(Action::ConnEvent(1, LinkEvent::Connected));
    app.update(Action::ConnEvent(1, msg("plant/1/state", b"on", at(2, 0))));
    key(&mut app, '1');
    assert_eq!(app.layout().focus(), Pane::Topics);
    key(&mut app, 'X');
    assert!(app.modal().is_none());
    let notice = app.notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains("RETAIN 1 deliveries")
            && notice.contains("[MQTT311-3.3.1-9]")
            && notice.contains("r reconnects"),
        "{notice}"
    );
    let mut retained = msg("plant/2/state", b"off", at(3, 0));
    if let LinkEvent::Message(m) = &mut retained {
        m.retain = true;
    }
    app.update(Action::ConnEvent(1, retained));
    key(&mut app, 'X');
    assert!(
        matches!(app.modal(), Some(Modal::Fleet(_))),
        "{:?}",
        app.notice()
    );
}

/// Review item 10: a subscription that overlaps another one says, once its SUBACK comes,
/// that a broker may send one copy per matching subscription, and the repeat is marked in
/// the list (the data stays: both messages are kept).
#[test]
fn an_overlapping_subscription_explains_and_marks_the_copies() {
    let mut app = app();
    app.update(Action::Client(LinkEvent::Connected));
    key(&mut app, 's');
    typed(&mut app, "mqtt");
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(matches!(fx.as_slice(), [Effect::Subscribe { filter, .. }] if filter == "mqtt"));
    app.update(Action::Client(LinkEvent::SubAck {
        filter: "mqtt".into(),
        result: Ok(0),
    }));
    let notice = app.notice().unwrap_or_default().to_owned();
    assert!(
        notice.starts_with("subscribed to 'mqtt' (QoS 0 granted); it overlaps '#'")
            && notice.contains("MQTT311 §3.3.5"),
        "{notice}"
    );
    // The same SUBACK again (a reconnect) says nothing new.
    app.update(Action::Client(LinkEvent::SubAck {
        filter: "mqtt".into(),
        result: Ok(0),
    }));
    app.update(Action::Client(msg("mqtt", b"Hello", at(5, 0))));
    app.update(Action::Client(msg("mqtt", b"Hello", at(5, 2))));
    app.update(Action::Client(msg("other", b"Hello", at(5, 3))));
    app.update(Action::Client(msg("other", b"Hello", at(5, 4))));
    let copies: Vec<_> = app
        .messages()
        .ring()
        .iter()
        .map(|(_, m)| (m.topic.to_string(), m.copy))
        .collect();
    assert_eq!(
        copies,
        [
            ("mqtt".into(), false),
            ("mqtt".into(), true),
            ("other".into(), false),
            ("other".into(), false),
        ]
    );
    let t = screen(&mut app, 100, 30);
    let text: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert_eq!(text.matches("copy Hello").count(), 1, "{text}");
}

/// Review item 6: without the embedded broker, lesson 1 ticks from the workbench's own
/// client (its SUBSCRIBE granted, its PUBLISH, the message coming back), and the pane's
/// commands name the broker the client is connected to.
#[test]
fn without_the_embedded_broker_lesson_1_ticks_from_the_own_client() {
    let mut app = App::new(
        StartInfo {
            broker_addr: None,
            client_target: "127.0.0.1:24884".into(),
            client_id: "mqtt-workbench-1".into(),
            subscriptions: vec![("#".into(), 0)],
            target: Target::Remote,
            help_lines: widgets::help::help_lines().len(),
            ..StartInfo::default()
        },
        Limits::default(),
    );
    app.update(Action::Tick(at(0, 0)));
    app.update(Action::Client(LinkEvent::Connected));
    key(&mut app, 'L');
    let t = screen(&mut app, 160, 48);
    let text: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        text.contains("mosquitto_sub -h 127.0.0.1 -p 24884"),
        "{text}"
    );
    key(&mut app, 's');
    typed(&mut app, "mqtt");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    app.update(Action::Client(LinkEvent::SubAck {
        filter: "mqtt".into(),
        result: Ok(0),
    }));
    assert_eq!(app.lesson().progress().map(|p| p.step()), Some(1));
    key(&mut app, 'p');
    typed(&mut app, "mqtt");
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    typed(&mut app, "Hello2 mqtt");
    let fx = press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(matches!(fx.as_slice(), [Effect::Publish(_)]), "{fx:?}");
    assert_eq!(app.lesson().progress().map(|p| p.step()), Some(2));
    app.update(Action::Client(msg("mqtt", b"Hello2 mqtt", at(1, 0))));
    assert!(app.lesson().progress().is_some_and(|p| p.done()));
    assert_eq!(app.notice(), Some("lesson complete: 1. Hello, MQTT"));
}
