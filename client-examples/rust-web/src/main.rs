//! `rust-web`: run the example application (see README.md).

fn env(name: &str, default: Option<&str>) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(v) => Ok(v),
        Err(_) => default.map(str::to_string).ok_or_else(|| anyhow::anyhow!("set {name} (see README.md)")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = env("LISTEN", Some("127.0.0.1:3000"))?;
    let config = rust_web::Config {
        issuer: env("ISSUER", Some("http://127.0.0.1:8080/t/main"))?,
        client_id: env("CLIENT_ID", None)?,
        client_secret: env("CLIENT_SECRET", None)?,
        base_url: env("BASE_URL", Some(&format!("http://{listen}")))?,
        cookie: env("COOKIE", Some("rust_web_session"))?,
    };
    let app = rust_web::router(config).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("rust-web listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
