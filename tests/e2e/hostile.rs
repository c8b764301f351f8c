//! Hostile traffic: one unauthenticated client must not deny service to others (stream holds,
//! stalled bodies, silent and idle connections, connection floods), and hookd's client
//! identity (trusted proxies, PROXY protocol), rate limits and source allow-lists.
//!
//! The attacker connects from 127.0.0.1, legitimate clients from 127.0.0.2 (both loopback).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const SECRET: &str = "hostile-secret";
const OTHER: [u8; 4] = [127, 0, 0, 2];

fn hook(id: &str, extra: &str) -> String {
    format!(
        "[[webhooks]]\nid = \"{id}\"\nname = \"{id}\"\nverifier = \"SIGNATURE_BASED\"\n\
         secretValue = \"{SECRET}\"\nworkflowsToStart = {{ wf = 1 }}\n{extra}\n"
    )
}

fn hooks() -> String {
    format!("#rest\n{}{}", hook("a", ""), hook("b", ""))
}

/// A plain HTTP/1.1 client whose connections come from `127.0.0.2`.
fn other_client() -> reqwest::Client {
    init_crypto();
    reqwest::Client::builder()
        .http1_only()
        .local_address(IpAddr::from(OTHER))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn signed(c: &reqwest::Client, url: String, body: String) -> reqwest::RequestBuilder {
    c.post(url)
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), body.as_bytes()),
        )
        .body(body)
}

/// Sends `n` distinct signed requests to webhook `id` (8 at a time); returns how many got a
/// 2xx and a histogram of the statuses (0: no answer).
async fn legit(
    c: &reqwest::Client,
    base: &str,
    id: &str,
    n: usize,
    size: usize,
) -> (usize, Vec<(u16, usize)>) {
    let url = format!("{base}/webhook/{id}");
    let mut statuses = std::collections::BTreeMap::new();
    let mut ok = 0;
    let mut next = 0;
    let run = uuid::Uuid::new_v4();
    while next < n {
        let mut batch = tokio::task::JoinSet::new();
        for i in next..(next + 8).min(n) {
            let body = format!(r#"{{"legit":"{run}-{i}","pad":"{}"}}"#, "p".repeat(size));
            let req = signed(c, url.clone(), body);
            batch.spawn(async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) });
        }
        next = (next + 8).min(n);
        while let Some(s) = batch.join_next().await {
            let s = s.unwrap();
            if (200..300).contains(&s) {
                ok += 1;
            }
            *statuses.entry(s).or_insert(0) += 1;
        }
    }
    (ok, statuses.into_iter().collect())
}

/// One h2c connection holding up to 256 streams on `path`: each sends its headers (with a
/// `content-length`) and never its body. A stream the server ends is re-opened a second later.
async fn hold_streams(addr: SocketAddr, path: String, opened: Arc<AtomicUsize>) {
    let Ok(tcp) = TcpStream::connect(addr).await else {
        return;
    };
    let Ok((send, conn)) = h2::client::handshake(tcp).await else {
        return;
    };
    tokio::spawn(conn);
    let mut slots = tokio::task::JoinSet::new();
    for _ in 0..256 {
        let (mut send, path, opened) = (send.clone(), path.clone(), opened.clone());
        slots.spawn(async move {
            loop {
                send = match send.ready().await {
                    Ok(s) => s,
                    Err(_) => return,
                };
                let req = http::Request::post(format!("http://{addr}{path}"))
                    .header("content-length", "60000")
                    .body(())
                    .unwrap();
                let Ok((resp, stream)) = send.send_request(req, false) else {
                    return;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                let _hold: h2::SendStream<Bytes> = stream;
                let _ = resp.await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    while slots.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_hold_on_one_webhook_does_not_starve_another() {
    let d = TestDaemon::start(&hooks()).await;
    let addr = d.daemon.listen_addr.unwrap();
    let opened = Arc::new(AtomicUsize::new(0));
    let mut attack = tokio::task::JoinSet::new();
    for _ in 0..40 {
        attack.spawn(hold_streams(addr, "/webhook/a".into(), opened.clone()));
    }
    let start = Instant::now();
    while opened.load(Ordering::Relaxed) < 40 * 256 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let at_start = opened.load(Ordering::Relaxed);
    assert!(at_start >= 40 * 256, "attack set up: {at_start} streams");
    let (ok, statuses) = legit(&other_client(), &d.http_url(), "b", 200, 100).await;
    let attack_streams = opened.load(Ordering::Relaxed);
    eprintln!(
        "stream hold: {ok}/200 signed requests to webhook b got 2xx during the attack \
         ({attack_streams} attack streams opened in all); statuses {statuses:?}"
    );
    assert!(
        ok >= 198,
        "at least 99 % of b's requests get 2xx: {statuses:?}"
    );
    let m = d.metrics_text().await;
    assert!(
        m.contains("reason=\"body_too_slow\"") || m.contains("reason=\"client_overloaded\""),
        "the attack's streams were cut off or refused"
    );
    attack.abort_all();
    d.stop().await;
}

/// Sends a request head announcing `len` bytes, then `sent` bytes of body, then stalls.
async fn stalled_body(addr: SocketAddr, path: &str, len: usize, sent: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {len}\r\n\
         x-hub-signature-256: sha256=00\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut left = sent;
    while left > 0 {
        let n = left.min(chunk.len());
        s.write_all(&chunk[..n]).await.unwrap();
        left -= n;
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_near_the_byte_budget_do_not_starve_others() {
    // 11 bodies of 1 MiB fill the 11 MiB budget to within 440 bytes.
    let extra = format!(
        "#server\nmax_body_bytes = 1048576\n#kafka\nmax_inflight_bytes = 11534336\n{}",
        hooks()
    );
    let d = TestDaemon::start(&extra).await;
    let addr = d.daemon.listen_addr.unwrap();
    let mut held = Vec::new();
    for _ in 0..11 {
        held.push(stalled_body(addr, "/webhook/a", 1_048_576, 1_048_576 - 40).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ok, statuses) = legit(&other_client(), &d.http_url(), "b", 100, 1000).await;
    eprintln!("stalled bodies: {ok}/100 signed 1 KB requests to webhook b got 2xx; {statuses:?}");
    assert!(ok >= 99, "{statuses:?}");
    // the stalled bodies themselves were refused past the attacker's share (503) or cut off
    // once they fell behind the minimum rate (408): none is left holding budget
    let mut answers = Vec::new();
    for mut s in held {
        let mut buf = vec![0u8; 256];
        let status = match tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await {
            Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n])
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string(),
            _ => "none".into(),
        };
        answers.push(status);
    }
    assert!(
        answers.iter().all(|s| s == "408" || s == "503"),
        "{answers:?}"
    );
    assert!(answers.iter().any(|s| s == "408"), "{answers:?}");
    d.stop().await;
}

/// Opens `n` TCP connections to `addr` that send nothing; returns how long each took to be
/// closed by the server (`None`: still open after `cap`).
async fn silent(addr: SocketAddr, n: usize, cap: Duration) -> Vec<Option<Duration>> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        tasks.spawn(async move {
            let start = Instant::now();
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let left = cap.saturating_sub(start.elapsed());
                match tokio::time::timeout(left, s.read(&mut buf)).await {
                    Err(_) => return None,
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
                    Ok(Ok(_)) => {}
                }
            }
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_on_every_listener() {
    let timeout = Duration::from_millis(1500);
    let d = TestDaemon::start("#server\nheader_read_timeout_ms = 1500").await;
    let cap = timeout + Duration::from_secs(1);
    for (name, addr) in [
        ("plain", d.daemon.listen_addr.unwrap()),
        ("tls", d.daemon.tls_addr.unwrap()),
        ("admin", d.daemon.admin_addr),
    ] {
        let r = silent(addr, 20, Duration::from_secs(10)).await;
        let slowest = r.iter().map(|x| x.unwrap_or(Duration::MAX)).max().unwrap();
        eprintln!("silent {name}: slowest closed after {slowest:?}");
        assert!(slowest <= cap, "{name}: {r:?}");
        assert!(
            r.iter()
                .flatten()
                .all(|t| *t >= timeout - Duration::from_millis(50)),
            "{name}: not before the timeout: {r:?}"
        );
    }
    // HTTP/1.1 keep-alive: the timeout runs again from the previous response
    let mut s = TcpStream::connect(d.daemon.admin_addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let after = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "closed");
    assert!(after.elapsed() <= cap, "{:?}", after.elapsed());
    // HTTP/3: a QUIC connection that sends no request (its PINGs keep QUIC itself alive)
    let start = Instant::now();
    let conn = quic_connect(&d).await;
    tokio::time::timeout(Duration::from_secs(10), conn.closed())
        .await
        .expect("closed");
    eprintln!("silent h3: closed after {:?}", start.elapsed());
    assert!(start.elapsed() <= cap, "{:?}", start.elapsed());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripped_admin_body_is_cut_at_the_body_timeout() {
    let d = TestDaemon::start("#server\nbody_read_timeout_ms = 1500").await;
    let mut s = TcpStream::connect(d.daemon.admin_addr).await.unwrap();
    let start = Instant::now();
    s.write_all(
        b"POST /api/metadata/webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 1000\r\n\r\n{\"name\":",
    )
    .await
    .unwrap();
    // one byte a second keeps the connection busy but never finishes the body
    let mut buf = vec![0u8; 1024];
    let answer = loop {
        tokio::select! {
            r = s.read(&mut buf) => break String::from_utf8_lossy(&buf[..r.unwrap()]).to_string(),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                assert!(start.elapsed() < Duration::from_secs(15), "never answered");
                let _ = s.write_all(b" ").await;
            }
        }
    };
    eprintln!("dripped admin body answered after {:?}", start.elapsed());
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    assert!(start.elapsed() >= Duration::from_millis(1400));
    d.stop().await;
}

/// A raw QUIC connection (ALPN h3) that sends keep-alive PINGs and nothing else.
async fn quic_connect(d: &TestDaemon) -> quinn::Connection {
    let port = d.daemon.h3_addr.unwrap().port();
    let roots =
        hookd::h3::client::roots_from_pem(d.daemon.tls_cert_path.as_ref().unwrap()).unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_millis(200)));
    let mut cfg = quinn::ClientConfig::new(Arc::new(quic));
    cfg.transport_config(Arc::new(transport));
    let mut endpoint =
        quinn::Endpoint::client((std::net::Ipv4Addr::UNSPECIFIED, 0).into()).unwrap();
    endpoint.set_default_client_config(cfg);
    endpoint
        .connect(SocketAddr::from(([127, 0, 0, 1], port)), "localhost")
        .unwrap()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http2_connections_are_closed_even_if_they_answer_pings() {
    let d =
        TestDaemon::start("#server\nidle_timeout_ms = 1500\nheader_read_timeout_ms = 1000").await;
    let tcp = TcpStream::connect(d.daemon.admin_addr).await.unwrap();
    let (mut send, mut conn) = h2::client::handshake(tcp).await.unwrap();
    let mut ping = conn.ping_pong().expect("ping handle");
    let conn = tokio::spawn(conn);
    let req = http::Request::get(format!("http://{}/healthz", d.daemon.admin_addr))
        .body(())
        .unwrap();
    let (resp, _) = send.send_request(req, true).unwrap();
    assert_eq!(resp.await.unwrap().status(), 200);
    let idle_from = Instant::now();
    // PINGs keep flowing both ways; the connection is closed anyway
    let pinger = tokio::spawn(async move {
        let mut pongs = 0;
        while ping.ping(h2::Ping::opaque()).await.is_ok() {
            pongs += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        pongs
    });
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("connection closed")
        .unwrap()
        .ok();
    let took = idle_from.elapsed();
    let pongs = pinger.await.unwrap();
    eprintln!("idle h2: closed after {took:?}, {pongs} PINGs answered meanwhile");
    assert!(pongs >= 3, "the client answered PINGs: {pongs}");
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_exhaust_connections_or_lock_out_healthz() {
    let extra = format!(
        "#server\nmax_connections = 50\nadmin_max_connections = 50\n\
         max_connections_per_client = 20\nheader_read_timeout_ms = 30000\n{}",
        hooks()
    );
    let d = TestDaemon::start(&extra).await;
    let mut socks = Vec::new();
    for addr in [d.daemon.listen_addr.unwrap(), d.daemon.admin_addr] {
        for _ in 0..50 {
            socks.push(TcpStream::connect(addr).await.unwrap());
        }
    }
    // the attacker's sockets past its 20 per listener were closed at once
    let mut closed = 0;
    for s in &mut socks {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 60, "30 of 50 on each listener refused");
    let r = other_client()
        .get(format!("{}/healthz", d.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (ok, st) = legit(&other_client(), &d.http_url(), "b", 10, 10).await;
    assert_eq!(ok, 10, "{st:?}");
    let m = other_client()
        .get(format!("{}/metrics", d.admin_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("reason=\"max_connections_per_client\""),
        "counted in metrics"
    );
    drop(socks);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let extra = format!(
        "#server\nclient_rate_limit_per_sec = 5\nclient_rate_limit_burst = 5\n#rest\n{}{}",
        hook("a", "rateLimitPerSecond = 0.5\nrateLimitBurst = 2"),
        hook("b", "")
    );
    let d = TestDaemon::start(&extra).await;
    // per webhook: a burst of 2, then 429 (from another client: not the per-client limit)
    let c = other_client();
    let mut st = Vec::new();
    for i in 0..3 {
        let r = signed(
            &c,
            format!("{}/webhook/a", d.http_url()),
            format!("{{\"n\":{i}}}"),
        )
        .send()
        .await
        .unwrap();
        st.push((r.status().as_u16(), r.headers().get("retry-after").cloned()));
    }
    assert_eq!(st[0].0, 200);
    assert_eq!(st[1].0, 200);
    assert_eq!(st[2].0, 429, "{st:?}");
    let ra: u64 = st[2].1.as_ref().unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&ra), "Retry-After {ra}");
    // per client: 127.0.0.1 gets 5, then 429; 127.0.0.2 is not affected
    let c1 = http1_client();
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = signed(
            &c1,
            format!("{}/webhook/b", d.http_url()),
            format!("{{\"c\":{i}}}"),
        )
        .send()
        .await
        .unwrap();
        if r.status() == 429 {
            assert!(r.headers().get("retry-after").is_some());
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["error"], "client_rate_limited");
            statuses.push(429);
        } else {
            statuses.push(r.status().as_u16());
        }
    }
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 2,
        "{statuses:?}"
    );
    let r = signed(
        &c,
        format!("{}/webhook/b", d.http_url()),
        "{\"other\":1}".into(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let m = d.metrics_text().await;
    for reason in ["client_rate_limited", "webhook_rate_limited"] {
        assert!(
            m.lines()
                .any(|l| l.starts_with("hookd_rejections_total") && l.contains(reason)),
            "{reason} counted"
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_allow_list_and_forwarded_addresses() {
    // 127.0.0.1 is a trusted proxy: its X-Forwarded-For / Forwarded are believed.
    let extra = format!(
        "#server\ntrusted_proxies = [\"127.0.0.1/32\"]\n#rest\n{}",
        hook(
            "a",
            "allowedSourceCidrs = [\"203.0.113.0/24\", \"127.0.0.2\"]"
        ),
    );
    let d = TestDaemon::start(&extra).await;
    let url = format!("{}/webhook/a", d.http_url());
    let send = |c: reqwest::Client, hdr: Option<(&'static str, &'static str)>, n: u32| {
        let url = url.clone();
        async move {
            let mut r = signed(&c, url, format!("{{\"src\":{n}}}"));
            if let Some((k, v)) = hdr {
                r = r.header(k, v);
            }
            let r = r.send().await.unwrap();
            let s = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            (s, body["error"].as_str().unwrap_or_default().to_string())
        }
    };
    // direct, allowed and not
    assert_eq!(send(other_client(), None, 1).await.0, 200);
    assert_eq!(
        send(http1_client(), None, 2).await,
        (403, "source_not_allowed".into())
    );
    // through the trusted proxy: the right-most untrusted hop
    let xff = Some(("x-forwarded-for", "198.51.100.1, 203.0.113.5"));
    assert_eq!(send(http1_client(), xff, 3).await.0, 200);
    let xff = Some(("x-forwarded-for", "203.0.113.5, 198.51.100.1"));
    assert_eq!(
        send(http1_client(), xff, 4).await.0,
        403,
        "a spoofed left hop does not help"
    );
    let fwd = Some(("forwarded", "for=\"203.0.113.9:4711\";proto=https"));
    assert_eq!(send(http1_client(), fwd, 5).await.0, 200);
    // from an untrusted peer the header is ignored (127.0.0.2 is allowed itself, so use a
    // webhook-less check: the header must not turn an allowed peer into a refused one either)
    let xff = Some(("x-forwarded-for", "198.51.100.1"));
    assert_eq!(
        send(other_client(), xff, 6).await.0,
        200,
        "untrusted peer: header ignored"
    );
    d.stop().await;

    // no trusted proxies: X-Forwarded-For from anyone is ignored
    let extra = format!(
        "#rest\n{}",
        hook("a", "allowedSourceCidrs = [\"203.0.113.0/24\"]"),
    );
    let d = TestDaemon::start(&extra).await;
    let r = signed(
        &http1_client(),
        format!("{}/webhook/a", d.http_url()),
        "{}".into(),
    )
    .header("x-forwarded-for", "203.0.113.5")
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    d.stop().await;
}

/// Sends `prefix` then a signed HTTP/1.1 request for `/webhook/a` from `from`; returns the
/// status (0: the connection was closed without an answer).
async fn raw_request(addr: SocketAddr, from: [u8; 4], prefix: &[u8], n: u32) -> u16 {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::from((from, 0))).unwrap();
    let mut s = sock.connect(addr).await.unwrap();
    let body = format!("{{\"proxied\":{n}}}");
    let req = format!(
        "POST /webhook/a HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nx-hub-signature-256: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len(),
        sign::github_sha256(SECRET.as_bytes(), body.as_bytes())
    );
    if s.write_all(&[prefix, req.as_bytes()].concat())
        .await
        .is_err()
    {
        return 0;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn proxy_v2(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x21); // version 2, PROXY
    h.push(0x11); // TCP over IPv4
    h.extend_from_slice(&12u16.to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(&4711u16.to_be_bytes());
    h.extend_from_slice(&8080u16.to_be_bytes());
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_protocol_v1_and_v2_from_trusted_and_untrusted_peers() {
    let extra = format!(
        "#server\nproxy_protocol = true\ntrusted_proxies = [\"127.0.0.1\"]\n#rest\n{}",
        hook("a", "allowedSourceCidrs = [\"203.0.113.0/24\"]"),
    );
    let d = TestDaemon::start(&extra).await;
    let addr = d.daemon.listen_addr.unwrap();
    let lb = [127, 0, 0, 1];
    let v1 = |src: &str| format!("PROXY TCP4 {src} 10.0.0.1 4711 8080\r\n").into_bytes();
    assert_eq!(
        raw_request(addr, lb, &v1("203.0.113.5"), 1).await,
        200,
        "v1, allowed source"
    );
    assert_eq!(
        raw_request(addr, lb, &v1("198.51.100.1"), 2).await,
        403,
        "v1, other source"
    );
    assert_eq!(
        raw_request(addr, lb, &proxy_v2([203, 0, 113, 6], [10, 0, 0, 1]), 3).await,
        200,
        "v2"
    );
    assert_eq!(
        raw_request(addr, lb, &proxy_v2([198, 51, 100, 2], [10, 0, 0, 1]), 4).await,
        403
    );
    assert_eq!(
        raw_request(addr, lb, b"PROXY UNKNOWN\r\n", 5).await,
        403,
        "LOCAL: the peer itself"
    );
    assert_eq!(raw_request(addr, lb, b"", 6).await, 0, "no header: closed");
    // an untrusted peer's header is not believed
    assert_eq!(raw_request(addr, OTHER, &v1("203.0.113.5"), 7).await, 403);
    // the TLS listener takes the header before the ClientHello
    let mut s = TcpStream::connect(d.daemon.tls_addr.unwrap())
        .await
        .unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut b = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut b)).await;
    assert!(b.is_empty(), "no PROXY header on the TLS listener: closed");
    d.stop().await;
}
