//! The protocol surface: capabilities, and each request handed to the
//! writer as a query on a snapshot (`handlers.rs`). Document changes do not
//! come through here but through `ordered.rs`, in read order.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{self as lsp, *};
use tower_lsp_server::{Client, LanguageServer};

use crate::convert::{TOKEN_MODIFIERS, TOKEN_TYPES};
use crate::handlers;
use crate::host::{path_of, Change, Snapshot};
use crate::writer::{JobError, Writer};

pub struct Backend {
    pub(crate) client: Client,
    pub(crate) writer: Writer,
    /// Whether to ask the client to watch `.flag` files for us.
    watch_files: AtomicBool,
    /// Set once the client said `initialized`: diagnostics are published
    /// from then on (see `serve`).
    ready: watch::Sender<bool>,
}

impl Backend {
    pub fn new(client: Client, writer: Writer, ready: watch::Sender<bool>) -> Backend {
        Backend {
            client,
            writer,
            watch_files: AtomicBool::new(false),
            ready,
        }
    }

    /// Runs a handler on a snapshot taken after every change sent so far.
    async fn query<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Snapshot) -> T + Send + 'static,
    {
        self.writer.query(f).await.map_err(|e| match e {
            // The document changed while we were computing: the answer
            // would be stale, and the editor asks again if it still cares.
            JobError::Cancelled => Error::new(ErrorCode::ContentModified),
            JobError::Panicked(message) => Error {
                code: ErrorCode::InternalError,
                message: format!("internal error (please report it): {message}").into(),
                data: None,
            },
            JobError::Stopped => Error::internal_error(),
        })
    }
}

/// An error the editor shows to the user, like a refused rename.
fn request_failed(message: String) -> Error {
    Error {
        code: ErrorCode::ServerError(-32803),
        message: message.into(),
        data: None,
    }
}

pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into()]),
            ..Default::default()
        }),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_range_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..Default::default()
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: SemanticTokensLegend {
                    token_types: TOKEN_TYPES
                        .iter()
                        .map(|t| SemanticTokenType::new(t))
                        .collect(),
                    token_modifiers: TOKEN_MODIFIERS
                        .iter()
                        .map(|m| SemanticTokenModifier::new(m))
                        .collect(),
                },
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: Some(true),
                ..Default::default()
            },
        )),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..Default::default()
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let mut roots: Vec<Uri> = params
            .workspace_folders
            .unwrap_or_default()
            .into_iter()
            .map(|f| f.uri)
            .collect();
        #[allow(deprecated)] // Older clients send only `rootUri`.
        if roots.is_empty() {
            roots.extend(params.root_uri);
        }
        for root in roots {
            self.writer.change(Change::AddRoot(path_of(&root).into()));
        }
        let dynamic_watch = params
            .capabilities
            .workspace
            .and_then(|w| w.did_change_watched_files)
            .and_then(|w| w.dynamic_registration)
            .unwrap_or(false);
        self.watch_files.store(dynamic_watch, Ordering::Relaxed);
        Ok(InitializeResult {
            capabilities: capabilities(),
            server_info: Some(ServerInfo {
                name: "vexil".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.ready.send_replace(true);
        if !self.watch_files.load(Ordering::Relaxed) {
            return;
        }
        // Files changed outside the editor (a `git pull`, a generator) must
        // reach the workspace too.
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: vec![
                FileSystemWatcher {
                    glob_pattern: GlobPattern::String("**/*.flag".into()),
                    kind: None,
                },
                // The project's conventions.
                FileSystemWatcher {
                    glob_pattern: GlobPattern::String("**/vexil.toml".into()),
                    kind: None,
                },
            ],
        };
        let registration = Registration {
            id: "vexil-flag-files".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(options).ok(),
        };
        if let Err(e) = self.client.register_capability(vec![registration]).await {
            self.client
                .log_message(
                    MessageType::WARNING,
                    format!("cannot watch .flag files: {e}"),
                )
                .await;
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<lsp::Hover>> {
        let p = params.text_document_position_params;
        self.query(move |s| handlers::hover(s, p)).await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let found = self.query(move |s| handlers::definition(s, p)).await?;
        Ok(found.map(GotoDefinitionResponse::Array))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<lsp::Location>>> {
        self.query(move |s| handlers::references(s, params)).await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        self.query(move |s| handlers::completion(s, params)).await
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        self.query(move |s| handlers::prepare_rename(s, params))
            .await?
            .map_err(request_failed)
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let result = self
            .query(move |s| handlers::rename(s, params))
            .await?
            .map_err(request_failed)?;
        let Some((edit, notes)) = result else {
            return Ok(None);
        };
        for note in notes {
            self.client.show_message(MessageType::INFO, note).await;
        }
        Ok(Some(edit))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let uri = params.text_document.uri;
        let result = self.query(move |s| handlers::formatting(s, &uri)).await?;
        self.format_result(result).await
    }

    async fn range_formatting(
        &self,
        params: DocumentRangeFormattingParams,
    ) -> Result<Option<Vec<TextEdit>>> {
        let (uri, range) = (params.text_document.uri, params.range);
        let result = self
            .query(move |s| handlers::range_formatting(s, &uri, range))
            .await?;
        self.format_result(result).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        self.query(move |s| handlers::code_actions(s, params)).await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let uri = params.text_document.uri;
        self.query(move |s| handlers::document_symbols(s, &uri))
            .await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        self.query(move |s| handlers::workspace_symbols(s, &params.query))
            .await
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let uri = params.text_document.uri;
        let tokens = self
            .query(move |s| handlers::semantic_tokens(s, &uri, None))
            .await?;
        Ok(tokens.map(SemanticTokensResult::Tokens))
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        let (uri, range) = (params.text_document.uri, params.range);
        let tokens = self
            .query(move |s| handlers::semantic_tokens(s, &uri, Some(range)))
            .await?;
        Ok(tokens.map(SemanticTokensRangeResult::Tokens))
    }
}

impl Backend {
    /// A file with syntax errors is left as it is, like `vexil fmt` does;
    /// saying so in the log beats an error pop-up on every save.
    async fn format_result(
        &self,
        result: std::result::Result<Option<Vec<TextEdit>>, String>,
    ) -> Result<Option<Vec<TextEdit>>> {
        match result {
            Ok(edits) => Ok(edits),
            Err(message) => {
                self.client.log_message(MessageType::INFO, message).await;
                Ok(None)
            }
        }
    }
}
