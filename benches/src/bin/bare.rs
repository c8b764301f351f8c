//! `bare`: the practical ceiling. Serves `POST /webhook/{id}` on the same listeners as hookd
//! (read from the same config file) with hookd's own connection code — the same hyper-util
//! auto builder, limits, rustls setup and certificate, and hookd's HTTP/3 listener — but it
//! only reads the body and answers 200: no lookup, no verification, no Kafka, no metrics. The
//! load generator's figures against it are what any server must spend; hookd's are divided by
//! them.

use std::path::PathBuf;
use std::process::ExitCode;

use axum::body::Body;
use axum::routing::post;
use axum::Router;
use clap::Parser;
use hookd::config::Config;
use hookd::server::{self, ConnLimits};
use http::StatusCode;
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Minimal baseline server for hookd's benchmarks.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// hookd config file: `server.listen`, `server.tls_listen` (+ certificate), the connection
    /// limits and `state_dir` are used; everything else is ignored.
    #[arg(long, short)]
    config: PathBuf,
}

/// Reads the whole body and answers 200 with an empty body, like hookd's success answer.
async fn accept(body: Body) -> StatusCode {
    match body.collect().await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

fn router() -> Router {
    Router::new().route("/webhook/{id}", post(accept))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = match Config::load(Some(&args.config), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bare: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bare: runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(serve(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bind(addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

async fn serve(cfg: Config) -> Result<(), String> {
    let limits = ConnLimits::from_config(&cfg.server);
    let (tx, rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    // As in hookd: TLS first, HTTP/3 next to it, and the TCP listeners advertise HTTP/3.
    let mut h3_port = None;
    let mut tls = None;
    if let Some(t) = &cfg.server.tls_listen {
        let material = hookd::tls::load_or_generate(&cfg.server)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(hookd::tls::tcp_server_config(&material)?);
        let l = bind(t).await?;
        let bound = l.local_addr().map_err(|e| e.to_string())?;
        eprintln!(
            "bare: listening on https://{bound} (certificate {})",
            material.cert_path.display()
        );
        if let Some(endpoint) =
            hookd::h3::listen(&cfg, bound, &material).map_err(|e| e.to_string())?
        {
            let a = endpoint.local_addr().map_err(|e| e.to_string())?;
            eprintln!("bare: listening on HTTP/3 udp {a}");
            h3_port = Some(a.port());
            tasks.spawn(hookd::h3::serve(
                endpoint,
                router(),
                hookd::h3::H3Limits::from_config(&cfg),
                rx.clone(),
            ));
        }
        tls = Some((l, acceptor));
    }
    let tcp_router = || match h3_port {
        Some(p) => hookd::h3::advertise(router(), p),
        None => router(),
    };
    if let Some((l, acceptor)) = tls {
        tasks.spawn(server::serve(
            l,
            tcp_router(),
            Some(acceptor),
            limits.clone(),
            hookd::client_addr::ClientResolver::default(),
            rx.clone(),
        ));
    }
    if !cfg.server.listen.is_empty() {
        let l = bind(&cfg.server.listen).await?;
        eprintln!(
            "bare: listening on http://{}",
            l.local_addr().map_err(|e| e.to_string())?
        );
        tasks.spawn(server::serve(
            l,
            tcp_router(),
            None,
            limits.clone(),
            hookd::client_addr::ClientResolver::default(),
            rx.clone(),
        ));
    }
    if tasks.is_empty() {
        return Err("server.listen and server.tls_listen are both disabled".into());
    }
    shutdown_signal().await;
    let _ = tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
