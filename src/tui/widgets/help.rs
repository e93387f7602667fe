//! The `?` screen: every binding from the keymap table, grouped by context.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::centered;
use crate::tui::keymap::{BINDINGS, Ctx};

const ORDER: [Ctx; 10] = [
    Ctx::Global,
    Ctx::Topics,
    Ctx::Messages,
    Ctx::Payload,
    Ctx::Log,
    Ctx::Composer,
    Ctx::Prompt,
    Ctx::List,
    Ctx::Picker,
    Ctx::Editor,
];

/// The help, one group of lines per context.
#[must_use]
pub fn help_groups() -> Vec<Vec<Line<'static>>> {
    ORDER
        .iter()
        .map(|ctx| {
            let mut group = vec![Line::styled(
                ctx.title(),
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            )];
            group.extend(
                BINDINGS
                    .iter()
                    .filter(|b| b.ctx == *ctx && !b.key.is_empty())
                    .map(|b| {
                        Line::from(vec![
                            Span::styled(
                                format!(" {:<13}", b.key),
                                Style::default().fg(Color::Cyan),
                            ),
                            Span::raw(b.help),
                        ])
                    }),
            );
            group
        })
        .collect()
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
    let col_w: u16 = 46;
    let cols = (inner.width / col_w).max(1);
    let (mut col, mut row) = (0u16, 0u16);
    for group in help_groups() {
        let len = u16::try_from(group.len()).unwrap_or(u16::MAX);
        // Keep a group in one column when it fits.
        if row > 0 && row + len > inner.height {
            col += 1;
            row = 0;
        }
        for line in &group {
            if row >= inner.height {
                col += 1;
                row = 0;
            }
            if col >= cols {
                return;
            }
            buf.set_line(
                inner.x + col * col_w,
                inner.y + row,
                line,
                col_w.min(inner.width),
            );
            row += 1;
        }
        row += u16::from(row > 0 && row < inner.height);
    }
}
