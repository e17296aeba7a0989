import type { Config } from "@react-router/dev/config";

export default {
  // Every request is rendered on the server: flags are per request.
  ssr: true,
  // React Router 8's behaviour, already (and no warnings about it).
  future: {
    v8_middleware: true,
    v8_passThroughRequests: true,
    v8_splitRouteModules: true,
    v8_trailingSlashAwareDataRequests: true,
    v8_viteEnvironmentApi: true,
  },
} satisfies Config;
