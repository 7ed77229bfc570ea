//! What a delivery works with: the store (held weakly, so a sender never
//! keeps a closed store open), and the ways a step can end.

use std::sync::{Arc, Weak};

use super::client::CallError;
use crate::engine::Store;

/// The store a sender delivers for, reached only while someone holds it.
#[derive(Clone)]
pub(crate) struct StoreRef(Weak<Store>);

impl StoreRef {
    /// A weak reference to `store`.
    pub fn new(store: &Arc<Store>) -> Self {
        StoreRef(Arc::downgrade(store))
    }

    /// The store, or [`Stop::Closed`] once its last handle is gone.
    pub fn get(&self) -> Result<Arc<Store>, Stop> {
        self.0.upgrade().ok_or(Stop::Closed)
    }

    /// Whether this refers to `store`.
    pub fn is(&self, store: &Arc<Store>) -> bool {
        Weak::ptr_eq(&self.0, &Arc::downgrade(store))
    }
}

/// Why a delivery stopped before the end of its window.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The server cannot be reached now: back off, then try again.
    Unavailable(String),
    /// The store failed (I/O, busy): back off, then try again.
    Store(crate::engine::Error),
    /// The store was closed: the sender ends.
    Closed,
}

impl From<crate::engine::Error> for Stop {
    fn from(e: crate::engine::Error) -> Self {
        Stop::Store(e)
    }
}

/// How a step failed: refused for good (park it, with this reason), or stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server refused it for good.
    Refused(String),
    /// The delivery must stop.
    Stop(Stop),
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Refused { .. } => Failure::Refused(e.to_string()),
            CallError::Unavailable(why) => Failure::Stop(Stop::Unavailable(why)),
        }
    }
}

impl From<Stop> for Failure {
    fn from(s: Stop) -> Self {
        Failure::Stop(s)
    }
}

impl From<crate::engine::Error> for Failure {
    fn from(e: crate::engine::Error) -> Self {
        Failure::Stop(Stop::Store(e))
    }
}
