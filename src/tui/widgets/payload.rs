//! The payload of the selected message, in the chosen (or detected) view, with its MQTT 5
//! properties on top.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit, pane_block, wrap};
use crate::tui::app::{App, Pane};
use crate::tui::payload::{PayloadMode, render as render_payload};

/// Renders the visible part of the decoded payload.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let Some(m) = app.messages().current() else {
        let block = pane_block(app, Pane::Payload, " Payload ".into());
        let inner = block.inner(area);
        block.render(area, buf);
        buf.set_stringn(
            inner.x,
            inner.y,
            "no message yet",
            usize::from(inner.width),
            Style::default().fg(Color::DarkGray),
        );
        return;
    };
    let (used, lines) = render_payload(&m.payload, app.messages().payload_mode());
    let mode = if app.messages().payload_mode() == PayloadMode::Auto {
        format!("auto:{}", used.name())
    } else {
        used.name().to_owned()
    };
    let title = format!(
        " Payload: {} · {} · {} bytes · QoS {}{} ",
        m.topic,
        mode,
        m.payload.len(),
        m.qos,
        if m.retain { " · retained" } else { "" }
    );
    let block = pane_block(app, Pane::Payload, title);
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width);
    let mut rows: Vec<Line<'_>> = m
        .properties
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k}: "), Style::default().fg(Color::Magenta)),
                Span::raw(fit(v, width)),
            ])
        })
        .collect();
    rows.extend(
        lines
            .iter()
            .flat_map(|l| wrap(l, width))
            .skip(app.messages().payload_scroll())
            .take(usize::from(inner.height))
            .map(Line::raw),
    );
    for (i, line) in rows.iter().take(usize::from(inner.height)).enumerate() {
        let y = inner.y + u16::try_from(i).unwrap_or(0);
        buf.set_line(inner.x, y, line, inner.width);
    }
}
