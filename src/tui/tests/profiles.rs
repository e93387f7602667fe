//! The profile picker and editor on pure state: switching targets, the password prompt,
//! saving and deleting as effects, retry and back-off in the status.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;
use crate::tui::app::profiles::FormField;
use crate::tui::app::{ClientState, Modal, SubState};
use crate::tui::app::{ConnectTo, Target};

fn enter(app: &mut App) -> Vec<Effect> {
    press(app, KeyCode::Enter, KeyModifiers::NONE)
}

#[test]
fn picker_opens_a_profile_beside_the_embedded_connection_with_its_own_tree() {
    let mut app = app_with_profiles();
    message(&mut app, "old/topic", b"x", at(0, 0));
    assert_eq!(app.topics().count(), 1);
    key(&mut app, 'P');
    assert!(matches!(app.modal(), Some(Modal::Profiles { cursor: 0 })));
    key(&mut app, 'j');
    // No question any more: the profile opens as a second connection, nothing is cleared.
    let fx = enter(&mut app);
    let [Effect::Connect(ConnectTo::Profile { profile, password })] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(profile.name, "lab");
    assert_eq!(*password, None);
    assert!(app.modal().is_none());
    assert_eq!(*app.link().target(), Target::Profile("lab".into()));
    assert_eq!(app.link().address(), "mqtts://broker.lab:8883");
    assert_eq!(*app.link().state(), ClientState::Connecting);
    assert_eq!(
        app.topics().count(),
        0,
        "the new connection has its own tree"
    );
    assert_eq!(app.messages().ring().len(), 0);
    assert_eq!(app.conns().len(), 2);
    let subs: Vec<_> = app
        .link()
        .subscriptions()
        .iter()
        .map(|s| (s.filter.as_str(), s.qos))
        .collect();
    assert_eq!(subs, [("sensors/#", 1), ("devices/+/state", 0)]);
    // On connect they are subscribed.
    let fx = app.update(Action::Client(LinkEvent::Connected));
    assert_eq!(fx.len(), 2);
    assert!(
        app.link()
            .subscriptions()
            .iter()
            .all(|s| s.state == SubState::Pending)
    );
    // Back to the embedded broker: its connection is shown again, with what it collected,
    // and no new connection is made.
    key(&mut app, 'P');
    assert!(
        matches!(app.modal(), Some(Modal::Profiles { cursor: 1 })),
        "opens on the current one"
    );
    key(&mut app, 'k');
    let fx = enter(&mut app);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(*app.link().target(), Target::Embedded);
    assert_eq!(app.link().address(), "127.0.0.1:1883");
    assert_eq!(app.link().subscriptions()[0].filter, "#");
    assert_eq!(
        app.topics().count(),
        1,
        "the embedded connection kept its tree"
    );
    assert_eq!(app.conns().len(), 2);
}

#[test]
fn a_profile_that_asks_gets_a_masked_prompt() {
    let mut app = app_with_profiles();
    key(&mut app, 'P');
    key(&mut app, 'j');
    key(&mut app, 'j');
    assert!(enter(&mut app).is_empty());
    assert!(matches!(app.modal(), Some(Modal::Password { .. })));
    typed(&mut app, "s3cret");
    let fx = enter(&mut app);
    let [Effect::Connect(ConnectTo::Profile { profile, password })] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(profile.name, "cloud");
    assert_eq!(password.as_ref().map(|p| p.expose()), Some("s3cret"));
    assert!(
        !format!("{fx:?}").contains("s3cret"),
        "never in debug output"
    );
}

#[test]
fn new_profile_is_saved_through_an_effect_and_the_editor_checks_fields() {
    let mut app = app_with_profiles();
    key(&mut app, 'P');
    key(&mut app, 'n');
    assert!(matches!(app.modal(), Some(Modal::ProfileEditor(_))));
    // Nameless: refused with a reason, editor stays open.
    assert!(enter(&mut app).is_empty());
    let Some(Modal::ProfileEditor(f)) = app.modal() else {
        panic!()
    };
    assert!(f.error().unwrap().contains("name"), "{:?}", f.error());
    typed(&mut app, "home");
    // Transport: Tab twice (Note, Transport), then Space: tcp → tls.
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    key(&mut app, ' ');
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    typed(&mut app, "10.0.0.2");
    // Subscriptions is the last field: Up from the first one wraps to it.
    for _ in 0..3 {
        press(&mut app, KeyCode::Up, KeyModifiers::NONE);
    }
    let Some(Modal::ProfileEditor(f)) = app.modal() else {
        panic!()
    };
    assert_eq!(f.focus(), FormField::Name);
    press(&mut app, KeyCode::Up, KeyModifiers::NONE);
    let Some(Modal::ProfileEditor(f)) = app.modal() else {
        panic!()
    };
    assert_eq!(f.focus(), FormField::Subscriptions);
    typed(&mut app, "a/# @2, b");
    let fx = press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let [Effect::SaveProfile { original, profile }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(*original, None);
    assert_eq!(profile.name, "home");
    assert_eq!(profile.address(), "mqtts://10.0.0.2:8883");
    assert_eq!(profile.subscriptions.len(), 2);
    // The run loop saved it: back to the picker, on the new profile.
    let mut list = saved_profiles();
    list.push((**profile).clone());
    app.update(Action::Profiles(Ok(list)));
    assert!(matches!(app.modal(), Some(Modal::Profiles { cursor: 3 })));
    assert_eq!(app.profiles().list().len(), 3);
}

#[test]
fn save_errors_stay_in_the_editor() {
    let mut app = app_with_profiles();
    key(&mut app, 'P');
    key(&mut app, 'j');
    key(&mut app, 'e');
    let fx = enter(&mut app);
    assert!(matches!(fx.as_slice(), [Effect::SaveProfile { original: Some(n), .. }] if n == "lab"));
    app.update(Action::Profiles(Err(
        "refusing to overwrite profiles.toml".into()
    )));
    let Some(Modal::ProfileEditor(f)) = app.modal() else {
        panic!()
    };
    assert_eq!(f.error(), Some("refusing to overwrite profiles.toml"));
}

#[test]
fn duplicate_and_delete() {
    let mut app = app_with_profiles();
    key(&mut app, 'P');
    key(&mut app, 'j');
    key(&mut app, 'd');
    let Some(Modal::ProfileEditor(f)) = app.modal() else {
        panic!()
    };
    assert_eq!(f.text(FormField::Name), "lab copy");
    assert_eq!(f.original(), None);
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(matches!(app.modal(), Some(Modal::Profiles { cursor: 0 })));
    key(&mut app, 'j');
    key(&mut app, 'x');
    assert!(matches!(app.modal(), Some(Modal::ConfirmDelete(n)) if n == "lab"));
    assert_eq!(key(&mut app, 'y'), [Effect::DeleteProfile("lab".into())]);
    // The embedded broker row is not a profile.
    key(&mut app, 'P');
    key(&mut app, 'g');
    assert!(key(&mut app, 'x').is_empty());
    assert!(app.notice().unwrap().contains("not a saved profile"));
}

#[test]
fn unreadable_profiles_file_disables_editing() {
    let mut app = app_from(
        saved_profiles(),
        Some("profiles.toml:3:8: invalid type".into()),
        Limits::default(),
    );
    key(&mut app, 'P');
    key(&mut app, 'n');
    assert!(matches!(app.modal(), Some(Modal::Profiles { .. })));
    assert!(app.notice().unwrap().contains("3:8"));
}

#[test]
fn failures_show_the_reason_and_the_retry_countdown() {
    let mut app = app();
    app.update(Action::Client(LinkEvent::Disconnected(
        "bad user name or password (CONNACK 4)".into(),
    )));
    app.update(Action::Client(LinkEvent::Retrying {
        attempt: 3,
        delay: Duration::from_secs(4),
    }));
    assert_eq!(app.link().retry(), Some((3, at(4, 0))));
    assert_eq!(key(&mut app, 'r'), [Effect::Reconnect]);
    assert_eq!(*app.link().state(), ClientState::Connecting);
    assert_eq!(app.link().retry(), None);
}

#[test]
fn an_authentication_refusal_is_not_retried_and_asks_for_the_password() {
    let mut app = app_with_profiles();
    key(&mut app, 'P');
    key(&mut app, 'j');
    enter(&mut app);
    assert_eq!(*app.link().target(), Target::Profile("lab".into()));
    let why = "not authorised: check the user name and password (CONNACK 5)";
    app.update(Action::Client(LinkEvent::Refused(why.into())));
    assert_eq!(*app.link().state(), ClientState::Disconnected(why.into()));
    assert_eq!(app.link().retry(), None, "no retry countdown");
    let Some(Modal::Password { profile, prompt }) = app.modal() else {
        panic!("the password prompt opens: {:?}", app.modal())
    };
    assert_eq!(profile.name, "lab");
    let said = prompt.error().unwrap_or_default();
    assert!(
        said.contains(why) && said.contains("edit the profile"),
        "{said}"
    );
    // The error stays readable in full.
    assert!(app.notices().errors().any(|(_, e)| e.contains(why)));
    // Typing a password connects to the same profile again, keeping what was collected.
    message(&mut app, "lab/topic", b"x", at(0, 0));
    typed(&mut app, "s3cret");
    let fx = enter(&mut app);
    let [Effect::Connect(ConnectTo::Profile { password, .. })] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(password.as_ref().map(|p| p.expose()), Some("s3cret"));
    assert_eq!(app.topics().count(), 1, "same target: nothing cleared");
}

#[test]
fn a_missing_password_env_asks_instead_of_failing() {
    let mut app = app_with_profiles();
    let profile = app.profiles().list()[0].clone();
    let why = "profile 'lab': the environment variable LAB_PW (password_env) is not set";
    app.update(Action::NeedPassword {
        profile: Box::new(profile),
        why: why.into(),
    });
    let Some(Modal::Password { prompt, .. }) = app.modal() else {
        panic!("the password prompt opens: {:?}", app.modal())
    };
    assert!(prompt.error().unwrap_or_default().contains(why));
}

/// Review item 15: `P` reads profiles.toml again, so a profile added by `profile add` while
/// the workbench runs shows up, and a shorter list keeps the cursor on a row.
#[test]
fn the_picker_reads_the_profiles_again_when_it_opens() {
    let mut app = app_with_profiles();
    assert_eq!(key(&mut app, 'P'), [Effect::ReloadProfiles]);
    key(&mut app, 'j');
    key(&mut app, 'j');
    let mut later = saved_profiles();
    later.push(crate::profile::Profile::named("added-later"));
    app.update(Action::Profiles(Ok(later)));
    assert!(matches!(app.modal(), Some(Modal::Profiles { cursor: 2 })));
    assert_eq!(app.profiles().picker_len(), 4);
    app.update(Action::Profiles(Ok(Vec::new())));
    assert!(matches!(app.modal(), Some(Modal::Profiles { cursor: 0 })));
}
