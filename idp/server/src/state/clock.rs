//! Times as people read them: the tenant's time zone (IANA names from the bundled database,
//! `Asia/Shanghai` by default) and the short local form the pages show.

/// The time zone named (IANA, from the bundled database), or the default (`Asia/Shanghai`)
/// for `None`; `None` back for a name that is not one.
pub fn time_zone(name: Option<&str>) -> Option<jiff::tz::TimeZone> {
    let name = name.unwrap_or(idp_core::model::DEFAULT_TIME_ZONE);
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    jiff::tz::TimeZone::get(name).ok()
}

/// A Unix time as people read it in the tenant's time zone: `HH:MM` when it is today there,
/// `YYYY-MM-DD HH:MM` otherwise (docs/domain.md: local time, with the date where it is not today).
pub fn local_time(tz: &jiff::tz::TimeZone, t: i64, now: i64) -> String {
    let at = |s: i64| jiff::Timestamp::from_second(s).ok().map(|ts| ts.to_zoned(tz.clone()));
    match (at(t), at(now)) {
        (Some(z), Some(n)) if z.date() == n.date() => z.strftime("%H:%M").to_string(),
        (Some(z), _) => z.strftime("%Y-%m-%d %H:%M").to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_times() {
        let cst = super::time_zone(None).unwrap();
        let now = 1_795_830_000; // 2026-11-28 01:40 UTC = 09:40 in Shanghai
        assert_eq!(super::local_time(&cst, now, now), "09:40");
        assert_eq!(super::local_time(&cst, now - 3600, now), "08:40", "earlier today there");
        // 23:30 UTC the day before is 07:30 today in Shanghai
        assert_eq!(super::local_time(&cst, now - 2 * 3600 - 10 * 60, now), "07:30");
        assert_eq!(super::local_time(&cst, now - 86_400, now), "2026-11-27 09:40");
        assert_eq!(super::local_time(&cst, 951_782_400, now), "2000-02-29 08:00");
        let urumqi = super::time_zone(Some("Asia/Urumqi")).unwrap();
        assert_eq!(super::local_time(&urumqi, now, now), "07:40");
        assert!(super::time_zone(Some("Mars/Olympus")).is_none());
        assert!(super::time_zone(Some("")).is_none());
    }
}
