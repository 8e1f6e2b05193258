//! What the benchmark does at each provider: endpoints from discovery, sign-in through the real
//! pages (the idp's, or oidc-provider's development interactions), code and token exchanges.

use anyhow::{Context, anyhow, bail, ensure};
use idp_core::crypto::{b64, random_token, sha256};
use reqwest::redirect::Policy;
use serde_json::Value;

pub const REDIRECT: &str = "http://127.0.0.1:1/cb";

#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// One provider under test, with its endpoints and the clients seeded in it.
#[derive(Clone, Debug)]
pub struct Target {
    pub label: &'static str,
    pub pid: u32,
    pub discovery: String,
    pub jwks: String,
    pub token: String,
    pub introspect: String,
    pub authorize: String,
    pub cc_opaque: Client,
    pub cc_jwt: Client,
    /// Extra token-request parameters that select JWT access tokens (node: a resource indicator).
    pub cc_jwt_extra: Vec<(String, String)>,
    pub web: Client,
    pub login: String,
    pub password: String,
    /// oidc-provider issues refresh tokens only after an explicit consent prompt.
    pub offline_needs_prompt: bool,
}

pub fn http(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(cookies)
        .pool_max_idle_per_host(256)
        .build()
        .expect("HTTP client")
}

impl Target {
    pub async fn discover(label: &'static str, pid: u32, issuer: &str) -> anyhow::Result<Self> {
        let discovery = format!("{issuer}/.well-known/openid-configuration");
        let meta: Value = http(false).get(&discovery).send().await?.json().await?;
        let get = |k: &str| meta[k].as_str().map(str::to_string).ok_or_else(|| anyhow!("{label}: no {k}"));
        let none = || Client { id: String::new(), secret: String::new() };
        Ok(Self {
            label,
            pid,
            jwks: get("jwks_uri")?,
            token: get("token_endpoint")?,
            introspect: get("introspection_endpoint")?,
            authorize: get("authorization_endpoint")?,
            discovery,
            cc_opaque: none(),
            cc_jwt: none(),
            cc_jwt_extra: vec![],
            web: none(),
            login: String::new(),
            password: String::new(),
            offline_needs_prompt: false,
        })
    }

    pub async fn client_credentials(&self, http: &reqwest::Client, jwt: bool) -> anyhow::Result<String> {
        let c = if jwt { &self.cc_jwt } else { &self.cc_opaque };
        let mut form = vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("scope".into(), "api".into()),
        ];
        if jwt {
            form.extend(self.cc_jwt_extra.iter().cloned());
        }
        let res = http.post(&self.token).basic_auth(&c.id, Some(&c.secret)).form(&form).send().await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if !status.is_success() {
            bail!("{}: client_credentials {status}: {body}", self.label);
        }
        Ok(body["access_token"].as_str().unwrap_or_default().to_string())
    }

    fn authorize_url(&self, scope: &str, challenge: &str, prompt: bool) -> String {
        let q = [
            ("client_id", self.web.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "bench"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        let mut url = format!("{}?{}", self.authorize, serde_urlencoded_pairs(&q));
        if prompt {
            url.push_str("&prompt=consent");
        }
        url
    }

    /// Drives an authorization request through whatever pages appear (sign-in, consent) with a
    /// cookie-keeping client; returns the code and its PKCE verifier.
    pub async fn authorize(&self, http: &reqwest::Client, scope: &str) -> anyhow::Result<(String, String)> {
        let verifier = random_token(&idp_core::SystemEnv, 32);
        let challenge = b64(&sha256(verifier.as_bytes()));
        let prompt = self.offline_needs_prompt && scope.contains("offline_access");
        let next = self.through_pages(http, &self.authorize_url(scope, &challenge, prompt), REDIRECT).await?;
        let code = next.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string());
        Ok((code.with_context(|| format!("{}: no code in {next}", self.label))?, verifier))
    }

    /// Follows `start` through whatever pages appear (sign-in, consent), answering them as the
    /// bench account, until a redirect to `back` (the party): that redirect's URL.
    pub async fn through_pages(
        &self,
        http: &reqwest::Client,
        start: &str,
        back: &str,
    ) -> anyhow::Result<url::Url> {
        let mut res = http.get(start).send().await?;
        for _ in 0..12 {
            if res.status().is_redirection() {
                let loc = res.headers().get("location").context("Location")?.to_str()?.to_string();
                let next = res.url().join(&loc)?;
                if next.as_str().starts_with(back) {
                    return Ok(next);
                }
                res = http.get(next).send().await?;
                continue;
            }
            let url = res.url().clone();
            let page = res.text().await?;
            let (action, mut fields) =
                form_of(&page).with_context(|| format!("{}: no form at {url}: {page}", self.label))?;
            if page.contains("name=\"login\"") {
                fields.push(("login".into(), self.login.clone()));
            }
            if page.contains("name=\"password\"") {
                fields.push(("password".into(), self.password.clone()));
            }
            if page.contains("name=\"decision\"") {
                fields.push(("decision".into(), "allow".into()));
            }
            res = http.post(url.join(&action)?).form(&fields).send().await?;
        }
        bail!("{}: the sign-in did not finish", self.label)
    }

    /// Mean answer time (ms) of `n` failed sign-ins with `login`/`password` on one sign-in page,
    /// and the error text the page showed.
    pub async fn failed_sign_ins(
        &self,
        login: &str,
        password: &str,
        n: usize,
    ) -> anyhow::Result<(f64, String)> {
        let http = http(true);
        let (page_url, page) = self.sign_in_page(&http).await?;
        let (action, mut fields) = form_of(&page).context("no sign-in form")?;
        fields.push(("login".into(), login.into()));
        fields.push(("password".into(), password.into()));
        let (ms, messages) = timed_posts(&http, page_url.join(&action)?, &fields, n).await?;
        Ok((ms, messages.last().cloned().unwrap_or_default()))
    }

    /// Mean answer time (ms) of `n` wrong SMS codes for `phone`, after asking the SMS sign-in
    /// page for a code, and the error text of every answer in order (tries left, then gone).
    pub async fn failed_sms_codes(&self, phone: &str, n: usize) -> anyhow::Result<(f64, Vec<String>)> {
        let http = http(true);
        let (page_url, page) = self.sign_in_page(&http).await?;
        let link = page
            .split("href=\"")
            .skip(1)
            .filter_map(|r| r.split('"').next())
            .find(|h| h.ends_with("/sms"))
            .context("the sign-in page links to SMS sign-in")?;
        let sms_url = page_url.join(link)?;
        let res = http.get(sms_url.clone()).send().await?;
        ensure!(res.status().is_success(), "SMS page: {}", res.status());
        let (send, mut fields) = form_of(&res.text().await?).context("no send form")?;
        fields.push(("phone".into(), phone.into()));
        let res = http.post(sms_url.join(&send)?).form(&fields).send().await?;
        ensure!(res.status().is_success(), "sending a code to {phone}: {}", res.status());
        let sent = res.text().await?;
        // the code step's form comes first, with the number as a hidden field
        let (verify, mut fields) = form_of(&sent).context("no code form")?;
        ensure!(verify.ends_with("/sms/verify"), "no code step after sending: {sent}");
        fields.push(("code".into(), "000000".into()));
        timed_posts(&http, sms_url.join(&verify)?, &fields, n).await
    }

    /// The sign-in page of a fresh authorization request: its address and text.
    async fn sign_in_page(&self, http: &reqwest::Client) -> anyhow::Result<(url::Url, String)> {
        let verifier = random_token(&idp_core::SystemEnv, 32);
        let url = self.authorize_url("openid", &b64(&sha256(verifier.as_bytes())), false);
        let mut res = http.get(url).send().await?;
        while res.status().is_redirection() {
            let loc = res.headers().get("location").context("Location")?.to_str()?.to_string();
            let next = res.url().join(&loc)?;
            res = http.get(next).send().await?;
        }
        let page_url = res.url().clone();
        Ok((page_url, res.text().await?))
    }

    pub async fn redeem(&self, http: &reqwest::Client, code: &str, verifier: &str) -> anyhow::Result<Value> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ];
        let res = http
            .post(&self.token)
            .basic_auth(&self.web.id, Some(&self.web.secret))
            .form(&form)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if !status.is_success() {
            bail!("{}: code exchange {status}: {body}", self.label);
        }
        Ok(body)
    }

    pub async fn refresh(&self, http: &reqwest::Client, token: &str) -> anyhow::Result<String> {
        let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
        let res = http
            .post(&self.token)
            .basic_auth(&self.web.id, Some(&self.web.secret))
            .form(&form)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if !status.is_success() {
            bail!("{}: refresh {status}: {body}", self.label);
        }
        body["refresh_token"].as_str().map(str::to_string).context("no refresh_token")
    }

    pub async fn introspect(&self, http: &reqwest::Client, token: &str) -> anyhow::Result<bool> {
        let c = &self.cc_opaque;
        let res = http
            .post(&self.introspect)
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[("token", token)])
            .send()
            .await?;
        let body: Value = res.json().await?;
        Ok(body["active"] == true)
    }
}

fn serde_urlencoded_pairs(q: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(q).finish()
}

/// The first form of a page: its action and hidden fields.
pub fn form_of(page: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = page.find("<form")?;
    let end = page[start..].find("</form>").map(|e| start + e).unwrap_or(page.len());
    let form = &page[start..end];
    let action = attr(form, "action")?;
    let mut fields = vec![];
    for input in form.split("<input").skip(1) {
        let tag = input.split('>').next().unwrap_or_default();
        if tag.contains("type=\"hidden\"")
            && let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value"))
        {
            fields.push((n, v));
        }
    }
    Some((action.replace("&amp;", "&"), fields))
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let s = tag.find(&marker)? + marker.len();
    let e = tag[s..].find('"')? + s;
    Some(tag[s..e].to_string())
}

/// Posts `fields` to `url` `n` times; the mean answer time (ms) and each page's error text.
/// Every answer must be a page (200): a redirect or a refusal would time something else.
async fn timed_posts(
    http: &reqwest::Client,
    url: url::Url,
    fields: &[(String, String)],
    n: usize,
) -> anyhow::Result<(f64, Vec<String>)> {
    let mut total = 0.0;
    let mut messages = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = std::time::Instant::now();
        let res = http.post(url.clone()).form(fields).send().await?;
        let status = res.status();
        let body = res.text().await?;
        total += t0.elapsed().as_secs_f64() * 1000.0;
        ensure!(status.is_success(), "POST {url}: {status}");
        let message = body.split("class=\"error\"").nth(1).and_then(|r| r.split("</p>").next());
        messages.push(message.context("the answer shows no error")?.to_string());
    }
    Ok((total / n as f64, messages))
}
