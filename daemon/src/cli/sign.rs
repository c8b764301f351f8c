//! `hookd sign`: print the signature header(s) a provider would send for a body, to try hookd
//! with hand-made deliveries.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

use crate::verify::sign;

// The provider schemes `hookd sign` knows. No doc comments on the variants: clap would show
// them as help for the possible values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Provider {
    Github,
    GithubSha1,
    Stripe,
    Slack,
    Teams,
    Sendgrid,
    Twitter,
}

/// Runs `hookd sign`: reads the body from `body_file` (`-` or absent: standard input), signs
/// it at `ts` (default: now) and prints one `Name: value` line per header. Exit code 2 when the
/// body or the key cannot be read.
pub(crate) fn sign(
    p: Provider,
    secret: &str,
    body_file: Option<PathBuf>,
    ts: Option<i64>,
) -> ExitCode {
    let mut body = Vec::new();
    let read = match body_file.as_deref() {
        Some(f) if f.as_os_str() != "-" => std::fs::read(f).map(|b| body = b),
        _ => std::io::stdin().read_to_end(&mut body).map(|_| ()),
    };
    if let Err(e) = read {
        eprintln!("hookd sign: cannot read the body: {e}");
        return ExitCode::from(2);
    }
    let now = ts.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    match headers(p, secret, &body, now) {
        Ok(l) => {
            for line in l {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hookd sign: {e}");
            ExitCode::from(2)
        }
    }
}

/// The header lines (`Name: value`) provider `p` sends for `body` signed with `secret` at Unix
/// time `now`. For SendGrid, `secret` is the path of a PKCS#8 PEM private key file.
pub(crate) fn headers(
    p: Provider,
    secret: &str,
    body: &[u8],
    now: i64,
) -> Result<Vec<String>, String> {
    let s = secret.as_bytes();
    match p {
        Provider::Github => Ok(vec![format!(
            "X-Hub-Signature-256: {}",
            sign::github_sha256(s, body)
        )]),
        Provider::GithubSha1 => Ok(vec![format!(
            "X-Hub-Signature: {}",
            sign::github_sha1(s, body)
        )]),
        Provider::Stripe => Ok(vec![format!(
            "Stripe-Signature: {}",
            sign::stripe(s, now, body)
        )]),
        Provider::Slack => Ok(vec![
            format!("X-Slack-Request-Timestamp: {now}"),
            format!("X-Slack-Signature: {}", sign::slack(s, now, body)),
        ]),
        Provider::Twitter => Ok(vec![format!(
            "X-Twitter-Webhooks-Signature: {}",
            sign::twitter(s, body)
        )]),
        Provider::Teams => sign::teams(secret, body)
            .map(|v| vec![format!("Authorization: {v}")])
            .map_err(|e| e.to_string()),
        Provider::Sendgrid => std::fs::read_to_string(secret)
            .map_err(|e| format!("{secret}: {e}"))
            .and_then(|pem| sign::sendgrid(&pem, now, body).map_err(|e| e.to_string()))
            .map(|sig| {
                vec![
                    format!("X-Twilio-Email-Event-Webhook-Timestamp: {now}"),
                    format!("X-Twilio-Email-Event-Webhook-Signature: {sig}"),
                ]
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::{headers, Provider};

    #[test]
    fn hmac_headers_match_openssl() {
        // printf '...' | openssl dgst -sha256 -hmac s
        assert_eq!(
            headers(Provider::Github, "s", b"hello", 0).unwrap(),
            ["X-Hub-Signature-256: sha256=8a06a64224d83d1bf0a2140fab7d5b462cf3f450592c7963910ed331e9031056"]
        );
        assert_eq!(
            headers(Provider::Stripe, "s", b"hello", 1_700_000_000).unwrap(),
            ["Stripe-Signature: t=1700000000,v1=572a25936663b163a3e39109afc634683bd8a51ddc845600f628e37b49218bf1"]
        );
        assert_eq!(
            headers(Provider::Slack, "s", b"hello", 1_700_000_000).unwrap(),
            [
                "X-Slack-Request-Timestamp: 1700000000",
                "X-Slack-Signature: v0=2df24d535d6c06c60b3fe858989bd22e9b3cbbeda03345fbaa4bc8eacf68efbe",
            ]
        );
        // printf hello | openssl dgst -sha256 -hmac s -binary | base64
        assert_eq!(
            headers(Provider::Twitter, "s", b"hello", 0).unwrap(),
            ["X-Twitter-Webhooks-Signature: sha256=igamQiTYPRvwohQPq31bRizz9FBZLHljkQ7TMekDEFY="]
        );
    }

    #[test]
    fn key_problems_are_errors() {
        let e = headers(Provider::Teams, "not base64!", b"x", 0).unwrap_err();
        assert!(!e.is_empty());
        let e = headers(Provider::Sendgrid, "/nonexistent/key.pem", b"x", 0).unwrap_err();
        assert!(e.starts_with("/nonexistent/key.pem: "), "{e}");
    }
}
