//! The `?` screen: every binding from the keymap table, grouped by context.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::centered;
use crate::tui::keymap::{BINDINGS, Ctx};

const ORDER: [Ctx; 8] = [
    Ctx::Global,
    Ctx::Topics,
    Ctx::Messages,
    Ctx::Payload,
    Ctx::Log,
    Ctx::Composer,
    Ctx::Prompt,
    Ctx::List,
];

/// The help lines, in order.
#[must_use]
pub fn help_lines() -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for ctx in ORDER {
        out.push(Line::styled(
            ctx.title(),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
        for b in BINDINGS
            .iter()
            .filter(|b| b.ctx == ctx && !b.key.is_empty())
        {
            out.push(Line::from(vec![
                Span::styled(format!(" {:<13}", b.key), Style::default().fg(Color::Cyan)),
                Span::raw(b.help),
            ]));
        }
    }
    out
}

/// Renders the help as columns that fill the screen.
pub fn render(screen: Rect, buf: &mut Buffer) {
    let area = centered(
        screen,
        screen.width.saturating_sub(2),
        screen.height.saturating_sub(2),
    );
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys · any key closes ")
        .border_style(Style::default().fg(Color::Yellow));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let lines = help_lines();
    let col_w: u16 = 38;
    let cols = (inner.width / col_w).max(1);
    let h = usize::from(inner.height);
    for (i, line) in lines.iter().enumerate() {
        let col = u16::try_from(i / h).unwrap_or(u16::MAX);
        if col >= cols {
            break;
        }
        let x = inner.x + col * col_w;
        let y = inner.y + u16::try_from(i % h).unwrap_or(0);
        buf.set_line(x, y, line, col_w.min(inner.width));
    }
}
