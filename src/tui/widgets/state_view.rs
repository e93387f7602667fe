//! The broker state view's colours (issue 12): clients in bold, "you" in cyan, offline
//! sessions in yellow, messages dimmed. The text is the model's ([`StateView::lines`]).

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;

use crate::tui::app::state_view::StateView;

/// The view's lines, coloured.
#[must_use]
pub fn lines(v: &StateView) -> Vec<Line<'static>> {
    v.lines().iter().map(|l| line(l)).collect()
}

fn line(l: &str) -> Line<'static> {
    let style = if l.starts_with('●') {
        let s = Style::default().add_modifier(Modifier::BOLD);
        if l.ends_with("← you") {
            s.fg(Color::Cyan)
        } else if l.contains("offline") {
            s.fg(Color::Yellow)
        } else {
            s
        }
    } else if l.starts_with("Clients:") || l.starts_with("Retained messages") {
        Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD)
    } else if l.starts_with("    ") {
        Style::default().fg(Color::DarkGray)
    } else {
        Style::default()
    };
    Line::styled(l.to_owned(), style)
}
