//! Task `tuifix`: what a new user's review of the release binary found, through the real
//! keymap and drawn at 80x24 and 160x48.

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// The app connected to the `lab` profile (its password comes from the environment).
fn on_lab() -> App {
    let mut app = app_with_profiles();
    key(&mut app, 'P');
    key(&mut app, 'j');
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(matches!(fx.as_slice(), [Effect::Connect(_)]), "{fx:?}");
    app
}

#[test]
fn a_copied_command_says_the_password_is_left_out_first_and_so_do_the_dialogs() {
    let mut app = on_lab();
    key(&mut app, 's');
    typed(&mut app, "x/#");
    let fx = ctrl(&mut app, 'y');
    assert!(matches!(fx.as_slice(), [Effect::Copy(_)]), "{fx:?}");
    let notice = app.notice().unwrap_or_default().to_owned();
    assert!(
        notice.starts_with("copied (password left out: add -P): mosquitto_sub -h broker.lab"),
        "{notice}"
    );
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen(&mut app, w, h).backend().to_string();
        assert!(
            text.contains("! password left out: add -P"),
            "{w}x{h}:\n{text}"
        );
    }
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    // The status line keeps the note where it cuts the command (the review: cut at 160).
    let text = screen(&mut app, 160, 48).backend().to_string();
    let status = text.lines().next().unwrap_or_default();
    assert!(
        status.contains("copied (password left out: add -P): mosquitt"),
        "{status}"
    );
    key(&mut app, 'p');
    typed(&mut app, "out");
    let fx = ctrl(&mut app, 'y');
    assert!(matches!(fx.as_slice(), [Effect::Copy(_)]), "{fx:?}");
    let notice = app.notice().unwrap_or_default().to_owned();
    assert!(
        notice.starts_with("copied (password left out: add -P): mosquitto_pub -h broker.lab"),
        "{notice}"
    );
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen(&mut app, w, h).backend().to_string();
        assert!(
            text.contains("! password left out: add -P"),
            "{w}x{h}:\n{text}"
        );
    }
}

#[test]
fn a_command_without_a_password_has_no_note() {
    let mut app = app();
    key(&mut app, 's');
    typed(&mut app, "x/#");
    ctrl(&mut app, 'y');
    assert_eq!(
        app.notice(),
        Some("copied: mosquitto_sub -h 127.0.0.1 -p 1883 -t 'x/#' -v")
    );
    let text = screen(&mut app, 80, 24).backend().to_string();
    assert!(!text.contains("left out"), "{text}");
}

#[test]
fn an_export_of_one_message_says_message() {
    let mut app = app();
    message(&mut app, "a/b", b"1", at(1, 0));
    let said = crate::tui::app::fleet::history_summary(app.messages(), None);
    assert_eq!(said, "1 message of 'all topics'");
    message(&mut app, "a/b", b"2", at(1, 1));
    let said = crate::tui::app::fleet::history_summary(app.messages(), None);
    assert_eq!(said, "2 messages of 'all topics'");
}

/// The titles on the top borders of `text`'s frames (`┌ title ─` / `┏ title ━`).
fn titles(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(i) = rest.find(['┌', '┏']) {
            rest = &rest[i + '┌'.len_utf8()..];
            let Some(t) = rest.strip_prefix(' ') else {
                continue;
            };
            // A title starts with text, not with another frame's border or a chart.
            if t.chars().next().is_none_or(|c| {
                c == ' '
                    || ('\u{2500}'..='\u{257f}').contains(&c)
                    || ('\u{2800}'..='\u{28ff}').contains(&c)
            }) {
                continue;
            }
            let end = [" ─", " ━", " ┐", " ┓"]
                .iter()
                .filter_map(|e| t.find(e))
                .min()
                .unwrap_or(t.len());
            out.push(t[..end].to_owned());
            rest = &t[end..];
        }
    }
    out
}

#[test]
fn titles_keep_their_pane_name_and_a_cut_topic_shows_the_mark() {
    // The review: `┌ …s: all topics (1) · newest ┐`, a title cut from the left.
    let deep = "plant/hall-7/line-3/cabinet-12/unit-4/sensor-bank-2/temperature";
    let mut app = app();
    message(&mut app, deep, b"21.5", at(1, 0));
    message(&mut app, deep, b"22.5", at(1, 1));
    key(&mut app, '2');
    for (w, h) in [(80, 24), (160, 48)] {
        for open in ["", "P", "D"] {
            if !open.is_empty() {
                key(&mut app, open.chars().next().unwrap_or('P'));
            }
            let text = screen(&mut app, w, h).backend().to_string();
            let found = titles(&text);
            assert!(!found.is_empty(), "{w}x{h} {open}: {found:?}\n{text}");
            for t in &found {
                assert!(!t.starts_with('…'), "{w}x{h} {open}: title {t:?}\n{text}");
            }
            let with_topic = |name: &str| found.iter().find(|t| t.starts_with(name)).cloned();
            if open.is_empty() {
                assert!(found.len() >= 4, "{w}x{h}: {found:?}\n{text}");
                assert!(with_topic("Messages: ").is_some(), "{w}x{h}: {found:?}");
                // The topic in a title keeps its leaf and shows where it was cut.
                let payload = with_topic("Payload: ").unwrap_or_default();
                assert!(
                    payload.contains('…') && payload.contains("temperature"),
                    "{payload}"
                );
            }
            if let Some(name) = match open {
                "P" => Some("Plot: "),
                "D" => Some("Diff: "),
                _ => None,
            } {
                let t = with_topic(name).unwrap_or_else(|| panic!("{name} in {found:?}"));
                assert!(t.contains("temperature") || t.ends_with('…'), "{t}");
                press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
            }
        }
    }
}

#[test]
fn composer_tab_follows_the_drawn_order_and_toggles_answer_typed_keys() {
    use crate::tui::app::{ComposerField, Modal};
    let focus = |app: &App| match app.modal() {
        Some(Modal::Composer(c)) => Some(c.focus()),
        _ => None,
    };
    let mut app = app();
    key(&mut app, 'p');
    // The fields from the top of the dialog down, as Tab visits them.
    let text = screen(&mut app, 80, 24).backend().to_string();
    let row = |needle: &str| text.lines().position(|l| l.contains(needle));
    let rows = [
        row("Topic"),
        row("Payload"),
        row("QoS 0"),
        row("Content type"),
    ];
    assert!(rows.iter().all(Option::is_some), "{rows:?}\n{text}");
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "{rows:?}\n{text}");
    let mut seen = vec![focus(&app)];
    for _ in 0..4 {
        press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
        seen.push(focus(&app));
    }
    assert_eq!(
        seen,
        [
            ComposerField::Topic,
            ComposerField::Payload,
            ComposerField::Qos,
            ComposerField::Retain,
            ComposerField::ContentType,
        ]
        .map(Some)
    );
    // Back on QoS: a digit sets it, a letter is answered, the hint stands out.
    press(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    press(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(focus(&app), Some(ComposerField::Qos));
    key(&mut app, '2');
    key(&mut app, 'x');
    let Some(Modal::Composer(c)) = app.modal() else {
        panic!("the composer")
    };
    assert_eq!(c.qos(), 2);
    assert!(
        c.error().is_some_and(|e| e.starts_with("'x' is no QoS")),
        "{:?}",
        c.error()
    );
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen(&mut app, w, h).backend().to_string();
        assert!(
            text.contains("Space or ←/→ changes · 0 1 2 set the QoS"),
            "{text}"
        );
        assert!(text.contains("'x' is no QoS"), "{text}");
    }
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, 'y');
    let Some(Modal::Composer(c)) = app.modal() else {
        panic!("the composer")
    };
    assert!(c.retain());
}

#[test]
fn the_lesson_title_is_numbered_once_and_a_wrapped_step_hangs_under_its_text() {
    let mut app = app();
    key(&mut app, 'L');
    let text = screen(&mut app, 80, 24).backend().to_string();
    assert!(text.contains("Lesson 1/8: Hello, MQTT"), "{text}");
    assert!(!text.contains("1. Hello, MQTT"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let (row, col) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.find("[>] 1. ").map(|c| (i, l[..c].chars().count())))
        .unwrap_or_else(|| panic!("the current step:\n{text}"));
    let next: String = lines
        .get(row + 1)
        .map(|l| l.chars().skip(col).collect())
        .unwrap_or_default();
    let indent = next.len() - next.trim_start().len();
    assert_eq!(indent, "[>] 1. ".len(), "{next:?}\n{text}");
}

#[test]
fn a_very_small_terminal_says_it_is_too_small() {
    let mut app = app();
    let text = screen(&mut app, 20, 5).backend().to_string();
    let flat: String = text
        .lines()
        .map(|l| l.trim_matches('"').trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("terminal too small: 20x5 (need 40x10)"),
        "{text}"
    );
    // At the least size the panes are drawn.
    let text = screen(&mut app, 40, 10).backend().to_string();
    assert!(
        !text.contains("too small") && text.contains("Topics"),
        "{text}"
    );
}

#[test]
fn a_notice_comes_first_on_a_status_bar_too_narrow_for_everything() {
    let mut lab = on_lab();
    key(&mut lab, 's');
    typed(&mut lab, "x/#");
    ctrl(&mut lab, 'y');
    press(&mut lab, KeyCode::Esc, KeyModifiers::NONE);
    // 80 columns: the broker and client state fill the bar, so the notice goes first.
    let text = screen(&mut lab, 80, 24).backend().to_string();
    let status = text.lines().next().unwrap_or_default();
    assert!(
        status.contains(" MQTT copied (password left out: add -P): "),
        "{status}"
    );
    // A short notice on a wide bar: everything fits, so the standing state keeps its place.
    let mut plain = app();
    key(&mut plain, 's');
    typed(&mut plain, "x/#");
    ctrl(&mut plain, 'y');
    press(&mut plain, KeyCode::Esc, KeyModifiers::NONE);
    let text = screen(&mut plain, 160, 48).backend().to_string();
    let status = text.lines().next().unwrap_or_default();
    assert!(
        status.contains("│ copied: mosquitto_sub -h 127.0.0.1 -p 1883 -t 'x/#' -v"),
        "{status}"
    );
    // (each line of the test backend's text is quoted)
    assert!(status.starts_with("\" MQTT broker"), "{status}");
}
