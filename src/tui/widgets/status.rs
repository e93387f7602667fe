//! The status bar (broker address, clients, rates, client state, notices) and the key footer.

use std::time::UNIX_EPOCH;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::tui::app::{App, ClientState};
use crate::tui::keymap;

/// The top line.
pub fn render_status(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let now = app
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let bar = Style::default().bg(Color::Rgb(40, 40, 60)).fg(Color::White);
    buf.set_style(area, bar);
    let sep = Span::styled(" │ ", bar.fg(Color::DarkGray));
    let mut spans = Vec::new();
    match app.broker().addr() {
        Some(addr) => {
            spans.push(Span::styled(format!("broker {addr}"), bar.fg(Color::Green)));
            spans.push(sep.clone());
            // The broker's own counters: one source, exact even when the log lags.
            let clients = app.broker().clients();
            let (rate_in, rate_out) = app.broker().rates().unwrap_or((0, 0));
            let plural = if clients == 1 { "" } else { "s" };
            spans.push(Span::styled(format!("{clients} client{plural}"), bar));
            spans.push(sep.clone());
            spans.push(Span::styled(
                format!("in {rate_in}/s out {rate_out}/s"),
                bar,
            ));
        }
        None => spans.push(Span::styled("no embedded broker", bar.fg(Color::Gray))),
    }
    let broker = std::mem::take(&mut spans);
    let (state, color) = match app.link().state() {
        ClientState::Connected => ("connected", Color::Green),
        ClientState::Connecting => ("connecting", Color::Yellow),
        ClientState::Disconnected(_) => ("disconnected", Color::Red),
    };
    let wide = area.width >= crate::tui::app::layout::WIDE;
    let target = match app.link().target() {
        crate::tui::app::Target::Profile(name) if wide => {
            format!(" '{name}' {}", app.link().address())
        }
        crate::tui::app::Target::Profile(name) => format!(" '{name}'"),
        _ if wide => format!(" {}", app.link().address()),
        _ => String::new(),
    };
    // Several connections: which one the panes show (conns, issue 14).
    if let Some(label) = super::conns::status_label(app) {
        spans.push(Span::styled(format!("{label} "), bar.fg(Color::Cyan)));
    }
    spans.push(Span::styled(
        format!("client {state}{target}"),
        bar.fg(color),
    ));
    if app.broker().addr().is_none() {
        spans.push(Span::styled(
            format!(" {}/s", app.messages().rate().per_sec(now)),
            bar,
        ));
    }
    if let ClientState::Disconnected(why) = app.link().state() {
        if let Some((attempt, at)) = app.link().retry() {
            let left = at.duration_since(app.now()).map_or(0, |d| d.as_secs());
            spans.push(Span::styled(
                format!(" · retry {} in {left}s (r: now)", attempt + 1),
                bar.fg(Color::Yellow),
            ));
        }
        spans.push(Span::styled(
            format!(" · {why} (! in full)"),
            bar.fg(Color::Red),
        ));
    }
    let client = std::mem::take(&mut spans);
    spans.push(Span::styled(" MQTT ", bar.add_modifier(Modifier::BOLD)));
    // Narrow and not connected: why comes first, the embedded broker after.
    let client_first = !wide && !app.link().is_connected();
    let (first, second) = if client_first {
        (client, broker)
    } else {
        (broker, client)
    };
    let mut rest = first;
    rest.push(sep.clone());
    rest.extend(second);
    if let Some(n) = app.notice() {
        let notice = Span::styled(n.to_owned(), bar.fg(Color::Yellow));
        let all = Line::from(spans.clone()).width()
            + Line::from(rest.clone()).width()
            + sep.width()
            + notice.width();
        if all > usize::from(area.width) {
            // A notice is what just happened and goes away by itself: when the bar is too
            // narrow for everything, it comes first and the standing state is what gets cut.
            spans.push(notice);
            spans.push(sep);
            spans.extend(rest);
        } else {
            spans.extend(rest);
            spans.push(sep);
            spans.push(notice);
        }
    } else {
        spans.extend(rest);
    }
    super::cut::set_line(buf, area.x, area.y, &Line::from(spans), area.width);
}

/// The bottom line: the keys of the focused pane (or open dialog).
pub fn render_footer(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let mut spans = Vec::new();
    for (key, help) in keymap::footer(app) {
        spans.push(Span::styled(
            format!(" {key}"),
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(
            format!(" {help} "),
            Style::default().fg(Color::Gray),
        ));
    }
    super::cut::set_line(buf, area.x, area.y, &Line::from(spans), area.width);
}
