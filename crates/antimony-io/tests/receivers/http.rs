//! A real HTTP/1.1 receiver on loopback, scripted per request, that can go down (its
//! listener and every open connection dropped) and come back on the same port.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// One request as it came.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// What to answer: status, extra headers, body.
pub type Answer = (u16, Vec<(&'static str, String)>, String);

/// Decides the answer to each request (and keeps what it needs of it).
pub type Script = Arc<dyn Fn(&Request) -> Answer + Send + Sync>;

pub struct HttpReceiver {
    runtime: Runtime,
    pub addr: SocketAddr,
    script: Script,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl HttpReceiver {
    /// Listens on a free loopback port.
    pub fn start(script: Script) -> HttpReceiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut receiver = HttpReceiver {
            runtime,
            addr,
            script,
            server: None,
        };
        receiver.serve(listener);
        receiver
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&mut self, listener: TcpListener) {
        let script = Arc::clone(&self.script);
        self.server = Some(self.runtime.spawn(async move {
            // Dropped with this task: aborting it closes every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let script = Arc::clone(&script);
                connections.spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&script), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        }));
    }

    /// Goes down: the port refuses connections, open ones are cut.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = self.runtime.block_on(server);
        }
    }

    /// Comes back on the same port.
    pub fn restart(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match self.runtime.block_on(TcpListener::bind(self.addr)) {
                Ok(listener) => break listener,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("cannot bind {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn answer(
    script: Script,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let request = Request {
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body,
    };
    let (status, headers, body) = script(&request);
    let mut response = hyper::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response
        .body(Full::new(Bytes::from(body)))
        .expect("response"))
}

/// A script's shared state, for the test to read.
pub type Log<T> = Arc<Mutex<T>>;
