#!/usr/bin/env python3
"""Writes `shop-unleash.json`: examples/shop's flags in Unleash's client
features format (version 2, with segments), for Unleash Edge's offline mode.

The translation is by hand, rule by rule, as faithful as Unleash can express
(BENCHMARKS.md lists what differs). Vexil's typed contexts become Unleash's
flat context: `user.id` is `userId`, every other field a string property
(`context.json` shows the mapping for the benchmark's shopper):

    user.email -> email          user.tier -> tier         user.orders -> orders
    user.lifetime_spend -> lifetimeSpend                   user.beta -> beta
    user.terms_version -> termsVersion                     user.created_at -> createdAt
    user.roles -> roles (",a,b," so that a role is a STR_CONTAINS of ",a,")
    user.company -> company      user.age -> age           user.last_order_at -> lastOrderAt
    env.name -> envName          env.region -> region
    device.platform -> platform  device.os_version -> osVersion
    device.app_version -> appVersion                       device.model -> model
    location.country -> country  location.city -> city     now -> currentTime

Unleash has no first-match "=> false" rule: a rule that serves `false` (or
sheds) is translated by adding its negation to every later strategy (one
strategy per disjunct). Non-boolean flags get their values as variant
payloads, and a last strategy without constraints serves the default, so
that every flag answers a value as Vexil's do.

Run: python3 bench/server/unleash_bootstrap.py  (rewrites the JSON beside it)
"""

import json
import os

EU = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]


def c(name, op, values=None, value=None, ci=False, inv=False):
    out = {"contextName": name, "operator": op, "caseInsensitive": ci, "inverted": inv}
    if values is not None:
        out["values"] = values
    if value is not None:
        out["value"] = value
    return out


def is_set(name):
    # Every string contains "": true exactly when the property is present.
    return c(name, "STR_CONTAINS", values=[""])


def gte_semver(name, v):
    # No SEMVER_GTE in Unleash: not (x < v). True when x is missing, so
    # callers add is_set where Vexil's field is optional.
    return c(name, "SEMVER_LT", value=v, inv=True)


def role(*roles):
    return c("roles", "STR_CONTAINS", values=[f",{r}," for r in roles])


# Segments: disjunctive normal forms (lists of conjunctions).
STAFF = [
    [c("email", "STR_ENDS_WITH", values=["@shop.example"], ci=True)],
    [role("staff")],
]
# `^qa\+[0-9]+@shop-test\.example$`: no regex operator in Unleash.
QA = [[
    c("email", "STR_STARTS_WITH", values=["qa+"], ci=True),
    c("email", "STR_ENDS_WITH", values=["@shop-test.example"], ci=True),
]]
INTERNAL = STAFF + QA
# not internal, as one conjunction (the qa part loosened to "not qa+...").
NOT_INTERNAL = [[
    c("email", "STR_ENDS_WITH", values=["@shop.example"], ci=True, inv=True),
    role("staff") | {"inverted": True},
    c("email", "STR_STARTS_WITH", values=["qa+"], ci=True, inv=True),
]]
# `^anon-[0-9a-f]{16}$`
ANONYMOUS = [[c("userId", "STR_STARTS_WITH", values=["anon-"])]]
NOT_ANONYMOUS = [[c("userId", "STR_STARTS_WITH", values=["anon-"], inv=True)]]
EU_SEG = [[c("country", "IN", values=EU)]]
TIER_SILVER_UP = c("tier", "IN", values=["silver", "gold", "platinum"])
TIER_GOLD_UP = c("tier", "IN", values=["gold", "platinum"])
HIGH_VALUE = [[TIER_GOLD_UP], [c("lifetimeSpend", "NUM_GTE", value="2000")]]
BUSINESS = [[is_set("company")]]
# DATE_AFTER is strict: Vexil's `>=` at the exact instant differs.
NEWCOMER = [
    [c("createdAt", "DATE_AFTER", value="2026-09-01T00:00:00Z")],
    [c("orders", "NUM_EQ", value="0")],
]
MOBILE_APP = [[c("platform", "IN", values=["ios", "android"])]]
EARLY_ACCESS = [[c("beta", "IN", values=["true"])]] + INTERNAL
ANY = [[]]


def AND(*dnfs):
    """Conjunction of disjunctive normal forms."""
    out = [[]]
    for d in dnfs:
        out = [a + b for a in out for b in d]
    return out


VIP = AND(HIGH_VALUE, NOT_INTERNAL)


def payload(kind, value):
    if kind == "json":
        return {"type": "json", "value": json.dumps(value, separators=(",", ":"))}
    if kind in ("int", "float"):
        return {"type": "number", "value": json.dumps(value)}
    return {"type": "string", "value": value}


class Flag:
    def __init__(self, name, kind="bool", enabled=True, group=None, variants=None, ftype="release"):
        self.name = name
        self.kind = kind
        self.enabled = enabled
        self.group = group or name
        self.values = variants or {}
        self.strategies = []
        self.deny = ANY  # negations of earlier "=> false" rules, as DNF
        self.dependencies = []
        self.ftype = ftype

    def variant(self, name, weight=1000, value=None):
        if value is None:
            value = self.values[name]
        return {
            "name": name,
            "weight": weight,
            "weightType": "variable",
            "stickiness": "userId",
            "payload": payload(self.kind, value),
        }

    def rule(self, dnf, rollout=100, variants=None):
        for conj in AND(dnf, self.deny):
            self.strategies.append({
                "name": "flexibleRollout",
                "constraints": conj,
                "parameters": {
                    "rollout": str(rollout),
                    "stickiness": "userId",
                    "groupId": self.group,
                },
                "variants": variants or [],
            })
        return self

    def off(self, negation_dnf):
        """A rule that serves false: later rules need its negation."""
        self.deny = AND(self.deny, negation_dnf)
        return self

    def default(self, name, value=None):
        return self.rule(ANY, variants=[self.variant(name, value=value)])

    def to_json(self):
        out = {
            "name": self.name,
            "type": self.ftype,
            "enabled": self.enabled,
            "project": "default",
            "impressionData": False,
            "strategies": [dict(s, sortOrder=i) for i, s in enumerate(self.strategies)],
            "variants": [],
        }
        if self.dependencies:
            out["dependencies"] = self.dependencies
        return out


def flags():
    out = []

    f = Flag("search-ranking", "string", ftype="experiment",
             variants={"classic": "bm25", "semantic": "vector-v2", "hybrid": "hybrid-v1"})
    f.rule(INTERNAL, variants=[f.variant("hybrid")])
    f.rule(AND([[c("envName", "IN", values=["production"])]], [[c("company", "STR_CONTAINS", values=[""], inv=True)]]),
           variants=[f.variant("classic", 500), f.variant("semantic", 250), f.variant("hybrid", 250)])
    f.default("classic")
    out.append(f)

    f = Flag("product-page-v3")
    # tablets: model is set and model icontains "ipad" => false
    f.off([[c("model", "STR_CONTAINS", values=["ipad"], ci=True, inv=True)]])
    f.rule(EARLY_ACCESS)
    # pixels: `imatches "^pixel [89]( pro)?$"`, as the four models (IN is case-sensitive)
    f.rule([[c("platform", "IN", values=["android"]),
             c("model", "IN", values=["Pixel 8", "Pixel 8 Pro", "Pixel 9", "Pixel 9 Pro"])]])
    f.rule([[c("platform", "IN", values=["ios"]), gte_semver("osVersion", "17.0.0"),
             is_set("appVersion"), gte_semver("appVersion", "5.6.0")]])
    web = Flag("product-page-v3", group="ppv3-web")
    web.deny = f.deny
    web.rule([[c("platform", "IN", values=["web"])]], rollout=50)
    f.strategies += web.strategies
    out.append(f)

    f = Flag("wishlist-sharing", enabled=False)
    f.rule(EARLY_ACCESS)
    f.rule([[c("country", "IN", values=["DE", "AT", "CH"])]], rollout=50)
    out.append(f)

    f = Flag("recommendation-slots", "int", ftype="experiment")
    f.rule(VIP, variants=[f.variant("vips", value=8)])
    f.rule(ANY, rollout=20, variants=[f.variant("more", value=6)])
    f.default("default", 4)
    out.append(f)

    f = Flag("age-restricted-catalog", ftype="permission")
    # unverified (age not set => false): the later rules need an age anyway.
    f.rule([[c("country", "IN", values=["US"]), c("age", "NUM_GTE", value="21")]])
    f.rule([[c("country", "NOT_IN", values=["US", "SA", "AE", "QA", "KW"]),
             c("age", "NUM_GTE", value="18")]])
    out.append(f)

    f = Flag("same-day-delivery")
    f.rule([[c("city", "IN", values=["Berlin", "Hamburg", "Paris", "Amsterdam"])]])
    f.rule([[c("city", "STR_STARTS_WITH", values=["münchen"], ci=True)]])
    out.append(f)

    f = Flag("payments-v2")
    f.rule(INTERNAL)
    f.rule([[c("envName", "IN", values=["development", "staging"])]])
    f.rule(EU_SEG, rollout=30)
    f.rule([[c("country", "IN", values=["US"])]], rollout=10)
    out.append(f)

    f = Flag("new-checkout")
    f.dependencies = [{"feature": "payments-v2", "enabled": True}]
    f.rule(INTERNAL)
    # old-apps: mobile app with app_version < 5.4.0 => false
    f.off([[c("platform", "NOT_IN", values=["ios", "android"])], [gte_semver("appVersion", "5.4.0")]])
    f.rule([[c("currentTime", "DATE_AFTER", value="2026-12-01T08:00:00Z"),
             c("country", "IN", values=["US", "CA"])]])
    f.rule(AND([[c("currentTime", "DATE_AFTER", value="2027-01-11T00:00:00Z")]], EU_SEG), rollout=50)
    out.append(f)

    f = Flag("payment-provider", "string", ftype="operational",
             variants={"stripe": "stripe", "adyen": "adyen"})
    f.rule(EU_SEG + [[c("country", "IN", values=["GB", "CH", "NO"])]], variants=[f.variant("adyen")])
    f.default("stripe")
    out.append(f)

    f = Flag("express-checkout")
    f.dependencies = [
        {"feature": "new-checkout", "enabled": True},
        {"feature": "payment-provider", "enabled": True, "variants": ["adyen"]},
        {"feature": "payments-circuit-breaker", "enabled": False},
    ]
    f.off(NOT_ANONYMOUS)
    f.rule([[c("orders", "NUM_GTE", value="3"),
             c("lastOrderAt", "DATE_AFTER", value="2026-06-01T00:00:00Z")]])
    f.rule([[TIER_SILVER_UP, gte_semver("termsVersion", "3.0.0")]])
    out.append(f)

    f = Flag("free-shipping-threshold", "float", group="fst-2026q4", ftype="experiment",
             variants={"standard": 50.0, "lower": 35.0})
    f.rule([[TIER_GOLD_UP]], variants=[f.variant("members", value=0.0)])
    f.rule(AND(NEWCOMER, [[c("country", "IN", values=["DE", "NL", "AT"])]]),
           variants=[f.variant("standard", 500), f.variant("lower", 500)])
    f.default("standard")
    out.append(f)

    f = Flag("gift-options", "json", variants={
        "off": {"enabled": False},
        "standard": {"enabled": True, "papers": ["kraft", "white"], "price_eur": 3.5,
                     "message_max_chars": 200},
        "festive": {"enabled": True, "papers": ["festive-red", "festive-gold", "kraft"],
                    "price_eur": 0, "message_max_chars": 400},
    })
    f.rule([[c("currentTime", "DATE_AFTER", value="2026-12-01T00:00:00Z"),
             c("currentTime", "DATE_BEFORE", value="2026-12-27T00:00:00Z")]],
           variants=[f.variant("festive")])
    f.rule([[TIER_SILVER_UP]], variants=[f.variant("standard")])
    f.default("off")
    out.append(f)

    # Experiments: the `checkout` layer's mutual exclusion cannot be said in
    # Unleash; both take their traffic from the same groupId's buckets.
    f = Flag("checkout-layout", "string", group="checkout", ftype="experiment",
             variants={"multi-page": "multi-page", "one-page": "one-page"})
    f.rule(AND([[c("currentTime", "DATE_AFTER", value="2026-12-01T00:00:00Z"),
                 c("currentTime", "DATE_BEFORE", value="2027-01-15T00:00:00Z"),
                 c("country", "IN", values=["US", "CA"])]], NOT_INTERNAL), rollout=40,
           variants=[f.variant("multi-page", 500), f.variant("one-page", 500)])
    f.default("multi-page")
    out.append(f)

    f = Flag("shipping-promise", "string", group="checkout", ftype="experiment",
             variants={"hidden": "none", "delivery-date": "delivery-date", "countdown": "order-within"})
    f.rule([[c("currentTime", "DATE_AFTER", value="2026-12-08T00:00:00Z"),
             c("currentTime", "DATE_BEFORE", value="2027-02-01T00:00:00Z"),
             c("country", "IN", values=["US", "CA", "GB"]),
             c("orders", "NUM_GTE", value="1")]], rollout=30,
           variants=[f.variant("hidden", 500), f.variant("delivery-date", 250),
                     f.variant("countdown", 250)])
    f.default("hidden")
    out.append(f)

    # A disabled toggle is Unleash's "always false".
    out.append(Flag("payments-circuit-breaker", enabled=False, ftype="kill-switch"))

    f = Flag("recommendations", ftype="kill-switch")
    # peak-shed: not vip and 2026-11-27 <= now < 2026-11-30T06 => false
    f.off(VIP + [[c("currentTime", "DATE_BEFORE", value="2026-11-27T00:00:00Z")],
                 [c("currentTime", "DATE_AFTER", value="2026-11-30T05:59:59Z")]])
    # old-android: android with os_version < 10.0.0 => false
    f.off([[c("platform", "NOT_IN", values=["android"])], [gte_semver("osVersion", "10.0.0")]])
    f.rule(ANY)
    out.append(f)

    f = Flag("search-timeout-ms", "int", ftype="operational")
    f.rule([[c("envName", "IN", values=["development"])]], variants=[f.variant("dev", value=5000)])
    f.rule([[c("region", "STR_STARTS_WITH", values=["ap-"], ci=True)],
            [c("region", "IN", values=["sa-east-1"])]], variants=[f.variant("far", value=1200)])
    f.rule([[c("envName", "IN", values=["staging"])]], variants=[f.variant("staging", value=2000)])
    f.default("default", 800)
    out.append(f)

    f = Flag("maintenance-banner", "json", ftype="operational")
    f.rule([[c("currentTime", "DATE_AFTER", value="2026-12-06T00:59:59Z"),
             c("currentTime", "DATE_BEFORE", value="2026-12-06T05:00:00Z")]],
           variants=[f.variant("db-migration", value={
               "show": True, "severity": "warning",
               "text": "Order history is read-only until 06:00 CET."})])
    f.rule([[c("envName", "IN", values=["staging"])]], variants=[f.variant("staging-notice", value={
        "show": True, "severity": "info", "text": "Staging: payments are simulated."})])
    f.default("default", {"show": False})
    out.append(f)

    f = Flag("image-quality", "float", ftype="operational")
    f.rule([[c("platform", "IN", values=["ios"]), c("osVersion", "SEMVER_LT", value="16.0.0")],
            [c("platform", "IN", values=["android"]), c("osVersion", "SEMVER_LT", value="12.0.0")]],
           variants=[f.variant("old-phones", value=0.6)])
    f.rule([[c("region", "STR_STARTS_WITH", values=["ap-"], ci=True)]],
           variants=[f.variant("apac-edge", value=0.75)])
    f.default("default", 0.85)
    out.append(f)

    f = Flag("refund-override", ftype="permission")
    f.rule(AND(STAFF, [[role("support-lead", "admin")]]))
    out.append(f)

    f = Flag("bulk-order-import", ftype="permission")
    f.rule([[c("company", "IN", values=["Acme Corp", "Globex", "Initech"])]])
    f.rule(AND(BUSINESS, [[TIER_GOLD_UP]]))
    out.append(f)

    f = Flag("admin-console", "string", ftype="permission")
    f.rule(AND(STAFF, [[role("admin")]]), variants=[f.variant("admins", value="write")])
    f.rule(AND(STAFF, [[role("support", "support-lead")]]), variants=[f.variant("support", value="read")])
    f.rule(AND(QA, [[c("envName", "NOT_IN", values=["production"])]]),
           variants=[f.variant("qa", value="read")])
    f.default("default", "none")
    out.append(f)

    return out


def main():
    features = [f.to_json() for f in flags()]
    doc = {"version": 2, "features": features}
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "shop-unleash.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=1, ensure_ascii=False)
        out.write("\n")
    strategies = sum(len(f["strategies"]) for f in features)
    print(f"{path}: {len(features)} features, {strategies} strategies")


if __name__ == "__main__":
    main()
