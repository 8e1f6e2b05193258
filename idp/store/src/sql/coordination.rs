//! What nodes share: background-job leases, rate-limit counters and change versions (cache invalidation).

use idp_core::ports::Result;

use super::super::This;
use crate::map_err;

impl This {
    pub(crate) async fn sql_claim_job(&self, name: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        let won: Option<(String,)> = sqlx::query_as(
            "INSERT INTO job_leases (name, holder, until) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
             SET holder = excluded.holder, until = excluded.until WHERE job_leases.until <= $4 OR \
             job_leases.holder = excluded.holder RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.write)
        .await
        .map_err(map_err)?;
        Ok(won.is_some())
    }

    pub(crate) async fn sql_count_hit(&self, key: &str, window_start: i64) -> Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO rate_limit_windows (key, window_start, hits) VALUES ($1, $2, 1) ON CONFLICT (key) \
             DO UPDATE SET hits = CASE WHEN rate_limit_windows.window_start = excluded.window_start THEN \
             rate_limit_windows.hits + 1 ELSE 1 END, window_start = excluded.window_start RETURNING hits",
        )
        .bind(key)
        .bind(window_start)
        .fetch_one(&self.write)
        .await
        .map_err(map_err)
    }

    pub(crate) async fn sql_bump_change(&self, name: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO change_counters (name, version) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET \
             version = change_counters.version + 1",
        )
        .bind(name)
        .execute(&self.write)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn sql_change_version(&self, name: &str) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT version FROM change_counters WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(v.unwrap_or(0))
    }
}
