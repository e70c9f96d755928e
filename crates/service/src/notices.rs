//! Security notices as a subscriber: each account event identity records (password
//! changed or reset, factors changed, sign-in paused, signed in elsewhere) becomes one
//! notice to the address on file, queued in the dispatcher's transaction.

use palisade_store::{DomainEventRecord, Store, Tx};

use crate::{ReactionFuture, ServiceError, Subscriber};

/// Mails account owners what happened to their account.
pub struct SecurityNotices {
    store: Store,
}

impl SecurityNotices {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl Subscriber for SecurityNotices {
    fn name(&self) -> &'static str {
        "security_notices"
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a DomainEventRecord) -> ReactionFuture<'a> {
        Box::pin(async move {
            palisade_identity::queue_security_notice(&self.store, tx, event)
                .await
                .map_err(ServiceError::from)
        })
    }
}
