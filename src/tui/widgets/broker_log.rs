//! The broker's verbose log in mosquitto's wording, coloured by packet type, newest at the
//! bottom, with milliseconds (the headless `broker -v` keeps mosquitto's whole seconds). Long
//! lines wrap. Only the entries that fit are formatted. The journey of the current message is
//! marked (issue 12), and with `w` a why note follows the lines that have one.

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
    let stamp = clock(entry.time, true);
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

/// The why note under an entry, wrapped to `width` and indented under its text (none when the
/// entry has no note).
#[must_use]
pub fn why_lines(entry: &LogEntry, width: usize) -> Vec<String> {
    let Some(why) = entry.tag.why else {
        return Vec::new();
    };
    let indent = " ".repeat(clock(entry.time, true).len() + 3);
    let text = crate::tui::app::why_note::why_text(why);
    word_wrap(&text, width.saturating_sub(indent.len()).max(8))
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{}↳ {l}", &indent[2..])
            } else {
                format!("{indent}{l}")
            }
        })
        .collect()
}

/// Renders the log from the bottom row up; the selected line (the cursor) is shown reversed
/// while the pane has the focus.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let mut title = String::from(" Broker log");
    if app.log().follow() {
        title.push_str(" · follow");
    } else {
        title.push_str(&format!(" · line -{}", app.log().bottom()));
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
    // The filtered journey, else the current message's.
    let marked = app
        .log()
        .journey()
        .unwrap_or_else(|| app.messages().current().map_or(0, |m| m.journey));
    if let Some(no) = app.log().journey() {
        title.push_str(&format!(" · journey #{no} only (J)"));
    } else if marked != 0 {
        title.push_str(&format!(" · journey #{marked} marked"));
    }
    if app.journey().why_notes() {
        title.push_str(" · why notes (w)");
    }
    if app.log().lagged() > 0 {
        title.push_str(&format!(" · {} dropped", app.log().lagged()));
    }
    title.push(' ');
    let block = pane_block(app, Pane::Log, title, area);
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    let mut lines: Vec<Line<'_>> = Vec::with_capacity(height);
    let own = app.link().client_id();
    let cursor = (app.focus() == Pane::Log).then(|| app.log().bottom());
    let mut i = app.log().view_bottom();
    while lines.len() < height {
        let Some(entry) = app
            .log()
            .seq_from_newest(i)
            .and_then(|s| app.log().ring().get(s))
        else {
            break;
        };
        let mut style = style_for(&entry.event);
        // A highlighted entry is one solid block over the pane's width, all its lines (a
        // SUBSCRIBE with its filters, a start-up message over two lines) shown as one.
        let mut block = false;
        if marked != 0 && entry.tag.msg == marked {
            style = style.bg(Color::Indexed(236)).add_modifier(Modifier::BOLD);
            block = true;
        }
        if cursor == Some(i) {
            style = style.add_modifier(Modifier::REVERSED);
            block = true;
        }
        let mut rows = entry_lines(entry, width);
        if block {
            for r in &mut rows {
                let pad = width.saturating_sub(crate::tui::text::width(r));
                r.push_str(&" ".repeat(pad));
            }
        }
        // Mark the workbench's own client: `▸` after the time instead of the space.
        if entry.event.client() == Some(own)
            && let Some(first) = rows.first_mut()
            && let Some(at) = first.find(' ')
        {
            first.replace_range(at..=at, "▸");
        }
        if app.journey().why_notes() {
            let note = Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::ITALIC);
            for l in why_lines(entry, width).into_iter().rev() {
                lines.push(Line::styled(l, note));
                if lines.len() == height {
                    break;
                }
            }
            if lines.len() == height {
                break;
            }
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
        super::cut::set_line(buf, inner.x, y, line, inner.width);
    }
}
