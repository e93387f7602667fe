//! The topic tree: one row per topic level, with message counts and per-topic rates.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit_left, pane_block};
use crate::tui::app::{App, Pane, node_ref};
use crate::tui::text::width as width_of;

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
        let mark = if retained { " R" } else { "" };
        let room = width.saturating_sub(right.len() + mark.len());
        let left = tree_label(row.depth, marker, &name, room);
        let pad = width.saturating_sub(width_of(&left) + right.len() + mark.len());
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
            spans.push(Span::styled(mark, base.fg(Color::Yellow)));
        }
        spans.push(Span::styled(right, base.fg(Color::Gray)));
        let y = inner.y + u16::try_from(i - app.topics().offset()).unwrap_or(0);
        buf.set_line(inner.x, y, &Line::from(spans), inner.width);
    }
}

/// A row's indentation, fold marker and level name in `room` columns. The name always shows:
/// when the indentation would push it out, the indentation shrinks (a `…` says so), and a name
/// wider than the room is cut from the left so its end stays visible.
fn tree_label(depth: usize, marker: &str, name: &str, room: usize) -> String {
    let name = &*crate::tui::text::escape_controls(name);
    let name_w = width_of(name);
    let want = depth * 2;
    let fixed = width_of(marker) + name_w;
    if want + fixed <= room {
        return format!("{}{marker}{name}", " ".repeat(want));
    }
    // Keep at least a few columns of indentation to hint at the depth.
    let indent = room.saturating_sub(fixed).min(want);
    if indent >= 2 {
        return format!("…{}{marker}{name}", " ".repeat(indent - 1));
    }
    let lead = if depth > 0 { "…" } else { "" };
    let rest = room.saturating_sub(width_of(lead) + width_of(marker));
    format!("{lead}{marker}{}", fit_left(name, rest))
}

#[cfg(test)]
mod tests {
    use super::tree_label;
    use crate::tui::text::width;

    #[test]
    fn deep_rows_keep_their_name_and_fit() {
        // (depth, name, room, expected)
        let cases: &[(usize, &str, usize, &str)] = &[
            (1, "leaf", 20, "  ▸ leaf"),
            (30, "leaf", 20, "…             ▸ leaf"),
            (30, "a-very-long-level-name", 12, "…▸ …vel-name"),
            (0, "a-very-long-level-name", 8, "▸ …-name"),
            (0, "bell\u{7}", 20, "▸ bell\\u{7}"),
        ];
        for (depth, name, room, want) in cases {
            let got = tree_label(*depth, "▸ ", name, *room);
            assert_eq!(&got, want, "{depth} {name} {room}");
            assert!(width(&got) <= *room, "{got:?}");
        }
    }
}
