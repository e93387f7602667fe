//! The connections list (`c`) and the client trace that the log pane shows for a connection
//! to another broker.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::{centered, clock, pane_block, word_wrap};
use crate::tui::app::{App, Pane, Target};
use crate::tui::trace::{Direction, TraceRow};

/// The status bar's name of the shown connection when there are several: `[2/3]` before
/// a profile's name (which the client part shows), `[1/3 embedded]` otherwise.
#[must_use]
pub fn status_label(app: &App) -> Option<String> {
    let c = app.conns();
    (c.len() > 1).then(|| {
        let (i, n) = (c.active_index() + 1, c.len());
        match app.link().target() {
            Target::Profile(_) => format!("[{i}/{n}]"),
            _ => format!("[{i}/{n} {}]", crate::tui::app::conns::name_of(app.link())),
        }
    })
}

/// Draws the connections list over the screen, row `cursor` selected.
pub fn render_list(app: &App, cursor: usize, screen: Rect, buf: &mut Buffer) {
    let rows = app.conns().rows(app.topics(), app.messages(), app.link());
    let h = u16::try_from(rows.len()).unwrap_or(20).min(20) + 3;
    let area = centered(screen, 100, h);
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(super::cut::title(
            " Connections · Enter show · x close · {/} step ",
            area,
        ))
        .border_style(Style::default().fg(Color::Yellow));
    let inner = block.inner(area);
    block.render(area, buf);
    let name_w = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    let head = format!(
        "  {:<name_w$}  {:>8} {:>6}  state · address",
        "name", "messages", "topics"
    );
    super::cut::set_line(
        buf,
        inner.x,
        inner.y,
        &Line::styled(head, Style::default().fg(Color::DarkGray)),
        inner.width,
    );
    for (i, r) in rows.iter().enumerate() {
        let Ok(y) = u16::try_from(i + 1) else { break };
        if y >= inner.height {
            break;
        }
        let mut style = match r.state.as_str() {
            "connected" => Style::default().fg(Color::Green),
            "connecting" => Style::default().fg(Color::Yellow),
            _ => Style::default().fg(Color::Red),
        };
        if i == cursor {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let marker = if r.active { "● " } else { "  " };
        let unseen = if r.unseen > 0 {
            format!(" (+{} new)", r.unseen)
        } else {
            String::new()
        };
        let text = format!(
            "{marker}{:<name_w$}  {:>8} {:>6}  {} · {}{unseen}",
            r.name, r.messages, r.topics, r.state, r.address
        );
        super::cut::set_line(
            buf,
            inner.x,
            inner.y + y,
            &Line::styled(text, style),
            inner.width,
        );
    }
}

/// The colour of a trace row, by packet type as the broker log colours them.
fn style_for(row: &TraceRow) -> Style {
    let s = Style::default();
    match row.packet.as_str() {
        "CONNECT" | "CONNACK" => s.fg(Color::Green),
        "SUBSCRIBE" | "SUBACK" | "UNSUBSCRIBE" | "UNSUBACK" => s.fg(Color::Magenta),
        "PUBLISH" if row.direction == Some(Direction::Sent) => s.fg(Color::Blue),
        "PUBLISH" => s.fg(Color::Cyan),
        "PUBACK" | "PUBREC" | "PUBREL" | "PUBCOMP" => s.fg(Color::LightBlue),
        "PINGREQ" | "PINGRESP" => s.fg(Color::DarkGray),
        "DISCONNECT" => s.fg(Color::LightRed),
        _ => s,
    }
}

/// The screen lines of one trace row in a pane `width` columns wide: the time with
/// milliseconds, then the line wrapped under it (a gap marker says since when).
#[must_use]
pub fn trace_rows(row: &TraceRow, width: usize) -> Vec<String> {
    let stamp = clock(row.time, true);
    let indent = stamp.len() + 1;
    let text = match row.gap_since {
        Some(since) => format!("··· since {}: {} ···", clock(since, true), row.line),
        None => row.line.clone(),
    };
    word_wrap(&text, width.saturating_sub(indent).max(8))
        .iter()
        .enumerate()
        .map(|(j, chunk)| {
            if j == 0 {
                format!("{stamp} {chunk}")
            } else {
                format!("{}{chunk}", " ".repeat(indent))
            }
        })
        .collect()
}

/// Draws the shown connection's client trace in the log pane, newest at the bottom, when
/// the log pane shows it (a connection to another broker). Returns false when it does not,
/// and the broker log is drawn instead.
pub fn render_trace(app: &App, area: Rect, buf: &mut Buffer) -> bool {
    let Some(trace) = app.conns().shown_trace() else {
        return false;
    };
    if area.width == 0 || area.height == 0 {
        return true;
    }
    let title = format!(
        " Client trace · {} ({} packets) ",
        crate::tui::app::conns::name_of(app.link()),
        trace.rows().filter(|r| r.gap_since.is_none()).count()
    );
    let block = pane_block(app, Pane::Log, title, area);
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    // Only the rows that fit are formatted, newest first, from the bottom row shown; the
    // selected row is reversed while the pane has the focus.
    let cursor = (app.focus() == Pane::Log).then(|| trace.cursor());
    let mut lines: Vec<(String, Style)> = Vec::new();
    let mut i = trace.view_bottom();
    while let Some(row) = trace.from_newest(i) {
        let mut style = if row.gap_since.is_some() {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::ITALIC)
        } else {
            style_for(row)
        };
        if cursor == Some(i) {
            style = style.add_modifier(Modifier::REVERSED);
        }
        for text in trace_rows(row, width).into_iter().rev() {
            lines.push((text, style));
        }
        if lines.len() >= height {
            break;
        }
        i += 1;
    }
    if trace.is_empty() {
        lines.push((
            "no packets yet: the client's own trace shows here (no broker log for this \
             connection)"
                .to_owned(),
            Style::default().fg(Color::DarkGray),
        ));
    }
    for (i, (text, style)) in lines.iter().take(height).rev().enumerate() {
        let Ok(y) = u16::try_from(i) else { break };
        super::cut::set_line(
            buf,
            inner.x,
            inner.y + y,
            &Line::styled(text.clone(), *style),
            inner.width,
        );
    }
    true
}
