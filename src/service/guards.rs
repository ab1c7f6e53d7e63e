//! Per-user quotas and the per-blob memory of the evidence service, held in
//! the process (so, per instance: with N instances a user gets N times the
//! rate, which still bounds abuse; the audit trail itself stays exact).
//!
//! - creations and links per user per minute (`RATE_LIMITED`);
//! - concurrent uploads per user and an optional daily upload volume;
//! - when each blob's whole-file SHA-256 was last checked, so downloads and
//!   `Range` requests re-hash a blob at most once per verification period
//!   (and always on the first download after a restart);
//! - when a user's download of an item was last audited, so a download loop
//!   writes one `evidence.downloaded` event per user, item and window.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::{config::EdgeSettings, error::AppError};

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);
/// One `evidence.downloaded` event per user, item and this window.
pub const DOWNLOAD_AUDIT_WINDOW: Duration = Duration::from_secs(600);
/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 100_000;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fixed window per user: at most `limit` actions per `window`.
pub struct PerUserRate {
    limit: u64,
    window: Duration,
    counts: Mutex<HashMap<Uuid, (Instant, u64)>>,
}

impl PerUserRate {
    /// `limit` 0: unlimited.
    pub fn new(limit: u64, window: Duration) -> PerUserRate {
        PerUserRate { limit, window, counts: Mutex::default() }
    }

    /// Takes `amount` from the user's allowance, or `RATE_LIMITED`.
    pub fn take(&self, user: Uuid, amount: u64) -> Result<(), AppError> {
        if self.limit == 0 {
            return Ok(());
        }
        let mut counts = lock(&self.counts);
        if counts.len() > SWEEP_AT {
            counts.retain(|_, (since, _)| since.elapsed() < self.window);
        }
        let entry = counts.entry(user).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        if entry.1.saturating_add(amount) > self.limit {
            return Err(AppError::RateLimited);
        }
        entry.1 += amount;
        Ok(())
    }
}

pub struct Guards {
    pub creations: PerUserRate,
    pub links: PerUserRate,
    upload_bytes: PerUserRate,
    uploads_per_user: u32,
    uploads: Mutex<HashMap<Uuid, u32>>,
    verify_period: Duration,
    verified: Mutex<HashMap<String, Instant>>,
    downloads: Mutex<HashMap<(Uuid, Uuid), Instant>>,
    /// Whole-blob hash checks done by this process (on `/metrics`).
    pub hash_checks: AtomicU64,
}

impl Guards {
    pub fn new(settings: &EdgeSettings) -> Guards {
        Guards {
            creations: PerUserRate::new(settings.creations_per_minute.into(), MINUTE),
            links: PerUserRate::new(settings.links_per_minute.into(), MINUTE),
            upload_bytes: PerUserRate::new(settings.upload_quota_bytes_per_day.unwrap_or(0), DAY),
            uploads_per_user: settings.uploads_per_user.max(1),
            uploads: Mutex::default(),
            verify_period: settings.evidence_verify_period,
            verified: Mutex::default(),
            downloads: Mutex::default(),
            hash_checks: AtomicU64::new(0),
        }
    }

    /// A slot for one upload of `user`, released when dropped; `RATE_LIMITED`
    /// when the user already runs `CASEWORK_UPLOADS_PER_USER` uploads.
    pub fn upload_slot(self: &Arc<Self>, user: Uuid) -> Result<UploadSlot, AppError> {
        let mut uploads = lock(&self.uploads);
        let running = uploads.entry(user).or_insert(0);
        if *running >= self.uploads_per_user {
            return Err(AppError::RateLimited);
        }
        *running += 1;
        Ok(UploadSlot { guards: self.clone(), user })
    }

    /// Counts `bytes` against the user's daily upload quota.
    pub fn take_upload_bytes(&self, user: Uuid, bytes: u64) -> Result<(), AppError> {
        self.upload_bytes.take(user, bytes)
    }

    /// Whether the blob's whole-file hash was checked within the period.
    pub fn recently_verified(&self, sha256: &str) -> bool {
        lock(&self.verified).get(sha256).is_some_and(|at| at.elapsed() < self.verify_period)
    }

    /// Records a whole-file check of the blob that passed.
    pub fn verified(&self, sha256: &str) {
        let mut verified = lock(&self.verified);
        if verified.len() > SWEEP_AT {
            let period = self.verify_period;
            verified.retain(|_, at| at.elapsed() < period);
        }
        verified.insert(sha256.to_owned(), Instant::now());
    }

    /// Forgets a blob's check (it failed, or the blob is gone).
    pub fn forget(&self, sha256: &str) {
        lock(&self.verified).remove(sha256);
    }

    /// Whether `user`'s download of `item` was audited within the window.
    pub fn download_recently_audited(&self, user: Uuid, item: Uuid) -> bool {
        lock(&self.downloads).get(&(user, item)).is_some_and(|at| at.elapsed() < DOWNLOAD_AUDIT_WINDOW)
    }

    /// Records that `user`'s download of `item` was audited now.
    pub fn download_audited(&self, user: Uuid, item: Uuid) {
        let mut downloads = lock(&self.downloads);
        if downloads.len() > SWEEP_AT {
            downloads.retain(|_, at| at.elapsed() < DOWNLOAD_AUDIT_WINDOW);
        }
        downloads.insert((user, item), Instant::now());
    }

    pub fn count_hash_check(&self) {
        self.hash_checks.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running upload (see [`Guards::upload_slot`]).
pub struct UploadSlot {
    guards: Arc<Guards>,
    user: Uuid,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut uploads = lock(&self.guards.uploads);
        if let Some(running) = uploads.get_mut(&self.user) {
            *running = running.saturating_sub(1);
            if *running == 0 {
                uploads.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_refuse_past_the_limit_and_reset() {
        let rate = PerUserRate::new(2, Duration::from_millis(50));
        let user = Uuid::now_v7();
        assert!(rate.take(user, 1).is_ok());
        assert!(rate.take(user, 1).is_ok());
        assert!(rate.take(user, 1).is_err());
        assert!(rate.take(Uuid::now_v7(), 1).is_ok(), "per user");
        std::thread::sleep(Duration::from_millis(60));
        assert!(rate.take(user, 1).is_ok());
        assert!(PerUserRate::new(0, MINUTE).take(user, u64::MAX).is_ok(), "0 is unlimited");
    }
}
