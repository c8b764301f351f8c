//! `hookd post`: send a webhook to hookd over HTTP/1.1, HTTP/2 or HTTP/3 (for trying it,
//! since curl usually lacks HTTP/3), optionally N times in a row with a requests/s summary.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::h3::client::{roots_from_pem, Client};

/// Arguments of `hookd post`.
#[derive(clap::Args, Debug)]
pub(crate) struct PostArgs {
    /// Target, e.g. `https://localhost:8443/webhook/<id>`.
    pub(crate) url: String,
    /// Use HTTP/3 over QUIC (https URLs only).
    #[arg(long, conflicts_with_all = ["http2", "http1"])]
    pub(crate) http3: bool,
    /// Use HTTP/2 only (h2 by ALPN over TLS, h2c prior knowledge over http).
    #[arg(long, conflicts_with = "http1")]
    pub(crate) http2: bool,
    /// Use HTTP/1.1 only.
    #[arg(long)]
    pub(crate) http1: bool,
    /// PEM certificate(s) to trust, e.g. `hookd-state/tls/selfsigned-cert.pem` (default: the
    /// Mozilla root store).
    #[arg(long)]
    pub(crate) cacert: Option<PathBuf>,
    /// A request header `Name: value` (repeatable; `hookd sign` prints these).
    #[arg(long = "header", short = 'H')]
    pub(crate) headers: Vec<String>,
    /// Body file; `-` reads standard input; absent: empty body.
    #[arg(long)]
    pub(crate) body_file: Option<PathBuf>,
    /// Send the request this many times, one after another on one connection, and print a
    /// summary with requests/s instead of the response.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) repeat: u32,
}

/// Runs `hookd post`; exit code 0 when every response was 2xx, 1 otherwise, 2 on bad input.
pub(crate) fn run(args: PostArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookd post: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(post(args)) {
        Ok(all_ok) if all_ok => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("hookd post: {e}");
            ExitCode::from(2)
        }
    }
}

/// One response, as printed.
struct Answer {
    version: &'static str,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn post(args: PostArgs) -> Result<bool, String> {
    let uri: http::Uri = args.url.parse().map_err(|e| format!("{}: {e}", args.url))?;
    let headers = parse_headers(&args.headers)?;
    let body = Bytes::from(read_body(args.body_file.as_deref())?);
    let roots = match &args.cacert {
        Some(p) => roots_from_pem(p).map_err(|e| e.to_string())?,
        None => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let mut statuses = BTreeMap::<u16, u32>::new();
    let mut last = None;
    let start;
    if args.http3 {
        if uri.scheme_str() != Some("https") {
            return Err("--http3 needs an https:// URL".into());
        }
        let host = uri.host().ok_or("the URL has no host")?.to_string();
        let port = uri.port_u16().unwrap_or(443);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}: no address"))?;
        let client = Client::connect(addr, &host, roots)
            .await
            .map_err(|e| e.to_string())?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        start = Instant::now();
        for _ in 0..args.repeat {
            let mut req = http::Request::post(client.uri(path))
                .body(body.clone())
                .map_err(|e| e.to_string())?;
            *req.headers_mut() = headers.clone();
            let r = client.send(req).await.map_err(|e| e.to_string())?;
            *statuses.entry(r.status.as_u16()).or_default() += 1;
            last = Some(Answer {
                version: "HTTP/3",
                status: r.status,
                headers: r.headers,
                body: r.body,
            });
        }
        client.close().await;
    } else {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = if args.http2 {
            vec![b"h2".to_vec()]
        } else if args.http1 {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        let b = reqwest::Client::builder().use_preconfigured_tls(tls);
        let b = if args.http2 {
            b.http2_prior_knowledge()
        } else if args.http1 {
            b.http1_only()
        } else {
            b
        };
        let client = b.build().map_err(|e| e.to_string())?;
        start = Instant::now();
        for _ in 0..args.repeat {
            let r = client
                .post(uri.to_string())
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await
                .map_err(|e| format!("{e:#}"))?;
            let version = match r.version() {
                http::Version::HTTP_2 => "HTTP/2",
                http::Version::HTTP_10 => "HTTP/1.0",
                _ => "HTTP/1.1",
            };
            let (status, headers) = (r.status(), r.headers().clone());
            let body = r.bytes().await.map_err(|e| e.to_string())?;
            *statuses.entry(status.as_u16()).or_default() += 1;
            last = Some(Answer {
                version,
                status,
                headers,
                body,
            });
        }
    }
    let elapsed = start.elapsed();
    let all_ok = statuses.keys().all(|s| (200..300).contains(s));
    let Some(last) = last else {
        return Ok(false);
    };
    if args.repeat == 1 {
        println!("{} {}", last.version, last.status);
        for (k, v) in &last.headers {
            println!("{k}: {}", String::from_utf8_lossy(v.as_bytes()));
        }
        println!();
        println!("{}", String::from_utf8_lossy(&last.body));
    } else {
        let counts: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        println!(
            "{} {} requests in {:.3} s = {:.0} requests/s (sequential, one connection); statuses {}",
            last.version,
            args.repeat,
            elapsed.as_secs_f64(),
            f64::from(args.repeat) / elapsed.as_secs_f64(),
            counts.join(" "),
        );
    }
    Ok(all_ok)
}

fn parse_headers(lines: &[String]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header `{line}` is not `Name: value`"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|e| format!("header name `{}`: {e}", name.trim()))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|e| format!("value of header {name}: {e}"))?;
        map.append(name, value);
    }
    Ok(map)
}

fn read_body(path: Option<&std::path::Path>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    match path {
        None => {}
        Some(p) if p.as_os_str() == "-" => {
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("standard input: {e}"))?;
        }
        Some(p) => body = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::parse_headers;

    #[test]
    fn headers_parse_like_curl() {
        let h = parse_headers(&[
            "X-Hub-Signature-256: sha256=ab".into(),
            "Content-Type:application/json".into(),
        ])
        .unwrap();
        assert_eq!(h["x-hub-signature-256"], "sha256=ab");
        assert_eq!(h["content-type"], "application/json");
        let e = parse_headers(&["no colon".into()]).unwrap_err();
        assert!(e.contains("Name: value"), "{e}");
    }
}
