//! Operator requests ([`Control`], from signals and `log_dest topic`): new security settings
//! (SIGHUP), sync the persistence store now (SIGUSR1), print every subscription (SIGUSR2), and
//! the broker's own QoS 0 log publishes.
//!
//! Invariant: every request is applied in order with the commands before it, on the router's
//! task, as mosquitto handles signals in its main loop.

use super::Router;
use super::message::Message;
use crate::broker::control::Control;
use crate::broker::event::BrokerEvent;
use crate::protocol::QoS;

impl Router {
    /// Applies an operator request.
    pub(super) fn on_control(&mut self, c: Control) {
        match c {
            Control::Security(policy) => self.set_security(policy),
            Control::SaveNow => self.save_now(),
            Control::DumpSubscriptions => self.dump_subscriptions(),
            Control::Publish { topic, payload } => {
                let msg = Message {
                    topic,
                    payload,
                    qos: QoS::AtMostOnce,
                    retain: false,
                    properties: None,
                    expires_at: None,
                    no: self.next_message(),
                };
                self.route(&msg, None);
            }
        }
    }

    /// SIGUSR1: syncs the persistence store at once, in order with every command before it.
    fn save_now(&mut self) {
        let Some(path) = self.cfg.persistence_path() else {
            self.emit(|| BrokerEvent::Notice("Persistence is off: nothing to save.".into()));
            return;
        };
        self.emit(|| {
            BrokerEvent::Notice(format!("Saving in-memory database to {}.", path.display()))
        });
        // The store commits what is buffered and syncs it, in either sync mode; "Saved …"
        // follows once it is on disk.
        self.sync_store();
    }

    /// SIGUSR2: every subscription (filter, client, QoS), sorted, and the retained counts.
    fn dump_subscriptions(&mut self) {
        let mut lines: Vec<String> = self
            .sessions
            .iter()
            .flatten()
            .flat_map(|s| {
                s.subscriptions()
                    .map(|(filter, o)| format!("\t{filter} {} (QoS {})", s.id(), o.qos.as_u8()))
            })
            .collect();
        lines.sort();
        let mut all = Vec::new();
        self.retained.all(&mut all);
        let sys = all.iter().filter(|m| m.topic.starts_with("$SYS/")).count();
        let retained = (all.len() - sys, sys);
        self.emit(|| BrokerEvent::SubscriptionTree { lines, retained });
    }
}
