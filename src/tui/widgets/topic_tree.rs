//! The topic tree: one row per topic level, with message counts and per-topic rates, the
//! latest number read from a topic's payloads and, where the pane is wide enough, a sparkline
//! of its recent values. With a `/` filter the title shows its mode and the match count.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit_left, pane_block};
use crate::tui::app::plot::short;
use crate::tui::app::{App, Pane, node_ref};

/// The widest sparkline beside a topic's latest value.
const SPARK_MAX: usize = 8;

/// The width of the count and rate column.
fn right_len(count: u64, rate: u64) -> usize {
    let digits = |n: u64| n.checked_ilog10().map_or(1, |d| d as usize + 1);
    1 + digits(count) + if rate > 0 { 1 + digits(rate) + 2 } else { 0 }
}
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
    let title = match app.topics().filter() {
        Some(f) => format!(
            " Topics ({}/{}) · {} '{}' ",
            app.topics().matched(),
            app.topics().count(),
            f.mode(),
            f.text(),
        ),
        None => format!(" Topics ({}) ", app.topics().count()),
    };
    let block = pane_block(app, Pane::Topics, title, area);
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
        let values = node
            .and_then(|n| n.stats.as_ref())
            .and_then(|s| s.values.as_deref());
        let val = values.map_or_else(String::new, |v| format!(" {}", short(v.latest)));
        // The sparkline only where the name still fits whole beside it.
        let label_w = row.depth * 2 + 2 + width_of(&level_label(&row.name));
        let spark_w = match values {
            Some(v) if v.recent.len() > 1 => v.recent.len().min(SPARK_MAX),
            _ => 0,
        };
        let used =
            label_w + right_len(count, u64::from(rate)) + if retained { 2 } else { 0 } + val.len();
        let spark_w = if used + spark_w < width { spark_w } else { 0 };
        let spark_pad = if spark_w > 0 { spark_w + 1 } else { 0 };
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
        let name = level_label(&row.name);
        let mark = if retained { " R" } else { "" };
        let extra = mark.len() + val.len() + spark_pad;
        let room = width.saturating_sub(right.len() + extra);
        let left = tree_label(row.depth, marker, &name, room);
        let pad = width.saturating_sub(width_of(&left) + right.len() + extra);
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
        spans.push(Span::styled(val, base.fg(Color::Green)));
        spans.push(Span::styled(" ".repeat(spark_pad), base));
        let right_w = right.len();
        spans.push(Span::styled(right, base.fg(Color::Gray)));
        let y = inner.y + u16::try_from(i - app.topics().offset()).unwrap_or(0);
        super::cut::set_line(buf, inner.x, y, &Line::from(spans), inner.width);
        if let Some(v) = values.filter(|_| spark_w > 0 && width >= right_w + spark_w) {
            let x = inner.x + u16::try_from(width - right_w - spark_w).unwrap_or(0);
            let area = Rect::new(x, y, u16::try_from(spark_w).unwrap_or(0), 1);
            let recent: Vec<f64> = v.recent.iter().copied().collect();
            super::plot::sparkline(&recent, area, buf, base.fg(Color::Green));
        }
    }
}

/// A topic level as shown: an empty level as `""`, and spaces at either end of a level (a
/// level that is one space, `a/ /b`) as `␠` so they are seen; the topic itself is unchanged.
fn level_label(name: &str) -> String {
    if name.is_empty() {
        return "\"\"".to_owned();
    }
    let body = name.trim_matches(' ');
    if body.len() == name.len() {
        return name.to_owned();
    }
    let lead = name.len() - name.trim_start_matches(' ').len();
    let trail = if body.is_empty() {
        0
    } else {
        name.len() - name.trim_end_matches(' ').len()
    };
    format!("{}{body}{}", "␠".repeat(lead), "␠".repeat(trail))
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
    use super::{level_label, tree_label};
    use crate::tui::text::width;

    #[test]
    fn blank_levels_are_visible() {
        let cases = [
            ("", "\"\""),
            (" ", "␠"),
            ("  ", "␠␠"),
            (" a", "␠a"),
            ("a b ", "a b␠"),
            ("plant", "plant"),
        ];
        for (name, want) in cases {
            assert_eq!(level_label(name), want, "{name:?}");
        }
    }

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
