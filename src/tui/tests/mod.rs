//! Tests of the workbench model (`App::update` on pure state) and whole-screen snapshots.

mod conns;
mod journey;
mod learn;
mod profiles;
mod screens;
mod structure;
mod update;
// Fleet debugging (issue 14).
mod fleet;
// The reviewers' rough edges (task `polish`).
mod polish;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use super::app::{Action, App, Effect, Limits, StartInfo};
use super::client_link::{IncomingMessage, LinkEvent};
use super::keymap;
use super::widgets;
use crate::broker::event::PublishFlags;
use crate::broker::{BrokerEvent, LogEntry};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A fixed moment `secs` seconds (and `ms` milliseconds) into the test's timeline.
fn at(secs: u64, ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs) + Duration::from_millis(ms)
}

fn app() -> App {
    app_with(Limits::default())
}

/// Two saved profiles: `lab` (TLS, MQTT 5, password from the environment, two
/// subscriptions) and `cloud` (asks for its password).
fn saved_profiles() -> Vec<crate::profile::Profile> {
    use crate::client::{MqttVersion, Transport};
    use crate::profile::{Profile, Subscription};
    use crate::protocol::QoS;
    let mut lab = Profile::named("lab");
    lab.note = Some("rack 3".into());
    lab.host = Some("broker.lab".into());
    lab.transport = Some(Transport::Tls);
    lab.version = Some(MqttVersion::V5);
    lab.username = Some("alice".into());
    lab.password_env = Some("LAB_PW".into());
    lab.tls.ca_file = Some("/etc/lab/ca.pem".into());
    lab.subscriptions = vec![
        Subscription {
            filter: "sensors/#".into(),
            qos: QoS::AtLeastOnce,
        },
        Subscription {
            filter: "devices/+/state".into(),
            qos: QoS::AtMostOnce,
        },
    ];
    let mut cloud = Profile::named("cloud");
    cloud.url = Some("wss://mqtt.example.com:443/mqtt".into());
    cloud.username = Some("bob".into());
    cloud.ask_password = true;
    vec![lab, cloud]
}

fn app_with_profiles() -> App {
    app_from(saved_profiles(), None, Limits::default())
}

fn app_with(limits: Limits) -> App {
    app_from(Vec::new(), None, limits)
}

/// The model as the run loop starts it, with these saved profiles (or why they could not be
/// read).
fn app_from(
    profiles: Vec<crate::profile::Profile>,
    profiles_error: Option<String>,
    limits: Limits,
) -> App {
    let mut app = App::new(
        StartInfo {
            broker_addr: Some("127.0.0.1:1883".into()),
            client_target: "127.0.0.1:1883".into(),
            client_id: "mqtt-workbench-1".into(),
            subscriptions: vec![("#".into(), 0)],
            notice: None,
            profiles,
            profiles_error,
            profiles_file: "/home/user/.config/mqtt-workbench/profiles.toml".into(),
            help_lines: crate::tui::widgets::help::help_lines().len(),
            ..StartInfo::default()
        },
        limits,
    );
    app.update(Action::Tick(at(0, 0)));
    app
}

fn message(app: &mut App, topic: &str, payload: &[u8], time: SystemTime) -> Vec<Effect> {
    app.update(Action::Client(LinkEvent::Message(IncomingMessage {
        time,
        topic: topic.into(),
        payload: Bytes::copy_from_slice(payload),
        qos: 0,
        retain: false,
        properties: Vec::new(),
        pkid: 0,
    })))
}

fn retained(app: &mut App, topic: &str, payload: &[u8], time: SystemTime) {
    app.update(Action::Client(LinkEvent::Message(IncomingMessage {
        time,
        topic: topic.into(),
        payload: Bytes::copy_from_slice(payload),
        qos: 1,
        retain: true,
        properties: vec![("content-type".into(), "text/plain".into())],
        pkid: 0,
    })));
}

fn log(app: &mut App, event: BrokerEvent, time: SystemTime) {
    app.update(Action::Broker(LogEntry::new(time, event)));
}

/// Presses a key through the real keymap.
fn press(app: &mut App, code: KeyCode, mods: KeyModifiers) -> Vec<Effect> {
    let ev = Event::Key(KeyEvent::new(code, mods));
    match keymap::action_for(app, &ev) {
        Some(a) => app.update(a),
        None => Vec::new(),
    }
}

fn key(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c), KeyModifiers::NONE)
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, c);
    }
}

fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn publish_flags() -> PublishFlags {
    PublishFlags {
        dup: false,
        qos: 0,
        retain: false,
        pkid: 0,
    }
}

/// The embedded broker's live counters over the tutorial: two clients and nothing published
/// in the first sample; one second later the publisher is gone, one PUBLISH in, one out.
fn tutorial_stats(app: &mut App) {
    use crate::broker::sys::LiveStats;
    let before = LiveStats {
        clients_connected: 2,
        ..LiveStats::default()
    };
    app.update(Action::BrokerStats(before));
    app.update(Action::BrokerStats(LiveStats {
        clients_connected: 1,
        publish_received: 1,
        publish_sent: 1,
        ..before
    }));
}

/// The broker lines of the classic tutorial: the workbench's own client subscribes to `#`,
/// then `mosquitto_pub -t mqtt -m "Hello2 mqtt"`.
fn tutorial_log(app: &mut App) {
    let me: Arc<str> = "mqtt-workbench-1".into();
    let publisher: Arc<str> = "auto-1A2B3C4D".into();
    let t = at(1, 0);
    for ev in [
        BrokerEvent::Starting,
        BrokerEvent::Config(None),
        BrokerEvent::OpeningListener {
            ipv6: false,
            websockets: false,
            port: 1883,
        },
        BrokerEvent::Running,
        BrokerEvent::NewConnection {
            peer: peer(40000),
            port: 1883,
        },
        BrokerEvent::ClientConnected {
            peer: peer(40000),
            client: me.clone(),
            protocol: 5,
            clean: true,
            keep_alive: 60,
            username: None,
        },
        BrokerEvent::ConnAckSent {
            client: me.clone(),
            session_present: false,
            code: 0,
        },
        BrokerEvent::SubscribeReceived {
            client: me.clone(),
            filters: vec![("#".into(), 0)],
        },
        BrokerEvent::SubAckSent(me.clone()),
        BrokerEvent::ClientConnected {
            peer: peer(40001),
            client: publisher.clone(),
            protocol: 4,
            clean: true,
            keep_alive: 60,
            username: None,
        },
        BrokerEvent::PublishReceived {
            client: publisher.clone(),
            flags: publish_flags(),
            topic: "mqtt".into(),
            len: 11,
        },
        BrokerEvent::PublishSent {
            client: me.clone(),
            flags: publish_flags(),
            topic: "mqtt".into(),
            len: 11,
        },
        BrokerEvent::DisconnectReceived(publisher.clone()),
        BrokerEvent::Disconnected(publisher),
    ] {
        log(app, ev, t);
    }
}

/// Draws the model on a `w` x `h` test terminal, as the run loop does after a resize.
fn screen(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    app.update(Action::Resize(w, h));
    app.update(Action::Frame);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| widgets::draw(f, app)).unwrap();
    terminal
}

/// Snapshot settings: clock times (with or without milliseconds) replaced by placeholders.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d{2}:\d{2}:\d{2}\.\d{3}", "HH:MM:SS.mmm");
    s.add_filter(r"\d{2}:\d{2}:\d{2}", "HH:MM:SS");
    s
}
mod tuifix;
