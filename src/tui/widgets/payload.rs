//! The payload of the selected message, in the view chosen for its topic (or detected), with
//! its MQTT 5 properties labelled after it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::pane_block;
use crate::tui::app::{App, Pane};
use crate::tui::payload::PayloadMode;

/// Renders the visible rows of the payload as prepared by the model.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let title_room = usize::from(area.width.saturating_sub(4));
    let Some(m) = app.messages().current() else {
        let block = pane_block(app, Pane::Payload, " Payload ".into(), area);
        let inner = block.inner(area);
        block.render(area, buf);
        super::cut::set_line(
            buf,
            inner.x,
            inner.y,
            &Line::styled("no message yet", Style::default().fg(Color::DarkGray)),
            inner.width,
        );
        return;
    };
    let shown = app.messages().payload_rows();
    let chosen = app.messages().payload_mode();
    let mode = if chosen == PayloadMode::Auto {
        format!("auto:{}", shown.decoder.unwrap_or(shown.used.name()))
    } else {
        chosen.name().to_owned()
    };
    let rows = shown.rows.len();
    let scroll = app.messages().payload_scroll();
    let where_ = if rows > shown.height {
        format!(
            " · {}-{}/{rows}",
            scroll + 1,
            (scroll + shown.height).min(rows)
        )
    } else {
        String::new()
    };
    let props = if m.properties.is_empty() {
        String::new()
    } else {
        format!(" · {} properties at the end", m.properties.len())
    };
    // The name stays; a long topic gives up its start first (its leaf stays), then the end
    // is cut. What only the title says (properties below, RETAIN, the scroll position) comes
    // first; the QoS, which the message list's Q column shows too, only when it fits whole.
    let rest = format!(
        "{props} · {} · {} bytes{}{where_}",
        mode,
        m.payload.len(),
        match (m.retain, m.sent_retained) {
            (true, _) => " · retained (RETAIN 1, from the store)",
            (false, true) => " · retained (sent live: RETAIN 0)",
            (false, false) => "",
        },
    );
    let with_qos = format!("{rest} · QoS {}", m.qos);
    let fits = crate::tui::text::width(&format!("Payload: {}{with_qos}", m.topic)) <= title_room;
    let rest = if fits { with_qos } else { rest };
    let title = super::cut::topic_title("Payload: ", &m.topic, &rest, title_room);
    let block = pane_block(app, Pane::Payload, format!(" {title} "), area);
    let inner = block.inner(area);
    block.render(area, buf);
    let label = Style::default().fg(Color::Magenta);
    let props_at = if m.properties.is_empty() {
        rows
    } else {
        shown
            .rows
            .iter()
            .rposition(|r| r.starts_with("MQTT 5 properties ("))
            .unwrap_or(rows)
    };
    for (i, row) in shown
        .rows
        .iter()
        .enumerate()
        .skip(scroll)
        .take(usize::from(inner.height))
    {
        let y = inner.y + u16::try_from(i - scroll).unwrap_or(0);
        let line = if i >= props_at {
            Line::styled(row.as_str(), label)
        } else {
            Line::raw(row.as_str())
        };
        super::cut::set_line(buf, inner.x, y, &line, inner.width);
    }
}
