//! What every list page does the same way: filter, sort by a column (links in the headers,
//! `aria-sort` said), a page at a time, and export exactly the filtered set as CSV. The lists
//! are read whole from the admin API (a tenant's applications and organisations number in
//! the hundreds), so this is done here, on the console's server, never in the browser.

use serde::Deserialize;

/// Rows per page.
pub const PER_PAGE: usize = 50;

/// The list's query: the text filter, a kind, a state, the column sorted by and which way,
/// and the page (from 1).
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    /// Read leniently: anything but a page number is the first page.
    #[serde(default)]
    pub page: String,
}

impl ListQuery {
    pub fn page_no(&self) -> Option<usize> {
        self.page.trim().parse().ok()
    }

    pub fn desc(&self) -> bool {
        self.dir == "desc"
    }

    /// Whether `texts` match the text filter (case-insensitive, any of them).
    pub fn matches(&self, texts: &[&str]) -> bool {
        let q = self.q.trim().to_lowercase();
        q.is_empty() || texts.iter().any(|t| t.to_lowercase().contains(&q))
    }

    /// This query as a query string, with `changes` applied (`""` removes a key).
    pub fn with(&self, changes: &[(&str, &str)]) -> String {
        let page = self.page_no().map(|p| p.to_string()).unwrap_or_default();
        let mut pairs: Vec<(&str, String)> = [
            ("q", self.q.trim().to_string()),
            ("kind", self.kind.clone()),
            ("state", self.state.clone()),
            ("sort", self.sort.clone()),
            ("dir", self.dir.clone()),
            ("page", page),
        ]
        .into_iter()
        .collect();
        for (k, v) in changes {
            if let Some(p) = pairs.iter_mut().find(|(pk, _)| pk == k) {
                p.1 = v.to_string();
            }
        }
        let kept: Vec<(&str, String)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }

    /// A column header: its link (sorting by it, the other way if it already is) and its
    /// `aria-sort` value.
    pub fn header(&self, key: &'static str, label: &'static str) -> Header {
        let current = self.sort == key;
        let dir = if current && !self.desc() { "desc" } else { "asc" };
        let aria = match (current, self.desc()) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        };
        Header { label, href: self.with(&[("sort", key), ("dir", dir), ("page", "")]), aria }
    }
}

/// A sortable column's header.
pub struct Header {
    pub label: &'static str,
    pub href: String,
    pub aria: &'static str,
}

/// One page of `rows`: the rows, this page, the number of pages and of rows.
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
}

pub fn paginate<T>(rows: Vec<T>, page: Option<usize>) -> Paged<T> {
    let total = rows.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let rows = rows.into_iter().skip((page - 1) * PER_PAGE).take(PER_PAGE).collect();
    Paged { rows, page, pages, total }
}

/// A CSV download named `name`.
pub fn csv(name: &str, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|c| idp_proto::csv_field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let mut res = out.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_sort_links_and_csv() {
        let p = paginate((0..120).collect::<Vec<_>>(), Some(3));
        assert_eq!((p.rows.len(), p.page, p.pages, p.total), (20, 3, 3, 120));
        assert_eq!(paginate(Vec::<u8>::new(), Some(9)).page, 1);
        let q = ListQuery { q: "民政".into(), sort: "name".into(), ..Default::default() };
        let h = q.header("name", "名称");
        assert_eq!(h.aria, "ascending");
        assert!(h.href.contains("dir=desc") && h.href.contains("q=%E6%B0%91%E6%94%BF"), "{}", h.href);
        assert_eq!(q.header("type", "类型").aria, "none");
        assert_eq!(idp_proto::csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(idp_proto::csv_field("\tx"), "'\tx");
        assert_eq!(idp_proto::csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
