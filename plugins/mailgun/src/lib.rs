//! Mailgun: the signature travels in the body, not in a header. A JSON webhook carries
//! `{"signature": {"timestamp": "…", "token": "…", "signature": "<hex>"}, "event-data": …}`;
//! a legacy form-encoded one has the fields `timestamp`, `token` and `signature`. The signature
//! is hex(HMAC-SHA256(HTTP webhook signing key, timestamp ‖ token))
//! (<https://documentation.mailgun.com/docs/mailgun/user-manual/events/webhooks/#securing-webhooks>).
//! Only the timestamp and token are signed, not the event: the token is unique per delivery, so
//! it is the delivery id (hookd's replay protection and the sink's idempotency use it).
//!
//! Mailgun documents no timestamp window (it retries for hours): none by default; set the
//! webhook's `toleranceSeconds` to have one.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier,
};

struct Mailgun;

/// The three signed fields.
struct Signed {
    timestamp: String,
    token: String,
    signature: String,
}

impl Verifier for Mailgun {
    fn verify(req: &Request) -> Verdict {
        let form = req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let signed = if form {
            from_form(req)
        } else {
            from_json(&req.body)
        };
        let s = match signed {
            Ok(Some(s)) => s,
            Ok(None) => return Verdict::reject(RejectReason::MissingSignature),
            Err(()) => return Verdict::reject(RejectReason::Malformed),
        };
        if let Err(r) = req.check_timestamp(&s.timestamp, 0) {
            return Verdict::reject(r);
        }
        let mut buf = [0u8; 32];
        let Some(given) = encoding::hex_decode_into(&s.signature, &mut buf) else {
            return Verdict::reject(RejectReason::BadSignature);
        };
        let ok = req.secrets().iter().any(|k| {
            crypto::hmac_sha256_matches(
                k.as_bytes(),
                &[s.timestamp.as_bytes(), s.token.as_bytes()],
                &[given],
            )
        });
        if !ok {
            return Verdict::reject(RejectReason::BadSignature);
        }
        let id = (!s.token.is_empty() && s.token.len() <= 256).then(|| s.token.clone());
        Verdict::accept(id)
    }
}

/// `Ok(None)`: no signature object; `Err`: not JSON.
fn from_json(body: &[u8]) -> Result<Option<Signed>, ()> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| ())?;
    let Some(sig) = v.get("signature") else {
        return Ok(None);
    };
    let field = |k: &str| sig.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    Ok(
        match (field("timestamp"), field("token"), field("signature")) {
            (Some(timestamp), Some(token), Some(signature)) => Some(Signed {
                timestamp,
                token,
                signature,
            }),
            _ => None,
        },
    )
}

fn from_form(req: &Request) -> Result<Option<Signed>, ()> {
    let fields = req.form();
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Ok(
        match (field("timestamp"), field("token"), field("signature")) {
            (Some(timestamp), Some(token), Some(signature)) => Some(Signed {
                timestamp,
                token,
                signature,
            }),
            _ => None,
        },
    )
}

export_verifier!(Mailgun);
