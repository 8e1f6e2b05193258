//! A cookie-keeping browser for the provider's pages, and the HTTP client the `openidconnect`
//! relying party uses.

use reqwest::redirect::Policy;

use crate::common::{PASSWORD, REDIRECT, TestServer};

pub struct Browser {
    pub http: reqwest::Client,
    /// The cookie jar, for tests that plant or read cookies.
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

#[derive(Debug)]
pub enum Step {
    /// A page of the provider.
    Page { url: String, status: u16, body: String },
    /// A redirect that leaves the provider (to a client).
    Left(url::Url),
}

impl Step {
    pub fn page(self) -> (String, u16, String) {
        match self {
            Step::Page { url, status, body } => (url, status, body),
            Step::Left(u) => panic!("expected a page, got a redirect to {u}"),
        }
    }
    pub fn left(self) -> url::Url {
        match self {
            Step::Left(u) => u,
            Step::Page { url, status, body } => {
                panic!("expected a redirect, got page {url} ({status}): {body}")
            }
        }
    }
    /// The authorization response parameters of a redirect back to the client.
    pub fn callback(self) -> std::collections::HashMap<String, String> {
        let u = self.left();
        assert!(u.as_str().starts_with(REDIRECT), "unexpected redirect {u}");
        u.query_pairs().into_owned().collect()
    }
}

pub fn extract(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

/// The action of the page's first form (the header's sign-out form is not the page's).
pub fn form_action(body: &str) -> String {
    let from = body
        .find("<form class=\"signout\"")
        .and_then(|i| body[i..].find("</form>").map(|j| i + j))
        .unwrap_or(0);
    let start = body[from..].find("action=\"").expect("form action") + from + 8;
    let end = body[start..].find('"').expect("end of action") + start;
    body[start..end].to_string()
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .expect("client");
        Self { http, jar }
    }

    async fn follow(&self, base: &str, mut res: reqwest::Response) -> Step {
        loop {
            let status = res.status().as_u16();
            if (300..400).contains(&status) {
                let loc =
                    res.headers().get("location").expect("Location").to_str().expect("ascii").to_string();
                let next = url::Url::parse(res.url().as_ref()).unwrap().join(&loc).unwrap();
                if !next.as_str().starts_with(base) {
                    return Step::Left(next);
                }
                res = self.http.get(next).send().await.expect("GET");
                continue;
            }
            let url = res.url().to_string();
            let body = res.text().await.unwrap_or_default();
            return Step::Page { url, status, body };
        }
    }

    pub async fn get(&self, server: &TestServer, url: &str) -> Step {
        let res = self.http.get(url).send().await.expect("GET");
        self.follow(&server.base, res).await
    }

    pub async fn post_form(&self, server: &TestServer, action: &str, form: &[(&str, &str)]) -> Step {
        let url =
            if action.starts_with("http") { action.to_string() } else { format!("{}{action}", server.base) };
        let res = self.http.post(url).form(form).send().await.expect("POST");
        self.follow(&server.base, res).await
    }

    /// Submits the sign-in form on `body`.
    pub async fn sign_in(&self, server: &TestServer, body: &str, login: &str, password: &str) -> Step {
        assert!(body.contains("name=\"password\""), "not a sign-in page: {body}");
        let csrf = extract(body, "csrf").expect("csrf");
        let action = form_action(body);
        self.post_form(server, &action, &[("csrf", &csrf), ("login", login), ("password", password)]).await
    }

    pub async fn consent(&self, server: &TestServer, body: &str, allow: bool) -> Step {
        assert!(body.contains("name=\"decision\" value=\"allow\""), "not a consent page: {body}");
        let csrf = extract(body, "csrf").expect("csrf");
        let action = form_action(body);
        let decision = if allow { "allow" } else { "deny" };
        self.post_form(server, &action, &[("csrf", &csrf), ("decision", decision)]).await
    }

    /// On the offer to set up a second factor (an account without one, a client needing
    /// `aal2`): declines it, so the client is told the requirement is unmet.
    pub async fn decline_set_up(&self, server: &TestServer, step: Step) -> Step {
        let (_, _, body) = step.page();
        assert!(body.contains("id=\"enrol-decline\""), "not the offer to set up a factor: {body}");
        let csrf = extract(&body, "csrf").expect("csrf");
        let from = body.find("id=\"enrol-decline\"").unwrap_or(0);
        let start = body[..from].rfind("action=\"").expect("the decline form") + 8;
        let end = body[start..].find('"').expect("end of action") + start;
        self.post_form(server, &body[start..end], &[("csrf", &csrf)]).await
    }

    /// Runs an authorization request through sign-in and consent, whichever are shown.
    pub async fn authorize(&self, server: &TestServer, url: &str, login: &str) -> Step {
        let mut step = self.get(server, url).await;
        for _ in 0..3 {
            match step {
                Step::Page { ref body, .. } if body.contains("name=\"password\"") => {
                    step = self.sign_in(server, &body.clone(), login, PASSWORD).await;
                }
                Step::Page { ref body, .. } if body.contains("value=\"allow\"") => {
                    step = self.consent(server, &body.clone(), true).await;
                }
                _ => return step,
            }
        }
        step
    }
}

/// The HTTP client for `openidconnect` (no redirects, as the crate requires).
pub fn rp_http() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

#[derive(Debug)]
pub struct HttpError(pub String);
impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HttpError {}

/// Adapts reqwest 0.13 to the `openidconnect` async HTTP client interface.
pub async fn rp_call(
    client: &reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let mut r = client.request(parts.method, parts.uri.to_string()).body(body);
    for (k, v) in parts.headers.iter() {
        r = r.header(k, v);
    }
    let res = r.send().await.map_err(|e| HttpError(e.to_string()))?;
    let mut builder = http::Response::builder().status(res.status());
    for (k, v) in res.headers() {
        builder = builder.header(k, v);
    }
    let bytes = res.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    builder.body(bytes.to_vec()).map_err(|e| HttpError(e.to_string()))
}

/// Runs `tests/browser/{script}` with node and Debian's Chromium (or `CHROMIUM`), after checking
/// both and the npm packages are there (`scripts/test.sh` installs them); `envs` beside.
/// Returns whether it succeeded, and what it printed.
pub async fn browser_script(
    script: &str,
    args: Vec<String>,
    envs: Vec<(&'static str, String)>,
) -> (bool, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists()
            && dir.join("node_modules/playwright-core").exists()
            && dir.join("node_modules/axe-core").exists(),
        "this test needs Debian's chromium ({chromium}) and `npm ci` in {}; scripts/test.sh installs both",
        dir.display()
    );
    let script = dir.join(script);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .args(args)
            .env("CHROMIUM", chromium)
            .envs(envs)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let printed =
        format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), printed)
}
