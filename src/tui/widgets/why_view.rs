//! "Why didn't I receive it?" drawn (issue 12; the inspector widget draws the frame): the
//! topic field while typing, and the model's lines ([`WhyView::lines`]) with matches in
//! green, misses dimmed and obstacles in yellow.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use crate::tui::app::why_view::WhyView;

/// The view's lines, coloured.
#[must_use]
pub fn lines(v: &WhyView) -> Vec<Line<'static>> {
    v.lines().iter().map(|l| line(l)).collect()
}

/// The topic field, over the first rows of the page in `area`, while it is open.
pub fn render_prompt(v: &WhyView, area: Rect, buf: &mut Buffer) {
    let Some(p) = v.prompt() else {
        return;
    };
    let (x, y, w) = (area.x + 1, area.y + 1, area.width.saturating_sub(2));
    if area.height < 5 || w < 10 {
        return;
    }
    for row in y..y + 3 {
        super::cut::set_line(buf, x, row, &Line::raw(" ".repeat(usize::from(w))), w);
    }
    super::cut::set_line(
        buf,
        x,
        y,
        &Line::styled(
            "Topic (Enter asks, Esc keeps the old one):",
            Style::default().fg(Color::Yellow),
        ),
        w,
    );
    p.text().render(Rect::new(x, y + 1, w, 1), buf);
    if let Some(e) = p.error() {
        super::cut::set_line(
            buf,
            x,
            y + 2,
            &Line::styled(e.to_owned(), Style::default().fg(Color::Red)),
            w,
        );
    }
}

fn line(l: &str) -> Line<'static> {
    let t = l.trim_start();
    let style = if t.starts_with("MATCH") {
        Style::default()
            .fg(Color::Green)
            .add_modifier(Modifier::BOLD)
    } else if t.starts_with("no match") || t.starts_with("invalid filter") {
        Style::default().fg(Color::DarkGray)
    } else if t.starts_with('⚠') {
        Style::default().fg(Color::Yellow)
    } else if t.starts_with('●') || l.starts_with("Topic") {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    Line::styled(l.to_owned(), style)
}
