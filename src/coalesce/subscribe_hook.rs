//! A hook a caller can set for the requests it runs: called when a request subscribes to
//! another read's flight, i.e. from then on only waits for a result it costs nothing to get.
//!
//! The CQL server runs at most so many requests at once (its fair queue). Without the hook,
//! a thousand clients of a hot channel hold every place while they wait for one storage
//! read, and a request for a cold channel waits for that read to land before it may even
//! start. With it, a subscriber gives its place back at once, so places go to requests that
//! have work to do. Leaders keep theirs: they are the storage reads the queue is fair about.

use std::future::Future;
use std::sync::Arc;

/// What the hook does; called at most once per subscription, on the request's task.
pub type SubscribeHook = Arc<dyn Fn() + Send + Sync>;

tokio::task_local! {
    static ON_SUBSCRIBE: SubscribeHook;
}

/// Runs `f` with `hook` called whenever a read inside it subscribes to a flight.
pub async fn with_subscribe_hook<F: Future>(hook: SubscribeHook, f: F) -> F::Output {
    ON_SUBSCRIBE.scope(hook, f).await
}

/// Called by the coalescer right after a read subscribed (outside its lock).
pub(super) fn subscribed() {
    let _ = ON_SUBSCRIBE.try_with(|hook| hook());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn the_hook_runs_inside_its_scope_only() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        with_subscribe_hook(
            Arc::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            }),
            async {
                subscribed();
                subscribed();
            },
        )
        .await;
        subscribed();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
