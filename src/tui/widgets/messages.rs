//! The message list of the selected topic (or subtree): newest first, with time, QoS, retain,
//! Packet Identifier (`-` at QoS 0), size, the topic (when the view holds several) and a
//! payload preview.
//!
//! The `R` column: `R` for a delivery with RETAIN 1 (from the broker's retained store), `r`
//! for a message its sender published with Retain that arrived live with RETAIN 0
//! ([MQTT311-3.3.1-9], [MQTT5-3.3.1-12]; known from the embedded broker's log), `-` otherwise.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{clock, fit, fit_left, human_bytes, pane_block};
use crate::tui::app::{App, Pane};
use crate::tui::payload::preview;

/// Renders the header and the visible rows only.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let what = match (app.messages().view_topic(), app.messages().topic_filter()) {
        (Some(t), _) => t.to_owned(),
        (None, Some(f)) => format!("topics matching {} '{}'", f.mode(), f.text()),
        (None, None) => "all topics".to_owned(),
    };
    let search = app.messages().search().map_or_else(String::new, |s| {
        format!(" · {} search '{}'", s.mode(), s.text())
    });
    let follow = if app.messages().selected().is_none() {
        " · newest"
    } else {
        ""
    };
    // Cut from the left so that the leaf of a deep topic shows.
    let title = format!(
        " {} ",
        fit_left(
            &format!(
                "Messages: {what} ({}){search}{follow}",
                app.messages().view().len()
            ),
            usize::from(area.width.saturating_sub(4)),
        )
    );
    let block = pane_block(app, Pane::Messages, title);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let width = usize::from(inner.width);
    // Show the topic column when the view can hold several topics.
    let multi = app.messages().view_topic().is_none_or(|t| {
        crate::tui::app::node_ref(app.topics().tree(), t).is_some_and(|n| !n.children.is_empty())
    });
    // The fixed columns are 31 wide: `HH:MM:SS.mmm Q R   Mid   Size `.
    let room = width.saturating_sub(31);
    let h = usize::from(inner.height.saturating_sub(1));
    let pos = app.messages().position();
    let offset = pos.saturating_sub(h.saturating_sub(1));
    // The topic column is as wide as the longest topic shown, but leaves half the room to
    // the payload; longer topics are cut from the left.
    let topic_w = if multi {
        let longest = (offset..offset + h)
            .filter_map(|i| app.messages().view().from_newest(i))
            .filter_map(|s| app.messages().ring().get(s))
            .map(|m| crate::tui::text::width(&m.topic))
            .max()
            .unwrap_or(0);
        longest.max(5).min(room / 2)
    } else {
        0
    };
    let header = if multi {
        format!(
            "Time         Q R   Mid   Size {:<topic_w$} Payload",
            fit("Topic", topic_w)
        )
    } else {
        "Time         Q R   Mid   Size Payload".to_owned()
    };
    buf.set_line(
        inner.x,
        inner.y,
        &Line::styled(
            fit(&header, width),
            Style::default()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
        ),
        inner.width,
    );
    if h == 0 {
        return;
    }
    let focused = app.focus() == Pane::Messages && app.modal().is_none();
    for r in 0..h {
        let i = offset + r;
        let Some(m) = app
            .messages()
            .view()
            .from_newest(i)
            .and_then(|s| app.messages().ring().get(s))
        else {
            break;
        };
        let mid = match m.pkid {
            0 => "-".to_owned(),
            p => p.to_string(),
        };
        let fixed = format!(
            "{} {} {} {mid:>6} {:>6} ",
            clock(m.time, true),
            m.qos,
            match (m.retain, m.sent_retained) {
                (true, _) => "R",
                (false, true) => "r",
                (false, false) => "-",
            },
            human_bytes(m.payload.len())
        );
        let room = width.saturating_sub(fixed.len());
        let mut spans = vec![Span::raw(fixed)];
        if multi {
            // Cut from the left so that the leaf shows; padded so the payloads line up.
            let t = fit_left(&m.topic, topic_w);
            let pad = topic_w.saturating_sub(crate::tui::text::width(&t));
            spans.push(Span::styled(t, Style::default().fg(Color::Cyan)));
            spans.push(Span::raw(" ".repeat(pad + 1)));
            spans.push(Span::raw(preview(
                &m.payload,
                room.saturating_sub(topic_w + 1),
            )));
        } else {
            spans.push(Span::raw(preview(&m.payload, room)));
        }
        let mut line = Line::from(spans);
        if i == pos {
            line = line.style(if focused {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default().add_modifier(Modifier::BOLD)
            });
        }
        let y = inner.y + 1 + u16::try_from(r).unwrap_or(0);
        buf.set_line(inner.x, y, &line, inner.width);
    }
}
