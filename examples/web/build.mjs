// Bundles the browser code and the server with esbuild. `@vexil/react` is
// linked from sdk/js, whose own node_modules holds a React for its type
// checks: every `react` import is aliased to this package's copy, so the
// page and the server run one React.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const modules = fileURLToPath(new URL("node_modules/", import.meta.url));
const common = {
  bundle: true,
  jsx: "automatic",
  logLevel: "warning",
  alias: { react: `${modules}react`, "react-dom": `${modules}react-dom` },
};
await build({
  ...common,
  entryPoints: ["src/client.tsx"],
  outfile: "dist/client.js",
  platform: "browser",
  format: "esm",
  target: "es2022",
  minify: true,
  define: { "process.env.NODE_ENV": '"production"' },
});
await build({
  ...common,
  entryPoints: ["src/server.tsx"],
  outfile: "dist/server.js",
  platform: "node",
  format: "esm",
  target: "node20",
  define: { "process.env.NODE_ENV": '"production"' },
  // React's CommonJS modules require Node's built-ins.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});
