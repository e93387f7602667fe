//! The fleet dialogs (issue 14): the topic filter and payload search prompts (with the mode
//! and the live match count), the JSON path picker, the export path prompt and the questions
//! before overwriting a file or clearing a subtree's retained messages. The plot and the diff
//! are drawn by [`super::plot`] and [`super::diff`].

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;

use super::dialogs::{dialog, prompt};
use super::{centered, fit, human_bytes};
use crate::tui::app::App;
use crate::tui::app::filter::{PayloadSearch, TopicFilter};
use crate::tui::app::fleet::{ExportWhat, FleetModal};
use crate::tui::app::plot::short;

/// Renders the open fleet dialog.
pub fn render(app: &App, modal: &FleetModal, screen: Rect, buf: &mut Buffer) {
    match modal {
        FleetModal::TopicFilter(p, _) => {
            let live = TopicFilter::parse(&p.value());
            let title = match (&live, app.topics().filter()) {
                (Ok(Some(f)), _) => format!(
                    "Filter topics · {} · {} of {} topics",
                    f.mode(),
                    app.topics().matched(),
                    app.topics().count()
                ),
                (Err(_), _) => format!(
                    "Filter topics · not valid yet (Enter says why) · {} topics",
                    app.topics().count()
                ),
                _ => format!("Filter topics · {} topics", app.topics().count()),
            };
            let hint = "plant/+/temp: MQTT filter · re:^plant/[0-9]+ regex · else text";
            prompt(p, &title, hint, screen, buf);
        }
        FleetModal::Search(p, _) => {
            let live = PayloadSearch::parse(&p.value());
            let title = match &live {
                Ok(Some(s)) => format!(
                    "Search payloads · {} · {} of {} messages",
                    s.mode(),
                    app.messages().view().len(),
                    app.messages().ring().len()
                ),
                _ => format!("Search payloads · {} messages", app.messages().ring().len()),
            };
            let hint = "text (exact bytes) · re:PATTERN regex over the bytes · empty: all";
            prompt(p, &title, hint, screen, buf);
        }
        FleetModal::Export(p, what) => {
            let (title, hint) = match what {
                ExportWhat::Payload { topic, payload } => (
                    format!("Export the payload of '{topic}'"),
                    format!("{} bytes, written exactly · Enter writes", payload.len()),
                ),
                ExportWhat::History(sub) => (
                    format!(
                        "Export the history of '{}'",
                        sub.as_deref().unwrap_or("all topics")
                    ),
                    format!(
                        "{} · .csv: CSV, else JSON lines",
                        crate::tui::app::fleet::history_summary(app.messages(), sub.as_deref())
                    ),
                ),
            };
            prompt(p, &title, &hint, screen, buf);
        }
        FleetModal::PickPath {
            topic,
            leaves,
            cursor,
        } => {
            let h = u16::try_from(leaves.len()).unwrap_or(u16::MAX).min(16) + 3;
            let inner = dialog(
                centered(screen, 70, h),
                buf,
                &format!("Plot '{topic}': which number?"),
            );
            let rows = usize::from(inner.height.saturating_sub(1));
            let first = cursor.saturating_sub(rows.saturating_sub(1));
            for (i, (path, v)) in leaves.iter().enumerate().skip(first).take(rows) {
                let style = if i == *cursor {
                    Style::default().add_modifier(Modifier::REVERSED)
                } else {
                    Style::default()
                };
                let text = fit(
                    &format!("{path}  = {}", short(*v)),
                    usize::from(inner.width),
                );
                let y = inner.y + u16::try_from(i - first).unwrap_or(0);
                super::cut::set_line(buf, inner.x, y, &Line::styled(text, style), inner.width);
            }
            confirm_hint(inner, "↑↓ choose · Enter plots · Esc cancels", buf);
        }
        FleetModal::Plot => super::plot::render(app, screen, buf),
        FleetModal::Diff(v) => super::diff::render(v, screen, buf),
        FleetModal::Overwrite(f) => {
            let inner = dialog(centered(screen, 70, 4), buf, "Replace the file?");
            let text = format!(
                "{} exists. Replace it with {} ({} bytes)?",
                f.path,
                f.what,
                human_bytes(f.data.len())
            );
            super::cut::set_line(buf, inner.x, inner.y, &Line::raw(text), inner.width);
            confirm_hint(inner, "y: replace   n/Esc: keep it", buf);
        }
        FleetModal::ClearRetained { root, topics } => {
            let shown = topics.len().min(8);
            let h = u16::try_from(shown).unwrap_or(8) + 4;
            let inner = dialog(centered(screen, 70, h), buf, "Clear retained messages");
            let under = root.as_deref().unwrap_or("all topics");
            let n = topics.len();
            let text = format!(
                "Publish an empty retained message to {n} topic{} under '{under}'?",
                if n == 1 { "" } else { "s" }
            );
            super::cut::set_line(buf, inner.x, inner.y, &Line::raw(text), inner.width);
            for (i, t) in topics.iter().take(shown).enumerate() {
                let more = if i + 1 == shown && n > shown {
                    format!("  … and {} more", n - shown)
                } else {
                    format!("  {t}")
                };
                let y = inner.y + 1 + u16::try_from(i).unwrap_or(0);
                let style = Style::default().fg(Color::Yellow);
                super::cut::set_line(buf, inner.x, y, &Line::styled(more, style), inner.width);
            }
            confirm_hint(inner, "y: clear them   n/Esc: no", buf);
        }
    }
}

fn confirm_hint(inner: Rect, text: &str, buf: &mut Buffer) {
    if inner.height == 0 {
        return;
    }
    super::cut::set_line(
        buf,
        inner.x,
        inner.y + inner.height - 1,
        &Line::styled(text, Style::default().fg(Color::Cyan)),
        inner.width,
    );
}
