//! `admin-console`: configured from the environment (see the crate docs), serves until stopped.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = admin_console::Config::from_env()?;
    tracing_subscriber::fmt().with_env_filter(config.log.clone()).init();
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    let app = admin_console::App::new(config, listener.local_addr()?)?;
    tracing::info!(url = %app.public_url(), "admin console listening");
    app.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
