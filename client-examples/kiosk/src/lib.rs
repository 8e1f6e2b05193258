//! A service-hall kiosk: the device authorization grant (RFC 8628) in a terminal. The kiosk
//! asks the provider for a device code, shows the verification URI as a QR code (and the user
//! code to type, for a phone without a camera), polls the token endpoint at the interval it was
//! given — waiting 5 s longer after each `slow_down` (§3.5) — until the person approves or denies
//! on the phone or the code expires, then greets the person by the name UserInfo gives.

use std::io::Write;
use std::time::Duration;

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Config {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Why a sign-in ended without tokens.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Denied,
    Expired,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ended::Denied => "the person declined on the phone",
            Ended::Expired => "the code expired before anyone approved it",
        })
    }
}

impl std::error::Error for Ended {}

fn endpoint<'a>(doc: &'a Value, name: &str) -> anyhow::Result<&'a str> {
    doc[name].as_str().ok_or_else(|| anyhow::anyhow!("the provider has no {name}"))
}

/// Signs one person in, writing what the kiosk's screen shows to `screen`; the UserInfo
/// claims of the person.
pub async fn sign_in(config: &Config, screen: &mut (dyn Write + Send)) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let doc: Value = http
        .get(format!("{}/.well-known/openid-configuration", config.issuer))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let res = http
        .post(endpoint(&doc, "device_authorization_endpoint")?)
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[("scope", "openid profile")])
        .send()
        .await?;
    let grant: Value = res.json().await?;
    let device_code = grant["device_code"].as_str().ok_or_else(|| anyhow::anyhow!("refused: {grant}"))?;
    let user_code = grant["user_code"].as_str().unwrap_or_default();
    let uri = grant["verification_uri"].as_str().unwrap_or_default();
    let complete = grant["verification_uri_complete"].as_str().unwrap_or(uri);
    let qr = QrCode::new(complete.as_bytes())?.render::<Dense1x2>().quiet_zone(true).build();
    writeln!(screen, "{qr}\nScan with the service-hall app, or open {uri} and enter {user_code}")?;
    writeln!(screen, "VERIFY {complete}")?;
    screen.flush()?;

    let mut interval = grant["interval"].as_u64().unwrap_or(5);
    let deadline =
        std::time::Instant::now() + Duration::from_secs(grant["expires_in"].as_u64().unwrap_or(600));
    let token_endpoint = endpoint(&doc, "token_endpoint")?;
    let tokens = loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if std::time::Instant::now() >= deadline {
            return Err(Ended::Expired.into());
        }
        let res = http
            .post(token_endpoint)
            .basic_auth(&config.client_id, Some(&config.client_secret))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
            ])
            .send()
            .await?;
        let body: Value = res.json().await?;
        match body["error"].as_str() {
            None => break body,
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            Some("access_denied") => return Err(Ended::Denied.into()),
            Some("expired_token") => return Err(Ended::Expired.into()),
            Some(other) => anyhow::bail!("the provider refused: {other}"),
        }
    };
    let access = tokens["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("no access token"))?;
    let info: Value = http
        .get(endpoint(&doc, "userinfo_endpoint")?)
        .bearer_auth(access)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let name = info["name"].as_str().or(info["preferred_username"].as_str()).unwrap_or("(no name)");
    writeln!(screen, "Signed in: {name}")?;
    Ok(info)
}
