//! Bridges between h3 request streams and `http-body` bodies.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use hyper::body::Frame;

use super::SendHalf;

type RecvHalf = ::h3::server::RequestStream<h3_quinn::RecvStream, Bytes>;

/// A request body that yields DATA frames as they arrive on the QUIC stream: the consumer
/// (the ingress) decides how much to read, so an over-limit body is never buffered whole.
///
/// Dropped before the end (e.g. after a 413), the QUIC stream's receive side is dropped and
/// quinn sends STOP_SENDING, telling the client to stop uploading.
pub(super) struct RequestBody {
    stream: RecvHalf,
    done: bool,
}

impl RequestBody {
    pub(super) fn new(stream: RecvHalf) -> Self {
        Self {
            stream,
            done: false,
        }
    }
}

impl hyper::body::Body for RequestBody {
    type Data = Bytes;
    type Error = ::h3::error::StreamError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.stream.poll_recv_data(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(mut buf))) => {
                let data = buf.copy_to_bytes(buf.remaining());
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Poll::Ready(Ok(None)) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Sends the response head, its body as DATA frames, its trailers if any, and finishes the
/// stream.
pub(super) async fn write_response(
    send: &mut SendHalf,
    res: Response<Body>,
) -> Result<(), ::h3::error::StreamError> {
    let (parts, mut body) = res.into_parts();
    send.send_response(http::Response::from_parts(parts, ()))
        .await?;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "response body failed; resetting the http/3 stream");
                send.stop_stream(::h3::error::Code::H3_INTERNAL_ERROR);
                return Ok(());
            }
        };
        match frame.into_data() {
            Ok(data) => {
                if !data.is_empty() {
                    send.send_data(data).await?;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    send.send_trailers(trailers).await?;
                    break;
                }
            }
        }
    }
    send.finish().await
}
