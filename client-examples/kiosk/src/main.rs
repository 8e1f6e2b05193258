//! `kiosk`: sign one person in at the terminal (see README.md).

fn env(name: &str, default: Option<&str>) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(v) => Ok(v),
        Err(_) => default.map(str::to_string).ok_or_else(|| anyhow::anyhow!("set {name} (see README.md)")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = kiosk::Config {
        issuer: env("ISSUER", Some("http://127.0.0.1:8080/t/main"))?,
        client_id: env("CLIENT_ID", None)?,
        client_secret: env("CLIENT_SECRET", None)?,
    };
    kiosk::sign_in(&config, &mut std::io::stdout()).await?;
    Ok(())
}
