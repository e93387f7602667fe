//! The workbench's widgets. Each renders from a borrowed [`App`]; none changes it.
//!
//! * [`topic_tree`]: topics with message counts and rates.
//! * [`messages`]: the selected topic's messages.
//! * [`payload`]: the selected message's payload in the chosen view.
//! * [`broker_log`]: the broker's verbose log, coloured by packet type.
//! * [`status`]: the status bar and the key footer.
//! * [`cut`]: lines and titles cut to their room end in `…`.
//! * [`dialogs`]: composer, prompts, unsubscribe list, confirmation.
//! * [`help`]: all keys.
//! * [`inspector`], [`state_view`], [`why_view`]: issue 12's learning views.
//! * [`sequence`]: one message's journey as lanes and arrows (issue 12).
//! * [`lesson`]: the lesson pane, the fault menu, the first-minute overlay and the
//!   equivalent-command lines of the composer and the subscribe dialog.

pub mod broker_log;
pub mod conns;
pub mod cut;
pub mod dialogs;
pub mod help;
pub mod inspector;
pub mod lesson;
pub mod messages;
pub mod payload;
pub mod sequence;
pub mod state_view;
pub mod status;
pub mod topic_tree;
pub mod why_view;
// Fleet debugging (issue 14): filter, plot, diff, export dialogs.
pub mod diff;
pub mod fleet;
pub mod plot;

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, BorderType, Borders};

use super::app::{App, Modal, Pane};

/// The smallest screen the panes are drawn on (columns, rows); below it the screen says so.
pub const MIN_SIZE: (u16, u16) = (40, 10);

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let screen = frame.area();
    if screen.width < MIN_SIZE.0 || screen.height < MIN_SIZE.1 {
        too_small(screen, frame.buffer_mut());
        return;
    }
    let side = app.lesson().width(screen.width);
    let main = Rect::new(screen.x, screen.y, screen.width - side, screen.height);
    let a = super::app::layout::layout(main, app.layout());
    let buf = frame.buffer_mut();
    status::render_status(app, a.status, buf);
    status::render_footer(app, a.footer, buf);
    topic_tree::render(app, a.topics, buf);
    messages::render(app, a.messages, buf);
    payload::render(app, a.payload, buf);
    if !conns::render_trace(app, a.log, buf) {
        broker_log::render(app, a.log, buf);
    }
    if side > 0 {
        let area = Rect::new(main.x + main.width, screen.y, side, screen.height);
        lesson::render(app, area, buf);
    }
    match app.modal() {
        None => {}
        Some(Modal::Help { scroll }) => help::render(screen, buf, *scroll),
        Some(Modal::Faults) => lesson::render_faults(app, screen, buf),
        Some(Modal::FirstMinute) => lesson::render_first_minute(screen, buf),
        Some(Modal::Conns { cursor }) => conns::render_list(app, *cursor, screen, buf),
        Some(Modal::Learn(l)) => inspector::render(app, l, screen, buf),
        Some(Modal::Sequence { no, scroll }) => sequence::render(app, *no, *scroll, screen, buf),
        Some(Modal::Fleet(f)) => fleet::render(app, f, screen, buf),
        Some(m) => dialogs::render(app, m, screen, buf),
    }
}

/// "terminal too small (need 40x10)", wrapped to the screen, instead of panes cut to nothing.
fn too_small(screen: Rect, buf: &mut ratatui::buffer::Buffer) {
    let (w, h) = MIN_SIZE;
    let text = format!(
        "terminal too small: {}x{} (need {w}x{h}); q quits",
        screen.width, screen.height
    );
    let style = Style::default().fg(Color::Yellow);
    let rows = word_wrap(&text, usize::from(screen.width));
    for (i, row) in rows.iter().take(usize::from(screen.height)).enumerate() {
        let y = screen.y + u16::try_from(i).unwrap_or(0);
        let line = ratatui::text::Line::styled(row.clone(), style);
        cut::set_line(buf, screen.x, y, &line, screen.width);
    }
}

/// A pane's frame over `area`: highlighted when it has the focus; a title too long for the
/// border is cut with `…`.
#[must_use]
pub fn pane_block(app: &App, pane: Pane, title: String, area: Rect) -> Block<'static> {
    let focused = app.focus() == pane && app.modal().is_none();
    let style = if focused {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(Color::DarkGray)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(style)
        .title(cut::title(&title, area))
}

/// Local wall-clock time, `HH:MM:SS` or `HH:MM:SS.mmm`.
#[must_use]
pub fn clock(t: SystemTime, millis: bool) -> String {
    let dt: chrono::DateTime<chrono::Local> = t.into();
    if millis {
        dt.format("%H:%M:%S%.3f").to_string()
    } else {
        dt.format("%H:%M:%S").to_string()
    }
}

/// A rectangle of at most `w` x `h` centred in `area`.
#[must_use]
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub use crate::tui::text::{fit, fit_ellipsis, fit_left, word_wrap, wrap};

/// Human-readable byte count.
#[must_use]
pub fn human_bytes(n: usize) -> String {
    if n < 10_000 {
        format!("{n}")
    } else if n < 10_000_000 {
        format!("{}k", n / 1024)
    } else {
        format!("{}M", n / (1024 * 1024))
    }
}
