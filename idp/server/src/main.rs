//! The `idp` binary.

use clap::Parser;
use idp_server::Application;
use idp_server::cli::{Cli, Command, load_config, run_command};

/// Logs to stderr as text or JSON; with an OTLP endpoint, spans are exported there too (the
/// provider returned must be shut down at exit, which sends what is still buffered).
fn init_logging(
    filter: &str,
    format: &str,
    otlp: Option<(&str, &str)>,
) -> anyhow::Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>> {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if format == "json" {
        // one JSON object a line; the request's span (with its id) rides along
        fmt.json().with_current_span(true).with_span_list(false).boxed()
    } else {
        fmt.with_ansi(std::io::stderr().is_terminal()).boxed()
    };
    let (otel, provider) = match otlp {
        Some((endpoint, service)) => {
            use opentelemetry::trace::TracerProvider as _;
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| anyhow::anyhow!("otlp_endpoint {endpoint}: {e}"))?;
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder().with_service_name(service.to_string()).build(),
                )
                .build();
            // traces take the request spans (info) whatever the log filter keeps
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("idp"))
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(fmt.with_filter(filter)).with(otel).try_init();
    Ok(provider)
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
            let _ = init_logging("warn", "text", None);
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
    let otlp = config.otlp_endpoint.as_deref().map(|e| (e, config.otlp_service_name.as_str()));
    let traces = init_logging(&config.log, &config.log_format, otlp)?;
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
    if let Some(provider) = traces {
        // sends the spans still buffered
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
    Ok(())
}
