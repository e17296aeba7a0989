//! Per-key rate limits: a token bucket (GCRA, from `governor`) per API key,
//! answered with 429, `Retry-After` and an OFREP error body when empty.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::Caller;
use crate::config::RateLimit;
use crate::errors::ApiError;

pub struct Limiter {
    buckets: Option<DefaultKeyedRateLimiter<Arc<str>>>,
    clock: DefaultClock,
}

impl Limiter {
    /// No configuration: no limit.
    pub fn new(config: Option<&RateLimit>) -> Limiter {
        let buckets = config.and_then(|c| {
            let rate = NonZeroU32::new(c.per_second)?;
            let burst = c.burst.and_then(NonZeroU32::new).unwrap_or(rate);
            Some(DefaultKeyedRateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        Limiter {
            buckets,
            clock: DefaultClock::default(),
        }
    }

    /// Take one request from the caller's bucket. The keys are the
    /// configured key names, so the buckets are as many as the keys.
    pub fn check(&self, caller: &Caller) -> Result<(), ApiError> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        buckets.check_key(&caller.name).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            // Whole seconds, rounded up: `Retry-After` has no fractions.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::too_many(
                format!("key `{}` is over its rate limit", caller.name),
                secs,
            )
        })
    }
}
