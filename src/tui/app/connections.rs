//! [`App`]'s connection handling: the profile picker's outcomes, opening and switching
//! connections, the password prompt and the profile list's reloads. Part of `App` itself (a
//! second `impl` block kept apart to hold app/mod.rs under its size cap), not a sub-model.

use super::conns::NO_EMBEDDED;
use super::link::ConnectTo;
use super::msg::ConnId;
use super::msg::{Effect, Modal};
use super::notice::Pending;
use super::profiles::PickerOutcome;
use super::prompt::Prompt;
use crate::profile::Profile;

impl super::App {
    pub(super) fn on_picker(&mut self, outcome: PickerOutcome) -> Vec<Effect> {
        match outcome {
            PickerOutcome::Stay(cursor) => self.modal = Some(Modal::Profiles { cursor }),
            PickerOutcome::Refused(cursor, why) => {
                self.notices.say(why);
                self.modal = Some(Modal::Profiles { cursor });
            }
            PickerOutcome::Connect(to) => return self.switch(to),
            PickerOutcome::AskPassword(profile) => {
                self.modal = Some(Modal::Password {
                    profile,
                    prompt: Prompt::masked(),
                });
            }
            PickerOutcome::Edit(form) => self.modal = Some(Modal::ProfileEditor(form)),
            PickerOutcome::ConfirmDelete(name) => self.modal = Some(Modal::ConfirmDelete(name)),
        }
        Vec::new()
    }

    /// Opens the password prompt for `profile`, saying `why`.
    pub(super) fn ask_password(&mut self, profile: Box<Profile>, why: String) {
        self.notices.record(self.now, why.clone());
        let mut prompt = Prompt::masked();
        prompt.refuse(why);
        self.modal = Some(Modal::Password { profile, prompt });
    }

    pub(super) fn open_picker_at(&mut self, name: Option<&str>) {
        let cursor = self.profiles.row_of(name, self.link.target());
        self.modal = Some(Modal::Profiles { cursor });
    }

    /// Shows connection `id` (its tree, history and link move into the panes).
    pub(super) fn show_conn(&mut self, id: ConnId) {
        let (t, m, l) = (&mut self.topics, &mut self.messages, &mut self.link);
        if let Some(said) = self.conns.show(id, t, m, l) {
            self.notices.say(said);
        }
    }

    /// Points the client pane at `to`: the connection already there is shown (a typed
    /// password connects it again), otherwise a new one opens beside the others, with its
    /// own tree and history and the target's subscriptions. Nothing collected is lost.
    pub(super) fn switch(&mut self, to: ConnectTo) -> Vec<Effect> {
        self.modal = None;
        if let Some(id) = self.conns.find(&to, &self.link) {
            self.show_conn(id);
            if !to.has_password() {
                return Vec::new();
            }
        } else {
            let embedded = matches!(to, ConnectTo::Embedded);
            if embedded && self.broker.addr().is_none() {
                self.notices.say(NO_EMBEDDED);
                return Vec::new();
            }
            if let ConnectTo::Profile { profile, .. } = &to
                && let Some(why) = self.conns.client_id_clash(profile, &self.link)
            {
                self.notices.say(why);
                return Vec::new();
            }
            let t = (&mut self.topics, &mut self.messages, &mut self.link);
            self.conns.open(!embedded, t.0, t.1, t.2);
        }
        match &to {
            ConnectTo::Embedded => {
                let addr = self.broker.addr().unwrap_or_default().to_owned();
                self.link.point_at_embedded(&addr);
                self.notices
                    .say_until("connecting to the embedded broker", Pending::Connect);
            }
            ConnectTo::Profile { profile, .. } => {
                self.link.point_at_profile(profile);
                self.notices.say_until(
                    format!(
                        "connecting to profile '{}' ({})",
                        profile.name,
                        self.link.address()
                    ),
                    Pending::Connect,
                );
            }
        }
        vec![Effect::Connect(to)]
    }

    /// The result of saving or deleting profiles: the list as now on disk, or why not.
    pub(super) fn on_profiles(&mut self, result: Result<Vec<Profile>, String>) {
        match result {
            Ok(list) => {
                let saved = match self.modal.take() {
                    Some(Modal::ProfileEditor(f)) => f.build().ok().map(|p| p.name),
                    other => {
                        self.modal = other;
                        None
                    }
                };
                self.profiles.replace(list);
                if let Some(Modal::Profiles { cursor }) = &mut self.modal {
                    *cursor = (*cursor).min(self.profiles.picker_len() - 1);
                }
                if let Some(name) = saved {
                    self.notices.say(format!("saved profile '{name}'"));
                    let cursor = self
                        .profiles
                        .list()
                        .iter()
                        .position(|p| p.name == name)
                        .map_or(0, |i| i + 1);
                    self.modal = Some(Modal::Profiles { cursor });
                } else if self.modal.is_none() {
                    self.open_picker_at(None);
                }
            }
            Err(e) => match &mut self.modal {
                Some(Modal::ProfileEditor(f)) => f.refuse(e),
                _ => self.notices.error(self.now, e),
            },
        }
    }
}
