//! Issue 12's learning dialog: the frame every learning view shares (title, scrolled text,
//! a key hint), and the packet inspector's colours. The state and why views colour their own
//! lines ([`super::state_view`], [`super::why_view`]).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::centered;
use crate::tui::app::App;
use crate::tui::app::inspector::{CONCEPTS, Learn};

/// Draws the open learning view over the screen.
pub fn render(app: &App, learn: &Learn, screen: Rect, buf: &mut Buffer) {
    let _ = app;
    let area = centered(
        screen,
        screen.width.saturating_sub(2),
        screen.height.saturating_sub(2),
    );
    Clear.render(area, buf);
    match learn {
        Learn::Packet(v) => {
            let title = " Packet inspector · as `mqtt-workbench decode` prints it ";
            let lines: Vec<Line<'static>> = v.lines.iter().map(|l| packet_line(l)).collect();
            page(
                area,
                buf,
                title,
                &lines,
                v.scroll,
                "↑↓ PgUp/PgDn scroll · B state · W why · Esc closes",
            );
        }
        Learn::State(v) => {
            let lines = super::state_view::lines(v);
            page(
                area,
                buf,
                " Broker state · live ",
                &lines,
                v.scroll,
                "↑↓ PgUp/PgDn scroll · W why · Esc closes",
            );
        }
        Learn::Why(v) => {
            let title = format!(" Why didn't I receive it? · '{}' · live ", v.topic());
            let hint = "e type a topic · ↑↓ PgUp/PgDn scroll · B state · Esc closes";
            page(
                area,
                buf,
                &title,
                &super::why_view::lines(v),
                v.scroll,
                hint,
            );
            super::why_view::render_prompt(v, area, buf);
        }
        Learn::TraceRow(v) => {
            let lines: Vec<Line<'static>> = v.lines.iter().map(|l| Line::raw(l.clone())).collect();
            page(
                area,
                buf,
                " Client trace · selected packet · fields only ",
                &lines,
                v.scroll,
                "↑↓ PgUp/PgDn scroll · Esc closes",
            );
        }
        Learn::Note(v) => {
            let lines: Vec<Line<'static>> = v.lines.iter().map(|l| Line::raw(l.clone())).collect();
            page(
                area,
                buf,
                " Not available here ",
                &lines,
                v.scroll,
                "Esc closes",
            );
        }
        Learn::Concepts(c) => {
            let title = format!(
                " Concepts {}/{} · {} ",
                c.page + 1,
                CONCEPTS.len(),
                c.title()
            );
            let lines: Vec<Line<'static>> = c.lines().into_iter().map(concept_line).collect();
            page(
                area,
                buf,
                &title,
                &lines,
                c.scroll,
                "Tab/S-Tab page · ↑↓ scroll · Esc closes",
            );
        }
    }
}

/// A framed, scrolled page of lines with a key hint on its last row.
pub fn page(
    area: Rect,
    buf: &mut Buffer,
    title: &str,
    lines: &[Line<'_>],
    scroll: usize,
    hint: &str,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(super::cut::title(title, area))
        .border_style(Style::default().fg(Color::Yellow));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 2 {
        return;
    }
    let rows = usize::from(inner.height - 1);
    let first = scroll.min(lines.len().saturating_sub(1));
    // Scrolling counts the view's lines; a line wider than the page is wrapped here, its
    // continuation rows indented two more columns.
    let mut y = 0usize;
    let mut last = first;
    for line in lines.iter().skip(first) {
        if y >= rows {
            break;
        }
        for row in wrapped(line, usize::from(inner.width)) {
            if y >= rows {
                break;
            }
            let at = inner.y + u16::try_from(y).unwrap_or(0);
            super::cut::set_line(buf, inner.x, at, &row, inner.width);
            y += 1;
        }
        last += 1;
    }
    let hint = format!("{hint} · lines {}-{last} of {}", first + 1, lines.len());
    super::cut::set_line(
        buf,
        inner.x,
        inner.y + inner.height - 1,
        &Line::styled(hint, Style::default().fg(Color::DarkGray)),
        inner.width,
    );
}

/// One line as rows of at most `width` columns, in the line's style.
fn wrapped(line: &Line<'_>, width: usize) -> Vec<Line<'static>> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let style = line
        .spans
        .first()
        .map_or(line.style, |s| line.style.patch(s.style));
    if unicode_width::UnicodeWidthStr::width(text.as_str()) <= width || width < 12 {
        return vec![Line::styled(text, style)];
    }
    let indent = text.len() - text.trim_start().len();
    let indent = indent.min(width / 2);
    let body = super::word_wrap(text.trim_start(), width - indent - 2);
    body.into_iter()
        .enumerate()
        .map(|(i, part)| {
            let pad = if i == 0 { indent } else { indent + 2 };
            Line::styled(format!("{}{}", " ".repeat(pad), part.trim_end()), style)
        })
        .collect()
}

fn packet_line(l: &str) -> Line<'static> {
    let heading = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let style = match l {
        "Fixed header"
        | "Variable header"
        | "Payload"
        | "Byte map"
        | "Note"
        | "Why"
        | "Malformed"
        | "Not parsed"
        | "Fields from the log line" => heading,
        _ if l.starts_with("Log line") || l.starts_with("Bytes ") => {
            Style::default().fg(Color::Cyan)
        }
        _ if l.starts_with("  0") && l.len() > 8 => Style::default().fg(Color::Green),
        _ => Style::default(),
    };
    Line::styled(l.to_owned(), style)
}

fn concept_line(l: &'static str) -> Line<'static> {
    if let Some(h) = l.strip_prefix("## ") {
        return Line::styled(
            h,
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        );
    }
    Line::raw(l)
}
