//! The rough edges last session's reviewers reported (task `polish`), each through the real
//! keymap: the inspector draws no empty section and recognises the workbench's own broker
//! behind a profile, cut text says so, lesson steps read as sentences, and the commands
//! copied for a profile carry its TLS options.

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;
use crate::tui::app::inspector::Learn;
use crate::tui::app::{Cmd, ConnectTo, Modal, Pane};
use crate::tui::trace::TraceRow;

fn learn_lines(app: &App) -> Vec<String> {
    match app.modal() {
        Some(Modal::Learn(l)) => match &**l {
            Learn::Packet(v) => v.lines.clone(),
            Learn::TraceRow(v) | Learn::Note(v) => v.lines.clone(),
            other => panic!("not the inspector: {other:?}"),
        },
        other => panic!("no learning view: {other:?}"),
    }
}

/// Item 4: a start-up line has no packet and no fields: one sentence, no empty section.
#[test]
fn the_inspector_on_a_start_up_line_says_so_once_and_draws_no_empty_section() {
    let mut app = app();
    log(&mut app, BrokerEvent::Starting, at(1, 0));
    log(&mut app, BrokerEvent::Config(None), at(1, 1));
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    for _ in 0..2 {
        assert!(key(&mut app, 'i').is_empty(), "no capture asked");
        let lines = learn_lines(&app);
        let text = lines.join("\n");
        assert!(!text.contains("Fields from"), "{text}");
        assert_eq!(
            text.matches("not about one packet").count(),
            1,
            "one sentence: {text}"
        );
        assert_ne!(lines.last().map(String::as_str), Some(""), "{lines:?}");
        press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
        key(&mut app, 'k');
    }
    // A line with a client but no packet still lists what it carries.
    log(
        &mut app,
        BrokerEvent::KeepAliveTimeout("dev1".into()),
        at(2, 0),
    );
    key(&mut app, 'G');
    key(&mut app, 'i');
    let text = learn_lines(&app).join("\n");
    assert!(text.contains("Fields from the log line"), "{text}");
    assert!(text.contains("dev1"), "{text}");
}

/// A profile `own` that points at the embedded broker (the test app's 127.0.0.1:1883).
fn own_profile_app() -> App {
    let mut own = crate::profile::Profile::named("own");
    own.host = Some("127.0.0.1".into());
    own.port = Some(1883);
    own.client_id = Some("wb".into());
    let mut app = app_from(vec![own], None, Limits::default());
    key(&mut app, 'P');
    key(&mut app, 'j');
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        matches!(fx.as_slice(), [Effect::Connect(ConnectTo::Profile { profile, .. })] if profile.name == "own"),
        "{fx:?}"
    );
    app
}

/// Item 5: a trace row of a profile pointing at the embedded broker does not call it
/// "another broker"; a PINGREQ row (no fields) draws no empty section.
#[test]
fn a_trace_row_of_a_profile_on_the_embedded_broker_names_its_own_broker() {
    let mut app = own_profile_app();
    for line in [
        "Client wb sending PINGREQ",
        "Client wb received PUBLISH (d0, q1, r0, m4, 'sensors/a', ... (5 bytes))",
    ] {
        let row = TraceRow::new(at(3, 0), line.to_owned());
        app.update(Action::ConnEvent(1, LinkEvent::Trace(row)));
    }
    key(&mut app, '4');
    key(&mut app, 'i');
    let text = learn_lines(&app).join("\n");
    assert!(!text.contains("another broker"), "{text}");
    assert!(
        text.contains("workbench's own broker (127.0.0.1:1883)"),
        "{text}"
    );
    assert!(text.contains("Topic Name"), "{text}");
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    key(&mut app, 'k');
    key(&mut app, 'i');
    let text = learn_lines(&app).join("\n");
    assert!(text.contains("PINGREQ sent by client 'wb'"), "{text}");
    assert!(!text.contains("Fields from"), "{text}");
    assert!(text.contains("no packet fields"), "{text}");
    // `X` in the tree: the embedded broker's retained store is known, no "another broker".
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    app.update(Action::Cmd(Cmd::Focus(Pane::Topics)));
    key(&mut app, 'X');
    let notices = app.notice().unwrap_or_default().to_owned();
    assert!(!notices.contains("another broker"), "{notices}");
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    screen(app, w, h)
}

fn rows(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

/// Item 1: a long topic filter in the tree's title, a long payload in a list cell and a long
/// notice in the status bar are cut with `…`, measured in display columns.
#[test]
fn cut_titles_cells_and_the_status_bar_end_in_the_mark() {
    let mut app = app();
    let long_payload = "x".repeat(300);
    message(
        &mut app,
        "plant/1/temperature",
        long_payload.as_bytes(),
        at(1, 0),
    );
    message(
        &mut app,
        "plant/2/temperature",
        long_payload.as_bytes(),
        at(1, 1),
    );
    key(&mut app, '1');
    key(&mut app, '/');
    let long = "re:^plant/[0-9]+/temperature$|^an/alternative/far/too/long/for/any/title/row$";
    typed(&mut app, long);
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(app.topics().matched(), 2);
    key(&mut app, 'G');
    let clock = regex::Regex::new(r"\d\d:\d\d:\d\d").expect("regex");
    for (w, h) in [(80, 24), (160, 48)] {
        let text = rows(&draw(&mut app, w, h));
        let title = text
            .iter()
            .find(|r| r.contains("Topics (2/2)"))
            .expect("the topic tree's title");
        assert!(!title.contains("title/row"), "{title}");
        // The mark sits right before the frame's corner: the title used all its room.
        let tree = title.split(['┐', '┓']).next().unwrap_or_default();
        assert!(tree.ends_with('…'), "{w}x{h}: {tree:?}");
        // The message list's rows of the long payload end in the mark inside their pane.
        let listed: Vec<&String> = text
            .iter()
            .filter(|r| clock.is_match(r) && r.contains("xxxxxxxxxx"))
            .collect();
        assert!(!listed.is_empty(), "{text:#?}");
        for r in listed {
            assert!(r.contains("x…"), "{w}x{h}: {r}");
        }
    }
    // A notice longer than the status bar: `y` copies the selected topic and says which.
    app.update(Action::Cmd(Cmd::Focus(Pane::Messages)));
    let fx = key(&mut app, 'y');
    assert!(matches!(fx.as_slice(), [Effect::Copy(_)]), "{fx:?}");
    // At 80 columns the bar has no room left for the notice: the mark says something is cut.
    let status = rows(&draw(&mut app, 80, 24))[0].clone();
    assert!(status.ends_with('…'), "{status:?}");
    let status = rows(&draw(&mut app, 160, 48))[0].clone();
    assert!(status.contains("copied topic 'plant/"), "{status}");
    assert!(
        !status.contains('…'),
        "room enough at 160 columns: {status:?}"
    );
}

/// Item 2: a lesson step's checks read as sentences; the matcher stays internal.
#[test]
fn the_lesson_pane_shows_sentences_not_matcher_text() {
    let mut app = app();
    key(&mut app, 'L');
    for (w, h) in [(160, 48), (80, 24)] {
        let text = draw(&mut app, w, h).backend().to_string();
        if w == 160 {
            assert!(text.contains("The broker receives a SUBSCRIBE"), "{text}");
        }
        for matcher in ["subscribe_received", "filter=", "_received", "topic="] {
            assert!(!text.contains(matcher), "{w}x{h}: {matcher} in {text}");
        }
    }
    for (w, h) in [(80, 24), (160, 48)] {
        let t = draw(&mut app, w, h);
        let name = format!("lesson_pane_sentences_at_{w}x{h}");
        settings().bind(|| insta::assert_snapshot!(name, t.backend()));
    }
}

/// Item 6: the log cursor on a multi-line entry highlights all its lines as one solid
/// block over the pane's width; the line before it is not highlighted.
#[test]
fn the_log_cursor_covers_every_line_of_a_multi_line_entry() {
    let mut app = app();
    log(&mut app, BrokerEvent::Starting, at(1, 0));
    log(&mut app, BrokerEvent::LocalOnlyMode, at(1, 1));
    log(&mut app, BrokerEvent::Running, at(1, 2));
    app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
    key(&mut app, 'k');
    let t = draw(&mut app, 160, 48);
    let buf = t.backend().buffer();
    let text = rows(&t);
    let ys: Vec<u16> = (0..buf.area.height)
        .filter(|&y| {
            let r = &text[usize::from(y)];
            r.contains("local only mode")
                || r.contains("allow remote access")
                || r.contains("Create a configuration")
        })
        .collect();
    assert!(ys.len() >= 2, "{text:#?}");
    let reversed = |y: u16| {
        (0..buf.area.width)
            .filter(|&x| {
                buf[(x, y)]
                    .modifier
                    .contains(ratatui::style::Modifier::REVERSED)
            })
            .count()
    };
    let widths: Vec<usize> = ys.iter().map(|&y| reversed(y)).collect();
    assert!(widths[0] > 40, "{widths:?}");
    assert!(
        widths.iter().all(|w| *w == widths[0]),
        "one solid block: {widths:?}"
    );
    let running = (0..buf.area.height)
        .find(|&y| {
            let r = &text[usize::from(y)];
            r.contains("running") && !r.contains("clients running")
        })
        .expect("the running line");
    assert_eq!(reversed(running), 0);
}
