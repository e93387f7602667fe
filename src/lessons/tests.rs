//! Every built-in lesson driven to its end by the events the broker logs when a learner does
//! what the steps say, and the checker's refusals.

use std::sync::Arc;

use super::*;
use crate::broker::event::PublishFlags;

fn id(s: &str) -> Arc<str> {
    Arc::from(s)
}

fn connected(client: &str, protocol: u8, clean: bool, keep_alive: u16) -> BrokerEvent {
    BrokerEvent::ClientConnected {
        peer: "127.0.0.1:50000".parse().expect("literal address"),
        client: id(client),
        protocol,
        clean,
        keep_alive,
        username: None,
    }
}

fn sub(client: &str, filter: &str, qos: u8) -> BrokerEvent {
    BrokerEvent::SubscribeReceived {
        client: id(client),
        filters: vec![(filter.into(), qos)],
    }
}

fn flags(qos: u8, retain: bool) -> PublishFlags {
    PublishFlags {
        dup: false,
        qos,
        retain,
        pkid: u16::from(qos > 0),
    }
}

fn got(client: &str, topic: &str, qos: u8, retain: bool, len: usize) -> BrokerEvent {
    BrokerEvent::PublishReceived {
        client: id(client),
        flags: flags(qos, retain),
        topic: id(topic),
        len,
    }
}

fn sent(client: &str, topic: &str, qos: u8, retain: bool, len: usize) -> BrokerEvent {
    BrokerEvent::PublishSent {
        client: id(client),
        flags: flags(qos, retain),
        topic: id(topic),
        len,
    }
}

fn lesson(file: &str) -> Lesson {
    let (_, text) = BUILTIN
        .iter()
        .find(|(n, _)| *n == file)
        .expect("the lesson file is built in");
    parse(file, text).expect("the lesson parses")
}

/// Feeds `events` in order and returns the step reached after each.
fn drive(l: &Lesson, events: &[BrokerEvent]) -> Progress {
    let mut p = Progress::new(l);
    for e in events {
        p.on_event(l, e);
    }
    p
}

fn assert_done(file: &str, events: &[BrokerEvent]) {
    let l = lesson(file);
    let p = drive(&l, events);
    assert!(
        p.done(),
        "{file} stopped at step {} of {}: {}",
        p.step() + 1,
        l.steps.len(),
        l.steps.get(p.step()).map_or("", |s| s.goal.as_str())
    );
    // Without the last event the lesson is not done: every event counts.
    if let Some((_, head)) = events.split_last() {
        assert!(
            !drive(&l, head).done(),
            "{file} finished without its last event"
        );
    }
}

#[test]
fn every_builtin_lesson_parses() {
    let all = builtin().expect("built-in lessons parse");
    assert!(all.len() >= 8);
    assert!(all[0].title.contains("Hello"));
}

#[test]
fn lesson_1_hello() {
    let s = "mosquitto_sub";
    let p = "mosquitto_pub";
    assert_done(
        "01-hello.toml",
        &[
            connected(s, 2, true, 60),
            sub(s, "mqtt", 0),
            BrokerEvent::SubAckSent(id(s)),
            connected(p, 2, true, 60),
            got(p, "mqtt", 0, false, 11),
            sent(s, "mqtt", 0, false, 11),
        ],
    );
}

#[test]
fn lesson_1_ignores_other_topics_and_lengths() {
    let l = lesson("01-hello.toml");
    let p = drive(
        &l,
        &[
            sub("a", "other", 0),
            sub("a", "mqtt", 0),
            got("b", "mqtt/x", 0, false, 11),
            got("b", "mqtt", 0, false, 5),
        ],
    );
    assert_eq!(p.step(), 1);
}

#[test]
fn lesson_2_qos() {
    let c = |s: &str| id(s);
    assert_done(
        "02-qos.toml",
        &[
            sub("s", "lesson/qos", 2),
            got("p", "lesson/qos", 1, false, 3),
            BrokerEvent::PubAckSent {
                client: c("p"),
                pkid: 1,
                rc: 0,
            },
            got("p", "lesson/qos", 2, false, 3),
            BrokerEvent::PubRecSent {
                client: c("p"),
                pkid: 1,
                rc: 0,
            },
            BrokerEvent::PubRelReceived {
                client: c("p"),
                pkid: 1,
            },
            BrokerEvent::PubCompSent {
                client: c("p"),
                pkid: 1,
            },
            sent("s", "lesson/qos", 2, false, 3),
            BrokerEvent::PubRecReceived {
                client: c("s"),
                pkid: 1,
            },
            BrokerEvent::PubRelSent {
                client: c("s"),
                pkid: 1,
            },
            BrokerEvent::PubCompReceived {
                client: c("s"),
                pkid: 1,
                rc: 0,
            },
        ],
    );
}

#[test]
fn lesson_2_a_qos_1_subscription_does_not_tick_the_qos_2_step() {
    let l = lesson("02-qos.toml");
    assert_eq!(drive(&l, &[sub("s", "lesson/qos", 1)]).step(), 0);
}

#[test]
fn lesson_3_retained() {
    assert_done(
        "03-retained.toml",
        &[
            got("p", "lesson/lamp", 0, true, 2),
            sub("s", "lesson/lamp", 0),
            sent("s", "lesson/lamp", 0, true, 2),
            got("p", "lesson/lamp", 0, true, 0),
        ],
    );
}

#[test]
fn lesson_4_wills() {
    assert_done(
        "04-wills.toml",
        &[
            sub("watch", "lesson/will/#", 0),
            connected("device", 2, true, 60),
            BrokerEvent::WillSpecified {
                len: 7,
                retain: false,
                qos: 1,
                topic: "lesson/will/device".into(),
            },
            BrokerEvent::ConnectionClosed(id("device")),
            sent("watch", "lesson/will/device", 0, false, 7),
        ],
    );
}

#[test]
fn lesson_5_sessions() {
    assert_done(
        "05-sessions.toml",
        &[
            connected("learner", 2, false, 60),
            sub("learner", "lesson/session", 1),
            BrokerEvent::DisconnectReceived(id("learner")),
            BrokerEvent::Disconnected(id("learner")),
            got("p", "lesson/session", 1, false, 18),
            BrokerEvent::Terminating,
            BrokerEvent::Starting,
            BrokerEvent::Running,
            connected("learner", 2, false, 60),
            BrokerEvent::ConnAckSent {
                client: id("learner"),
                session_present: true,
                code: 0,
            },
            sent("learner", "lesson/session", 1, false, 18),
        ],
    );
}

#[test]
fn lesson_5_a_clean_session_does_not_count() {
    let l = lesson("05-sessions.toml");
    let p = drive(
        &l,
        &[
            connected("learner", 2, true, 60),
            sub("learner", "lesson/session", 1),
        ],
    );
    assert_eq!(p.step(), 0);
}

#[test]
fn lesson_6_keepalive() {
    assert_done(
        "06-keepalive.toml",
        &[
            connected("k", 2, true, 5),
            BrokerEvent::PingReqReceived(id("k")),
            BrokerEvent::PingRespSent(id("k")),
            BrokerEvent::KeepAliveTimeout(id("k")),
        ],
    );
    let l = lesson("06-keepalive.toml");
    assert_eq!(
        drive(&l, &[connected("k", 2, true, 60)]).seen(&l),
        [false, false, false]
    );
}

#[test]
fn lesson_7_wildcards() {
    assert_done(
        "07-wildcards.toml",
        &[
            sub("s", "lesson/+/temp", 0),
            got("p", "lesson/kitchen/temp", 0, false, 4),
            sent("s", "lesson/kitchen/temp", 0, false, 4),
            sub("s", "$SYS/#", 0),
            sent("s", "$SYS/broker/uptime", 0, true, 9),
        ],
    );
}

#[test]
fn lesson_8_mqtt5() {
    let share = "$share/workers/lesson/v5/jobs";
    let mut ev = vec![
        connected("p5", 5, true, 60),
        got("p5", "lesson/v5/props", 0, false, 8),
        got("p5", "lesson/v5/expiry", 0, true, 9),
        sub("late", "lesson/v5/expiry", 0),
        sub("w1", share, 0),
        sub("w2", share, 0),
    ];
    for _ in 0..4 {
        ev.push(got("p", "lesson/v5/jobs", 0, false, 4));
    }
    ev.push(got("p", "lesson/v5/request", 0, false, 5));
    ev.push(got("r", "lesson/v5/response", 0, false, 5));
    assert_done("08-mqtt5.toml", &ev);
}

#[test]
fn unknown_event_kinds_and_fields_are_refused_with_file_and_line() {
    let bad_kind =
        "title = \"x\"\n[[step]]\ngoal = \"g\"\ncheck = [{ event = \"publish_recieved\" }]\n";
    let e = parse("bad.toml", bad_kind).expect_err("unknown kind");
    assert!(
        e.contains("bad.toml") && e.contains("publish_recieved"),
        "{e}"
    );
    let bad_field = "title = \"x\"\n[[step]]\ngoal = \"g\"\ncheck = [{ event = \"publish_received\", topik = \"a\" }]\n";
    let e = parse("f.toml", bad_field).expect_err("unknown field");
    assert!(e.starts_with("f.toml:4:"), "{e}");
    let no_check = "title = \"x\"\n[[step]]\ngoal = \"g\"\ncheck = []\n";
    assert!(parse("n.toml", no_check).is_err());
}

#[test]
fn fill_puts_the_broker_address_in() {
    assert_eq!(
        fill(
            "mosquitto_sub -h {host} -p {port} -t mqtt",
            "127.0.0.1",
            1884
        ),
        "mosquitto_sub -h 127.0.0.1 -p 1884 -t mqtt"
    );
}
