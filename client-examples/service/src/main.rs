//! `service api` runs the protected API; `service call URL` gets a token by the client
//! credentials grant and calls it (see README.md).

fn env(name: &str, default: Option<&str>) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(v) => Ok(v),
        Err(_) => default.map(str::to_string).ok_or_else(|| anyhow::anyhow!("set {name} (see README.md)")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer = env("ISSUER", Some("http://127.0.0.1:8080/t/main"))?;
    let scope = env("SCOPE", Some("api"))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["api"] => {
            let config = service::ApiConfig { issuer, scope, audience: std::env::var("AUDIENCE").ok() };
            let listener = tokio::net::TcpListener::bind(env("LISTEN", Some("127.0.0.1:3001"))?).await?;
            println!("API listening on http://{}/hello", listener.local_addr()?);
            axum::serve(listener, service::api(config).await?).await?;
        }
        ["call", url] => {
            let token =
                service::fetch_token(&issuer, &env("CLIENT_ID", None)?, &env("CLIENT_SECRET", None)?, &scope)
                    .await?;
            let res = reqwest::Client::new().get(*url).bearer_auth(token).send().await?;
            println!("{} {}", res.status(), res.text().await?);
        }
        _ => anyhow::bail!("usage: service api | service call URL"),
    }
    Ok(())
}
