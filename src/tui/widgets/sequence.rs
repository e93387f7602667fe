//! The sequence view (issue 12): one message's journey as lanes (publisher | broker |
//! subscribers), one arrow per packet, with the milliseconds since the arrow before, drawn
//! from the broker's own log lines of that message. Drops show as an arrow that ends in `✗`
//! with the reason. The workbench's own client is a subscriber lane like any other, marked
//! `▸`.

use std::time::SystemTime;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::broker::event::{MessageNo, PublishFlags};
use crate::broker::{BrokerEvent, LogEntry};
use crate::tui::app::App;
use crate::tui::text::{fit, width};

/// Which way an arrow points, between the broker and a client lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the client to the broker.
    ToBroker,
    /// From the broker to the client.
    FromBroker,
    /// From the broker towards the client, but not delivered.
    Dropped,
}

/// One arrow of the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    /// When the broker logged it.
    pub time: SystemTime,
    /// The client lane (`None`: the broker itself, e.g. no subscriber at all).
    pub client: Option<String>,
    /// Direction.
    pub dir: Dir,
    /// `PUBLISH q2 m5 'mqtt' 11 B`, `PUBREC m5`, ...
    pub label: String,
}

fn publish_label(flags: &PublishFlags, topic: &str, len: usize) -> String {
    let retain = if flags.retain { " r1" } else { "" };
    format!(
        "PUBLISH q{}{retain} m{} '{topic}' {len} B",
        flags.qos, flags.pkid
    )
}

/// The arrow of one log line of a journey, if it is one.
#[must_use]
pub fn arrow(e: &LogEntry) -> Option<Arrow> {
    use BrokerEvent as E;
    let (client, dir, label): (Option<&str>, Dir, String) = match &e.event {
        E::PublishReceived {
            client,
            flags,
            topic,
            len,
        } => (
            Some(client),
            Dir::ToBroker,
            publish_label(flags, topic, *len),
        ),
        E::PublishDenied {
            client,
            flags,
            topic,
            len,
        } => (
            Some(client),
            Dir::ToBroker,
            format!("{} (denied)", publish_label(flags, topic, *len)),
        ),
        E::WillPublished {
            client,
            topic,
            qos,
            len,
            ..
        } => (
            Some(client),
            Dir::ToBroker,
            format!("WILL q{qos} '{topic}' {len} B (published for it)"),
        ),
        E::PublishSent {
            client,
            flags,
            topic,
            len,
        } => (
            Some(client),
            Dir::FromBroker,
            publish_label(flags, topic, *len),
        ),
        E::PubAckSent { client, pkid, rc } => {
            let rc = if *rc == 0 {
                String::new()
            } else {
                format!(" rc{rc}")
            };
            (Some(client), Dir::FromBroker, format!("PUBACK m{pkid}{rc}"))
        }
        E::PubRecSent { client, pkid, rc } => {
            let rc = if *rc == 0 {
                String::new()
            } else {
                format!(" rc{rc}")
            };
            (Some(client), Dir::FromBroker, format!("PUBREC m{pkid}{rc}"))
        }
        E::PubRelSent { client, pkid } => {
            (Some(client), Dir::FromBroker, format!("PUBREL m{pkid}"))
        }
        E::PubCompSent { client, pkid } => {
            (Some(client), Dir::FromBroker, format!("PUBCOMP m{pkid}"))
        }
        E::PubAckReceived { client, pkid, .. } => {
            (Some(client), Dir::ToBroker, format!("PUBACK m{pkid}"))
        }
        E::PubRecReceived { client, pkid } => {
            (Some(client), Dir::ToBroker, format!("PUBREC m{pkid}"))
        }
        E::PubRelReceived { client, pkid } => {
            (Some(client), Dir::ToBroker, format!("PUBREL m{pkid}"))
        }
        E::PubCompReceived { client, pkid, .. } => {
            (Some(client), Dir::ToBroker, format!("PUBCOMP m{pkid}"))
        }
        E::NotDelivered { client, reason, .. } => (
            client.as_deref(),
            Dir::Dropped,
            format!("not delivered: {}", reason.short()),
        ),
        _ => return None,
    };
    Some(Arrow {
        time: e.time,
        client: client.map(str::to_owned),
        dir,
        label,
    })
}

/// The arrows of journey `no` in the kept log, oldest first, and the lanes: the publisher
/// (empty for a delivery from the retained store) and the other clients in order of
/// appearance.
#[must_use]
pub fn journey(app: &App, no: MessageNo) -> (String, Vec<String>, Vec<Arrow>) {
    let arrows: Vec<Arrow> = app
        .log()
        .ring()
        .iter()
        .filter(|(_, e)| e.tag.msg == no)
        .filter_map(|(_, e)| arrow(e))
        .collect();
    let publisher = app
        .log()
        .ring()
        .iter()
        .filter(|(_, e)| e.tag.msg == no)
        .find_map(|(_, e)| match &e.event {
            BrokerEvent::PublishReceived { client, .. }
            | BrokerEvent::PublishDenied { client, .. }
            | BrokerEvent::WillPublished { client, .. } => Some(client.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    let mut subs: Vec<String> = Vec::new();
    for a in &arrows {
        if let Some(c) = &a.client
            && *c != publisher
            && !subs.contains(c)
        {
            subs.push(c.clone());
        }
    }
    (publisher, subs, arrows)
}

/// The text rows of the view for a content `width` (header first): what is drawn, without
/// the frame. Kept apart from the drawing for the tests.
#[must_use]
pub fn rows(app: &App, no: MessageNo, width: usize) -> Vec<String> {
    let (publisher, subs, arrows) = journey(app, no);
    let own = app.link().client_id();
    let lanes = 2 + subs.len();
    const TIME: usize = 9;
    let lane_w = (width.saturating_sub(TIME + 26) / lanes).clamp(7, 16);
    let center = |i: usize| TIME + lane_w * i + lane_w / 2;
    let lane_of = |c: &Option<String>| -> usize {
        match c {
            None => 1,
            Some(c) if *c == publisher => 0,
            Some(c) => 2 + subs.iter().position(|s| s == c).unwrap_or(0),
        }
    };
    let lanes_end = TIME + lane_w * lanes;
    let mut out = Vec::with_capacity(arrows.len() + 1);
    // The header: lane names centred on their lines.
    let mut head: Vec<char> = vec![' '; lanes_end];
    let name = |i: usize| -> String {
        match i {
            0 if publisher.is_empty() => "(retained)".to_owned(),
            0 => publisher.clone(),
            1 => "broker".to_owned(),
            i => {
                let s = &subs[i - 2];
                if s == own {
                    format!("▸{s}")
                } else {
                    s.clone()
                }
            }
        }
    };
    for i in 0..lanes {
        let n: Vec<char> = fit(&name(i), lane_w - 1).chars().collect();
        let start = center(i).saturating_sub(n.len() / 2);
        for (k, ch) in n.into_iter().enumerate() {
            if let Some(slot) = head.get_mut(start + k) {
                *slot = ch;
            }
        }
    }
    let mut h: String = "   Δ ms  "
        .chars()
        .chain(head.into_iter().skip(TIME))
        .collect();
    h = h.trim_end().to_owned();
    out.push(h);
    let mut last: Option<SystemTime> = None;
    for a in &arrows {
        let ms = last.map_or(0.0, |t| {
            a.time
                .duration_since(t)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        });
        last = Some(a.time);
        let mut row: Vec<char> = vec![' '; lanes_end];
        for i in 0..lanes {
            row[center(i)] = '│';
        }
        let (b, c) = (center(1), center(lane_of(&a.client)));
        if a.client.is_none() {
            row[b] = '✗';
        } else {
            let (lo, hi) = (b.min(c), b.max(c));
            for slot in row.iter_mut().take(hi).skip(lo + 1) {
                *slot = '─';
            }
            match a.dir {
                Dir::ToBroker if c < b => row[b - 1] = '▶',
                Dir::ToBroker => row[b + 1] = '◀',
                Dir::FromBroker if c > b => row[c - 1] = '▶',
                Dir::FromBroker => row[c + 1] = '◀',
                Dir::Dropped if c > b => row[c - 1] = '✗',
                Dir::Dropped => row[c + 1] = '✗',
            }
        }
        let time = format!("{:>7} ", format!("+{ms:.1}"));
        let lanes_text: String = row.into_iter().skip(TIME).collect();
        out.push(format!("{time} {lanes_text} {}", a.label));
    }
    out
}

/// Draws the view over the whole screen (a frame with a title and a key hint).
pub fn render(app: &App, no: MessageNo, scroll: usize, screen: Rect, buf: &mut Buffer) {
    // Between the status bar and the key footer, the whole width.
    let area = Rect::new(
        screen.x,
        screen.y + 1,
        screen.width,
        screen.height.saturating_sub(2),
    );
    if area.width < 20 || area.height < 5 {
        return;
    }
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(super::cut::title(
            &format!(" Sequence of message #{no} · ↑↓ PgUp/PgDn scroll · any other key closes "),
            area,
        ))
        .border_style(Style::default().fg(Color::Yellow));
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    let all = rows(app, no, w);
    let Some((head, arrows)) = all.split_first() else {
        return;
    };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    buf.set_stringn(inner.x, inner.y, fit(head, w), w, bold);
    let h = usize::from(inner.height.saturating_sub(1));
    let scroll = scroll.min(arrows.len().saturating_sub(h.max(1)));
    if arrows.is_empty() {
        super::cut::set_line(
            buf,
            inner.x,
            inner.y + 1,
            &Line::styled(
                "(no log line of this message is kept any more)",
                Style::default().fg(Color::DarkGray),
            ),
            inner.width,
        );
    }
    for (r, line) in arrows.iter().skip(scroll).take(h).enumerate() {
        let style = if line.contains('✗') {
            Style::default().fg(Color::Red)
        } else if line.contains("PUBLISH") || line.contains("WILL") {
            Style::default().fg(Color::Cyan)
        } else {
            Style::default().fg(Color::LightBlue)
        };
        let y = inner.y + 1 + u16::try_from(r).unwrap_or(0);
        // Cut by display width: the lanes are box-drawing characters, one column each.
        let shown = if width(line) > w {
            fit(line, w)
        } else {
            line.clone()
        };
        buf.set_stringn(inner.x, y, shown, w, style);
    }
}
