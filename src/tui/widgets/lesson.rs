//! The lesson pane, the fault menu, the first-minute overlay, and the equivalent-command lines
//! under the composer and the subscribe dialog.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::{centered, word_wrap};
use crate::lessons::shell::Tool;
use crate::tui::app::fault::Fault;
use crate::tui::app::lesson::sub_command;
use crate::tui::app::{App, Prompt};

struct Lines {
    out: Vec<Line<'static>>,
    width: usize,
}

impl Lines {
    /// `text` wrapped with its first row at column 0 and the rows after it under column
    /// `hang` (a step's goal under its text, not under its `[>]` mark).
    fn hanging(&mut self, hang: usize, text: &str, style: Style) {
        let pad = " ".repeat(hang);
        let text = &*crate::tui::text::escape_controls(text);
        let first = word_wrap(text, self.width.max(8));
        let Some(head) = first.first() else {
            return;
        };
        self.out.push(Line::styled(head.clone(), style));
        // The rest, wrapped again to the narrower room.
        let done = head.chars().count();
        let rest: String = text.chars().skip(done).collect();
        for l in word_wrap(rest.trim_start(), self.width.saturating_sub(hang).max(8)) {
            self.out.push(Line::styled(format!("{pad}{l}"), style));
        }
    }

    fn wrapped(&mut self, indent: usize, text: &str, style: Style) {
        let pad = " ".repeat(indent);
        for l in word_wrap(text, self.width.saturating_sub(indent).max(8)) {
            self.out.push(Line::styled(format!("{pad}{l}"), style));
        }
    }
}

/// The lesson pane: the intro, then every step with its state; the current step shows its
/// commands, keys, the pane to look at and each check.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let m = app.lesson();
    let title = match m.lesson() {
        // A title that numbers itself ("1. Hello, MQTT") is not numbered twice.
        Some((i, l)) => format!(
            " Lesson {}/{}: {} ",
            i + 1,
            m.count(),
            l.title
                .strip_prefix(&format!("{}. ", i + 1))
                .unwrap_or(&l.title)
        ),
        None => " Lessons ".to_owned(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(super::cut::title(&title, area))
        .title_bottom(super::cut::title(
            " L close · [/] lesson · . skip step ",
            area,
        ))
        .border_style(Style::default().fg(Color::Green));
    let inner = block.inner(area);
    block.render(area, buf);
    let mut ls = Lines {
        out: Vec::new(),
        width: usize::from(inner.width),
    };
    let dim = Style::default().fg(Color::DarkGray);
    if let Some(e) = m.error() {
        ls.wrapped(0, e, Style::default().fg(Color::Red));
    }
    if let Some(why) = m.no_checks() {
        ls.wrapped(0, why, Style::default().fg(Color::Yellow));
    }
    if let (Some((_, l)), Some(p)) = (m.lesson(), m.progress()) {
        ls.wrapped(0, &l.intro, dim);
        ls.out.push(Line::raw(""));
        for (i, step) in l.steps.iter().enumerate() {
            let (mark, style) = if i < p.step() {
                ("[x]", Style::default().fg(Color::Green))
            } else if i == p.step() {
                (
                    "[>]",
                    Style::default()
                        .fg(Color::Yellow)
                        .add_modifier(Modifier::BOLD),
                )
            } else {
                ("[ ]", Style::default().fg(Color::Gray))
            };
            let head = format!("{mark} {}. ", i + 1);
            ls.hanging(head.len(), &format!("{head}{}", step.goal), style);
            if i < p.step() && !step.explain.is_empty() {
                ls.wrapped(4, &step.explain, dim);
            }
            if i != p.step() {
                continue;
            }
            for c in &step.commands {
                ls.wrapped(
                    4,
                    &format!("$ {}", m.command_at(c, app.link().address())),
                    Style::default().fg(Color::Cyan),
                );
            }
            let mut hint = String::new();
            if !step.keys.is_empty() {
                hint.push_str(&format!("keys: {}  ", step.keys.join(" ")));
            }
            if let Some(v) = &step.view {
                hint.push_str(&format!("look at: {v}"));
            }
            if !hint.is_empty() {
                ls.wrapped(4, &hint, Style::default().fg(Color::Magenta));
            }
            for (c, ok) in step.check.iter().zip(p.seen(l)) {
                let mark = if ok { "✓" } else { "·" };
                ls.wrapped(4, &format!("{mark} {}", c.sentence()), dim);
            }
        }
        if p.done() {
            ls.out.push(Line::raw(""));
            ls.wrapped(
                0,
                "Lesson complete. ] opens the next one.",
                Style::default()
                    .fg(Color::Green)
                    .add_modifier(Modifier::BOLD),
            );
        }
    }
    // Keep the current step in view: drop intro lines from the top if needed.
    let h = usize::from(inner.height);
    let current = ls
        .out
        .iter()
        .position(|l| l.spans.iter().any(|s| s.content.starts_with("[>]")))
        .unwrap_or(0);
    let skip = if current + 6 > h {
        (current + 6 - h).min(current)
    } else {
        0
    };
    for (row, line) in ls.out.iter().skip(skip).take(h).enumerate() {
        let y = inner.y + u16::try_from(row).unwrap_or(0);
        super::cut::set_line(buf, inner.x, y, line, inner.width);
    }
}

fn boxed(area: Rect, buf: &mut Buffer, title: &str, color: Color) -> Rect {
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(super::cut::title(&format!(" {title} "), area))
        .border_style(Style::default().fg(color));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// The fault menu.
pub fn render_faults(app: &App, screen: Rect, buf: &mut Buffer) {
    let n = u16::try_from(Fault::ALL.len()).unwrap_or(4);
    let inner = boxed(
        centered(screen, 78, n + 6),
        buf,
        "Break something · 1-5 · Esc",
        Color::Red,
    );
    // Two short lines rather than one that the box would cut.
    let mut lines = vec![
        Line::styled(
            format!(
                "Against the embedded broker ({}).",
                app.broker().addr().unwrap_or("none")
            ),
            Style::default().fg(Color::DarkGray),
        ),
        Line::styled(
            "Each one is announced and explained in the log.",
            Style::default().fg(Color::DarkGray),
        ),
    ];
    lines.push(Line::raw(""));
    for (i, f) in Fault::ALL.iter().enumerate() {
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", i + 1), Style::default().fg(Color::Yellow)),
            Span::raw(f.title()),
        ]));
    }
    for (row, l) in lines.iter().enumerate().take(usize::from(inner.height)) {
        let y = inner.y + u16::try_from(row).unwrap_or(0);
        super::cut::set_line(buf, inner.x, y, l, inner.width);
    }
}

/// The text of the first-minute overlay.
pub const FIRST_MINUTE: &[&str] = &[
    "The client pane subscribes to # on the embedded broker and shows every",
    "topic, message and payload. The broker's log (beside it, or below it on a",
    "narrow terminal) has one line per packet, the way mosquitto -v prints it.",
    "",
    "p  opens the composer to publish; s subscribes. Both show the same",
    "   command for mosquitto_pub / mosquitto_sub, ready to copy (C-y).",
    "L  opens lesson 1, the classic mosquitto tutorial: each step ticks",
    "   itself off when it is done, from here or from another terminal.",
    "!  breaks things on purpose (a will fires, a keep-alive runs out, ...).",
    "?  lists every key.  q quits.",
];

/// The first-minute overlay.
pub fn render_first_minute(screen: Rect, buf: &mut Buffer) {
    let h = u16::try_from(FIRST_MINUTE.len()).unwrap_or(10) + 4;
    let inner = boxed(
        centered(screen, 86, h),
        buf,
        "The first minute · L: lesson 1 · any other key: close (shown once)",
        Color::Green,
    );
    for (row, l) in FIRST_MINUTE
        .iter()
        .enumerate()
        .take(usize::from(inner.height))
    {
        let y = inner.y + u16::try_from(row).unwrap_or(0);
        super::cut::set_line(buf, inner.x, y, &Line::raw(*l), inner.width);
    }
}

fn equivalent_lines(lines: [String; 2], note: Option<String>, area: Rect, buf: &mut Buffer) {
    let style = Style::default().fg(Color::Cyan);
    let mut shown: Vec<Line> = lines
        .iter()
        .map(|l| Line::styled(format!("$ {l}"), style))
        .collect();
    // What the commands leave out (the password) is said first, as the copy notice does.
    if let Some(note) = note {
        shown.insert(
            0,
            Line::styled(format!("! {note}"), Style::default().fg(Color::Yellow)),
        );
    }
    for (row, l) in shown.iter().enumerate().take(usize::from(area.height)) {
        let y = area.y + u16::try_from(row).unwrap_or(0);
        super::cut::set_line(buf, area.x, y, l, area.width);
    }
}

/// The subscribe dialog's equivalent commands, in a box just below the dialog at `dialog`.
pub fn subscribe_equivalent(app: &App, p: &Prompt, dialog: Rect, buf: &mut Buffer) {
    let y = dialog.y + dialog.height;
    let screen_bottom = buf.area.y + buf.area.height;
    let addr = &app.link().command_endpoint();
    let note = addr.login.note();
    let h = 4 + u16::from(note.is_some());
    if y + h > screen_bottom {
        return;
    }
    let inner = boxed(
        Rect::new(dialog.x, y, dialog.width, h),
        buf,
        "The same with mosquitto_sub · C-y copies (M-y: mqtt-workbench)",
        Color::DarkGray,
    );
    let filter = p.value();
    equivalent_lines(
        [
            sub_command(&filter, p.qos(), addr, Tool::Mosquitto),
            sub_command(&filter, p.qos(), addr, Tool::Workbench),
        ],
        note,
        inner,
        buf,
    );
}
