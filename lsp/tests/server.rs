//! The server in-process, over a duplex pipe: the whole protocol round,
//! with positions in UTF-16 after non-ASCII text.

// Test helpers outside #[test] functions fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use support::{at, position_of, Client, FLAGS, SCHEMA};
use tower_lsp_server::ls_types::Uri;
use vexil_lsp::LspPositions;

struct Shop {
    _dir: tempfile::TempDir,
    root: String,
    schema: String,
    flags: String,
}

fn shop() -> Shop {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.flag"), SCHEMA).unwrap();
    std::fs::write(dir.path().join("flags.flag"), FLAGS).unwrap();
    let uri = |p: &str| {
        Uri::from_file_path(dir.path().join(p))
            .unwrap()
            .as_str()
            .to_string()
    };
    Shop {
        root: Uri::from_file_path(dir.path())
            .unwrap()
            .as_str()
            .to_string(),
        schema: uri("schema.flag"),
        flags: uri("flags.flag"),
        _dir: dir,
    }
}

/// Applies LSP text edits (as JSON) to `text`, last first.
fn apply(text: &str, edits: &[Value]) -> String {
    let index = vexil_compiler::syntax::LineIndex::new(text);
    let mut edits: Vec<(u32, u32, String)> = edits
        .iter()
        .map(|e| {
            let pos = |p: &Value| {
                index.offset(text, serde_json::from_value(p.clone()).expect("a position"))
            };
            (
                pos(&e["range"]["start"]),
                pos(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, new) in edits {
        out.replace_range(start as usize..end as usize, &new);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_initialize_to_exit() {
    let shop = shop();
    let (client_end, server_end) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_end);
    let server = tokio::spawn(vexil_lsp::serve(server_read, server_write));
    let (client_read, client_write) = tokio::io::split(client_end);
    let mut c = Client::new(client_read, client_write);

    let init = c.initialize(&shop.root).await;
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(
        init["capabilities"]["renameProvider"]["prepareProvider"],
        true
    );

    // The files on disk are checked before any is opened.
    let diagnostics = c.diagnostics(&shop.flags).await;
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let typo = &diagnostics[0];
    assert_eq!(typo["code"], "E0102");
    assert_eq!(typo["source"], "vexil");
    assert_eq!(
        typo["message"],
        "unknown field `contry` in context `user`\nhelp: did you mean `country`?"
    );
    // After `"München 🚀"`: the rocket is two UTF-16 units.
    let (line, character) = position_of(FLAGS, "contry", 0);
    assert_eq!(
        typo["range"]["start"],
        json!({"line": line, "character": character})
    );
    assert_eq!(
        typo["range"]["end"],
        json!({"line": line, "character": character + 6})
    );

    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": shop.flags, "languageId": "vexil", "version": 1, "text": FLAGS}}),
    )
    .await;

    // Hover on a field after the non-ASCII text.
    let (line, character) = position_of(FLAGS, "city ==", 1);
    let hover = c
        .call("textDocument/hover", at(&shop.flags, line, character))
        .await;
    assert_eq!(
        hover["contents"]["value"],
        "```vexil\nuser.city: string\n```\n"
    );
    let (line, start) = position_of(FLAGS, "city ==", 0);
    assert_eq!(
        hover["range"]["start"],
        json!({"line": line, "character": start})
    );

    // Definition and references of a segment, across files.
    let (line, character) = position_of(FLAGS, "pros =>", 2);
    let definition = c
        .call("textDocument/definition", at(&shop.flags, line, character))
        .await;
    assert_eq!(definition[0]["uri"], shop.schema);
    assert_eq!(definition[0]["range"]["start"]["line"], 9);
    let mut params = at(&shop.flags, line, character);
    params["context"] = json!({"includeDeclaration": true});
    let references = c.call("textDocument/references", params).await;
    assert_eq!(references.as_array().unwrap().len(), 2, "{references:#}");

    // Completion of the misspelt field replaces it whole.
    let (line, character) = position_of(FLAGS, "contry", 3);
    let completion = c
        .call("textDocument/completion", at(&shop.flags, line, character))
        .await;
    let country = completion
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "country")
        .expect("`country` is offered");
    assert_eq!(country["detail"], "string");
    assert_eq!(country["documentation"]["value"], "ISO 3166 code.");
    let (_, start) = position_of(FLAGS, "contry", 0);
    assert_eq!(country["textEdit"]["range"]["start"]["character"], start);
    assert_eq!(country["textEdit"]["range"]["end"]["character"], start + 6);

    // The quick fix, applied as the editor would, clears the diagnostic.
    let (line, character) = position_of(FLAGS, "contry", 0);
    let actions = c
        .call(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": shop.flags},
                "range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}},
                "context": {"diagnostics": [typo]}
            }),
        )
        .await;
    let action = &actions[0];
    assert_eq!(action["title"], "Replace with `country`");
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(action["diagnostics"][0]["code"], "E0102");
    let edits = action["edit"]["changes"][&shop.flags]
        .as_array()
        .unwrap()
        .clone();
    let fixed = apply(FLAGS, &edits);
    assert!(fixed.contains("user.country == \"DE\""));
    c.forget_diagnostics();
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": shop.flags, "version": 2},
            "contentChanges": edits.iter().map(|e| json!({"range": e["range"], "text": e["newText"]})).collect::<Vec<_>>()
        }),
    )
    .await;
    assert_eq!(c.diagnostics(&shop.flags).await, Vec::<Value>::new());

    // Rename a rule: its declaration and the test that names it.
    let (line, character) = position_of(&fixed, "munich:", 1);
    let mut params = at(&shop.flags, line, character);
    let range = c.call("textDocument/prepareRename", params.clone()).await;
    assert_eq!(range["start"]["character"], character - 1);
    params["newName"] = json!("bavaria");
    let rename = c.call("textDocument/rename", params).await;
    let edits = rename["changes"][&shop.flags].as_array().unwrap().clone();
    assert_eq!(edits.len(), 2);
    let renamed = apply(&fixed, &edits);
    assert!(renamed.contains("rule bavaria:") && renamed.contains("rule bavaria\n"));

    // A refused rename says why.
    let mut params = at(&shop.flags, line, character);
    params["newName"] = json!("not");
    let refused = c.request("textDocument/rename", params).await;
    assert_eq!(refused["error"]["message"], "`not` is a reserved word");

    // Formatting is idempotent.
    let edits = c
        .call(
            "textDocument/formatting",
            json!({"textDocument": {"uri": shop.flags}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    let formatted = apply(&fixed, edits.as_array().unwrap());
    assert!(formatted.contains("rule munich: when"), "{formatted}");

    // Outline, workspace symbols, semantic tokens.
    let outline = c
        .call(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": shop.flags}}),
        )
        .await;
    assert_eq!(outline[0]["name"], "same-day");
    assert_eq!(outline[0]["children"][0]["name"], "munich");
    let symbols = c.call("workspace/symbol", json!({"query": "pro"})).await;
    assert_eq!(symbols[0]["name"], "pros");
    let tokens = c
        .call(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": shop.flags}}),
        )
        .await;
    let data = tokens["data"].as_array().unwrap();
    assert!(!data.is_empty() && data.len() % 5 == 0);

    // Editing the schema re-checks the file that reads it: `city` goes.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": shop.schema, "languageId": "vexil", "version": 1, "text": SCHEMA}}),
    )
    .await;
    let (line, character) = position_of(SCHEMA, "city", 0);
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": shop.schema, "version": 2},
            "contentChanges": [{"range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character + 4}}, "text": "town"}]
        }),
    )
    .await;
    let diagnostics = c.diagnostics(&shop.flags).await;
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(
        diagnostics[0]["message"],
        "unknown field `city` in context `user`\nhelp: declared: `id`, `country`, `town` and `plan`"
    );

    // A file created outside the editor arrives through the watcher.
    let added = std::path::Path::new(&shop.root.trim_start_matches("file://")).join("new.flag");
    std::fs::write(&added, "segment s {\n  user.plna == pro\n}\n").unwrap();
    let added_uri = Uri::from_file_path(&added).unwrap().as_str().to_string();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": added_uri, "type": 1}]}),
    )
    .await;
    let diagnostics = c.diagnostics(&added_uri).await;
    assert_eq!(diagnostics[0]["code"], "E0102", "{diagnostics:#?}");

    // A name declared twice: the error points at the first declaration,
    // in another file, as a related location.
    // (Named to sort after `schema.flag`: "first" is in workspace order.)
    let dup = added.with_file_name("zz-dup.flag");
    std::fs::write(&dup, "segment pros {\n  true\n}\n").unwrap();
    let dup_uri = Uri::from_file_path(&dup).unwrap().as_str().to_string();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": dup_uri, "type": 1}]}),
    )
    .await;
    let diagnostics = c.diagnostics(&dup_uri).await;
    assert_eq!(diagnostics[0]["code"], "E0107", "{diagnostics:#?}");
    let related = &diagnostics[0]["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], shop.schema);
    assert_eq!(
        related["location"]["range"]["start"],
        json!({"line": 9, "character": 8})
    );
    assert_eq!(related["message"], "first declared here");
    std::fs::remove_file(&dup).unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": dup_uri, "type": 3}]}),
    )
    .await;
    assert_eq!(c.diagnostics(&dup_uri).await, Vec::<Value>::new());

    // Closing a document brings back the disk's text: the typo again.
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": shop.flags}}),
    )
    .await;
    let diagnostics = c.diagnostics(&shop.flags).await;
    let codes: Vec<&Value> = diagnostics.iter().map(|d| &d["code"]).collect();
    assert_eq!(codes, ["E0102", "E0102"], "{diagnostics:#?}");

    // Range formatting touches only the items in the range.
    let messy = "segment  a {\n  true\n}\nsegment   b {\n  true\n}\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": added_uri, "languageId": "vexil", "version": 1, "text": messy}}),
    )
    .await;
    let edits = c
        .call(
            "textDocument/rangeFormatting",
            json!({
                "textDocument": {"uri": added_uri},
                "range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 3}},
                "options": {"tabSize": 2, "insertSpaces": true}
            }),
        )
        .await;
    let formatted = apply(messy, edits.as_array().unwrap());
    assert!(formatted.starts_with("segment  a {"), "{formatted}");
    assert!(formatted.contains("segment b {"), "{formatted}");

    c.shutdown().await;
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conventions_come_from_the_project_file() {
    let dir = tempfile::tempdir().unwrap();
    let flags = dir.path().join("ops.flag");
    std::fs::write(
        &flags,
        "flag kill-payments: bool {\n  kind operational\n  default false\n}\n",
    )
    .unwrap();
    let toml = dir.path().join("vexil.toml");
    std::fs::write(&toml, "[conventions]\n").unwrap();
    let uri = |p: &std::path::Path| Uri::from_file_path(p).unwrap().as_str().to_string();
    let root = uri(dir.path());
    let (client_end, server_end) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_end);
    let server = tokio::spawn(vexil_lsp::serve(server_read, server_write));
    let (client_read, client_write) = tokio::io::split(client_end);
    let mut c = Client::new(client_read, client_write);
    c.initialize(&root).await;

    // As `vexil check` says: the project requires an owner.
    let diagnostics = c.diagnostics(&uri(&flags)).await;
    let codes: Vec<&Value> = diagnostics.iter().map(|d| &d["code"]).collect();
    assert_eq!(codes, ["W0102"], "{diagnostics:#?}");
    assert_eq!(
        diagnostics[0]["message"],
        "flag `kill-payments` has no owner\nhelp: add `owner \"team\"`"
    );

    // The project file changes on disk: the warning goes.
    std::fs::write(&toml, "[conventions]\nrequire_owner = false\n").unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&toml), "type": 2}]}),
    )
    .await;
    assert_eq!(c.diagnostics(&uri(&flags)).await, Vec::<Value>::new());

    c.shutdown().await;
    server.await.unwrap();
}
