//! The topic tree: one row per topic level, with message counts and per-topic rates.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit, pane_block};
use crate::tui::app::{App, Pane, node_ref};

fn unix(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Renders the visible rows only: cost follows the pane height, not the number of topics.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 3 || area.height < 3 {
        return;
    }
    let title = format!(" Topics ({}) ", app.topics().count());
    let block = pane_block(app, Pane::Topics, title);
    let inner = block.inner(area);
    block.render(area, buf);
    let now = unix(app.now());
    let width = usize::from(inner.width);
    let focused = app.focus() == Pane::Topics && app.modal().is_none();
    for (i, row) in app
        .topics()
        .rows()
        .iter()
        .enumerate()
        .skip(app.topics().offset())
        .take(usize::from(inner.height))
    {
        let node = match &row.path {
            None => Some(app.topics().tree()),
            Some(p) => node_ref(app.topics().tree(), p),
        };
        let (count, rate, retained) = node.map_or((0, 0, false), |n| {
            (
                n.subtree_count,
                n.subtree_rate.per_sec(now),
                n.stats.as_ref().is_some_and(|s| s.retained),
            )
        });
        let marker = match (row.has_children, row.expanded) {
            (true, true) => "▾ ",
            (true, false) => "▸ ",
            (false, _) => "  ",
        };
        let right = if rate > 0 {
            format!(" {count} {rate}/s")
        } else {
            format!(" {count}")
        };
        let name = if row.name.is_empty() {
            "\"\"".to_owned()
        } else {
            row.name.clone()
        };
        let left = format!("{}{marker}{name}", "  ".repeat(row.depth));
        let room = width.saturating_sub(right.len() + usize::from(retained) * 2);
        let left = fit(&left, room);
        let pad = width.saturating_sub(
            unicode_width::UnicodeWidthStr::width(left.as_str())
                + right.len()
                + usize::from(retained) * 2,
        );
        let selected = i == app.topics().cursor();
        let base = if selected && focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else if selected {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::default()
        };
        let mut spans = vec![
            Span::styled(left, base),
            Span::styled(" ".repeat(pad), base),
        ];
        if retained {
            spans.push(Span::styled(" R", base.fg(Color::Yellow)));
        }
        spans.push(Span::styled(right, base.fg(Color::Gray)));
        let y = inner.y + u16::try_from(i - app.topics().offset()).unwrap_or(0);
        buf.set_line(inner.x, y, &Line::from(spans), inner.width);
    }
}
