import { reactRouter } from "@react-router/dev/vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [reactRouter()],
  // `@vexil/react` is linked from ../../sdk/js, which has React and the
  // OpenFeature SDKs in its own node_modules: one copy of each, this app's.
  resolve: { dedupe: ["react", "react-dom", "@openfeature/web-sdk", "@openfeature/react-sdk"] },
  // Bundled into the server build, so the server resolves them as the
  // browser does (from this app).
  ssr: { noExternal: ["@vexil/react"] },
  // The example must not call home, nor anything else.
  server: { host: "127.0.0.1" },
});
