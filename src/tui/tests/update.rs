//! `App::update` on pure state: each test feeds actions (often through the real keymap) and
//! checks the model or the effects.

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;
use crate::tui::app::fleet::FleetModal;
use crate::tui::app::{ClientState, Cmd, Modal, Pane, SubState};

#[test]
fn messages_build_the_topic_tree_with_counts() {
    let mut app = app();
    message(&mut app, "home/kitchen/temp", b"21.5", at(1, 0));
    message(&mut app, "home/kitchen/temp", b"21.6", at(1, 10));
    message(&mut app, "home/hall/light", b"on", at(1, 20));
    message(&mut app, "mqtt", b"Hello2 mqtt", at(1, 30));
    app.update(Action::Frame);
    let names: Vec<_> = app
        .topics()
        .rows()
        .iter()
        .map(|r| (r.depth, r.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "(all topics)"),
            (0, "home"),
            (1, "hall"),
            (2, "light"),
            (1, "kitchen"),
            (2, "temp"),
            (0, "mqtt"),
        ]
    );
    assert_eq!(app.topics().count(), 3);
    assert_eq!(app.topics().tree().subtree_count, 4);
    let home = crate::tui::app::node_ref(app.topics().tree(), "home").unwrap();
    assert_eq!(home.subtree_count, 3);
    // Two messages arrived in second 1; at second 2 that is the last complete second.
    assert_eq!(home.subtree_rate.per_sec(1_700_000_002), 3);
    assert_eq!(home.subtree_rate.per_sec(1_700_000_005), 0);
}

#[test]
fn selecting_a_tree_node_shows_its_subtree_and_new_matching_messages() {
    let mut app = app();
    message(&mut app, "home/kitchen/temp", b"1", at(1, 0));
    message(&mut app, "home/hall/light", b"2", at(1, 0));
    message(&mut app, "mqtt", b"3", at(1, 0));
    message(&mut app, "homeless", b"4", at(1, 0));
    app.update(Action::Frame);
    assert_eq!(app.messages().view().len(), 4);
    // Row 1 is "home".
    key(&mut app, 'j');
    assert_eq!(app.messages().view_topic(), Some("home"));
    assert_eq!(
        app.messages().view().len(),
        2,
        "home/# but not 'homeless' or 'mqtt'"
    );
    message(&mut app, "home/kitchen/temp", b"5", at(2, 0));
    message(&mut app, "mqtt", b"6", at(2, 0));
    assert_eq!(app.messages().view().len(), 3);
    assert_eq!(&app.messages().current().unwrap().payload[..], b"5");
    // Collapse "home" with h, the rows shrink; l expands again.
    key(&mut app, 'h');
    app.update(Action::Frame);
    assert_eq!(app.topics().rows().len(), 4);
    key(&mut app, 'l');
    app.update(Action::Frame);
    assert_eq!(app.topics().rows().len(), 8);
}

#[test]
fn a_selected_message_stays_selected_while_new_ones_arrive() {
    let mut app = app();
    for i in 0..5 {
        message(&mut app, "t", format!("m{i}").as_bytes(), at(1, i));
    }
    app.update(Action::Cmd(Cmd::Focus(Pane::Messages)));
    key(&mut app, 'j');
    key(&mut app, 'j');
    assert_eq!(&app.messages().current().unwrap().payload[..], b"m2");
    message(&mut app, "t", b"m5", at(2, 0));
    assert_eq!(&app.messages().current().unwrap().payload[..], b"m2");
    assert_eq!(app.messages().position(), 3);
    // Esc follows the newest again.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(&app.messages().current().unwrap().payload[..], b"m5");
}

#[test]
fn histories_are_capped_in_entries_and_bytes() {
    let mut app = app_with(Limits {
        messages: 100,
        message_bytes: 1 << 20,
        log: 50,
        log_bytes: 1 << 20,
        ..Limits::default()
    });
    for i in 0..1000 {
        message(&mut app, "flood", &[0u8; 10], at(1, i));
        log(&mut app, BrokerEvent::Notice(format!("line {i}")), at(1, i));
    }
    assert_eq!(app.messages().ring().len(), 100);
    assert_eq!(app.messages().view().len(), 100);
    assert_eq!(app.log().ring().len(), 50);
    assert_eq!(app.topics().tree().subtree_count, 1000);

    let mut app = app_with(Limits {
        message_bytes: 10_000,
        ..Limits::default()
    });
    for i in 0..100 {
        message(&mut app, "big", &[7u8; 1000], at(1, i));
    }
    assert!(app.messages().ring().bytes() <= 10_000);
    assert!(app.messages().ring().len() < 10);
    assert_eq!(app.messages().view().len(), app.messages().ring().len());
}

#[test]
fn topics_past_the_cap_are_counted_not_added() {
    let mut app = app_with(Limits {
        topics: 3,
        ..Limits::default()
    });
    for i in 0..10 {
        message(&mut app, &format!("t/{i}"), b"x", at(1, 0));
    }
    assert_eq!(app.topics().count(), 3);
    assert_eq!(app.topics().over_cap(), 7);
    // Messages still reach the history.
    assert_eq!(app.messages().ring().len(), 10);
}

#[test]
fn subscribe_prompt_explains_invalid_filters_and_subscribes_valid_ones() {
    let mut app = app();
    key(&mut app, 's');
    typed(&mut app, "a/#/b");
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(fx.is_empty());
    let Some(Modal::Subscribe(p)) = app.modal() else {
        panic!("prompt closed on an invalid filter")
    };
    assert_eq!(
        p.error(),
        Some("invalid filter 'a/#/b': '#' must be the last level and alone in it")
    );
    // Fix it: delete "/b", choose QoS 1 with Tab.
    press(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    press(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        fx,
        [Effect::Subscribe {
            filter: "a/#".into(),
            qos: 1
        }]
    );
    assert!(app.modal().is_none());
    assert_eq!(app.link().subscriptions().len(), 2);
    // A refusal from the broker is shown on the subscription.
    app.update(Action::Client(LinkEvent::SubAck {
        filter: "a/#".into(),
        result: Err("not authorised".into()),
    }));
    assert_eq!(
        app.link().subscriptions()[1].state,
        SubState::Refused("not authorised".into())
    );
}

#[test]
fn unsubscribe_picks_from_the_list() {
    let mut app = app();
    let fx = key(&mut app, 'u');
    assert!(fx.is_empty());
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(fx, [Effect::Unsubscribe("#".into())]);
    assert!(app.link().subscriptions().is_empty());
}

#[test]
fn reconnect_resubscribes_everything() {
    let mut app = app();
    let fx = app.update(Action::Client(LinkEvent::Connected));
    assert_eq!(
        fx,
        [Effect::Subscribe {
            filter: "#".into(),
            qos: 0
        }]
    );
    assert_eq!(*app.link().state(), ClientState::Connected);
    app.update(Action::Client(LinkEvent::Disconnected("refused".into())));
    assert_eq!(
        *app.link().state(),
        ClientState::Disconnected("refused".into())
    );
}

#[test]
fn composer_publishes_with_properties_and_remembers_history() {
    let mut app = app();
    app.update(Action::Client(LinkEvent::Connected));
    key(&mut app, 'p');
    typed(&mut app, "sensors/+/t");
    let fx = press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(fx.is_empty(), "wildcards are refused in topic names");
    let Some(Modal::Composer(c)) = app.modal() else {
        panic!("composer closed")
    };
    assert!(c.error().unwrap().contains("wildcards"));
    for _ in 0.."+/t".len() {
        press(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    }
    typed(&mut app, "kitchen");
    // Tab to the payload; Enter makes a newline there.
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    typed(&mut app, "line 1");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    typed(&mut app, "line 2");
    // QoS: Tab, then Space twice -> 2; Retain: Tab, Space.
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, ' ');
    key(&mut app, ' ');
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, ' ');
    // Content type.
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    typed(&mut app, "text/plain");
    // Skip expiry, response topic, correlation; user properties.
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    }
    typed(&mut app, "site=lab");
    let fx = press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let [Effect::Publish(p)] = fx.as_slice() else {
        panic!("expected one publish, got {fx:?}")
    };
    assert_eq!(p.topic, "sensors/kitchen");
    assert_eq!(&p.payload[..], b"line 1\nline 2");
    assert_eq!((p.qos, p.retain), (2, true));
    assert_eq!(p.props.content_type.as_deref(), Some("text/plain"));
    assert_eq!(p.props.user, [("site".to_owned(), "lab".to_owned())]);
    assert!(app.modal().is_none());
    assert_eq!(app.link().history().len(), 1);
    // Ctrl-P in a new composer brings the last publish back.
    key(&mut app, 'p');
    press(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    let Some(Modal::Composer(c)) = app.modal() else {
        panic!("composer closed")
    };
    assert_eq!(c.build().unwrap(), *p);
}

#[test]
fn composer_refuses_to_send_while_disconnected() {
    let mut app = app();
    key(&mut app, 'p');
    typed(&mut app, "a");
    // Enter in the topic moves to the payload; it never sends.
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(fx.is_empty());
    typed(&mut app, "x");
    let fx = press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(fx.is_empty());
    let Some(Modal::Composer(c)) = app.modal() else {
        panic!("composer closed")
    };
    assert_eq!(
        c.text(crate::tui::app::ComposerField::Payload)
            .map(|t| t.lines().join("\n"))
            .as_deref(),
        Some("x")
    );
    assert_eq!(c.error(), Some("the client is not connected"));
}

#[test]
fn clear_retained_asks_then_publishes_an_empty_retained_message() {
    let mut app = app();
    retained(&mut app, "devices/lamp", b"on", at(1, 0));
    app.update(Action::Frame);
    // Rows: all, devices, lamp.
    key(&mut app, 'G');
    assert_eq!(app.messages().view_topic(), Some("devices/lamp"));
    let fx = key(&mut app, 'X');
    assert!(fx.is_empty());
    assert!(matches!(
        app.modal(),
        Some(Modal::Fleet(f)) if matches!(**f, FleetModal::ClearRetained { .. })
    ));
    let fx = key(&mut app, 'y');
    let [Effect::Publish(p)] = fx.as_slice() else {
        panic!("expected a publish, got {fx:?}")
    };
    assert_eq!(p.topic, "devices/lamp");
    assert!(p.payload.is_empty() && p.retain);
}

#[test]
fn the_log_cursor_reaches_the_first_lines_with_wrapped_lines_and_zoomed() {
    // Review item 4: long lines wrap, so a pane of N rows shows fewer than N lines; `g` and
    // PgUp must still reach the very first kept line, in the normal layout and zoomed.
    for (w, h, zoom) in [(100, 30, false), (100, 30, true), (160, 48, false)] {
        let mut app = app();
        for i in 0..60 {
            log(
                &mut app,
                BrokerEvent::Notice(format!("line {i} {}", "long words wrap here ".repeat(8))),
                at(1, i),
            );
        }
        app.update(Action::Resize(w, h));
        app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
        if zoom {
            app.update(Action::Cmd(Cmd::Zoom));
        }
        app.update(Action::Frame);
        for _ in 0..40 {
            press(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
            app.update(Action::Frame);
        }
        let first = app.log().ring().first_seq();
        assert_eq!(
            app.log().seq_from_newest(app.log().bottom()),
            Some(first),
            "PgUp at {w}x{h} zoom {zoom}"
        );
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| crate::tui::widgets::draw(f, &app))
            .unwrap();
        let text = terminal.backend().to_string();
        assert!(text.contains("line 0 long"), "{w}x{h} zoom {zoom}: {text}");
        key(&mut app, 'G');
        key(&mut app, 'g');
        app.update(Action::Frame);
        assert_eq!(app.log().seq_from_newest(app.log().bottom()), Some(first));
    }
}

#[test]
fn the_fault_done_line_carries_the_time_the_fault_finished() {
    // Review item 17: the model's clock ticks once a second; the FAULT done line takes the
    // time its helper finished, so it sorts after the broker lines it caused.
    let mut app = app();
    app.update(Action::Tick(at(5, 0)));
    log(
        &mut app,
        BrokerEvent::Notice("caused by the fault".into()),
        at(5, 400),
    );
    app.update(Action::FaultDone(
        Ok("the client was cut".into()),
        at(5, 700),
    ));
    let newest = app
        .log()
        .ring()
        .get(app.log().seq_from_newest(0).unwrap())
        .unwrap();
    assert!(newest.event.to_string().starts_with("FAULT done"));
    assert_eq!(newest.time, at(5, 700));
}

#[test]
fn log_scrolls_searches_and_filters_by_client() {
    let mut app = app();
    tutorial_log(&mut app);
    let total = app.log().ring().len();
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    assert!(app.log().follow());
    key(&mut app, 'k');
    assert!(!app.log().follow());
    assert_eq!(app.log().bottom(), 1);
    // New lines do not move a scrolled view.
    log(&mut app, BrokerEvent::Notice("later".into()), at(2, 0));
    assert_eq!(app.log().bottom(), 2);
    key(&mut app, 'f');
    assert!(app.log().follow());

    // Search: the newest match first, then older ones.
    key(&mut app, '/');
    typed(&mut app, "PUBLISH");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    let shown = |app: &App| {
        app.log()
            .ring()
            .get(app.log().seq_from_newest(app.log().bottom()).unwrap())
            .unwrap()
            .event
            .to_string()
    };
    assert!(
        shown(&app).starts_with("Sending PUBLISH"),
        "{}",
        shown(&app)
    );
    key(&mut app, 'n');
    assert!(shown(&app).starts_with("Received PUBLISH"));
    key(&mut app, 'n');
    assert!(app.notice().unwrap().contains("not found"));

    // Client filter.
    key(&mut app, 'c');
    typed(&mut app, "auto-1A2B3C4D");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(app.log().len(), 4, "connected, publish, disconnect x2");
    log(
        &mut app,
        BrokerEvent::PingReqReceived("auto-1A2B3C4D".into()),
        at(3, 0),
    );
    log(
        &mut app,
        BrokerEvent::PingReqReceived("someone-else".into()),
        at(3, 0),
    );
    assert_eq!(app.log().len(), 5);
    key(&mut app, 'C');
    assert_eq!(app.log().len(), total + 3);
}

#[test]
fn lagged_log_reader_shows_a_gap_line() {
    let mut app = app();
    app.update(Action::BrokerLagged(42));
    assert_eq!(app.log().lagged(), 42);
    let last = app
        .log()
        .ring()
        .get(app.log().ring().end_seq() - 1)
        .unwrap();
    assert_eq!(
        last.event.to_string(),
        "... 42 log lines dropped (the log reader fell behind)"
    );
}

#[test]
fn broker_counters_come_from_live_stats_not_from_the_log() {
    let mut app = app();
    tutorial_log(&mut app);
    // The log shows connects and PUBLISHes, but the counters have one source: the stats.
    assert_eq!(app.broker().clients(), 0);
    assert_eq!(app.broker().rates(), None);
    tutorial_stats(&mut app);
    // The publisher disconnected; the workbench's own client stays.
    assert_eq!(app.broker().clients(), 1);
    assert_eq!(app.broker().rates(), Some((1, 1)));
}

#[test]
fn mouse_click_focuses_and_selects_wheel_scrolls_the_log() {
    let mut app = app();
    app.update(Action::Resize(160, 48));
    message(&mut app, "a", b"1", at(1, 0));
    message(&mut app, "b", b"2", at(1, 0));
    app.update(Action::Frame);
    let a = app.areas();
    // Third row of the tree ("b").
    app.update(Action::Click {
        col: a.topics.x + 3,
        row: a.topics.y + 3,
    });
    assert_eq!(app.focus(), Pane::Topics);
    assert_eq!(app.messages().view_topic(), Some("b"));
    for i in 0..20 {
        log(&mut app, BrokerEvent::Notice(format!("n{i}")), at(1, 0));
    }
    app.update(Action::Wheel {
        col: a.log.x + 2,
        row: a.log.y + 2,
        up: true,
    });
    assert!(!app.log().follow());
    assert_eq!(app.log().bottom(), 3);
    assert_eq!(
        app.focus(),
        Pane::Topics,
        "the wheel does not move the focus"
    );
}

#[test]
fn tab_cycles_focus_help_opens_and_q_quits() {
    let mut app = app();
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(app.focus(), Pane::Messages);
    press(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    press(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(app.focus(), Pane::Log);
    key(&mut app, '?');
    assert!(matches!(app.modal(), Some(Modal::Help { .. })));
    // q closes the help rather than quitting.
    key(&mut app, 'q');
    assert!(app.modal().is_none() && !app.quit());
    key(&mut app, 'q');
    assert!(app.quit());
}

#[test]
fn copy_topic_and_payload_become_effects() {
    let mut app = app();
    message(&mut app, "a/b", b"payload!", at(1, 0));
    app.update(Action::Cmd(Cmd::Focus(Pane::Messages)));
    assert_eq!(key(&mut app, 'y'), [Effect::Copy("a/b".into())]);
    assert_eq!(key(&mut app, 'Y'), [Effect::Copy("payload!".into())]);
}

#[test]
fn workbench_dash_l_takes_every_scheme_sub_takes() {
    // The workbench's `-L` goes through the same parser as `sub -L` (issue 9): every scheme
    // `sub` accepts, credentials, IPv6 literals and the topic of the path.
    use crate::client::{BrokerUrl, Transport};
    let u = BrokerUrl::parse("mqtt://user:pw@broker.local:1884/sensors/#").expect("mqtt URL");
    let o = u.to_options();
    assert_eq!(
        (o.host.as_str(), o.port, o.transport),
        ("broker.local", 1884, Transport::Tcp)
    );
    assert_eq!(
        (o.username.as_deref(), o.password.as_deref()),
        (Some("user"), Some("pw"))
    );
    assert_eq!(u.topic.as_deref(), Some("sensors/#"));
    let v6 = BrokerUrl::parse("mqtt://[::1]").expect("IPv6 literal");
    assert_eq!((v6.host.as_str(), v6.port, v6.topic), ("::1", 1883, None));
    for (url, transport, port) in [
        ("mqtts://x", Transport::Tls, 8883),
        ("ws://x/mqtt", Transport::Ws, 80),
        ("wss://x:9443/mqtt", Transport::Wss, 9443),
    ] {
        let o = BrokerUrl::parse(url).expect(url).to_options();
        assert_eq!((o.transport, o.port), (transport, port), "{url}");
    }
    assert!(BrokerUrl::parse("mqtt://x:port").is_err());
    assert!(BrokerUrl::parse("gopher://x").is_err());
}

#[test]
fn broker_stats_give_exact_clients_and_rates() {
    use crate::broker::sys::LiveStats;
    let mut app = app();
    let first = LiveStats {
        clients_connected: 3,
        publish_received: 100,
        publish_sent: 250,
        ..LiveStats::default()
    };
    app.update(Action::BrokerStats(first));
    assert_eq!(app.broker().rates(), None, "a rate needs two samples");
    let second = LiveStats {
        clients_connected: 4,
        publish_received: 160,
        publish_sent: 400,
        ..first
    };
    app.update(Action::BrokerStats(second));
    assert_eq!(app.broker().rates(), Some((60, 150)));
    assert_eq!(app.broker().stats().map(|s| s.clients_connected), Some(4));
}

#[test]
fn the_fault_menu_needs_the_embedded_broker_and_says_so() {
    // With a broker: `!` opens the menu.
    let mut app = app();
    app.update(Action::Cmd(Cmd::Faults));
    assert!(matches!(app.modal(), Some(Modal::Faults)));
    // Client only (-L, -h, --profile): no menu that cannot do anything, but the reason.
    let mut app = App::new(
        StartInfo {
            broker_addr: None,
            client_target: "broker.example:1883".into(),
            ..StartInfo::default()
        },
        Limits::default(),
    );
    app.update(Action::Cmd(Cmd::Faults));
    assert!(app.modal().is_none());
    assert_eq!(app.notice(), Some(crate::tui::app::fault::NO_BROKER));
}
