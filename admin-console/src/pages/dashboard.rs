//! The dashboard: sign-ins and failures per hour over the last day as an SVG chart drawn here
//! (axes, the scale, the hours in the tenant's time, each bar's values), live sessions and the
//! keys' schedule, for system and security administrators; the others land on their first page.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Admin, Layout, layout, nav, page};
use crate::{Shared, api};

/// The chart's geometry: the plot's left edge (room for the scale), its baseline, its height
/// and one hour's width.
const LEFT: i64 = 40;
const BASE: i64 = 130;
const HEIGHT: i64 = 110;
const STEP: i64 = 20;

/// One hour's bar (SVG coordinates).
pub struct Bar {
    pub x: i64,
    pub ok_y: i64,
    pub ok_h: i64,
    pub fail_y: i64,
    pub fail_h: i64,
    pub title: String,
}

/// A label on an axis: (x, y, text).
pub type Tick = (i64, i64, String);

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub l: Layout,
    pub bars: Vec<Bar>,
    /// The scale (0, half, the top) and the hours (every sixth, local time).
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub total_ok: i64,
    pub total_fail: i64,
    pub sessions: i64,
    pub keys: Vec<(String, String, String)>,
}

pub async fn dashboard(State(shared): State<Arc<Shared>>, a: Admin) -> Response {
    if !a.has("system_admin") && !a.has("security_admin") {
        // the dashboard's figures are theirs; everyone else lands on their first page
        if let Some(to) = nav::landing(a.t, &a.s.roles) {
            return Redirect::to(&to).into_response();
        }
    }
    let mut l = layout(&a, "dashboard", "/");
    let stats: Option<idp_proto::Stats> = match api::get(&shared, &a.token, "stats").await {
        Ok(v) => Some(v),
        Err(e) => {
            l.error = Some(e);
            None
        }
    };
    let (hours, sessions, keys) = match stats {
        Some(s) => (s.hours, s.live_sessions, s.keys),
        None => (vec![], 0, vec![]),
    };
    // a round top for the scale: 1, 2, 5 × 10ⁿ
    let most = hours.iter().map(|h| h.sign_ins + h.failures).max().unwrap_or(0).max(1);
    let mut top = 1;
    while top < most {
        top = if top.to_string().starts_with('2') { top / 2 * 5 } else { top * 2 };
    }
    let scale = |n: i64| n * HEIGHT / top;
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (ok, fail) = (h.sign_ins, h.failures);
            let (ok_h, fail_h) = (scale(ok), scale(fail));
            Bar {
                x: LEFT + i as i64 * STEP + 2,
                ok_y: BASE - ok_h,
                ok_h,
                fail_y: BASE - ok_h - fail_h,
                fail_h,
                title: format!("{}: {} {ok}, {} {fail}", a.at(h.hour), a.t.succeeded, a.t.failures),
            }
        })
        .collect();
    let mut levels = vec![0, top / 2, top];
    levels.dedup();
    let y_ticks = levels.into_iter().map(|n| (LEFT - 6, BASE - scale(n) + 4, n.to_string())).collect();
    let x_ticks = hours
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 6 == 0)
        .map(|(i, h)| {
            let at = a.at(h.hour);
            (LEFT + i as i64 * STEP, BASE + 16, at.get(11..16).unwrap_or_default().to_string())
        })
        .collect();
    let total_ok = hours.iter().map(|h| h.sign_ins).sum();
    let total_fail = hours.iter().map(|h| h.failures).sum();
    let keys = keys.into_iter().map(|k| (k.kid, k.alg, k.state)).collect();
    let p = DashboardPage { l, bars, y_ticks, x_ticks, total_ok, total_fail, sessions, keys };
    page(&a, &p)
}
