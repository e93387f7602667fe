//! Keys as data: one table maps keys to [`Cmd`]s per context. The same table drives the
//! footer and the `?` help, so what is shown is what works.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui_textarea::Input;

use super::app::fleet::Kind as FleetKind;
use super::app::inspector::Learn;
use super::app::{Action, App, Cmd, ComposerField, Modal, Pane};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    /// Everywhere outside dialogs.
    Global,
    /// Topic tree focused.
    Topics,
    /// Message list focused.
    Messages,
    /// Payload focused.
    Payload,
    /// Broker log focused.
    Log,
    /// The help screen.
    Help,
    /// The publish composer.
    Composer,
    /// A one-line prompt (search, client filter, tree filter, export, why's topic, password).
    Prompt,
    /// The subscribe prompt: [`Ctx::Prompt`]'s keys and its own (QoS, copy the command).
    SubscribePrompt,
    /// The unsubscribe list.
    List,
    /// A yes/no question.
    Confirm,
    /// The profile picker.
    Picker,
    /// The profile editor.
    Editor,
    /// The fault menu.
    Faults,
    /// The first-minute overlay.
    FirstMinute,
    /// The connections list (conns, issue 14).
    Conns,
    /// Issue 12's learning views: inspector, broker state, why, concept pages.
    Learn,
    /// "Why didn't I receive it?": [`Ctx::Learn`]'s keys and typing a topic.
    LearnWhy,
    /// The concept pages: [`Ctx::Learn`]'s keys and paging.
    LearnConcepts,
    /// Fleet: the JSON path picker of the plot.
    Choose,
    /// Fleet: the plot and the diff.
    Viewer,
}

impl Ctx {
    /// Heading for the help screen.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Global => "Everywhere",
            Self::Topics => "Topic tree",
            Self::Messages => "Messages",
            Self::Payload => "Payload",
            Self::Log => "Broker log",
            Self::Help => "Help",
            Self::Composer => "Publish composer",
            Self::Prompt => "Prompts",
            Self::SubscribePrompt => "Subscribe prompt",
            Self::List => "Unsubscribe list",
            Self::Confirm => "Questions",
            Self::Picker => "Profile picker (P)",
            Self::Editor => "Profile editor",
            Self::Faults => "Fault menu (!)",
            Self::FirstMinute => "First minute",
            Self::Conns => "Connections list (c)",
            Self::Learn => "Inspector, state, why, concepts",
            Self::LearnWhy => "Why didn't I receive it? (W)",
            Self::LearnConcepts => "Concept pages",
            Self::Choose => "Plot: JSON path picker",
            Self::Viewer => "Plot, diff and sequence views",
        }
    }
}

/// One key binding.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub ctx: Ctx,
    /// The key.
    pub code: KeyCode,
    /// Required modifiers (Shift is ignored for characters).
    pub mods: KeyModifiers,
    /// What it does.
    pub cmd: Cmd,
    /// How the key is written in the footer and help (empty: shown with the previous one).
    pub key: &'static str,
    /// What it does, in a few words.
    pub help: &'static str,
    /// Shown in the footer.
    pub footer: bool,
}

mod bindings;
mod features;

/// Every binding: the core table, then the feature table. Earlier entries win.
pub static BINDINGS: std::sync::LazyLock<Vec<Binding>> =
    std::sync::LazyLock::new(|| [bindings::CORE, features::FEATURES].concat());

fn pane_ctx(p: Pane) -> Ctx {
    match p {
        Pane::Topics => Ctx::Topics,
        Pane::Messages => Ctx::Messages,
        Pane::Payload => Ctx::Payload,
        Pane::Log => Ctx::Log,
    }
}

/// The contexts that apply now, most specific first.
#[must_use]
pub fn contexts(app: &App) -> Vec<Ctx> {
    match app.modal() {
        // The sequence view scrolls and closes like the plot and the diff.
        Some(Modal::Sequence { .. }) => vec![Ctx::Viewer],
        Some(Modal::Help { .. } | Modal::Errors { .. }) => {
            vec![Ctx::Help]
        }
        Some(Modal::Composer(_)) => vec![Ctx::Composer],
        Some(Modal::Subscribe(_)) => vec![Ctx::SubscribePrompt, Ctx::Prompt],
        Some(Modal::Search(_) | Modal::ClientFilter(_) | Modal::Password { .. }) => {
            vec![Ctx::Prompt]
        }
        Some(Modal::Unsubscribe { .. }) => vec![Ctx::List],
        Some(Modal::ConfirmDelete(_)) => vec![Ctx::Confirm],
        Some(Modal::Fleet(f)) => vec![match f.kind() {
            FleetKind::Prompt => Ctx::Prompt,
            FleetKind::Choose => Ctx::Choose,
            FleetKind::Viewer => Ctx::Viewer,
            FleetKind::Confirm => Ctx::Confirm,
        }],
        Some(Modal::Profiles { .. }) => vec![Ctx::Picker],
        Some(Modal::ProfileEditor(_)) => vec![Ctx::Editor],
        Some(Modal::Faults) => vec![Ctx::Faults],
        Some(Modal::FirstMinute) => vec![Ctx::FirstMinute],
        Some(Modal::Conns { .. }) => vec![Ctx::Conns],
        Some(Modal::Learn(v)) if v.typing() => vec![Ctx::Prompt],
        Some(Modal::Learn(v)) => match &**v {
            Learn::Why(_) => vec![Ctx::LearnWhy, Ctx::Learn],
            Learn::Concepts(_) => vec![Ctx::LearnConcepts, Ctx::Learn],
            _ => vec![Ctx::Learn],
        },
        None => vec![pane_ctx(app.focus()), Ctx::Global],
    }
}

fn key_matches(b: &Binding, key: &KeyEvent) -> bool {
    if b.code != key.code {
        return false;
    }
    let mut mods = key.modifiers;
    if matches!(key.code, KeyCode::Char(_) | KeyCode::BackTab) {
        mods.remove(KeyModifiers::SHIFT);
    }
    mods == b.mods
}

/// The bound command for a key in the given contexts.
#[must_use]
pub fn lookup(ctxs: &[Ctx], key: &KeyEvent) -> Option<Cmd> {
    ctxs.iter().find_map(|ctx| {
        BINDINGS
            .iter()
            .find(|b| b.ctx == *ctx && key_matches(b, key))
            .map(|b| b.cmd)
    })
}

/// Turns a terminal event into an action for the current state, or `None` to ignore it.
#[must_use]
pub fn action_for(app: &App, ev: &Event) -> Option<Action> {
    match ev {
        Event::Key(key) => {
            if !key.is_press() {
                return None;
            }
            // Ctrl-C quits from anywhere, dialogs included.
            if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
                return Some(Action::Cmd(Cmd::Quit));
            }
            let ctxs = contexts(app);
            // The sequence view scrolls with the viewer's keys; any other key closes it.
            if matches!(app.modal(), Some(Modal::Sequence { .. })) {
                return Some(Action::Cmd(lookup(&ctxs, key).unwrap_or(Cmd::Cancel)));
            }
            match ctxs.first() {
                // Scrolling keys scroll the help (or error list); any other key closes it. Any
                // key closes the first-minute overlay (`L` also opens the lesson).
                Some(Ctx::Help | Ctx::FirstMinute) => {
                    return Some(Action::Cmd(lookup(&ctxs, key).unwrap_or(Cmd::Cancel)));
                }
                Some(Ctx::Composer) => {
                    let on_toggle = matches!(
                        app.modal(),
                        Some(Modal::Composer(c)) if matches!(c.focus(), ComposerField::Qos | ComposerField::Retain)
                    );
                    if on_toggle
                        && matches!(
                            key.code,
                            KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
                        )
                    {
                        return Some(Action::Cmd(Cmd::ToggleField));
                    }
                    if key.code == KeyCode::Char(' ') {
                        return Some(Action::Input(Input::from(*key)));
                    }
                }
                Some(Ctx::Editor) => {
                    let on_toggle = matches!(
                        app.modal(),
                        Some(Modal::ProfileEditor(f)) if f.focus().is_toggle()
                    );
                    if on_toggle {
                        match key.code {
                            KeyCode::Char(' ') | KeyCode::Right => {
                                return Some(Action::Cmd(Cmd::ToggleField));
                            }
                            KeyCode::Left => return Some(Action::Cmd(Cmd::ToggleFieldBack)),
                            _ => {}
                        }
                    } else if key.code == KeyCode::Char(' ') {
                        return Some(Action::Input(Input::from(*key)));
                    }
                }
                _ => {}
            }
            if let Some(cmd) = lookup(&ctxs, key) {
                return Some(Action::Cmd(cmd));
            }
            match ctxs.first() {
                Some(Ctx::Composer | Ctx::Prompt | Ctx::SubscribePrompt | Ctx::Editor) => {
                    Some(Action::Input(Input::from(*key)))
                }
                _ => None,
            }
        }
        Event::Mouse(MouseEvent {
            kind, column, row, ..
        }) => match kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
                col: *column,
                row: *row,
            }),
            MouseEventKind::ScrollUp => Some(Action::Wheel {
                col: *column,
                row: *row,
                up: true,
            }),
            MouseEventKind::ScrollDown => Some(Action::Wheel {
                col: *column,
                row: *row,
                up: false,
            }),
            _ => None,
        },
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        Event::Paste(s) => Some(Action::Paste(s.clone())),
        _ => None,
    }
}

/// The bindings the footer shows for the current state: those of the contexts that apply,
/// help and quit first so they survive a narrow terminal.
#[must_use]
pub fn footer_bindings(app: &App) -> Vec<&'static Binding> {
    let first = |b: &Binding| matches!(b.cmd, Cmd::Help | Cmd::Quit);
    let shown: Vec<&'static Binding> = contexts(app)
        .iter()
        .flat_map(|ctx| {
            BINDINGS
                .iter()
                .filter(move |b| b.ctx == *ctx && b.footer && !b.key.is_empty())
        })
        .collect();
    shown
        .iter()
        .filter(|b| first(b))
        .chain(shown.iter().filter(|b| !first(b)))
        .copied()
        .collect()
}

/// The footer's `key help` pairs for the current state.
#[must_use]
pub fn footer(app: &App) -> Vec<(&'static str, &'static str)> {
    footer_bindings(app)
        .into_iter()
        .map(|b| (b.key, b.help))
        .collect()
}

#[cfg(test)]
mod tests {
    const NONE: KeyModifiers = KeyModifiers::NONE;
    const CTRL: KeyModifiers = KeyModifiers::CONTROL;
    use super::*;
    use crate::tui::app::{Limits, StartInfo};

    fn key(code: KeyCode, mods: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, mods))
    }

    #[test]
    fn same_key_means_different_things_per_pane_and_in_dialogs() {
        let mut app = App::new(StartInfo::default(), Limits::default());
        let n = key(KeyCode::Char('n'), NONE);
        app.update(Action::Cmd(Cmd::Focus(Pane::Log)));
        assert!(matches!(
            action_for(&app, &n),
            Some(Action::Cmd(Cmd::SearchNext))
        ));
        app.update(Action::Cmd(Cmd::Focus(Pane::Topics)));
        assert!(action_for(&app, &n).is_none());
        let q = key(KeyCode::Char('q'), NONE);
        assert!(matches!(action_for(&app, &q), Some(Action::Cmd(Cmd::Quit))));
        app.update(Action::Cmd(Cmd::Subscribe));
        // In a prompt, q is text and Ctrl-C still quits.
        assert!(matches!(action_for(&app, &q), Some(Action::Input(_))));
        assert!(matches!(
            action_for(&app, &key(KeyCode::Char('c'), CTRL)),
            Some(Action::Cmd(Cmd::Quit))
        ));
        // Shift-G arrives with the SHIFT modifier.
        app.update(Action::Cmd(Cmd::Cancel));
        assert!(matches!(
            action_for(&app, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Cmd(Cmd::Bottom))
        ));
    }

    fn press(app: &mut App, code: KeyCode) {
        if let Some(a) = action_for(app, &key(code, NONE)) {
            app.update(a);
        }
    }

    /// Review item 9: every dialog's footer names only keys that do something there. The
    /// subscribe prompt's QoS and copy keys, the why view's `e` and the concept pages' paging
    /// are each shown in their own dialog and in no other, and every footer key is the one
    /// the dialog's contexts bind.
    #[test]
    fn every_dialog_footer_names_only_keys_that_work_there() {
        use crate::tui::app::LearnCmd;
        let start = |keys: &[KeyCode]| {
            let start = StartInfo {
                broker_addr: Some("127.0.0.1:1883".into()),
                ..StartInfo::default()
            };
            let mut app = App::new(start, Limits::default());
            app.update(Action::Resize(120, 40));
            for k in keys {
                press(&mut app, *k);
            }
            app
        };
        let c = KeyCode::Char;
        // (dialog, keys that open it, subscribe prompt, why view, concept pages)
        let dialogs: &[(&str, &[KeyCode], bool, bool, bool)] = &[
            ("subscribe", &[c('s')], true, false, false),
            ("log search", &[c('4'), c('/')], false, false, false),
            ("tree filter", &[c('1'), c('/')], false, false, false),
            ("message filter", &[c('2'), c('/')], false, false, false),
            ("export", &[c('1'), c('x')], false, false, false),
            ("inspector", &[c('4'), c('i')], false, false, false),
            ("broker state", &[c('B')], false, false, false),
            // No topic is selected: `W` asks for one first.
            ("why's topic prompt", &[c('W')], false, false, false),
            ("why", &[c('W'), c('t'), KeyCode::Enter], false, true, false),
            (
                "why, e",
                &[c('W'), c('t'), KeyCode::Enter, c('e')],
                false,
                false,
                false,
            ),
            ("concept pages", &[c('B'), c('?')], false, false, true),
        ];
        for (name, keys, subscribe, why, concepts) in dialogs {
            let app = start(keys);
            assert!(app.modal().is_some(), "{name}: no dialog opened");
            let shown = footer_bindings(&app);
            assert!(!shown.is_empty(), "{name}: empty footer");
            let ctxs = contexts(&app);
            for b in &shown {
                assert!(ctxs.contains(&b.ctx), "{name}: {} not bound here", b.key);
                let only_subscribe =
                    matches!(b.cmd, Cmd::CopyCommand(_) | Cmd::NextField | Cmd::PrevField);
                assert!(
                    !only_subscribe || *subscribe,
                    "{name}: footer shows {} {}",
                    b.key,
                    b.help
                );
                let only_why = b.cmd == Cmd::Learn(LearnCmd::Edit);
                assert!(!only_why || *why, "{name}: footer shows {}", b.key);
                let only_concepts =
                    matches!(b.cmd, Cmd::Learn(LearnCmd::NextPage | LearnCmd::PrevPage));
                assert!(
                    !only_concepts || *concepts,
                    "{name}: footer shows {}",
                    b.key
                );
            }
            let has = |cmd: Cmd| shown.iter().any(|b| b.cmd == cmd);
            assert_eq!(has(Cmd::CopyCommand(false)), *subscribe, "{name}");
            assert_eq!(has(Cmd::Learn(LearnCmd::Edit)), *why, "{name}");
            assert_eq!(has(Cmd::Learn(LearnCmd::NextPage)), *concepts, "{name}");
        }
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                assert!(
                    !(a.ctx == b.ctx && a.code == b.code && a.mods == b.mods),
                    "{:?} {:?} bound twice",
                    a.ctx,
                    a.code
                );
            }
        }
    }
}
