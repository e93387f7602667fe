//! Message journeys through the real keymap (issue 12): the client pane's message linked to
//! the embedded broker's message number, `J` filters the log to its journey, `M` leads back
//! from a log line, `S` draws the sequence, `w` shows why notes; snapshots at 80x24 and
//! 160x48.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::broker::event::{MessageNo, Tag, Why};
use crate::tui::app::{Modal, Pane};
use crate::tui::widgets;
use crate::tui::widgets::sequence;

const OWN: &str = "mqtt-workbench-1";

fn tagged(app: &mut App, event: BrokerEvent, ms: u64, tag: Tag) {
    let mut e = LogEntry::new(at(5, ms), event);
    e.tag = tag;
    app.update(Action::Broker(e));
}

fn flags(qos: u8, pkid: u16) -> PublishFlags {
    PublishFlags {
        dup: false,
        qos,
        retain: false,
        pkid,
    }
}

/// `mosquitto_pub -q 2 -t mqtt -m "Hello2 mqtt"` (client `pub`, packet id 5) to
/// `mosquitto_sub -q 2 -t mqtt` (client `sub`, packet id 1) and to the workbench's own client
/// (packet id 2), as broker message `no`; an unrelated message 99 in between.
fn qos2_journey(app: &mut App, no: MessageNo) {
    let (p, s, me): (Arc<str>, Arc<str>, Arc<str>) = ("pub".into(), "sub".into(), OWN.into());
    let topic: Arc<str> = "mqtt".into();
    let t = Tag::msg(no);
    let publish = |client: &Arc<str>, pkid| BrokerEvent::PublishReceived {
        client: client.clone(),
        flags: flags(2, pkid),
        topic: topic.clone(),
        len: 11,
    };
    let sent = |client: &Arc<str>, pkid| BrokerEvent::PublishSent {
        client: client.clone(),
        flags: flags(2, pkid),
        topic: topic.clone(),
        len: 11,
    };
    tagged(app, publish(&p, 5), 0, t);
    tagged(
        app,
        BrokerEvent::PubRecSent {
            client: p.clone(),
            pkid: 5,
            rc: 0,
        },
        1,
        t,
    );
    tagged(
        app,
        BrokerEvent::Notice("unrelated".into()),
        2,
        Tag::default(),
    );
    tagged(
        app,
        BrokerEvent::PubRelReceived {
            client: p.clone(),
            pkid: 5,
        },
        3,
        t,
    );
    tagged(app, sent(&s, 1), 4, t);
    tagged(app, sent(&me, 2), 4, t);
    tagged(
        app,
        BrokerEvent::PubCompSent {
            client: p.clone(),
            pkid: 5,
        },
        5,
        t,
    );
    tagged(app, publish(&"other".into(), 9), 6, Tag::msg(99));
    for (c, pkid, ms) in [(&s, 1, 7), (&me, 2, 8)] {
        tagged(
            app,
            BrokerEvent::PubRecReceived {
                client: c.clone(),
                pkid,
            },
            ms,
            t,
        );
    }
    for (c, pkid, ms) in [(&s, 1, 9), (&me, 2, 9)] {
        tagged(
            app,
            BrokerEvent::PubRelSent {
                client: c.clone(),
                pkid,
            },
            ms,
            t,
        );
    }
    for (c, pkid, ms) in [(&s, 1, 12), (&me, 2, 13)] {
        tagged(
            app,
            BrokerEvent::PubCompReceived {
                client: c.clone(),
                pkid,
                rc: 0,
            },
            ms,
            t,
        );
    }
}

fn own_delivery(app: &mut App, pkid: u16) {
    app.update(Action::Client(LinkEvent::Message(IncomingMessage {
        time: at(5, 10),
        topic: "mqtt".into(),
        payload: Bytes::from_static(b"Hello2 mqtt"),
        qos: 2,
        retain: false,
        properties: Vec::new(),
        pkid,
    })));
}

fn linked_app() -> App {
    let mut app = app();
    app.update(Action::Client(LinkEvent::Connected));
    qos2_journey(&mut app, 7);
    own_delivery(&mut app, 2);
    app
}

#[test]
fn the_message_links_to_its_broker_number_whichever_arrives_first() {
    let app = linked_app();
    let m = app.messages().current().expect("a message");
    assert_eq!((m.pkid, m.journey), (2, 7));

    // The message first, then the broker's line.
    let mut app = super::app();
    own_delivery(&mut app, 2);
    assert_eq!(app.messages().current().map(|m| m.journey), Some(0));
    qos2_journey(&mut app, 7);
    assert_eq!(app.messages().current().map(|m| m.journey), Some(7));

    // Another packet id does not match.
    let mut app = super::app();
    qos2_journey(&mut app, 7);
    own_delivery(&mut app, 3);
    assert_eq!(app.messages().current().map(|m| m.journey), Some(0));
}

#[test]
fn j_shows_exactly_the_journey_lines_and_again_everything() {
    let mut app = linked_app();
    let all = app.log().len();
    key(&mut app, 'J');
    assert_eq!(app.log().journey(), Some(7));
    assert_eq!(
        app.log().len(),
        12,
        "4 with the publisher, 4 per subscriber"
    );
    let shown: Vec<String> = (0..app.log().len())
        .filter_map(|i| app.log().seq_from_newest(i))
        .filter_map(|s| app.log().ring().get(s))
        .map(|e| e.event.to_string())
        .collect();
    assert!(
        shown
            .iter()
            .all(|l| !l.contains("other") && l != "unrelated")
    );
    key(&mut app, 'J');
    assert_eq!((app.log().journey(), app.log().len()), (None, all));
}

#[test]
fn m_on_a_journey_line_selects_its_message() {
    let mut app = linked_app();
    // A newer message on another topic moves the current row away.
    message(&mut app, "elsewhere", b"x", at(6, 0));
    assert_eq!(app.messages().current().map(|m| m.journey), Some(0));
    key(&mut app, '4');
    assert_eq!(app.focus(), Pane::Log);
    // The bottom line is PUBCOMP from our client: journey 7.
    key(&mut app, 'M');
    assert_eq!(app.focus(), Pane::Messages);
    let m = app.messages().current().expect("selected");
    assert_eq!((&*m.topic, m.journey), ("mqtt", 7));
}

#[test]
fn in_journey_mode_the_cursor_selects_any_line_and_i_inspects_the_publish() {
    // Review item 5: with the journey's 12 lines all fitting in the pane, `g` still moves the
    // cursor to the journey's first line (the PUBLISH) and `i` inspects that line, not the
    // bottom one; `j` moves the cursor down and `M` leads to the message from there.
    let mut app = linked_app();
    screen(&mut app, 160, 48);
    key(&mut app, '4');
    key(&mut app, 'J');
    assert_eq!(app.log().len(), 12);
    key(&mut app, 'g');
    app.update(Action::Frame);
    assert_eq!(app.log().bottom(), 11);
    key(&mut app, 'i');
    let Some(Modal::Learn(l)) = app.modal() else {
        panic!("no inspector: {:?}", app.modal())
    };
    let crate::tui::app::inspector::Learn::Packet(v) = &**l else {
        panic!("not the inspector: {l:?}")
    };
    assert!(v.line.contains("Received PUBLISH from pub"), "{}", v.line);
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    key(&mut app, 'j');
    assert_eq!(app.log().bottom(), 10);
    let text = screen(&mut app, 160, 48);
    assert!(text.contains("Sending PUBREC to pub"), "{text}");
}

#[test]
fn s_draws_one_arrow_per_packet_in_order_and_any_key_closes() {
    let mut app = linked_app();
    key(&mut app, 'S');
    assert!(matches!(
        app.modal(),
        Some(Modal::Sequence { no: 7, scroll: 0 })
    ));
    let rows = sequence::rows(&app, 7, 120);
    let labels: Vec<&str> = rows[1..]
        .iter()
        .map(|r| {
            r.split(['▶', '◀', '│', '─'])
                .next_back()
                .unwrap_or("")
                .trim()
        })
        .collect();
    assert_eq!(
        labels,
        [
            "PUBLISH q2 m5 'mqtt' 11 B",
            "PUBREC m5",
            "PUBREL m5",
            "PUBLISH q2 m1 'mqtt' 11 B",
            "PUBLISH q2 m2 'mqtt' 11 B",
            "PUBCOMP m5",
            "PUBREC m1",
            "PUBREC m2",
            "PUBREL m1",
            "PUBREL m2",
            "PUBCOMP m1",
            "PUBCOMP m2",
        ]
    );
    // Lanes: the publisher, the broker, then the subscribers in order; ours marked.
    assert!(rows[0].contains("pub") && rows[0].contains("broker"));
    let (sub, own) = (rows[0].find(" sub "), rows[0].find("▸mqtt-w"));
    assert!(sub.is_some() && sub < own, "{}", rows[0]);
    // Directions: PUBLISH in points at the broker, PUBREC to the publisher points at it.
    assert!(rows[1].contains('▶') && rows[2].contains('◀'));
    // The time column: milliseconds since the previous arrow.
    assert!(rows[3].trim_start().starts_with("+2.0"), "{}", rows[3]);
    key(&mut app, 'j');
    assert!(matches!(
        app.modal(),
        Some(Modal::Sequence { scroll: 1, .. })
    ));
    key(&mut app, 'x');
    assert!(app.modal().is_none());
}

#[test]
fn s_on_an_unlinked_message_says_why_nothing_opens() {
    let mut app = app();
    message(&mut app, "mqtt", b"x", at(1, 0));
    key(&mut app, 'S');
    assert!(app.modal().is_none());
}

#[test]
fn w_shows_the_why_note_under_its_line() {
    let mut app = app();
    let sub: Arc<str> = "sub".into();
    tagged(
        &mut app,
        BrokerEvent::PublishSent {
            client: sub,
            flags: flags(0, 0),
            topic: "t".into(),
            len: 1,
        },
        0,
        Tag::msg(3).why(Why::QosDowngrade {
            published: 1,
            granted: 0,
        }),
    );
    assert!(!app.journey().why_notes());
    key(&mut app, 'w');
    assert!(app.journey().why_notes());
    let entry = app
        .log()
        .seq_from_newest(0)
        .and_then(|s| app.log().ring().get(s))
        .expect("line");
    let note = widgets::broker_log::why_lines(entry, 200).join(" ");
    assert!(
        note.contains("published at QoS 1, delivered at QoS 0")
            && note.contains("[MQTT311-3.8.4-6]"),
        "{note}"
    );
}

// ----- snapshots ---------------------------------------------------------------------

fn screen(app: &mut App, w: u16, h: u16) -> String {
    app.update(Action::Resize(w, h));
    app.update(Action::Frame);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| widgets::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d{2}:\d{2}:\d{2}\.\d{3}", "HH:MM:SS.mmm");
    s
}

#[test]
fn sequence_view_at_80x24() {
    let mut app = linked_app();
    key(&mut app, 'S');
    let text = screen(&mut app, 80, 24);
    settings().bind(|| insta::assert_snapshot!(text));
}

#[test]
fn sequence_view_at_160x48() {
    let mut app = linked_app();
    key(&mut app, 'S');
    let text = screen(&mut app, 160, 48);
    settings().bind(|| insta::assert_snapshot!(text));
}

fn why_app() -> App {
    let mut app = linked_app();
    let sub: Arc<str> = "sub".into();
    tagged(
        &mut app,
        BrokerEvent::NotDelivered {
            client: Some(sub),
            topic: "mqtt".into(),
            reason: Why::QueueFull,
        },
        20,
        Tag::msg(8).why(Why::QueueFull),
    );
    key(&mut app, 'w');
    key(&mut app, '4');
    key(&mut app, 'z');
    app
}

#[test]
fn log_with_why_notes_and_marked_journey_at_80x24() {
    let mut app = why_app();
    let text = screen(&mut app, 80, 24);
    settings().bind(|| insta::assert_snapshot!(text));
}

#[test]
fn log_with_why_notes_and_marked_journey_at_160x48() {
    let mut app = why_app();
    let text = screen(&mut app, 160, 48);
    settings().bind(|| insta::assert_snapshot!(text));
}
