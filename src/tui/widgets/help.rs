//! The `?` screen: every binding from the keymap table, grouped by context.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::centered;
use crate::tui::app::layout::{HELP_COLUMN, help_grid};
use crate::tui::keymap::{BINDINGS, Ctx};

const ORDER: [Ctx; 14] = [
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
    Ctx::Conns,
    Ctx::Learn,
    // Fleet (issue 14).
    Ctx::Choose,
    Ctx::Viewer,
];

/// True when `ctx`'s bindings are listed in the help group of `group`: a dialog's own keys
/// (the subscribe prompt's, the why view's, the concept pages') under its family's heading.
fn in_group(group: Ctx, ctx: Ctx) -> bool {
    ctx == group
        || matches!(
            (group, ctx),
            (Ctx::Prompt, Ctx::SubscribePrompt) | (Ctx::Learn, Ctx::LearnWhy | Ctx::LearnConcepts)
        )
}

/// What the help adds to a binding listed under its family's heading: which dialog it is for.
fn suffix(ctx: Ctx) -> &'static str {
    match ctx {
        Ctx::SubscribePrompt => " (subscribe)",
        Ctx::LearnWhy => " (why view)",
        _ => "",
    }
}

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
                    .filter(|b| in_group(*ctx, b.ctx) && !b.key.is_empty())
                    .map(|b| {
                        // A key wider than its column still gets a space before its help.
                        let mut key = format!(" {:<13}", b.key);
                        if b.key.chars().count() >= 13 {
                            key.push(' ');
                        }
                        Line::from(vec![
                            Span::styled(key, Style::default().fg(Color::Cyan)),
                            Span::raw(format!("{}{}", b.help, suffix(b.ctx))),
                        ])
                    }),
            );
            group
        })
        .collect()
}

/// The help as one list of lines: the groups in order, a blank line between them.
#[must_use]
pub fn help_lines() -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for group in help_groups() {
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.extend(group);
    }
    out
}

/// Renders the help in columns that fill the screen. When it fits, a group stays in one
/// column; when it does not, the lines flow from column to column starting at line `scroll`
/// and the title says which lines show.
pub fn render(screen: Rect, buf: &mut Buffer, scroll: usize) {
    let area = centered(
        screen,
        screen.width.saturating_sub(2),
        screen.height.saturating_sub(2),
    );
    Clear.render(area, buf);
    let (cols, rows) = help_grid(screen.width, screen.height);
    let lines = help_lines();
    let fits = lines.len() <= cols * rows && fits_in_groups(cols, rows);
    let title = if fits {
        " Keys · any key closes ".to_owned()
    } else {
        let first = scroll.min(lines.len().saturating_sub(cols * rows));
        format!(
            " Keys · lines {}-{} of {} · ↑↓ PgUp/PgDn g/G scroll · Esc closes ",
            first + 1,
            (first + cols * rows).min(lines.len()),
            lines.len()
        )
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(super::cut::title(&title, area))
        .border_style(Style::default().fg(Color::Yellow));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 || rows == 0 {
        return;
    }
    let col_w = HELP_COLUMN.min(inner.width);
    if fits {
        render_groups(inner, buf, col_w);
        return;
    }
    let first = scroll.min(lines.len().saturating_sub(cols * rows));
    for (i, line) in lines.iter().skip(first).take(cols * rows).enumerate() {
        let col = u16::try_from(i / rows).unwrap_or(0);
        let row = u16::try_from(i % rows).unwrap_or(0);
        super::cut::set_line(buf, inner.x + col * col_w, inner.y + row, line, col_w);
    }
}

/// True when every group can be kept in one column of `rows` lines within `cols` columns.
fn fits_in_groups(cols: usize, rows: usize) -> bool {
    let (mut col, mut row) = (0usize, 0usize);
    for group in help_groups() {
        let len = group.len();
        if len > rows {
            return false;
        }
        if row > 0 && row + len > rows {
            col += 1;
            row = 0;
        }
        row += len + 1;
    }
    col < cols
}

fn render_groups(inner: Rect, buf: &mut Buffer, col_w: u16) {
    let (mut col, mut row) = (0u16, 0u16);
    for group in help_groups() {
        let len = u16::try_from(group.len()).unwrap_or(u16::MAX);
        // Keep a group in one column.
        if row > 0 && row + len > inner.height {
            col += 1;
            row = 0;
        }
        for line in &group {
            super::cut::set_line(buf, inner.x + col * col_w, inner.y + row, line, col_w);
            row += 1;
        }
        row += u16::from(row < inner.height);
    }
}
