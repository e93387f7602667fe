//! Dialogs: the publish composer, the subscribe/search/filter prompts, the unsubscribe list
//! and the clear-retained question.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};
use ratatui_textarea::TextArea;

use super::centered;
use crate::tui::app::Target;
use crate::tui::app::profiles::{FormField, ProfileForm};
use crate::tui::app::{App, Composer, ComposerField, Modal, Prompt, SubState};

pub(super) fn dialog(area: Rect, buf: &mut Buffer, title: &str) -> Rect {
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(super::cut::title(&format!(" {title} "), area))
        .border_style(Style::default().fg(Color::Yellow));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// The composer's equivalent commands (or why there are none yet), in `area`. A payload with
/// a newline or another control character is shown in `$'..'` quoting (`\n`), which a shell
/// reads back to exactly the bytes sent; `C-y`/`M-y` copy the plain single-quoted form.
fn publish_preview(app: &App, c: &Composer, area: Rect, buf: &mut Buffer) {
    use crate::lessons::shell::Tool;
    use crate::tui::app::lesson::pub_command;
    let addr = &app.link().command_endpoint();
    let lines = match c.build() {
        Ok(p) => {
            let mut lines = [Tool::Mosquitto, Tool::Workbench]
                .map(|tool| {
                    Line::styled(
                        format!("$ {}", visible_command(&pub_command(&p, addr, tool))),
                        Style::default().fg(Color::Cyan),
                    )
                })
                .to_vec();
            // What the commands leave out (the password) first, as the copy notice says it.
            if let Some(note) = addr.login.note() {
                lines.insert(
                    0,
                    Line::styled(format!("! {note}"), Style::default().fg(Color::Yellow)),
                );
            }
            lines
        }
        Err(e) => vec![Line::styled(
            format!("(no command yet: {e})"),
            Style::default().fg(Color::DarkGray),
        )],
    };
    for (row, l) in lines.iter().enumerate().take(usize::from(area.height)) {
        let y = area.y + u16::try_from(row).unwrap_or(0);
        super::cut::set_line(buf, area.x, y, l, area.width);
    }
}

/// `cmd` (words in POSIX single quotes, as the copied commands are) with every word that holds
/// a control character rewritten in `$'..'` quoting, so the one-line preview shows the
/// newline as `\n` instead of losing it; other words stay as they are.
#[must_use]
pub fn visible_command(cmd: &str) -> String {
    let mut out = String::with_capacity(cmd.len());
    let (mut src, mut val) = (String::new(), String::new());
    let mut chars = cmd.chars();
    let flush = |out: &mut String, src: &mut String, val: &mut String| {
        if !out.is_empty() {
            out.push(' ');
        }
        if val.chars().any(char::is_control) {
            out.push_str(&ansi_c_quote(val));
        } else {
            out.push_str(src);
        }
        src.clear();
        val.clear();
    };
    let mut in_word = false;
    while let Some(ch) = chars.next() {
        match ch {
            ' ' => {
                if in_word {
                    flush(&mut out, &mut src, &mut val);
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                src.push(ch);
                for q in chars.by_ref() {
                    src.push(q);
                    if q == '\'' {
                        break;
                    }
                    val.push(q);
                }
            }
            '\\' => {
                in_word = true;
                src.push(ch);
                if let Some(n) = chars.next() {
                    src.push(n);
                    val.push(n);
                }
            }
            _ => {
                in_word = true;
                src.push(ch);
                val.push(ch);
            }
        }
    }
    if in_word {
        flush(&mut out, &mut src, &mut val);
    }
    out
}

/// `s` in bash's `$'..'` quoting: `\n`, `\t`, `\r`, `\\`, `\'`, other control characters
/// as `\xHH` or `\uHHHH`.
fn ansi_c_quote(s: &str) -> String {
    let mut out = String::from("$'");
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() && u32::from(c) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Renders the open dialog (not the help screen).
pub fn render(app: &App, modal: &Modal, screen: Rect, buf: &mut Buffer) {
    match modal {
        // The fault menu and the first-minute overlay are drawn by `super::lesson`.
        Modal::Help { .. }
        | Modal::Faults
        | Modal::FirstMinute
        | Modal::Conns { .. }
        | Modal::Learn(_)
        | Modal::Sequence { .. } => {}
        Modal::Errors { first } => errors(app, *first, screen, buf),
        Modal::Composer(c) => composer(app, c, screen, buf),
        Modal::Subscribe(p) => {
            prompt(
                p,
                &format!(
                    "Subscribe · QoS {} (Tab changes) · Enter subscribes",
                    p.qos()
                ),
                "Topic filter, e.g. sensors/+/temperature or #",
                screen,
                buf,
            );
            super::lesson::subscribe_equivalent(app, p, centered(screen, 70, 5), buf);
        }
        Modal::Search(p) => prompt(p, "Search the broker log", "Text to find", screen, buf),
        Modal::ClientFilter(p) => client_filter(app, p, screen, buf),
        Modal::Unsubscribe { cursor } => {
            let h = u16::try_from(app.link().subscriptions().len())
                .unwrap_or(20)
                .min(20)
                + 2;
            let inner = dialog(centered(screen, 60, h), buf, "Unsubscribe · Enter");
            for (i, s) in app.link().subscriptions().iter().enumerate() {
                let Ok(row) = u16::try_from(i) else { break };
                if row >= inner.height {
                    break;
                }
                let state = match &s.state {
                    SubState::Pending => "pending".to_owned(),
                    SubState::Granted(q) => format!("granted QoS {q}"),
                    SubState::Refused(e) => format!("refused: {e}"),
                };
                let style = if i == *cursor {
                    Style::default().add_modifier(Modifier::REVERSED)
                } else {
                    Style::default()
                };
                super::cut::set_line(
                    buf,
                    inner.x,
                    inner.y + row,
                    &Line::styled(format!("{}  (QoS {}, {state})", s.filter, s.qos), style),
                    inner.width,
                );
            }
        }
        Modal::Profiles { cursor } => picker(app, *cursor, screen, buf),
        Modal::ProfileEditor(f) => editor(f, screen, buf),
        Modal::Password { profile, prompt: p } => prompt(
            p,
            &format!(
                "Password for {} · profile '{}' · Enter connects",
                profile.username.as_deref().unwrap_or("?"),
                profile.name
            ),
            "Not stored; asked again when the workbench restarts",
            screen,
            buf,
        ),
        Modal::ConfirmDelete(name) => {
            let inner = dialog(centered(screen, 64, 4), buf, "Delete profile");
            super::cut::set_line(
                buf,
                inner.x,
                inner.y,
                &Line::raw(format!(
                    "Delete profile '{name}'? (profiles.toml.bak keeps it)"
                )),
                inner.width,
            );
            super::cut::set_line(
                buf,
                inner.x,
                inner.y + 1,
                &Line::styled("y: yes   n/Esc: no", Style::default().fg(Color::Cyan)),
                inner.width,
            );
        }
        // Drawn by `super::fleet`.
        Modal::Fleet(_) => {}
    }
}

pub(super) fn prompt(p: &Prompt, title: &str, hint: &str, screen: Rect, buf: &mut Buffer) {
    // A refusal is shown in full, word-wrapped under the field.
    let why = p
        .error()
        .map(|e| super::word_wrap(e, 66))
        .unwrap_or_default();
    let extra = u16::try_from(why.len())
        .unwrap_or(8)
        .min(8)
        .saturating_sub(1);
    let inner = dialog(centered(screen, 70, 5 + extra), buf, title);
    super::cut::set_line(
        buf,
        inner.x,
        inner.y,
        &Line::styled(hint, Style::default().fg(Color::DarkGray)),
        inner.width,
    );
    if inner.height > 1 {
        p.text()
            .render(Rect::new(inner.x, inner.y + 1, inner.width, 1), buf);
    }
    for (i, row) in why.iter().enumerate() {
        let y = inner.y + 2 + u16::try_from(i).unwrap_or(u16::MAX - 2);
        if y >= inner.y + inner.height {
            break;
        }
        super::cut::set_line(
            buf,
            inner.x,
            y,
            &Line::styled(row.clone(), Style::default().fg(Color::Red)),
            inner.width,
        );
    }
}

/// The client filter prompt with the client ids seen so far that contain the typed text.
fn client_filter(app: &App, p: &Prompt, screen: Rect, buf: &mut Buffer) {
    let typed = p.text().lines().join("");
    let matching: Vec<&str> = app
        .log()
        .clients()
        .filter(|c| c.contains(typed.trim()))
        .collect();
    let list_h = u16::try_from(matching.len()).unwrap_or(u16::MAX).min(12);
    let area = centered(screen, 70, 6 + list_h);
    let inner = dialog(area, buf, "Filter the broker log by client id");
    let hint = "Part of a client id (empty shows all); will lines stay with their client";
    let top = Rect::new(inner.x, inner.y, inner.width, inner.height.min(3));
    super::cut::set_line(
        buf,
        top.x,
        top.y,
        &Line::styled(hint, Style::default().fg(Color::DarkGray)),
        top.width,
    );
    if top.height > 1 {
        p.text()
            .render(Rect::new(top.x, top.y + 1, top.width, 1), buf);
    }
    if inner.height > 3 {
        let head = format!(
            "Known clients containing '{}' ({}):",
            typed.trim(),
            matching.len()
        );
        super::cut::set_line(
            buf,
            inner.x,
            inner.y + 2,
            &Line::styled(head, Style::default().fg(Color::Gray)),
            inner.width,
        );
        let own = app.link().client_id();
        for (i, c) in matching
            .iter()
            .take(usize::from(inner.height - 3))
            .enumerate()
        {
            let mark = if *c == own { " (the workbench)" } else { "" };
            super::cut::set_line(
                buf,
                inner.x,
                inner.y + 3 + u16::try_from(i).unwrap_or(0),
                &Line::raw(super::fit(
                    &format!("  {c}{mark}"),
                    usize::from(inner.width),
                )),
                inner.width,
            );
        }
    }
}

fn field(c: &Composer, f: ComposerField, area: Rect, buf: &mut Buffer, boxed: bool) {
    let Some(t) = c.text(f) else {
        return;
    };
    let focused = c.focus() == f;
    let label_style = label_style(focused);
    if boxed {
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(
                super::cut::title(&format!(" {} ", f.label()), area),
                label_style,
            ))
            .border_style(label_style);
        let inner = block.inner(area);
        block.render(area, buf);
        text(t, focused, inner, buf);
    } else {
        let [l, r] = Layout::horizontal([Constraint::Length(16), Constraint::Fill(1)]).areas(area);
        super::cut::set_line(
            buf,
            l.x,
            l.y,
            &Line::styled(f.label(), label_style),
            l.width,
        );
        text(t, focused, r, buf);
    }
}

fn text(t: &TextArea<'static>, focused: bool, area: Rect, buf: &mut Buffer) {
    if focused {
        t.render(area, buf);
    } else {
        for (i, l) in t.lines().iter().take(usize::from(area.height)).enumerate() {
            let y = area.y + u16::try_from(i).unwrap_or(0);
            super::cut::set_line(buf, area.x, y, &Line::raw(l.clone()), area.width);
        }
    }
}

fn composer(app: &App, c: &Composer, screen: Rect, buf: &mut Buffer) {
    let w = screen.width.saturating_sub(4).min(100);
    let h = screen.height.saturating_sub(2).min(30);
    let inner = dialog(
        centered(screen, w, h),
        buf,
        "Publish · Tab next field · C-s send · C-p/C-n history · Esc close",
    );
    // Drawn in the order Tab visits the fields.
    let [
        topic,
        payload,
        flags,
        ct,
        exp,
        resp,
        corr,
        user,
        err,
        equivalent,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        // Three lines of user properties, and two for a refusal (read in full).
        Constraint::Length(5),
        Constraint::Length(2),
        Constraint::Length(2 + u16::from(app.link().command_endpoint().login.note().is_some())),
    ])
    .areas(inner);
    publish_preview(app, c, equivalent, buf);
    field(c, ComposerField::Topic, topic, buf, false);
    let sel = |f: ComposerField| {
        if c.focus() == f {
            Style::default()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(Color::Gray)
        }
    };
    super::cut::set_line(
        buf,
        flags.x,
        flags.y,
        &Line::from(vec![
            Span::styled(format!("QoS {}", c.qos()), sel(ComposerField::Qos)),
            Span::raw("   "),
            Span::styled(
                format!("Retain {}", if c.retain() { "yes" } else { "no" }),
                sel(ComposerField::Retain),
            ),
            // On a focused toggle the way to change it stands out.
            match c.focus() {
                ComposerField::Qos => Span::styled(
                    "   Space or ←/→ changes · 0 1 2 set the QoS",
                    Style::default().fg(Color::Yellow),
                ),
                ComposerField::Retain => Span::styled(
                    "   Space or ←/→ changes · y/n set Retain",
                    Style::default().fg(Color::Yellow),
                ),
                _ => Span::styled(
                    "   (Space or ←/→ changes)",
                    Style::default().fg(Color::DarkGray),
                ),
            },
        ]),
        flags.width,
    );
    field(c, ComposerField::Payload, payload, buf, true);
    field(c, ComposerField::ContentType, ct, buf, false);
    field(c, ComposerField::Expiry, exp, buf, false);
    field(c, ComposerField::ResponseTopic, resp, buf, false);
    field(c, ComposerField::Correlation, corr, buf, false);
    field(c, ComposerField::UserProps, user, buf, true);
    if let Some(e) = c.error() {
        let rows = super::word_wrap(e, usize::from(err.width));
        for (i, row) in rows.iter().take(usize::from(err.height)).enumerate() {
            super::cut::set_line(
                buf,
                err.x,
                err.y + u16::try_from(i).unwrap_or(0),
                &Line::styled(row.clone(), Style::default().fg(Color::Red)),
                err.width,
            );
        }
    } else {
        super::cut::set_line(
            buf,
            err.x,
            err.y,
            &Line::styled(
                "MQTT 5 properties are optional; user props: one name=value a line",
                Style::default().fg(Color::DarkGray),
            ),
            err.width,
        );
    }
}

/// The profile picker: the embedded broker, then every profile.
fn picker(app: &App, cursor: usize, screen: Rect, buf: &mut Buffer) {
    let n = u16::try_from(app.profiles().picker_len()).unwrap_or(u16::MAX);
    let w = screen.width.saturating_sub(4).min(110);
    let h = n.saturating_add(4).min(screen.height.saturating_sub(2));
    let inner = dialog(
        centered(screen, w, h),
        buf,
        "Profiles · Enter connect · n new · e edit · d duplicate · x delete",
    );
    if inner.height < 3 {
        return;
    }
    let rows = usize::from(inner.height - 2);
    let name_w = app
        .profiles()
        .list()
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("embedded broker".len());
    let offset = cursor.saturating_sub(rows.saturating_sub(1));
    let embedded = match app.broker().addr() {
        Some(a) => format!("mqtt://{a}"),
        None => "not running in this session".to_owned(),
    };
    let mut lines: Vec<(bool, String)> = vec![(
        *app.link().target() == Target::Embedded,
        format!("{:<name_w$}  {embedded}", "embedded broker"),
    )];
    for p in app.profiles().list() {
        let mut text = format!("{:<name_w$}  {}  {}", p.name, p.address(), p.auth_summary());
        if let Some(note) = &p.note {
            text.push_str("  · ");
            text.push_str(note);
        }
        lines.push((
            *app.link().target() == Target::Profile(p.name.clone()),
            text,
        ));
    }
    for (i, (current, text)) in lines.iter().enumerate().skip(offset).take(rows) {
        let y = inner.y + u16::try_from(i - offset).unwrap_or(0);
        let mut style = Style::default();
        if *current {
            style = style.fg(Color::Green);
        }
        if i == cursor {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let marker = if *current { "● " } else { "  " };
        super::cut::set_line(
            buf,
            inner.x,
            y,
            &Line::styled(format!("{marker}{text}"), style),
            inner.width,
        );
    }
    let last = inner.y + inner.height - 1;
    let (text, style) = match app.profiles().error() {
        Some(e) => (e.to_owned(), Style::default().fg(Color::Red)),
        None if app.profiles().list().is_empty() => (
            format!(
                "No profiles yet: n creates one (saved in {})",
                app.profiles().file()
            ),
            Style::default().fg(Color::DarkGray),
        ),
        None => (
            app.profiles().file().to_owned(),
            Style::default().fg(Color::DarkGray),
        ),
    };
    super::cut::set_line(buf, inner.x, last, &Line::styled(text, style), inner.width);
}

/// The profile editor: one line per field, scrolled to keep the focus visible.
fn editor(f: &ProfileForm, screen: Rect, buf: &mut Buffer) {
    let fields = u16::try_from(FormField::ORDER.len()).unwrap_or(u16::MAX);
    let w = screen.width.saturating_sub(4).min(90);
    let h = fields
        .saturating_add(4)
        .min(screen.height.saturating_sub(2));
    let title = match f.original() {
        Some(name) => format!("Edit profile '{name}' · Enter/C-s save · Esc cancel"),
        None => "New profile · Enter/C-s save · Esc cancel".to_owned(),
    };
    let inner = dialog(centered(screen, w, h), buf, &title);
    if inner.height < 3 {
        return;
    }
    let rows = usize::from(inner.height - 2);
    let focus = f.focus().index();
    let offset = focus.saturating_sub(rows.saturating_sub(1));
    for (i, field) in FormField::ORDER.iter().enumerate().skip(offset).take(rows) {
        let y = inner.y + u16::try_from(i - offset).unwrap_or(0);
        let row = Rect::new(inner.x, y, inner.width, 1);
        let [l, r] = Layout::horizontal([Constraint::Length(16), Constraint::Fill(1)]).areas(row);
        let focused = *field == f.focus();
        let label_style = label_style(focused);
        super::cut::set_line(
            buf,
            l.x,
            l.y,
            &Line::styled(field.label(), label_style),
            l.width,
        );
        match f.text_area(*field) {
            Some(t) if focused => {
                t.render(r, buf);
            }
            _ if focused => {
                super::cut::set_line(
                    buf,
                    r.x,
                    r.y,
                    &Line::styled(
                        format!("‹ {} ›", f.shown(*field)),
                        Style::default()
                            .fg(Color::Black)
                            .bg(Color::Cyan)
                            .add_modifier(Modifier::BOLD),
                    ),
                    r.width,
                );
            }
            _ => {
                super::cut::set_line(buf, r.x, r.y, &Line::raw(f.shown(*field)), r.width);
            }
        }
    }
    let last = inner.y + inner.height - 1;
    let (text, style) = match f.error() {
        Some(e) => (e.to_owned(), Style::default().fg(Color::Red)),
        None => (
            f.focus().hint().to_owned(),
            Style::default().fg(Color::DarkGray),
        ),
    };
    super::cut::set_line(buf, inner.x, last, &Line::styled(text, style), inner.width);
}

/// The recent errors, each in full (word-wrapped), from the `first` one on.
fn errors(app: &App, first: usize, screen: Rect, buf: &mut Buffer) {
    let w = screen.width.saturating_sub(4).min(120);
    let h = screen.height.saturating_sub(2);
    let n = app.notices().errors().count();
    let inner = dialog(
        centered(screen, w, h),
        buf,
        &format!("Errors ({n}) · ↑↓ scroll · any other key closes"),
    );
    let width = usize::from(inner.width);
    let mut rows: Vec<Line<'_>> = Vec::new();
    if n == 0 {
        rows.push(Line::styled(
            "no errors so far",
            Style::default().fg(Color::DarkGray),
        ));
    }
    for (t, e) in app.notices().errors().skip(first) {
        let text = format!("{} {e}", super::clock(*t, false));
        rows.extend(
            super::word_wrap(&text, width)
                .into_iter()
                .map(|r| Line::styled(r, Style::default().fg(Color::Red))),
        );
        rows.push(Line::raw(""));
    }
    for (i, row) in rows.iter().take(usize::from(inner.height)).enumerate() {
        let y = inner.y + u16::try_from(i).unwrap_or(0);
        super::cut::set_line(buf, inner.x, y, row, inner.width);
    }
}

/// A field label: bold cyan while its field has the focus, grey otherwise.
fn label_style(focused: bool) -> Style {
    if focused {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(Color::Gray)
    }
}

#[cfg(test)]
mod tests {
    use super::visible_command;

    #[test]
    fn only_words_with_control_characters_change() {
        let cases = [
            ("mosquitto_pub -t a -m 'x y'", "mosquitto_pub -t a -m 'x y'"),
            (
                "mosquitto_pub -m '\nHello2 mqtt'",
                r"mosquitto_pub -m $'\nHello2 mqtt'",
            ),
            ("pub -m 'a\tb'\\''c\\d'", r"pub -m $'a\tb\'c\\d'"),
            (
                "pub -m 'bell\u{7}' -t 'a b'",
                r"pub -m $'bell\x07' -t 'a b'",
            ),
        ];
        for (cmd, want) in cases {
            assert_eq!(visible_command(cmd), want, "{cmd:?}");
        }
    }
}
