//! `vexil lsp` end to end: the built binary over stdio, driven like an
//! editor would drive it. initialize, diagnostics of the files on disk,
//! open, hover, definition, references, completion, rename, formatting, a
//! change that fixes the error (and clears its diagnostic), shutdown, exit.

// Test helpers outside #[test] functions fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::{json, Value};

/// Long enough never to fire on a slow machine; only a hung server trips it.
const PATIENCE: Duration = Duration::from_secs(60);

const SCHEMA: &str = "context user {\n  key id: string\n  /// ISO 3166 code.\n  country: string\n  city: string\n}\n\nsegment french {\n  user.country == \"FR\"\n}\n";

/// A typo after non-ASCII text on the same line (`é` is one UTF-16 unit,
/// `🚀` two), so positions are wrong unless they are counted in UTF-16.
const FLAGS: &str = "/// Für Évry.\nflag cafe-banner: bool {\n  kind release\n  default false\n  rule when user.city == \"Évry 🚀\" and user.contry == \"FR\" => true\n  rule when french => 10% by user.id\n}\n\ntest \"banner\" {\n  expect cafe-banner == false\n}\n";

struct Server {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications not yet looked at.
    pending: Vec<Value>,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vexil"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start `vexil lsp`");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Server {
            child,
            stdin,
            messages,
            next_id: 1,
            pending: Vec::new(),
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let message = self
            .messages
            .recv_timeout(PATIENCE)
            .expect("the server answers");
        if message.get("id").is_some() && message.get("method").is_some() {
            // The server's own request (registerCapability): accept it.
            let id = message["id"].clone();
            self.send(json!({"jsonrpc": "2.0", "id": id, "result": null}));
        }
        message
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            self.pending.push(message);
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let found = self.pending.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            });
            if let Some(i) = found {
                let n = self.pending.remove(i);
                return n["params"]["diagnostics"].as_array().cloned().unwrap();
            }
            let message = self.receive();
            self.pending.push(message);
        }
    }
}

fn at(uri: &str, (line, character): (u32, u32)) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}

/// The UTF-16 position of the first `needle` in `text`, plus `plus` units.
fn position_of(text: &str, needle: &str, plus: u32) -> (u32, u32) {
    let offset = text.find(needle).unwrap();
    let line = text[..offset].matches('\n').count() as u32;
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    (
        line,
        text[start..offset].encode_utf16().count() as u32 + plus,
    )
}

fn file_uri(path: &std::path::Path) -> String {
    // Paths of a temporary directory: ASCII without spaces on the systems
    // this runs on, so no percent-encoding is needed.
    format!("file://{}", path.display())
}

#[test]
fn vexil_lsp_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("schema.flag"), SCHEMA).unwrap();
    std::fs::write(root.join("flags.flag"), FLAGS).unwrap();
    let (schema, flags) = (
        file_uri(&root.join("schema.flag")),
        file_uri(&root.join("flags.flag")),
    );

    let mut s = Server::start();
    let init = s.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": file_uri(&root),
            "workspaceFolders": [{"uri": file_uri(&root), "name": "flags"}],
            "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}}
        }),
    );
    assert_eq!(init["serverInfo"]["name"], "vexil");
    assert_eq!(init["capabilities"]["hoverProvider"], true);
    s.notify("initialized", json!({}));

    // Diagnostics of a file nobody opened, as `vexil check` words them.
    let diagnostics = s.diagnostics(&flags);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["code"], "E0102");
    assert_eq!(
        diagnostics[0]["message"],
        "unknown field `contry` in context `user`\nhelp: did you mean `country`?"
    );
    let (line, character) = position_of(FLAGS, "contry", 0);
    assert_eq!(
        diagnostics[0]["range"],
        json!({"start": {"line": line, "character": character}, "end": {"line": line, "character": character + 6}})
    );

    s.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": flags, "languageId": "vexil", "version": 1, "text": FLAGS}}),
    );

    // Hover: a field, after the non-ASCII text.
    let hover = s.request(
        "textDocument/hover",
        at(&flags, position_of(FLAGS, "contry ==", 0)),
    );
    assert_eq!(hover, Value::Null, "a misspelt field has nothing to show");
    let hover = s.request(
        "textDocument/hover",
        at(&flags, position_of(FLAGS, "city ==", 2)),
    );
    assert_eq!(
        hover["contents"]["value"],
        "```vexil\nuser.city: string\n```\n"
    );

    // Definition and references of a segment, across files.
    let definition = s.request(
        "textDocument/definition",
        at(&flags, position_of(FLAGS, "french =>", 1)),
    );
    assert_eq!(definition[0]["uri"], schema);
    assert_eq!(
        definition[0]["range"]["start"],
        json!({"line": 7, "character": 8})
    );
    let mut params = at(&flags, position_of(FLAGS, "french =>", 1));
    params["context"] = json!({"includeDeclaration": true});
    let references = s.request("textDocument/references", params);
    let uris: Vec<&str> = references
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    // In workspace order: files by path.
    assert_eq!(uris, [flags.as_str(), schema.as_str()]);

    // Completion of fields with their types and docs.
    let completion = s.request(
        "textDocument/completion",
        at(&flags, position_of(FLAGS, "contry", 0)),
    );
    let country = completion
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "country")
        .expect("`country` is offered");
    assert_eq!(country["detail"], "string");
    assert_eq!(country["documentation"]["value"], "ISO 3166 code.");

    // Rename the flag: its declaration and the test's expectation; the
    // rollout keeps its buckets through an explicit salt.
    let mut params = at(&flags, position_of(FLAGS, "cafe-banner: bool", 2));
    params["newName"] = json!("banner");
    let rename = s.request("textDocument/rename", params);
    let edits = rename["changes"][&flags].as_array().unwrap();
    let texts: Vec<&str> = edits
        .iter()
        .map(|e| e["newText"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["banner", "\n  salt \"cafe-banner\"", "banner"]);

    // The change that fixes the typo clears the diagnostic.
    s.pending.clear();
    let (line, character) = position_of(FLAGS, "contry", 0);
    s.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": flags, "version": 2},
            "contentChanges": [{
                "range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character + 6}},
                "text": "country"
            }]
        }),
    );
    assert_eq!(s.diagnostics(&flags), Vec::<Value>::new());

    // Formatting: the formatter of `vexil fmt`, applied to the open text.
    let formatting = s.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": flags}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = formatting.as_array().unwrap();
    let fixed = FLAGS.replace("contry", "country");
    let expected = vexil_fmt::format_source(&fixed).unwrap();
    if expected == fixed {
        assert!(edits.is_empty(), "{edits:?}");
    } else {
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0]["newText"], expected);
    }

    assert_eq!(s.request("shutdown", Value::Null), Value::Null);
    s.notify("exit", Value::Null);
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
