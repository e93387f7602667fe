//! The plot (`P`): the plotted topic's numbers over time with ratatui's `Chart`, and the
//! sparkline of a topic's latest values that the tree shows beside it (ratatui's `Sparkline`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Sparkline, Widget};

use super::{centered, clock, dialogs::dialog};
use crate::tui::app::App;
use crate::tui::app::plot::{Plot, short};

/// Renders the plot over most of the screen.
pub fn render(app: &App, screen: Rect, buf: &mut Buffer) {
    let area = centered(
        screen,
        screen.width.saturating_sub(4),
        screen.height.saturating_sub(2),
    );
    let Some(plot) = app.topics().plot() else {
        return;
    };
    let title = title(plot, usize::from(area.width.saturating_sub(4)));
    let inner = dialog(area, buf, &title);
    if inner.height < 3 || inner.width < 10 {
        return;
    }
    let hint = "Esc closes · new messages are added as they arrive";
    let chart_area = Rect::new(inner.x, inner.y, inner.width, inner.height - 1);
    super::cut::set_line(
        buf,
        inner.x,
        inner.y + inner.height - 1,
        &Line::styled(hint, Style::default().fg(Color::DarkGray)),
        inner.width,
    );
    let Some((lo, hi)) = plot.bounds() else {
        super::cut::set_line(
            buf,
            inner.x,
            inner.y,
            &Line::raw(format!(
                "no number from {} on '{}' yet",
                plot.source, plot.topic
            )),
            inner.width,
        );
        return;
    };
    let points: Vec<(f64, f64)> = plot.points.iter().copied().collect();
    let (t0, t1) = match (points.first(), points.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => (0.0, 0.0),
    };
    let t1 = if t1 > t0 { t1 } else { t0 + 1.0 };
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
    let (ylo, yhi) = (lo - pad, hi + pad);
    let at = |t: f64| {
        let d = std::time::Duration::try_from_secs_f64(t).unwrap_or_default();
        clock(std::time::UNIX_EPOCH + d, false)
    };
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::default().fg(Color::Cyan))
        .data(&points);
    Chart::new(vec![dataset])
        .x_axis(
            Axis::default()
                .bounds([t0, t1])
                .labels([at(t0), at(t1)])
                .style(Style::default().fg(Color::DarkGray)),
        )
        .y_axis(
            Axis::default()
                .bounds([ylo, yhi])
                .labels([short(lo), short(hi)])
                .style(Style::default().fg(Color::DarkGray)),
        )
        .render(chart_area, buf);
}

fn title(plot: &Plot, max: usize) -> String {
    let latest = plot
        .points
        .back()
        .map_or_else(String::new, |p| format!(" · latest {}", short(p.1)));
    let range = plot.bounds().map_or_else(String::new, |(lo, hi)| {
        format!(" · min {} max {}", short(lo), short(hi))
    });
    let rest = format!(
        " · {} · {} points{latest}{range}",
        plot.source,
        plot.points.len()
    );
    super::cut::topic_title("Plot: ", &plot.topic, &rest, max)
}

/// Draws `values` (oldest first) as a one-row sparkline in `area`, scaled between their
/// minimum and maximum.
pub fn sparkline(values: &[f64], area: Rect, buf: &mut Buffer, style: Style) {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let span = hi - lo;
    let skip = values.len().saturating_sub(usize::from(area.width));
    let data: Vec<u64> = values[skip..]
        .iter()
        .map(|v| {
            if span > 0.0 {
                // 1..=8: every value shows at least the lowest bar.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let level = ((v - lo) / span * 7.0).round() as u64;
                level + 1
            } else {
                4
            }
        })
        .collect();
    Sparkline::default()
        .data(&data)
        .max(8)
        .style(style)
        .render(area, buf);
}
