//! Tool-call identity: the agent, not the server, decides which id a call has
//! in the conversation. Servers that send no ids, or reuse one (`call_0` every
//! turn), still get a conversation whose ids are unique, and a call keeps the
//! same id whether it was started while streaming or after the answer.

use std::collections::{HashMap, HashSet};

use crate::chat::{Message, ToolCall};

/// The ids used in a conversation, and those given in the current turn.
#[derive(Debug, Default)]
pub(crate) struct CallIds {
    used: HashSet<String>,
    this_turn: HashMap<usize, String>,
    next: u64,
}

impl CallIds {
    /// Knows the ids already in `messages` (a resumed conversation).
    pub(crate) fn from_messages(messages: &[Message]) -> Self {
        let mut ids = Self::default();
        for m in messages {
            match m {
                Message::Assistant { tool_calls, .. } => {
                    ids.used.extend(tool_calls.iter().map(|c| c.id.clone()));
                }
                Message::Tool { tool_call_id, .. } => {
                    ids.used.insert(tool_call_id.clone());
                }
                _ => {}
            }
        }
        ids
    }

    /// A new turn: positions start over.
    pub(crate) fn new_turn(&mut self) {
        self.this_turn.clear();
    }

    /// The id of the call at `position` of this turn, whose id on the wire was
    /// `wire_id`: the wire id when it is new to the conversation, otherwise a
    /// fresh one (9 ASCII letters and digits, which every provider accepts).
    /// The same position always gets the same id within a turn.
    pub(crate) fn id(&mut self, position: usize, wire_id: &str) -> String {
        if let Some(id) = self.this_turn.get(&position) {
            return id.clone();
        }
        let id = if !wire_id.is_empty() && !self.used.contains(wire_id) {
            wire_id.to_owned()
        } else {
            loop {
                let candidate = format!("call{:05}", self.next % 100_000);
                self.next = self.next.wrapping_add(1);
                if !self.used.contains(&candidate) {
                    break candidate;
                }
            }
        };
        self.used.insert(id.clone());
        self.this_turn.insert(position, id.clone());
        id
    }

    /// The turn's calls under their ids in the conversation (see [`CallIds::id`]).
    pub(crate) fn assign(&mut self, calls: Vec<ToolCall>) -> Vec<ToolCall> {
        calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| ToolCall {
                id: self.id(i, &c.id),
                ..c
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_and_missing_ids_become_unique_and_stay_stable_within_a_turn() {
        let history = vec![Message::assistant_tool_calls(vec![ToolCall::new(
            "call_0", "f", "{}",
        )])];
        let mut ids = CallIds::from_messages(&history);
        ids.new_turn();
        let reused = ids.id(0, "call_0");
        assert_ne!(reused, "call_0");
        assert_eq!(ids.id(0, "call_0"), reused, "same position, same id");
        let missing = ids.id(1, "");
        assert!(!missing.is_empty() && missing != reused);
        assert_eq!(ids.id(2, "fresh"), "fresh");
        let dup_in_turn = ids.id(3, "fresh");
        assert_ne!(dup_in_turn, "fresh");
        ids.new_turn();
        assert_ne!(ids.id(0, "call_0"), reused, "a new turn gets a new id");
        assert!(reused.len() == 9 && reused.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
