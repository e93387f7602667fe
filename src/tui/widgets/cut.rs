//! Drawing text that may not fit: a line or a frame title cut to its room ends in `…`, so
//! the screen never drops the end of anything silently (titles, the status bar, list cells,
//! dialog rows). Widths are display columns (`unicode-width`), as the grid counts them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use unicode_width::UnicodeWidthStr;

use crate::tui::text::{ELLIPSIS, fit, fit_left};

/// The columns `line` needs, not counting trailing spaces (padding is not content).
fn content_width(line: &Line<'_>) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    text.trim_end().width()
}

/// Draws `line` at (`x`, `y`) in at most `width` columns, like [`Buffer::set_line`]; when its
/// content does not fit, the last column shows `…` in the style of the text before it.
/// Returns the position after the last cell drawn.
pub fn set_line(buf: &mut Buffer, x: u16, y: u16, line: &Line<'_>, width: u16) -> (u16, u16) {
    if width == 0 || content_width(line) <= usize::from(width) {
        return buf.set_line(x, y, line, width);
    }
    let (end, _) = buf.set_line(x, y, line, width - 1);
    let style = if end > x {
        buf[(end - 1, y)].style()
    } else {
        line.style
    };
    buf.set_string(end, y, ELLIPSIS, style);
    (end + 1, y)
}

/// `title` cut to fit the top border of a frame over `area` (its corners aside), marked with
/// `…` when cut.
#[must_use]
pub fn title(title: &str, area: Rect) -> String {
    fit(title, usize::from(area.width.saturating_sub(2)))
}

/// A title `{name}{topic}{rest}` cut to `max` columns: the name always stays; the topic gives
/// up its start first (down to a few columns, keeping the leaf, marked with `…`), then the end
/// of the whole is cut (marked too). A title never loses its pane's name.
#[must_use]
pub fn topic_title(name: &str, topic: &str, rest: &str, max: usize) -> String {
    let full = format!("{name}{topic}{rest}");
    if full.width() <= max {
        return fit(&full, max);
    }
    // At least the leaf and the mark (`…/temp`), and a short topic stays whole.
    let leaf = topic.rsplit('/').next().unwrap_or(topic);
    let least = topic.width().min((leaf.width() + 2).max(8));
    let room = max.saturating_sub(name.width() + rest.width()).max(least);
    fit(&format!("{name}{}{rest}", fit_left(topic, room)), max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Style};
    use ratatui::text::Span;

    fn row(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_owned())
            .collect()
    }

    #[test]
    fn a_topic_title_keeps_its_name_and_cuts_the_topic_first() {
        let t = |topic: &str, rest: &str, max: usize| topic_title("Payload: ", topic, rest, max);
        assert_eq!(t("a/b", " · 3 bytes", 40), "Payload: a/b · 3 bytes");
        assert_eq!(
            t("plant/hall-7/line-3/unit-12/temp", " · 3 bytes", 32),
            "Payload: …unit-12/temp · 3 bytes"
        );
        // Narrower than name and leaf: the end goes, the name stays.
        let cut = t(
            "plant/hall-7/line-3/unit-12/temp",
            " · auto:text · 3 bytes",
            24,
        );
        assert!(cut.starts_with("Payload: …") && cut.ends_with('…'), "{cut}");
        assert_eq!(cut.width(), 24);
        assert_eq!(t("x", "", 4), "Pay…");
    }

    #[test]
    fn a_line_that_does_not_fit_ends_in_the_mark_and_padding_is_no_content() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 3));
        let red = Style::default().fg(Color::Red);
        let l = Line::from(vec![Span::raw("ab"), Span::styled("cdefghij", red)]);
        assert_eq!(set_line(&mut buf, 0, 0, &l, 8), (8, 0));
        assert_eq!(row(&buf, 0), "abcdefg…");
        assert_eq!(buf[(7, 0)].fg, Color::Red);
        set_line(&mut buf, 0, 1, &Line::raw("fits    padded"), 4);
        assert_eq!(row(&buf, 1), "fit…    ");
        set_line(&mut buf, 0, 1, &Line::raw("fits        "), 8);
        assert_eq!(row(&buf, 1), "fits    ");
        // A wide character that does not fit whole is not split: the mark follows it.
        set_line(&mut buf, 0, 2, &Line::raw("東京都xyz"), 6);
        assert_eq!(row(&buf, 2).replace(' ', ""), "東京…");
    }

    #[test]
    fn a_title_is_cut_to_the_border_with_the_mark() {
        let area = Rect::new(0, 0, 12, 3);
        assert_eq!(title(" Topics (3) ", area), " Topics (…");
        assert_eq!(
            title(" Topics (3) ", Rect::new(0, 0, 14, 3)),
            " Topics (3) "
        );
        assert_eq!(title(" T ", area), " T ");
    }
}
