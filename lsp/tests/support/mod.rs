//! A small LSP client for tests: Content-Length framing over any async
//! stream, requests matched to responses by id, notifications kept for
//! later, and the server's own requests answered with `null`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Long enough never to fire on a slow machine; only a hung server trips it.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Client<R, W> {
    read: BufReader<R>,
    write: W,
    next_id: i64,
    /// Notifications from the server not yet looked at.
    pub notifications: Vec<Value>,
}

impl<R: tokio::io::AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    pub fn new(read: R, write: W) -> Self {
        Client {
            read: BufReader::new(read),
            write,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    async fn send(&mut self, message: Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.write.write_all(frame.as_bytes()).await.unwrap();
        self.write.flush().await.unwrap();
    }

    async fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(PATIENCE, self.read.read_line(&mut line))
                .await
                .expect("the server answers")
                .unwrap();
            assert!(n > 0, "the server closed the stream");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.read.read_exact(&mut body).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request and waits for its response (result or error).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let message = self.receive().await;
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return message;
            }
            self.other(message).await;
        }
    }

    /// A request's result, failing the test on an error.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    async fn other(&mut self, message: Value) {
        if message.get("id").is_some() && message.get("method").is_some() {
            // A request from the server (registerCapability): accept it.
            let id = message["id"].clone();
            self.send(json!({"jsonrpc": "2.0", "id": id, "result": null}))
                .await;
        }
        self.notifications.push(message);
    }

    /// Waits for the next `publishDiagnostics` for `uri`.
    pub async fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let found = self.notifications.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            });
            if let Some(i) = found {
                let n = self.notifications.remove(i);
                return n["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            let message = self.receive().await;
            self.other(message).await;
        }
    }

    /// Drops the diagnostics published so far.
    pub fn forget_diagnostics(&mut self) {
        self.notifications
            .retain(|n| n["method"] != "textDocument/publishDiagnostics");
    }

    pub async fn initialize(&mut self, root: &str) -> Value {
        let result = self
            .call(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": root,
                    "workspaceFolders": [{"uri": root, "name": "flags"}],
                    "capabilities": {
                        "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}},
                        "textDocument": {"publishDiagnostics": {"relatedInformation": true}}
                    }
                }),
            )
            .await;
        self.notify("initialized", json!({})).await;
        result
    }

    pub async fn shutdown(&mut self) {
        let result = self.call("shutdown", Value::Null).await;
        assert_eq!(result, Value::Null);
        self.notify("exit", Value::Null).await;
    }
}

/// `{"textDocument": {"uri": ..}, "position": {..}}`.
pub fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}

/// The UTF-16 position of the first `needle` in `text`, plus `plus` units.
pub fn position_of(text: &str, needle: &str, plus: u32) -> (u32, u32) {
    let offset = text.find(needle).expect("the needle is in the text");
    let line = text[..offset].matches('\n').count() as u32;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let character = text[line_start..offset].encode_utf16().count() as u32;
    (line, character + plus)
}

/// The shop used by the server tests: a schema, and flags with a typo on a
/// line that holds non-ASCII text before it.
pub const SCHEMA: &str = "/// A shopper.\ncontext user {\n  key id: string\n  /// ISO 3166 code.\n  country: string\n  city: string\n  plan: enum { free, pro }\n}\n\nsegment pros {\n  user.plan == pro\n}\n";

pub const FLAGS: &str = "/// Same-day delivery.\nflag same-day: bool {\n  kind release\n  default false\n  rule munich: when user.city == \"München 🚀\" and user.contry == \"DE\" => true\n  rule when pros => 10% by user.id\n}\n\ntest \"munich\" {\n  expect same-day rule munich\n}\n";
