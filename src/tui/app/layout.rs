//! The layout sub-model: the terminal size, the focused pane, zoom and the split between the
//! client panes and the log; and [`layout`], the one pure function that places the panes,
//! used both to render and to map mouse clicks.

use ratatui::layout::{Constraint, Layout, Position, Rect};

use super::cmd::{Cmd, Pane};

/// Terminals at least this wide show the client panes and the log side by side; narrower
/// ones stack them.
pub const WIDE: u16 = 120;

/// The width of one column of the key help.
pub const HELP_COLUMN: u16 = 46;

/// How the key help fits a `width` x `height` screen: (columns, lines per column).
#[must_use]
pub fn help_grid(width: u16, height: u16) -> (usize, usize) {
    let inner_w = width.saturating_sub(4);
    let inner_h = height.saturating_sub(4);
    (
        usize::from((inner_w / HELP_COLUMN).max(1)),
        usize::from(inner_h),
    )
}

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

/// Size, focus, zoom and split: what decides where the panes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutModel {
    size: (u16, u16),
    focus: Pane,
    zoom: bool,
    split: u16,
}

impl Default for LayoutModel {
    fn default() -> Self {
        Self {
            size: (80, 24),
            focus: Pane::Topics,
            zoom: false,
            split: 50,
        }
    }
}

impl LayoutModel {
    /// The terminal size (columns, rows).
    #[must_use]
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// The focused pane.
    #[must_use]
    pub fn focus(&self) -> Pane {
        self.focus
    }

    /// True when the focused pane fills the screen.
    #[must_use]
    pub fn zoom(&self) -> bool {
        self.zoom
    }

    /// Percentage of the body given to the client panes (vs. the log).
    #[must_use]
    pub fn split(&self) -> u16 {
        self.split
    }

    /// The screen areas for the current size and settings.
    #[must_use]
    pub fn areas(&self) -> Areas {
        layout(Rect::new(0, 0, self.size.0, self.size.1), self)
    }

    /// Rows one page step moves in `pane`.
    #[must_use]
    pub fn page(&self, pane: Pane) -> usize {
        usize::from(self.area_of(pane).height.saturating_sub(3)).max(1)
    }

    /// The screen area of `pane`.
    #[must_use]
    pub fn area_of(&self, pane: Pane) -> Rect {
        let a = self.areas();
        match pane {
            Pane::Topics => a.topics,
            Pane::Messages => a.messages,
            Pane::Payload => a.payload,
            Pane::Log => a.log,
        }
    }

    /// The pane under a screen cell.
    #[must_use]
    pub fn pane_at(&self, col: u16, row: u16) -> Option<Pane> {
        let pos = Position::new(col, row);
        Pane::ORDER
            .into_iter()
            .find(|p| self.area_of(*p).contains(pos))
    }

    /// The terminal now has this size.
    pub fn resize(&mut self, w: u16, h: u16) {
        self.size = (w, h);
    }

    /// Focuses `pane`.
    pub fn set_focus(&mut self, pane: Pane) {
        self.focus = pane;
    }

    /// Applies the layout commands (focus, grow, zoom); others are ignored.
    pub fn update(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::FocusNext => self.focus = self.focus.next(),
            Cmd::FocusPrev => self.focus = self.focus.prev(),
            Cmd::Focus(p) => self.focus = p,
            Cmd::GrowClient => self.split = (self.split + 5).min(85),
            Cmd::GrowLog => self.split = self.split.saturating_sub(5).max(15),
            Cmd::Zoom => self.zoom = !self.zoom,
            _ => {}
        }
    }
}

/// Splits `area` for the model's split ratio, zoom and focus.
#[must_use]
pub fn layout(area: Rect, app: &LayoutModel) -> Areas {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_commands_change_focus_split_and_zoom() {
        // (commands, focus, split, zoom)
        let cases: &[(&[Cmd], Pane, u16, bool)] = &[
            (&[], Pane::Topics, 50, false),
            (&[Cmd::FocusNext], Pane::Messages, 50, false),
            (&[Cmd::FocusPrev], Pane::Log, 50, false),
            (
                &[Cmd::Focus(Pane::Payload), Cmd::FocusNext],
                Pane::Log,
                50,
                false,
            ),
            (&[Cmd::GrowClient; 10], Pane::Topics, 85, false),
            (&[Cmd::GrowLog; 10], Pane::Topics, 15, false),
            (&[Cmd::Zoom], Pane::Topics, 50, true),
            (&[Cmd::Zoom, Cmd::Zoom, Cmd::Up], Pane::Topics, 50, false),
        ];
        for (cmds, focus, split, zoom) in cases {
            let mut m = LayoutModel::default();
            for c in *cmds {
                m.update(*c);
            }
            assert_eq!(
                (m.focus(), m.split(), m.zoom()),
                (*focus, *split, *zoom),
                "{cmds:?}"
            );
        }
    }

    #[test]
    fn zoom_gives_the_focused_pane_the_body_and_hides_the_rest() {
        let mut m = LayoutModel::default();
        m.resize(160, 48);
        m.update(Cmd::Focus(Pane::Log));
        m.update(Cmd::Zoom);
        let a = m.areas();
        assert_eq!(a.log, Rect::new(0, 1, 160, 46));
        assert_eq!(a.topics, Rect::default());
        assert_eq!(m.pane_at(5, 5), Some(Pane::Log));
        assert_eq!(m.pane_at(5, 0), None, "the status bar is no pane");
    }
}
