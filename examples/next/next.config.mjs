// `@vexil/react` is installed from ../../sdk/js (a link into the
// repository), so the repository is the root Turbopack may read from.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** @type {import('next').NextConfig} */
export default {
  turbopack: { root: join(here, "../..") },
  // A native addon: loaded by Node at run time, never bundled.
  serverExternalPackages: ["@vexil/node"],
  // The example must not call home: no telemetry, no image service.
  images: { unoptimized: true },
  poweredByHeader: false,
};
