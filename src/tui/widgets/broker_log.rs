//! The broker's verbose log in mosquitto's wording, coloured by packet type, newest at the
//! bottom. Long lines wrap. Only the entries that fit are formatted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{clock, pane_block, word_wrap};
use crate::broker::event::LogLevel;
use crate::broker::{BrokerEvent, LogEntry};
use crate::tui::app::{App, Pane};

/// The colour of a log line: by level first, then by packet type and direction.
#[must_use]
pub fn style_for(event: &BrokerEvent) -> Style {
    match event.level() {
        LogLevel::Error => return Style::default().fg(Color::Red),
        LogLevel::Warning => return Style::default().fg(Color::Yellow),
        _ => {}
    }
    let s = Style::default();
    match event.packet_kind() {
        Some("CONNECT" | "CONNACK") => s.fg(Color::Green),
        Some("SUBSCRIBE" | "SUBACK" | "UNSUBSCRIBE" | "UNSUBACK") => s.fg(Color::Magenta),
        Some("PUBLISH") => match event {
            BrokerEvent::PublishSent { .. } => s.fg(Color::Blue),
            BrokerEvent::PublishDenied { .. } => s.fg(Color::Red),
            _ => s.fg(Color::Cyan),
        },
        Some("PUBACK" | "PUBREC" | "PUBREL" | "PUBCOMP") => s.fg(Color::LightBlue),
        Some("PING") => s.fg(Color::DarkGray),
        Some("DISCONNECT") => s.fg(Color::LightRed),
        _ => match event {
            BrokerEvent::NewConnection { .. } => s.fg(Color::Green),
            BrokerEvent::Lagged(_) => s.fg(Color::Yellow).add_modifier(Modifier::ITALIC),
            _ if event.client().is_some() => s.fg(Color::LightRed),
            _ => s,
        },
    }
}

fn highlight<'a>(text: String, style: Style, needle: Option<&str>) -> Line<'a> {
    let Some(needle) = needle.filter(|n| !n.is_empty() && text.contains(*n)) else {
        return Line::styled(text, style);
    };
    let mut spans = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(needle) {
        spans.push(Span::styled(rest[..i].to_owned(), style));
        spans.push(Span::styled(
            needle.to_owned(),
            Style::default().fg(Color::Black).bg(Color::Yellow),
        ));
        rest = &rest[i + needle.len()..];
    }
    spans.push(Span::styled(rest.to_owned(), style));
    Line::from(spans)
}

/// The display lines of one entry: each line of the event, prefixed with the time, wrapped to
/// `width`.
#[must_use]
pub fn entry_lines(entry: &LogEntry, width: usize) -> Vec<String> {
    let stamp = clock(entry.time, false);
    let text = entry.event.to_string();
    let indent = stamp.len() + 1;
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.replace('\t', "    ");
        let mut first = true;
        for chunk in word_wrap(&line, width.saturating_sub(indent).max(8)) {
            if first {
                out.push(format!("{stamp} {chunk}"));
                first = false;
            } else {
                out.push(format!("{}{chunk}", " ".repeat(indent)));
            }
        }
    }
    out
}

/// Renders the log from the bottom row up.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let mut title = String::from(" Broker log");
    if app.log().follow() {
        title.push_str(" · follow");
    } else {
        title.push_str(&format!(" · scrolled +{}", app.log().bottom()));
    }
    if let Some(f) = app.log().filter() {
        title.push_str(&format!(" · clients with '{f}'"));
    }
    if app.log().hide_pings() {
        title.push_str(" · PINGs hidden (H)");
    }
    title.push_str(" · ▸ workbench client");
    if let Some(s) = app.log().search() {
        title.push_str(&format!(" · /{s}"));
    }
    if app.log().lagged() > 0 {
        title.push_str(&format!(" · {} dropped", app.log().lagged()));
    }
    title.push(' ');
    let block = pane_block(app, Pane::Log, title);
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    let mut lines: Vec<Line<'_>> = Vec::with_capacity(height);
    let own = app.link().client_id();
    let mut i = app.log().bottom();
    while lines.len() < height {
        let Some(entry) = app
            .log()
            .seq_from_newest(i)
            .and_then(|s| app.log().ring().get(s))
        else {
            break;
        };
        let style = style_for(&entry.event);
        let mut rows = entry_lines(entry, width);
        // Mark the workbench's own client: `▸` after the time instead of the space.
        if entry.event.client() == Some(own)
            && let Some(first) = rows.first_mut()
            && let Some(at) = first.find(' ')
        {
            first.replace_range(at..=at, "▸");
        }
        for l in rows.into_iter().rev() {
            lines.push(highlight(l, style, app.log().search()));
            if lines.len() == height {
                break;
            }
        }
        i += 1;
    }
    lines.reverse();
    for (r, line) in lines.iter().enumerate() {
        let y = inner.y + u16::try_from(r).unwrap_or(0);
        buf.set_line(inner.x, y, line, inner.width);
    }
}
