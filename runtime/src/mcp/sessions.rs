//! The sessions of a running MCP server: who is connected, which resources
//! each watches, and telling them of changes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rmcp::RoleServer;
use rmcp::service::Peer;

/// The most resources one session may subscribe to.
pub(super) const MAX_SUBSCRIPTIONS: usize = 1024;

/// Every open session of one server.
#[derive(Default)]
pub(super) struct Sessions {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Session>>,
}

/// A session the client initialized: how to reach it, what it watches.
struct Session {
    peer: Peer<RoleServer>,
    watching: HashSet<String>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

/// What changed, for `notifications/*/list_changed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListChanged {
    Tools,
    Resources,
    Prompts,
}

/// A session's place in [`Sessions`]: forgotten when the session's handler
/// (which holds the last clone) is dropped, at the session's end.
#[derive(Debug)]
pub(super) struct SessionSeat {
    sessions: Arc<Sessions>,
    pub(super) id: u64,
}

impl Drop for SessionSeat {
    fn drop(&mut self) {
        self.sessions.lock().remove(&self.id);
    }
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Session>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A seat for a new session.
    pub(super) fn seat(self: &Arc<Self>) -> Arc<SessionSeat> {
        Arc::new(SessionSeat {
            sessions: Arc::clone(self),
            id: self.next.fetch_add(1, Ordering::Relaxed).wrapping_add(1),
        })
    }

    /// The session `id` is initialized: it is told of changes from now on.
    pub(super) fn joined(&self, id: u64, peer: Peer<RoleServer>) {
        self.lock().entry(id).or_insert_with(|| Session {
            peer,
            watching: HashSet::new(),
        });
    }

    /// Session `id` watches `uri`.
    ///
    /// # Errors
    /// Why not, in words for the client (too many subscriptions).
    pub(super) fn watch(
        &self,
        id: u64,
        peer: &Peer<RoleServer>,
        uri: String,
    ) -> Result<(), String> {
        let mut open = self.lock();
        let session = open.entry(id).or_insert_with(|| Session {
            peer: peer.clone(),
            watching: HashSet::new(),
        });
        if session.watching.len() >= MAX_SUBSCRIPTIONS && !session.watching.contains(&uri) {
            return Err(format!(
                "at most {MAX_SUBSCRIPTIONS} subscriptions per session"
            ));
        }
        session.watching.insert(uri);
        Ok(())
    }

    /// Session `id` no longer watches `uri`.
    pub(super) fn unwatch(&self, id: u64, uri: &str) {
        if let Some(session) = self.lock().get_mut(&id) {
            session.watching.remove(uri);
        }
    }

    /// The sessions `pick` chooses, with their peers (the lock is not held
    /// while sending).
    fn peers(&self, pick: impl Fn(&Session) -> bool) -> Vec<(u64, Peer<RoleServer>)> {
        self.lock()
            .iter()
            .filter(|(_, s)| pick(s))
            .map(|(id, s)| (*id, s.peer.clone()))
            .collect()
    }

    /// Forgets a session whose peer is gone.
    fn gone(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Tells the sessions watching `uri` that it changed; how many were told.
    pub(super) async fn tell_watchers(&self, uri: &str) -> usize {
        let mut told = 0;
        for (id, peer) in self.peers(|s| s.watching.contains(uri)) {
            let notice = rmcp::model::ResourceUpdatedNotificationParam::new(uri);
            if peer.notify_resource_updated(notice).await.is_ok() {
                told += 1;
            } else {
                self.gone(id);
            }
        }
        told
    }

    /// Tells every session that a list changed; how many were told.
    pub(super) async fn tell_all(&self, changed: ListChanged) -> usize {
        let mut told = 0;
        for (id, peer) in self.peers(|_| true) {
            let sent = match changed {
                ListChanged::Tools => peer.notify_tool_list_changed().await,
                ListChanged::Resources => peer.notify_resource_list_changed().await,
                ListChanged::Prompts => peer.notify_prompt_list_changed().await,
            };
            if sent.is_ok() {
                told += 1;
            } else {
                self.gone(id);
            }
        }
        told
    }
}

/// Tells the clients subscribed to a resource that it changed
/// (`notifications/resources/updated`). From
/// [`McpServer::resource_notifier`](super::McpServer::resource_notifier);
/// cheap to clone.
#[derive(Debug, Clone)]
pub struct ResourceNotifier {
    pub(super) sessions: Arc<Sessions>,
}

impl ResourceNotifier {
    /// Tells every client subscribed to `uri` that it changed; returns how
    /// many were told. Sessions that ended are forgotten.
    pub async fn updated(&self, uri: &str) -> usize {
        self.sessions.tell_watchers(uri).await
    }
}
