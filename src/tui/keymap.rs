//! Keys as data: one table maps keys to [`Cmd`]s per context. The same table drives the
//! footer and the `?` help, so what is shown is what works.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui_textarea::Input;

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
    /// A one-line prompt (subscribe, search, client filter).
    Prompt,
    /// The unsubscribe list.
    List,
    /// A yes/no question.
    Confirm,
    /// The profile picker.
    Picker,
    /// The profile editor.
    Editor,
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
            Self::List => "Unsubscribe list",
            Self::Confirm => "Questions",
            Self::Picker => "Profile picker (P)",
            Self::Editor => "Profile editor",
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

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

const fn b(
    ctx: Ctx,
    code: KeyCode,
    mods: KeyModifiers,
    cmd: Cmd,
    key: &'static str,
    help: &'static str,
    footer: bool,
) -> Binding {
    Binding {
        ctx,
        code,
        mods,
        cmd,
        key,
        help,
        footer,
    }
}

use Cmd as C;
use Ctx as X;
use KeyCode as K;

/// Every binding. Earlier entries win.
pub static BINDINGS: &[Binding] = &[
    // Dialogs.
    b(X::Help, K::Up, NONE, C::Up, "↑↓ PgUp/PgDn", "scroll", true),
    b(X::Help, K::Down, NONE, C::Down, "", "", false),
    b(X::Help, K::Char('k'), NONE, C::Up, "", "", false),
    b(X::Help, K::Char('j'), NONE, C::Down, "", "", false),
    b(X::Help, K::PageUp, NONE, C::PageUp, "", "", false),
    b(X::Help, K::PageDown, NONE, C::PageDown, "", "", false),
    b(X::Help, K::Char(' '), NONE, C::PageDown, "", "", false),
    b(
        X::Help,
        K::Home,
        NONE,
        C::Top,
        "g/G Home/End",
        "top/end",
        true,
    ),
    b(X::Help, K::Char('g'), NONE, C::Top, "", "", false),
    b(X::Help, K::End, NONE, C::Bottom, "", "", false),
    b(X::Help, K::Char('G'), NONE, C::Bottom, "", "", false),
    b(
        X::Help,
        K::Esc,
        NONE,
        C::Cancel,
        "any other key",
        "close",
        true,
    ),
    b(X::Composer, K::Esc, NONE, C::Cancel, "Esc", "cancel", true),
    b(
        X::Composer,
        K::Char('s'),
        CTRL,
        C::Compose,
        "C-s",
        "send",
        true,
    ),
    b(
        X::Composer,
        K::Enter,
        NONE,
        C::Submit,
        "Enter",
        "next field / newline in payload",
        true,
    ),
    b(
        X::Composer,
        K::Tab,
        NONE,
        C::NextField,
        "Tab",
        "next field",
        true,
    ),
    b(
        X::Composer,
        K::BackTab,
        NONE,
        C::PrevField,
        "S-Tab",
        "previous field",
        false,
    ),
    b(
        X::Composer,
        K::Char('p'),
        CTRL,
        C::HistoryPrev,
        "C-p",
        "older from history",
        true,
    ),
    b(
        X::Composer,
        K::Char('n'),
        CTRL,
        C::HistoryNext,
        "C-n",
        "newer from history",
        true,
    ),
    b(
        X::Composer,
        K::Char(' '),
        NONE,
        C::ToggleField,
        "Space",
        "QoS / retain",
        true,
    ),
    b(X::Picker, K::Esc, NONE, C::Cancel, "Esc", "close", true),
    b(
        X::Picker,
        K::Enter,
        NONE,
        C::Submit,
        "Enter",
        "connect",
        true,
    ),
    b(X::Picker, K::Up, NONE, C::Up, "↑↓", "choose", true),
    b(X::Picker, K::Char('k'), NONE, C::Up, "", "", false),
    b(X::Picker, K::Down, NONE, C::Down, "", "", false),
    b(X::Picker, K::Char('j'), NONE, C::Down, "", "", false),
    b(
        X::Picker,
        K::Char('n'),
        NONE,
        C::NewProfile,
        "n",
        "new",
        true,
    ),
    b(
        X::Picker,
        K::Char('e'),
        NONE,
        C::EditProfile,
        "e",
        "edit",
        true,
    ),
    b(
        X::Picker,
        K::Char('d'),
        NONE,
        C::DuplicateProfile,
        "d",
        "duplicate",
        true,
    ),
    b(
        X::Picker,
        K::Char('x'),
        NONE,
        C::DeleteProfile,
        "x/Del",
        "delete",
        true,
    ),
    b(X::Picker, K::Delete, NONE, C::DeleteProfile, "", "", false),
    b(X::Editor, K::Esc, NONE, C::Cancel, "Esc", "cancel", true),
    b(
        X::Editor,
        K::Char('s'),
        CTRL,
        C::Compose,
        "Enter/C-s",
        "save",
        true,
    ),
    b(X::Editor, K::Enter, NONE, C::Submit, "", "", false),
    b(
        X::Editor,
        K::Tab,
        NONE,
        C::NextField,
        "Tab/↓",
        "next field",
        true,
    ),
    b(X::Editor, K::Down, NONE, C::NextField, "", "", false),
    b(
        X::Editor,
        K::BackTab,
        NONE,
        C::PrevField,
        "S-Tab/↑",
        "previous field",
        true,
    ),
    b(X::Editor, K::Up, NONE, C::PrevField, "", "", false),
    b(
        X::Editor,
        K::Char(' '),
        NONE,
        C::ToggleField,
        "Space/←→",
        "change choice",
        true,
    ),
    b(X::Prompt, K::Esc, NONE, C::Cancel, "Esc", "cancel", true),
    b(X::Prompt, K::Enter, NONE, C::Submit, "Enter", "apply", true),
    b(
        X::Prompt,
        K::Tab,
        NONE,
        C::NextField,
        "Tab",
        "QoS (subscribe)",
        true,
    ),
    b(X::Prompt, K::BackTab, NONE, C::PrevField, "", "", false),
    b(X::List, K::Esc, NONE, C::Cancel, "Esc", "cancel", true),
    b(
        X::List,
        K::Enter,
        NONE,
        C::Submit,
        "Enter",
        "unsubscribe",
        true,
    ),
    b(X::List, K::Up, NONE, C::Up, "↑↓", "choose", true),
    b(X::List, K::Char('k'), NONE, C::Up, "", "", false),
    b(X::List, K::Down, NONE, C::Down, "", "", false),
    b(X::List, K::Char('j'), NONE, C::Down, "", "", false),
    b(X::Confirm, K::Char('y'), NONE, C::Submit, "y", "yes", true),
    b(X::Confirm, K::Enter, NONE, C::Submit, "", "", false),
    b(
        X::Confirm,
        K::Char('n'),
        NONE,
        C::Cancel,
        "n/Esc",
        "no",
        true,
    ),
    b(X::Confirm, K::Esc, NONE, C::Cancel, "", "", false),
    // Topic tree.
    b(X::Topics, K::Up, NONE, C::Up, "↑↓/jk", "move", true),
    b(X::Topics, K::Down, NONE, C::Down, "", "", false),
    b(X::Topics, K::Char('k'), NONE, C::Up, "", "", false),
    b(X::Topics, K::Char('j'), NONE, C::Down, "", "", false),
    b(X::Topics, K::Left, NONE, C::Collapse, "←→/hl", "fold", true),
    b(X::Topics, K::Char('h'), NONE, C::Collapse, "", "", false),
    b(X::Topics, K::Right, NONE, C::Expand, "", "", false),
    b(X::Topics, K::Char('l'), NONE, C::Expand, "", "", false),
    b(
        X::Topics,
        K::Enter,
        NONE,
        C::Toggle,
        "Enter",
        "fold/unfold",
        false,
    ),
    b(
        X::Topics,
        K::Char('y'),
        NONE,
        C::CopyTopic,
        "y",
        "copy topic",
        false,
    ),
    b(
        X::Topics,
        K::Char('D'),
        NONE,
        C::ClearRetained,
        "D",
        "clear retained",
        true,
    ),
    // Messages.
    b(X::Messages, K::Up, NONE, C::Up, "↑↓/jk", "select", true),
    b(X::Messages, K::Down, NONE, C::Down, "", "", false),
    b(X::Messages, K::Char('k'), NONE, C::Up, "", "", false),
    b(X::Messages, K::Char('j'), NONE, C::Down, "", "", false),
    b(
        X::Messages,
        K::Esc,
        NONE,
        C::FollowNewest,
        "Esc",
        "follow newest",
        true,
    ),
    b(
        X::Messages,
        K::Char('f'),
        NONE,
        C::FollowNewest,
        "",
        "",
        false,
    ),
    b(
        X::Messages,
        K::Char('m'),
        NONE,
        C::CyclePayloadMode,
        "m",
        "payload view",
        true,
    ),
    b(
        X::Messages,
        K::Char('y'),
        NONE,
        C::CopyTopic,
        "y/Y",
        "copy topic/payload",
        true,
    ),
    b(
        X::Messages,
        K::Char('Y'),
        NONE,
        C::CopyPayload,
        "",
        "",
        false,
    ),
    b(
        X::Messages,
        K::Char('D'),
        NONE,
        C::ClearRetained,
        "D",
        "clear retained",
        false,
    ),
    // Payload.
    b(X::Payload, K::Up, NONE, C::Up, "↑↓/jk", "scroll", true),
    b(X::Payload, K::Down, NONE, C::Down, "", "", false),
    b(X::Payload, K::Char('k'), NONE, C::Up, "", "", false),
    b(X::Payload, K::Char('j'), NONE, C::Down, "", "", false),
    b(
        X::Payload,
        K::Char('m'),
        NONE,
        C::CyclePayloadMode,
        "m",
        "text/json/hex/msgpack/cbor",
        true,
    ),
    b(
        X::Payload,
        K::Char('Y'),
        NONE,
        C::CopyPayload,
        "Y",
        "copy payload",
        true,
    ),
    b(
        X::Payload,
        K::Char('y'),
        NONE,
        C::CopyPayload,
        "",
        "",
        false,
    ),
    // Broker log.
    b(X::Log, K::Up, NONE, C::Up, "↑↓/jk", "scroll", true),
    b(X::Log, K::Down, NONE, C::Down, "", "", false),
    b(X::Log, K::Char('k'), NONE, C::Up, "", "", false),
    b(X::Log, K::Char('j'), NONE, C::Down, "", "", false),
    b(
        X::Log,
        K::Char('f'),
        NONE,
        C::ToggleFollow,
        "f",
        "follow",
        true,
    ),
    b(X::Log, K::Char('/'), NONE, C::Search, "/", "search", true),
    b(
        X::Log,
        K::Char('n'),
        NONE,
        C::SearchNext,
        "n/N",
        "next/prev match",
        true,
    ),
    b(X::Log, K::Char('N'), NONE, C::SearchPrev, "", "", false),
    b(
        X::Log,
        K::Char('c'),
        NONE,
        C::FilterClient,
        "c/C",
        "client filter/clear",
        true,
    ),
    b(X::Log, K::Char('C'), NONE, C::ClearFilter, "", "", false),
    b(
        X::Log,
        K::Char('H'),
        NONE,
        C::TogglePings,
        "H",
        "hide/show PINGREQ/PINGRESP",
        false,
    ),
    // Everywhere.
    b(
        X::Global,
        K::Char('c'),
        CTRL,
        C::Quit,
        "q/C-c",
        "quit",
        true,
    ),
    b(X::Global, K::Char('q'), NONE, C::Quit, "", "", false),
    b(
        X::Global,
        K::Tab,
        NONE,
        C::FocusNext,
        "Tab",
        "next pane",
        true,
    ),
    b(
        X::Global,
        K::BackTab,
        NONE,
        C::FocusPrev,
        "S-Tab",
        "previous pane",
        false,
    ),
    b(
        X::Global,
        K::Char('1'),
        NONE,
        C::Focus(Pane::Topics),
        "1-4",
        "focus pane",
        false,
    ),
    b(
        X::Global,
        K::Char('2'),
        NONE,
        C::Focus(Pane::Messages),
        "",
        "",
        false,
    ),
    b(
        X::Global,
        K::Char('3'),
        NONE,
        C::Focus(Pane::Payload),
        "",
        "",
        false,
    ),
    b(
        X::Global,
        K::Char('4'),
        NONE,
        C::Focus(Pane::Log),
        "",
        "",
        false,
    ),
    b(
        X::Global,
        K::Char('s'),
        NONE,
        C::Subscribe,
        "s/u",
        "sub/unsub",
        true,
    ),
    b(X::Global, K::Char('u'), NONE, C::Unsubscribe, "", "", false),
    b(
        X::Global,
        K::Char('p'),
        NONE,
        C::Compose,
        "p",
        "publish",
        true,
    ),
    b(X::Global, K::Char('?'), NONE, C::Help, "?", "help", true),
    b(
        X::Global,
        K::Char('!'),
        NONE,
        C::Errors,
        "!",
        "errors in full",
        false,
    ),
    b(
        X::Global,
        K::Char('P'),
        NONE,
        C::Profiles,
        "P",
        "profiles",
        true,
    ),
    b(
        X::Global,
        K::Char('r'),
        NONE,
        C::Reconnect,
        "r",
        "reconnect now",
        false,
    ),
    b(
        X::Global,
        K::Char('z'),
        NONE,
        C::Zoom,
        "z",
        "zoom pane",
        false,
    ),
    b(
        X::Global,
        K::Char('<'),
        NONE,
        C::GrowLog,
        "</>",
        "resize panes",
        false,
    ),
    b(X::Global, K::Char('>'), NONE, C::GrowClient, "", "", false),
    b(
        X::Global,
        K::PageUp,
        NONE,
        C::PageUp,
        "PgUp/PgDn",
        "page",
        false,
    ),
    b(X::Global, K::PageDown, NONE, C::PageDown, "", "", false),
    b(
        X::Global,
        K::Home,
        NONE,
        C::Top,
        "g/G Home/End",
        "top/bottom",
        false,
    ),
    b(X::Global, K::Char('g'), NONE, C::Top, "", "", false),
    b(X::Global, K::End, NONE, C::Bottom, "", "", false),
    b(X::Global, K::Char('G'), NONE, C::Bottom, "", "", false),
];

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
        Some(Modal::Help { .. } | Modal::Errors { .. }) => vec![Ctx::Help],
        Some(Modal::Composer(_)) => vec![Ctx::Composer],
        Some(
            Modal::Subscribe(_)
            | Modal::Search(_)
            | Modal::ClientFilter(_)
            | Modal::Password { .. },
        ) => {
            vec![Ctx::Prompt]
        }
        Some(Modal::Unsubscribe { .. }) => vec![Ctx::List],
        Some(Modal::ConfirmClear(_) | Modal::ConfirmDelete(_) | Modal::ConfirmSwitch(_)) => {
            vec![Ctx::Confirm]
        }
        Some(Modal::Profiles { .. }) => vec![Ctx::Picker],
        Some(Modal::ProfileEditor(_)) => vec![Ctx::Editor],
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
            match ctxs.first() {
                // Scrolling keys scroll the help (or error list); any other key closes it.
                Some(Ctx::Help) => {
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
                Some(Ctx::Composer | Ctx::Prompt | Ctx::Editor) => {
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

/// The footer's `key help` pairs for the current state.
#[must_use]
pub fn footer(app: &App) -> Vec<(&'static str, &'static str)> {
    let first = |b: &Binding| matches!(b.cmd, Cmd::Help | Cmd::Quit);
    let shown: Vec<&Binding> = contexts(app)
        .iter()
        .flat_map(|ctx| {
            BINDINGS
                .iter()
                .filter(move |b| b.ctx == *ctx && b.footer && !b.key.is_empty())
        })
        .collect();
    // Help and quit first, so they survive a narrow terminal.
    shown
        .iter()
        .filter(|b| first(b))
        .chain(shown.iter().filter(|b| !first(b)))
        .map(|b| (b.key, b.help))
        .collect()
}

#[cfg(test)]
mod tests {
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
