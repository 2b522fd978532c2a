//! Blocking work (SQLite calls, file writes, renders) moved off the async
//! runtime, still inside the caller's tracing span and subscriber, so what it
//! logs carries the request's `request_id`.

/// [`tokio::task::spawn_blocking`] that keeps the caller's span.
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    tokio::task::spawn_blocking(move || {
        tracing::dispatcher::with_default(&dispatch, || span.in_scope(f))
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn blocking_work_runs_in_the_callers_span() {
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry());
        let span = tracing::info_span!("request", request_id = "req-42");
        let inside = {
            let _entered = span.enter();
            super::spawn_blocking(|| tracing::Span::current().id())
        };
        let seen = inside.await.unwrap();
        assert!(seen.is_some(), "a span is current in the blocking work");
        assert_eq!(seen, span.id());
        // Without the helper the blocking thread has no span at all.
        let plain = {
            let _entered = span.enter();
            tokio::task::spawn_blocking(|| tracing::Span::current().id())
        };
        assert_eq!(plain.await.unwrap(), None);
    }
}
