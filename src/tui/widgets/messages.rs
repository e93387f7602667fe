//! The message list of the selected topic (or subtree): newest first, with time, QoS, retain,
//! size and a payload preview.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{clock, fit, human_bytes, pane_block};
use crate::tui::app::{App, Pane};
use crate::tui::payload::preview;

/// Renders the header and the visible rows only.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let what = app.messages().view_topic().unwrap_or("all topics");
    let follow = if app.messages().selected().is_none() {
        " · newest"
    } else {
        ""
    };
    let title = format!(
        " Messages: {what} ({}){follow} ",
        app.messages().view().len()
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
    let header = "Time         Q R   Size Payload";
    buf.set_line(
        inner.x,
        inner.y,
        &Line::styled(
            fit(header, width),
            Style::default()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
        ),
        inner.width,
    );
    let h = usize::from(inner.height.saturating_sub(1));
    if h == 0 {
        return;
    }
    let pos = app.messages().position();
    let offset = pos.saturating_sub(h - 1);
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
        let fixed = format!(
            "{} {} {} {:>6} ",
            clock(m.time, true),
            m.qos,
            if m.retain { "R" } else { "-" },
            human_bytes(m.payload.len())
        );
        let room = width.saturating_sub(fixed.len());
        let mut spans = vec![Span::raw(fixed)];
        if multi {
            let t = fit(&m.topic, room.min(24).max(room / 3));
            let tl = unicode_width::UnicodeWidthStr::width(t.as_str());
            spans.push(Span::styled(t, Style::default().fg(Color::Cyan)));
            spans.push(Span::raw(" "));
            spans.push(Span::raw(preview(&m.payload, room.saturating_sub(tl + 1))));
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
