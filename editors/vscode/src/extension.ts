// The Vexil extension: the language client for `vexil lsp`. Everything the
// editor shows (diagnostics, hover, completion, rename, formatting,
// semantic colours) comes from the server; this file only starts it.

import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function serverOptions(): ServerOptions {
  const command =
    vscode.workspace.getConfiguration("vexil").get<string>("server.path") || "vexil";
  return { command, args: ["lsp"], transport: TransportKind.stdio };
}

async function start(): Promise<void> {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "vexil" },
      { scheme: "untitled", language: "vexil" },
    ],
    // The server asks the editor to watch `**/*.flag` itself, so files
    // changed outside the editor (a pull, a generator) are seen too.
  };
  client = new LanguageClient("vexil", "Vexil", serverOptions(), clientOptions);
  try {
    await client.start();
  } catch (error) {
    const setting = "vexil.server.path";
    const choice = await vscode.window.showErrorMessage(
      `Cannot start the Vexil language server (\`vexil lsp\`): ${error}. ` +
        `Install the \`vexil\` CLI or set \`${setting}\`.`,
      "Open settings",
    );
    if (choice === "Open settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", setting);
    }
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("vexil.restartServer", async () => {
      await client?.stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("vexil.server.path")) {
        await client?.stop();
        await start();
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
