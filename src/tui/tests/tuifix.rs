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
        status.contains("│ copied (password left out: add -P): mosquitt"),
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
