//! One-line prompts (subscribe, log search, client filter, password) and the text-field
//! helpers the dialogs share.

use ratatui_textarea::{Input, Key, TextArea};

use super::cmd::Cmd;

/// A one-line text field with the cursor at the end.
#[must_use]
pub fn single_line(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_owned()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

/// Applies a typed key to a text field with the usual line-editing keys: `C-u` deletes to
/// the start of the line (all of a one-line field with the cursor at its end), `C-a`/`C-e`
/// go to the start/end, `C-w` deletes the word before the cursor, `C-k` to the end, and
/// `C-z` undoes (the text area's own `C-u` undo moves there).
pub fn edit(t: &mut TextArea<'_>, input: Input) {
    match input {
        Input {
            key: Key::Char('u'),
            ctrl: true,
            alt: false,
            ..
        } => {
            t.delete_line_by_head();
        }
        Input {
            key: Key::Char('z'),
            ctrl: true,
            alt: false,
            ..
        } => {
            t.undo();
        }
        other => {
            t.input(other);
        }
    }
}

/// The text of a field, lines joined with `\n`.
#[must_use]
pub fn text_of(t: &TextArea<'_>) -> String {
    t.lines().join("\n")
}

/// What a prompt did with a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptOutcome {
    /// Still open.
    Stay,
    /// Enter: the text entered.
    Submit(String),
}

/// A one-line text prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    text: TextArea<'static>,
    qos: u8,
    error: Option<String>,
    choose_qos: bool,
}

impl Prompt {
    /// A prompt holding `text`.
    #[must_use]
    pub fn new(text: &str) -> Self {
        Self {
            text: single_line(text),
            qos: 0,
            error: None,
            choose_qos: false,
        }
    }

    /// The subscribe prompt: a filter and a QoS chosen with Tab.
    #[must_use]
    pub fn subscribe() -> Self {
        Self {
            choose_qos: true,
            ..Self::new("")
        }
    }

    /// A prompt whose text is shown as `*`.
    #[must_use]
    pub fn masked() -> Self {
        let mut p = Self::new("");
        p.text.set_mask_char('*');
        p
    }

    /// The text field.
    #[must_use]
    pub fn text(&self) -> &TextArea<'static> {
        &self.text
    }

    /// QoS (subscribe prompt only).
    #[must_use]
    pub fn qos(&self) -> u8 {
        self.qos
    }

    /// Why the last submit was refused.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Shows why the text was refused; the prompt stays open.
    pub fn refuse(&mut self, why: String) {
        self.error = Some(why);
    }

    /// The entered text.
    #[must_use]
    pub fn value(&self) -> String {
        text_of(&self.text)
    }

    /// Applies a bound command.
    pub fn update(&mut self, cmd: Cmd) -> PromptOutcome {
        match cmd {
            Cmd::Submit => return PromptOutcome::Submit(self.value()),
            Cmd::NextField | Cmd::ToggleField if self.choose_qos => self.qos = (self.qos + 1) % 3,
            Cmd::PrevField if self.choose_qos => self.qos = (self.qos + 2) % 3,
            _ => {}
        }
        PromptOutcome::Stay
    }

    /// A typed key (Enter is a command, never text here).
    pub fn input(&mut self, input: Input) {
        if input.key != Key::Enter {
            edit(&mut self.text, input);
            self.error = None;
        }
    }

    /// Pasted text, on one line.
    pub fn paste(&mut self, text: &str) {
        self.text.insert_str(text.replace(['\r', '\n'], " "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_subscribe_prompt_cycles_its_qos() {
        let cases: &[(bool, &[Cmd], u8)] = &[
            (true, &[Cmd::NextField], 1),
            (
                true,
                &[Cmd::ToggleField, Cmd::ToggleField, Cmd::ToggleField],
                0,
            ),
            (true, &[Cmd::PrevField], 2),
            (
                false,
                &[Cmd::NextField, Cmd::PrevField, Cmd::ToggleField],
                0,
            ),
        ];
        for (subscribe, cmds, qos) in cases {
            let mut p = if *subscribe {
                Prompt::subscribe()
            } else {
                Prompt::new("")
            };
            for c in *cmds {
                assert_eq!(p.update(*c), PromptOutcome::Stay);
            }
            assert_eq!(p.qos, *qos, "{cmds:?}");
        }
    }

    #[test]
    fn paste_stays_on_one_line_and_submit_returns_the_text() {
        let mut p = Prompt::new("a/");
        p.paste("b\nc\r\n");
        p.input(Input {
            key: Key::Enter,
            ..Input::default()
        });
        assert_eq!(
            p.update(Cmd::Submit),
            PromptOutcome::Submit("a/b c  ".into())
        );
    }
}
