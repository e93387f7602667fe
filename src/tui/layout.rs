//! Where each pane goes. One pure function, used both to render and to map mouse clicks.

use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Pane};

/// Terminals at least this wide show the client panes and the log side by side; narrower
/// ones stack them.
pub const WIDE: u16 = 120;

/// The screen areas of one frame. Hidden panes get an empty `Rect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    /// Status bar (top line).
    pub status: Rect,
    /// Key footer (bottom line).
    pub footer: Rect,
    /// Topic tree.
    pub topics: Rect,
    /// Message list.
    pub messages: Rect,
    /// Payload view.
    pub payload: Rect,
    /// Broker log.
    pub log: Rect,
}

/// Splits `area` for the app's size, split ratio and zoom.
#[must_use]
pub fn layout(area: Rect, app: &App) -> Areas {
    let [status, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut a = Areas {
        status,
        footer,
        ..Areas::default()
    };
    if app.zoom {
        match app.focus {
            Pane::Topics => a.topics = body,
            Pane::Messages => a.messages = body,
            Pane::Payload => a.payload = body,
            Pane::Log => a.log = body,
        }
        return a;
    }
    let client_pct = app.split.clamp(15, 85);
    if area.width >= WIDE {
        let [client, log] =
            Layout::horizontal([Constraint::Percentage(client_pct), Constraint::Fill(1)])
                .areas(body);
        let [top, payload] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Fill(1)]).areas(client);
        let [topics, messages] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Fill(1)]).areas(top);
        a.topics = topics;
        a.messages = messages;
        a.payload = payload;
        a.log = log;
    } else {
        let [client, log] =
            Layout::vertical([Constraint::Percentage(client_pct), Constraint::Fill(1)]).areas(body);
        let [topics, right] =
            Layout::horizontal([Constraint::Percentage(35), Constraint::Fill(1)]).areas(client);
        let [messages, payload] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Fill(1)]).areas(right);
        a.topics = topics;
        a.messages = messages;
        a.payload = payload;
        a.log = log;
    }
    a
}
