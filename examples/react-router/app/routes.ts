import { index, type RouteConfig } from "@react-router/dev/routes";

export default [index("routes/checkout.tsx")] satisfies RouteConfig;
