//! The `idp` binary.

use clap::Parser;
use idp_server::Application;
use idp_server::cli::{Cli, Command, load_config, run_command};

fn init_logging(filter: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "json" {
        // one JSON object a line; the request's span (with its id) rides along
        builder.json().with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).try_init()
    };
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve { listen, public_url } => {
            let (listen, public_url) = (listen.clone(), public_url.clone());
            serve(cli, listen, public_url).await
        }
        _ => {
            init_logging("warn", "text");
            run_command(cli).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(cli: Cli, listen: Option<String>, public_url: Option<String>) -> anyhow::Result<()> {
    let mut config = load_config(&cli)?;
    if let Some(l) = listen {
        config.listen = l;
    }
    if let Some(p) = public_url {
        config.public_url = Some(p);
    }
    if !matches!(config.log_format.as_str(), "text" | "json") {
        anyhow::bail!("log_format must be text or json, not {:?}", config.log_format);
    }
    init_logging(&config.log, &config.log_format);
    let app = Application::build(config).await?;
    if let Some((user, password)) = &app.bootstrap_admin {
        // Printed once, to the terminal only; never logged.
        println!("Bootstrap administrator created in tenant main:");
        println!("  username: {user}");
        println!("  password: {password}");
        println!("This password is shown only now. Change it with `idp account set-password admin`.");
    }
    tracing::info!(addr = %app.local_addr(), issuer = %app.state.config().issuer("main"), backend = app.state.store().backend(), "listening");
    app.run().await?;
    Ok(())
}
