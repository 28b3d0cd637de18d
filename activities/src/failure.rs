//! Classifying activity errors on purpose: transient errors are retried by Temporal's retry
//! policy; permanent ones fail at once with a type name the workflow can match on.

use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

/// A permanent failure: retrying cannot help (bad input, missing record, business rule).
pub fn permanent(type_name: &str, message: impl Into<String>) -> ActivityError {
    ActivityError::application(
        ApplicationFailure::builder(message.into())
            .type_name(type_name.to_owned())
            .non_retryable(true)
            .build(),
    )
}

/// A transient failure (database busy or down, timeout): Temporal retries it with backoff.
pub fn transient(err: impl Into<anyhow::Error>) -> ActivityError {
    let err: anyhow::Error = err.into();
    ActivityError::application(ApplicationFailure::new(format!("{err:#}")))
}
