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
    // The name stays; a deep topic keeps its leaf.
    let title = format!(
        " {} ",
        super::cut::topic_title(
            "Messages: ",
            &what,
            &format!(" ({}){search}{follow}", app.messages().view().len()),
            usize::from(area.width.saturating_sub(4)),
        )
    );
    let block = pane_block(app, Pane::Messages, title, area);
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
    let cols = Columns::fitting(width, multi);
    let room = width.saturating_sub(cols.width());
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
            "{}{:<topic_w$} Payload",
            cols.header(),
            fit("Topic", topic_w)
        )
    } else {
        format!("{}Payload", cols.header())
    };
    super::cut::set_line(
        buf,
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
        let fixed = cols.row(m);
        // A repeat sent for an overlapping subscription (MQTT311 §3.3.5) says so.
        let copy = if m.copy { "copy " } else { "" };
        let room = width.saturating_sub(fixed.len() + copy.len());
        let mut spans = vec![Span::raw(fixed)];
        if multi {
            // Cut from the left so that the leaf shows; padded so the payloads line up.
            let t = fit_left(&m.topic, topic_w);
            let pad = topic_w.saturating_sub(crate::tui::text::width(&t));
            spans.push(Span::styled(t, Style::default().fg(Color::Cyan)));
            spans.push(Span::raw(" ".repeat(pad + 1)));
            spans.push(Span::styled(copy, Style::default().fg(Color::Yellow)));
            spans.push(Span::raw(preview(
                &m.payload,
                room.saturating_sub(topic_w + 1),
            )));
        } else {
            spans.push(Span::styled(copy, Style::default().fg(Color::Yellow)));
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
        super::cut::set_line(buf, inner.x, y, &line, inner.width);
    }
}

/// The fixed columns before Topic and Payload. In a narrow pane the less needed ones go first
/// (Mid, then the milliseconds, Size, Q and R) so that Topic and Payload keep some room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    mid: bool,
    millis: bool,
    size: bool,
    flags: bool,
}

impl Columns {
    /// The widest set that leaves Topic and Payload (or Payload alone) enough room.
    fn fitting(width: usize, multi: bool) -> Self {
        // At least 7 columns each for Topic and Payload.
        let want = if multi { 14 } else { 10 };
        let sets = [
            (true, true, true, true),
            (false, true, true, true),
            (false, false, true, true),
            (false, false, false, true),
            (false, false, false, false),
        ];
        let mut cols = Self {
            mid: false,
            millis: false,
            size: false,
            flags: false,
        };
        for (mid, millis, size, flags) in sets {
            cols = Self {
                mid,
                millis,
                size,
                flags,
            };
            if width.saturating_sub(cols.width()) >= want {
                break;
            }
        }
        cols
    }

    /// Columns taken, the separating spaces included.
    fn width(self) -> usize {
        let time = if self.millis { 13 } else { 9 };
        time + if self.flags { 4 } else { 0 }
            + if self.mid { 7 } else { 0 }
            + if self.size { 7 } else { 0 }
    }

    fn header(self) -> String {
        let mut s = String::from(if self.millis {
            "Time         "
        } else {
            "Time     "
        });
        if self.flags {
            s.push_str("Q R ");
        }
        if self.mid {
            s.push_str("  Mid ");
        }
        if self.size {
            s.push_str("  Size ");
        }
        s
    }

    fn row(self, m: &crate::tui::app::Message) -> String {
        let mut s = format!("{} ", clock(m.time, self.millis));
        if self.flags {
            let r = match (m.retain, m.sent_retained) {
                (true, _) => "R",
                (false, true) => "r",
                (false, false) => "-",
            };
            s.push_str(&format!("{} {r} ", m.qos));
        }
        if self.mid {
            let mid = match m.pkid {
                0 => "-".to_owned(),
                p => p.to_string(),
            };
            s.push_str(&format!("{mid:>6} "));
        }
        if self.size {
            s.push_str(&format!("{:>6} ", human_bytes(m.payload.len())));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::Columns;

    #[test]
    fn narrow_panes_drop_fixed_columns_before_topic_and_payload() {
        // (inner width, several topics, fixed width, header)
        let cases = [
            (120, true, 31, "Time         Q R   Mid   Size "),
            (45, true, 31, "Time         Q R   Mid   Size "),
            (37, true, 20, "Time     Q R   Size "),
            (30, true, 13, "Time     Q R "),
            (26, true, 9, "Time     "),
            (12, true, 9, "Time     "),
            (40, false, 24, "Time         Q R   Size "),
        ];
        for (width, multi, fixed, header) in cases {
            let c = Columns::fitting(width, multi);
            assert_eq!((c.width(), c.header().as_str()), (fixed, header), "{width}");
        }
    }
}
