//! The diff view (`D`): the current message against the previous one on its topic, removed
//! lines red with `-`, added lines green with `+`, hunks separated by `@@`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;

use super::{centered, clock, dialogs::dialog, fit};
use crate::tui::app::diff::Tag;
use crate::tui::app::fleet::DiffView;

/// Renders the diff over most of the screen.
pub fn render(v: &DiffView, screen: Rect, buf: &mut Buffer) {
    let area = centered(
        screen,
        screen.width.saturating_sub(4),
        screen.height.saturating_sub(2),
    );
    let d = &v.diff;
    let rest = format!(
        " · {} → {} · {} · -{} +{}",
        clock(v.old_time, true),
        clock(v.new_time, true),
        d.kind.name(),
        d.removed,
        d.added
    );
    let title = super::cut::topic_title(
        "Diff: ",
        &v.topic,
        &rest,
        usize::from(area.width.saturating_sub(4)),
    );
    let inner = dialog(area, buf, &title);
    if inner.height < 2 {
        return;
    }
    let rows = usize::from(inner.height - 1);
    let width = usize::from(inner.width);
    if d.lines.is_empty() {
        super::cut::set_line(
            buf,
            inner.x,
            inner.y,
            &Line::raw("the two payloads are the same"),
            inner.width,
        );
    }
    for (i, (tag, text)) in d.lines.iter().skip(v.scroll).take(rows).enumerate() {
        let (mark, style) = match tag {
            Tag::Same => (' ', Style::default()),
            Tag::Removed => ('-', Style::default().fg(Color::Red)),
            Tag::Added => ('+', Style::default().fg(Color::Green)),
            Tag::Hunk => (' ', Style::default().fg(Color::Magenta)),
        };
        let text = crate::tui::text::escape_controls(text);
        let line = Line::styled(fit(&format!("{mark} {text}"), width), style);
        let y = inner.y + u16::try_from(i).unwrap_or(0);
        super::cut::set_line(buf, inner.x, y, &line, inner.width);
    }
    let hint = format!(
        "lines {}-{} of {} · ↑↓ PgUp/PgDn scroll · Esc closes",
        (v.scroll + 1).min(d.lines.len()),
        (v.scroll + rows).min(d.lines.len()),
        d.lines.len()
    );
    super::cut::set_line(
        buf,
        inner.x,
        inner.y + inner.height - 1,
        &Line::styled(hint, Style::default().fg(Color::DarkGray)),
        inner.width,
    );
}
