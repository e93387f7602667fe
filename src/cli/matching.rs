//! `mqtt-workbench match TOPIC FILTER...`: for each filter, whether it matches the topic and
//! why, level by level.

use std::process::ExitCode;

use clap::Args;

use crate::inspect::topic_match::{self, Explanation};

/// Exit status when at least one filter matches.
pub const EXIT_MATCH: u8 = 0;
/// Exit status when no filter matches.
pub const EXIT_NO_MATCH: u8 = 1;
/// Exit status when the topic or a filter is invalid.
pub const EXIT_INVALID: u8 = 2;

/// Options of `match`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Rules: levels are compared one by one, exactly and case-sensitively; '+' matches one level \
(which may be empty), '#' matches the rest of the topic including its parent ('sport/#' \
matches 'sport'); a filter starting with '+' or '#' never matches a topic starting with '$'. \
A shared subscription '$share/<group>/<filter>' is matched on <filter>; each message goes to \
one member of the group.

Exit status: 0 at least one filter matches; 1 none matches; 2 the topic or a filter is invalid \
(the reason and its clause are printed; this wins over 0 and 1).

Example: mqtt-workbench match sport/tennis/player1 'sport/#' 'sport/+' '+/tennis/#'")]
pub struct MatchArgs {
    /// The topic name a message is published to.
    #[arg(value_name = "TOPIC")]
    pub topic: String,
    /// The topic filters of subscriptions (shared ones as `$share/<group>/<filter>`).
    #[arg(value_name = "FILTER", required = true, num_args = 1..)]
    pub filters: Vec<String>,
    /// Print help.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
}

fn render(ex: &Explanation) -> String {
    let mut out = String::new();
    match &ex.verdict {
        Err(inv) => {
            out.push_str(&format!("{}  INVALID: {inv}\n", ex.filter));
            return out;
        }
        Ok(m) => {
            out.push_str(&format!(
                "{}  {}",
                ex.filter,
                if *m { "MATCH" } else { "no match" }
            ));
            if let Some(g) = &ex.share_group {
                out.push_str(&format!(
                    " (shared subscription of group '{g}', matched on '{}'; each message goes \
                     to one member of the group, MQTT5 §4.8.2)",
                    ex.compared
                ));
            }
            out.push('\n');
        }
    }
    for s in &ex.steps {
        out.push_str(&format!("  {s}\n"));
    }
    out
}

/// Explains every filter; returns the text and the exit status.
#[must_use]
pub fn match_to_string(args: &MatchArgs) -> (String, u8) {
    let mut out = format!("topic '{}'\n", args.topic.escape_debug());
    if let Err(inv) = topic_match::check_topic(&args.topic) {
        out.push_str(&format!("  INVALID topic: {inv}\n"));
        return (out, EXIT_INVALID);
    }
    let mut any_match = false;
    let mut any_invalid = false;
    for f in &args.filters {
        let ex = topic_match::explain(&args.topic, f);
        any_match |= ex.matches();
        any_invalid |= ex.verdict.is_err();
        out.push_str(&render(&ex));
    }
    let status = if any_invalid {
        EXIT_INVALID
    } else if any_match {
        EXIT_MATCH
    } else {
        EXIT_NO_MATCH
    };
    (out, status)
}

/// Runs `match`.
pub fn run(args: &MatchArgs) -> ExitCode {
    let (text, status) = match_to_string(args);
    print!("{text}");
    ExitCode::from(status)
}
