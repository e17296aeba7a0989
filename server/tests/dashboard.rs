//! The admin dashboard over HTTP, against a real server on a loopback
//! port: no page without a session, signing in with `viewer` and `admin`
//! keys only, the session cookie's attributes, security headers on every
//! answer, CSRF tokens on every write, a kill switch set and lifted from a
//! flag's page (served at once, audited with actor and reason), a viewer
//! refused (and the refusal audited), filters, and a reverse proxy's
//! identity header believed only from a trusted address.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{config, key_entries, shop, shopper, start, Server};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use vexil_server::Scope;

const ADMIN: &str = "admin-secret";
const VIEWER: &str = "viewer-secret";
const SERVER: &str = "server-secret";
const CLIENT: &str = "client-secret";

fn keyed() -> vexil_server::Config {
    let mut c = config(&shop());
    c.keys = key_entries(&[
        ("oncall", Scope::Admin, ADMIN),
        ("auditor", Scope::Viewer, VIEWER),
        ("backend", Scope::Server, SERVER),
        ("web", Scope::Client, CLIENT),
    ]);
    c
}

/// A browser-like client that does not follow redirects (so they can be
/// checked) and sends the cookie it was given.
struct Browser<'s> {
    server: &'s Server,
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Page {
    fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The value of the first hidden input named `name`.
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.text.find(&marker).expect("the field") + marker.len();
        let end = self.text[at..].find('"').expect("its end");
        self.text[at..at + end].to_string()
    }
}

impl<'s> Browser<'s> {
    fn new(server: &'s Server) -> Browser<'s> {
        Browser {
            server,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        Page {
            status,
            headers,
            text,
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(self.server.url(path))).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(self.http.post(self.server.url(path)).form(form))
            .await
    }

    /// Sign in with `key`; the answer to the form.
    async fn sign_in(&mut self, key: &str) -> Page {
        let page = self.post("/admin/login", &[("key", key)]).await;
        if let Some(set) = page.headers.get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            self.cookie = Some(pair.to_string());
        }
        page
    }
}

fn assert_secure_headers(page: &Page) {
    let h = |n: &str| {
        page.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert!(h("content-security-policy").contains("default-src 'self'"));
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
}

#[tokio::test]
async fn nothing_is_shown_without_a_session() {
    let server = start(keyed()).await;
    let browser = Browser::new(&server);
    for path in [
        "/admin/flags",
        "/admin/flags/new-checkout",
        "/admin/audit",
        "/admin/health",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location(), Some("/admin/login"), "{path}");
        assert!(!page.text.contains("new-checkout"), "{path}");
        assert_secure_headers(&page);
    }
    // A made-up session cookie is no session.
    let mut forged = Browser::new(&server);
    forged.cookie = Some("vexil_session=00112233".into());
    assert_eq!(forged.get("/admin/flags").await.status, 303);
    // A write without a session changes nothing.
    let page = browser
        .post(
            "/admin/flags/payments-circuit-breaker/override",
            &[("action", "off"), ("reason", "x")],
        )
        .await;
    assert_eq!(page.status, 401);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let login = browser.get("/admin/login").await;
    assert_eq!(login.status, 200);
    assert_secure_headers(&login);
    assert!(login.text.contains("type=\"password\""));
    server.running.stop().await;
}

#[tokio::test]
async fn only_viewer_and_admin_keys_sign_in_and_signing_out_ends_the_session() {
    let server = start(keyed()).await;
    for (key, status) in [("wrong", 401), (CLIENT, 403), (SERVER, 403), ("", 401)] {
        let mut b = Browser::new(&server);
        let page = b.sign_in(key).await;
        assert_eq!(page.status, status, "key {key:?}");
        assert!(page.headers.get(SET_COOKIE).is_none());
        assert!(page.text.contains("role=\"alert\""));
    }
    let mut viewer = Browser::new(&server);
    let page = viewer.sign_in(VIEWER).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/admin/flags"));
    let cookie = page.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("vexil_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
    assert!(cookie.contains("Path=/admin"));
    // Plain HTTP on loopback: not `Secure`, or the browser would drop it.
    assert!(!cookie.contains("Secure"));
    let flags = viewer.get("/admin/flags").await;
    assert_eq!(flags.status, 200);
    assert!(flags.text.contains("auditor"));
    // Where the page's time went, for a browser's developer tools.
    let timing = flags.headers["server-timing"].to_str().unwrap();
    let parts: Vec<&str> = timing
        .split(", ")
        .map(|p| p.split_once(";dur=").expect("name;dur=ms").0)
        .collect();
    assert_eq!(parts, ["usage", "rows", "audit", "render"], "{timing}");
    // Signing out needs the CSRF token too.
    assert_eq!(viewer.post("/admin/logout", &[]).await.status, 403);
    assert_eq!(viewer.get("/admin/flags").await.status, 200);
    let csrf = flags.hidden("csrf");
    let out = viewer.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.headers[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    // The old cookie is dead on the server, not only in the browser.
    assert_eq!(viewer.get("/admin/flags").await.status, 303);
    server.running.stop().await;
}

#[tokio::test]
async fn a_secure_cookie_when_configured() {
    let mut c = keyed();
    c.dashboard.secure_cookie = Some(true);
    let server = start(c).await;
    let mut b = Browser::new(&server);
    let page = b.sign_in(ADMIN).await;
    assert!(page.headers[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("; Secure"));
    server.running.stop().await;
}

#[tokio::test]
async fn the_inventory_lists_every_flag_with_kind_and_owner_and_filters() {
    let server = start(keyed()).await;
    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    let all = b.get("/admin/flags").await;
    assert_eq!(all.status, 200);
    for (flag, kind, owner) in [
        ("payments-circuit-breaker", "operational", "team-payments"),
        ("new-checkout", "release", "team-checkout"),
        ("search-ranking", "experiment", "team-search"),
    ] {
        let row_at = all
            .text
            .find(&format!("data-flag=\"{flag}\""))
            .unwrap_or_else(|| panic!("{flag} is listed"));
        let row = &all.text[row_at..row_at + all.text[row_at..].find("</tr>").unwrap()];
        assert!(
            row.contains(&format!("<td class=\"kind\">{kind}</td>")),
            "{row}"
        );
        assert!(
            row.contains(&format!("<td class=\"owner\">{owner}</td>")),
            "{row}"
        );
    }
    let operational = b.get("/admin/flags?kind=operational").await;
    assert!(operational
        .text
        .contains("data-flag=\"payments-circuit-breaker\""));
    assert!(!operational.text.contains("data-flag=\"new-checkout\""));
    let owned = b.get("/admin/flags?owner=team-checkout&q=").await;
    assert!(owned.text.contains("data-flag=\"new-checkout\""));
    assert!(!owned
        .text
        .contains("data-flag=\"payments-circuit-breaker\""));
    let searched = b.get("/admin/flags?q=CIRCUIT").await;
    assert!(searched
        .text
        .contains("data-flag=\"payments-circuit-breaker\""));
    assert!(!searched.text.contains("data-flag=\"new-checkout\""));
    let never = b.get("/admin/flags?status=never-evaluated").await;
    assert!(never.text.contains("data-flag=\"new-checkout\""));
    // An evaluated flag leaves `never-evaluated`.
    let (status, _) = server.evaluate("new-checkout", &shopper("u-1")).await;
    assert_eq!(status, 401, "OFREP needs a key here");
    let res = server
        .http
        .post(server.url("/ofrep/v1/evaluate/flags/new-checkout"))
        .header("x-api-key", SERVER)
        .json(&serde_json::json!({ "context": shopper("u-1") }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let never = b.get("/admin/flags?status=never-evaluated").await;
    assert!(!never.text.contains("data-flag=\"new-checkout\""));
    // The evaluations column counts the last 24 hours from the store.
    let listed = b.get("/admin/flags?q=new-checkout").await;
    let row_at = listed.text.find("data-flag=\"new-checkout\"").unwrap();
    let row = &listed.text[row_at..row_at + listed.text[row_at..].find("</tr>").unwrap()];
    assert!(row.contains("<td class=\"num\">1</td>"), "{row}");
    assert!(listed.text.contains("Evaluations (24 h)"));
    // Nonsense filters are empty results, not errors.
    let odd = b.get("/admin/flags?kind=%3Cscript%3E&status=nope").await;
    assert_eq!(odd.status, 200);
    assert!(!odd.text.contains("<script>"));
    server.running.stop().await;
}

async fn evaluate_reason(server: &Server, flag: &str) -> String {
    let res = server
        .http
        .post(server.url(&format!("/ofrep/v1/evaluate/flags/{flag}")))
        .header("x-api-key", SERVER)
        .json(&serde_json::json!({ "context": shopper("u-7") }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    body["reason"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn an_admin_switches_a_flag_off_with_a_reason_and_lifts_it() {
    let server = start(keyed()).await;
    let mut admin = Browser::new(&server);
    admin.sign_in(ADMIN).await;
    let path = "/admin/flags/payments-circuit-breaker";
    let page = admin.get(path).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("class=\"override-set\""));
    assert!(
        page.text.contains("<pre class=\"source\">"),
        "the source is shown"
    );
    assert!(page.text.contains("tok-keyword"));
    let csrf = page.hidden("csrf");
    let version = page.hidden("version");
    assert_ne!(
        evaluate_reason(&server, "payments-circuit-breaker").await,
        "DISABLED"
    );

    // Without the CSRF token, or with another one: refused, nothing set.
    let override_path = format!("{path}/override");
    for token in [None, Some("f00d")] {
        let mut form = vec![
            ("action", "off"),
            ("reason", "INC-1"),
            ("version", &version),
        ];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let refused = admin.post(&override_path, &form).await;
        assert_eq!(refused.status, 403);
    }
    // A reason is required.
    let no_reason = admin
        .post(
            &override_path,
            &[("csrf", &csrf), ("action", "off"), ("reason", "  ")],
        )
        .await;
    assert_eq!(no_reason.status, 400);
    assert!(no_reason.text.contains("reason"));
    assert_ne!(
        evaluate_reason(&server, "payments-circuit-breaker").await,
        "DISABLED"
    );

    let set = admin
        .post(
            &override_path,
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("action", "off"),
                ("reason", "INC-4711 payments provider down"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.text);
    // Served at once: the write answers after the new state is laid over.
    assert_eq!(
        evaluate_reason(&server, "payments-circuit-breaker").await,
        "DISABLED"
    );
    let page = admin.get(path).await;
    assert!(page.text.contains("INC-4711 payments provider down"));
    assert!(page.text.contains("class=\"override-lift\""));
    // A second write from the page loaded before is stale.
    let stale = admin
        .post(
            &override_path,
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("action", "off"),
                ("reason", "again"),
            ],
        )
        .await;
    assert_eq!(stale.status, 412);

    let audit = admin
        .get("/admin/audit?flag=payments-circuit-breaker&kind=override_set")
        .await;
    assert_eq!(audit.status, 200);
    assert!(audit.text.contains("INC-4711 payments provider down"));
    assert!(audit.text.contains("<td class=\"actor\">oncall</td>"));
    // The inventory's last change for the flag is that entry.
    let last_change = |text: &str| {
        let row = &text[text
            .find("data-flag=\"payments-circuit-breaker\"")
            .expect("the row")..];
        let cell = &row[row.find("class=\"last-change\"").expect("the cell")..];
        cell[..cell.find("</td>").expect("its end")].to_string()
    };
    let flags = admin.get("/admin/flags").await;
    let cell = last_change(&flags.text);
    assert!(cell.contains("override set by oncall"), "{cell}");
    assert!(
        cell.contains("title=\"INC-4711 payments provider down\""),
        "{cell}"
    );
    let other = &flags.text[flags
        .text
        .find("data-flag=\"new-checkout\"")
        .expect("a row")..];
    assert!(other[other.find("class=\"last-change\"").unwrap()..]
        .starts_with("class=\"last-change\">—"));

    let version = page.hidden("version");
    let lifted = admin
        .post(
            &format!("{path}/lift"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("reason", "provider back"),
            ],
        )
        .await;
    assert_eq!(lifted.status, 303, "{}", lifted.text);
    assert_ne!(
        evaluate_reason(&server, "payments-circuit-breaker").await,
        "DISABLED"
    );
    let audit = admin.get("/admin/audit?kind=override_lifted").await;
    assert!(audit.text.contains("provider back"));
    let cell = last_change(&admin.get("/admin/flags").await.text);
    assert!(cell.contains("override lifted by oncall"), "{cell}");
    assert!(!audit.text.contains("INC-4711"), "filtered by kind");
    let bad = admin.get("/admin/audit?since=yesterday").await;
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("`since` `yesterday`"));
    server.running.stop().await;
}

#[tokio::test]
async fn a_viewer_has_no_buttons_and_its_writes_are_refused_and_audited() {
    let server = start(keyed()).await;
    let mut viewer = Browser::new(&server);
    viewer.sign_in(VIEWER).await;
    let path = "/admin/flags/payments-circuit-breaker";
    let page = viewer.get(path).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("override-set"));
    assert!(!page.text.contains("override-lift"));
    let csrf = page.hidden("csrf");
    let refused = viewer
        .post(
            &format!("{path}/override"),
            &[("csrf", &csrf), ("action", "off"), ("reason", "curious")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.text.contains("needs an `admin` key"));
    assert_ne!(
        evaluate_reason(&server, "payments-circuit-breaker").await,
        "DISABLED"
    );
    let mut admin = Browser::new(&server);
    admin.sign_in(ADMIN).await;
    common::wait_for("the refusal in the audit log", || async {
        admin
            .get("/admin/audit?kind=write_refused&actor=auditor")
            .await
            .text
            .contains("payments-circuit-breaker")
    })
    .await;
    // The health page answers for a viewer too.
    let health = viewer.get("/admin/health").await;
    assert_eq!(health.status, 200);
    assert!(health.text.contains("Latency by endpoint"));
    assert!(health.text.contains("from directory"));
    server.running.stop().await;
}

#[tokio::test]
async fn a_proxy_identity_is_believed_only_from_a_trusted_proxy() {
    let mut trusted = keyed();
    trusted.dashboard.identity_header = Some("x-forwarded-user".into());
    trusted.dashboard.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    trusted.dashboard.proxy_admins = vec!["alice".into()];
    let server = start(trusted).await;
    let b = Browser::new(&server);
    let as_bob = b
        .send(
            b.http
                .get(server.url("/admin/flags/payments-circuit-breaker"))
                .header("x-forwarded-user", "bob"),
        )
        .await;
    assert_eq!(as_bob.status, 200);
    assert!(as_bob.text.contains("bob (proxy)"));
    assert!(!as_bob.text.contains("override-set"), "bob is a viewer");
    let as_alice = b
        .send(
            b.http
                .get(server.url("/admin/flags/payments-circuit-breaker"))
                .header("x-forwarded-user", "alice"),
        )
        .await;
    assert!(as_alice.text.contains("override-set"), "alice is an admin");
    server.running.stop().await;

    let mut elsewhere = keyed();
    elsewhere.dashboard.identity_header = Some("x-forwarded-user".into());
    elsewhere.dashboard.trusted_proxies = vec!["10.9.8.7".parse().unwrap()];
    let server = start(elsewhere).await;
    let b = Browser::new(&server);
    let page = b
        .send(
            b.http
                .get(server.url("/admin/flags"))
                .header("x-forwarded-user", "alice"),
        )
        .await;
    assert_eq!(page.status, 303, "127.0.0.1 is not a trusted proxy here");
    server.running.stop().await;

    let mut untrusting = keyed();
    untrusting.dashboard.identity_header = Some("x-forwarded-user".into());
    assert!(vexil_server::start(untrusting).await.is_err());
}

#[tokio::test]
async fn why_explains_why_a_user_does_not_get_new_checkout() {
    let server = start(keyed()).await;
    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    let form = b.get("/admin/why").await;
    assert_eq!(form.status, 200);
    // The form comes from the schemas: enum values as options.
    assert!(form.text.contains("name=\"device.platform\""));
    assert!(form
        .text
        .contains("<option value=\"android\">android</option>"));
    let page = b
        .get("/admin/why?flag=new-checkout&user.id=u-77&location.country=DE&device.platform=web")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("Why <code>new-checkout</code> serves <code class=\"served\">false</code>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("requires payments-v2"));
    assert!(page.text.contains("payments-v2 served"));
    // Every flag's value for the context.
    assert!(page.text.contains("data-flag=\"payments-circuit-breaker\""));
    let pasted = b.get("/admin/why?flag=new-checkout&json=%7Bnot+json").await;
    assert_eq!(pasted.status, 200);
    assert!(pasted.text.contains("the pasted context is not JSON"));

    // The same over HTTP, for programs with a key that reads.
    let ask = |key: Option<&'static str>, flag: &'static str| {
        let mut req = server
            .http
            .post(server.url(&format!("/v1/explain/{flag}")))
            .json(&serde_json::json!({
                "context": {"user": {"id": "u-77"}, "location": {"country": "JP"}},
                "now": "2026-12-07T12:00:00Z"
            }));
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        req.send()
    };
    let res = ask(Some(SERVER), "new-checkout").await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["value"], false);
    let steps = body["explanation"]["steps"].as_array().unwrap();
    assert!(steps[0]["step"]
        .as_str()
        .unwrap()
        .starts_with("requires payments-v2"));
    assert_eq!(steps[0]["verdict"], "not matched");
    assert_eq!(steps[0]["because"][0], "payments-v2 served false (DEFAULT)");
    let res = ask(Some(VIEWER), "new-checkout").await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        ask(Some(CLIENT), "new-checkout")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        ask(None, "new-checkout").await.unwrap().status().as_u16(),
        401
    );
    assert_eq!(
        ask(Some(SERVER), "no-such-flag")
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    server.running.stop().await;
}

#[tokio::test]
async fn the_schedule_lists_what_is_coming_and_on_request_what_happened() {
    let server = start(keyed()).await;
    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    let coming = b.get("/admin/schedule").await;
    assert_eq!(coming.status, 200);
    // Only what is still to come (whatever today is: no calendar bomb).
    assert!(!coming.text.contains("<tr class=\"past\">"));
    // new-checkout's North American launch (2026-12-01 08:00) is past.
    assert!(!coming.text.contains("2026-12-01 08:00:00 UTC"));
    let all = b.get("/admin/schedule?past=1").await;
    assert!(all.text.contains("2026-12-01 08:00:00 UTC"));
    assert!(all.text.contains("<tr class=\"past\">"));
    assert!(all.text.contains("href=\"/admin/flags/new-checkout\""));
    let rows = |t: &str| t.matches("<tr class=").count();
    assert!(rows(&all.text) > rows(&coming.text));
    server.running.stop().await;
}

/// 2026-12-05T12:00:00Z: checkout-layout runs, shipping-promise starts on
/// the 8th.
const DEC_5: i64 = 1_796_472_000_000_000;

#[tokio::test]
async fn experiments_show_status_traffic_layers_and_say_when_there_is_no_store() {
    let mut c = keyed();
    c.clock = vexil_server::Clock::fixed_by(|| DEC_5);
    let server = start(c).await;
    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    let list = b.get("/admin/experiments").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_secure_headers(&list);
    let row = |name: &str| {
        let at = list
            .text
            .find(&format!("<tr data-experiment=\"{name}\">"))
            .expect("its row");
        let end = list.text[at..].find("</tr>").expect("the row's end");
        list.text[at..at + end].to_string()
    };
    let layout = row("checkout-layout");
    assert!(layout.contains("status running"), "{layout}");
    assert!(layout.contains(">40%<"), "{layout}");
    assert!(layout.contains("multi-page 50%, one-page 50%"), "{layout}");
    assert!(
        layout.contains("location.country in [&quot;US&quot;, &quot;CA&quot;] and not internal"),
        "{layout}"
    );
    let promise = row("shipping-promise");
    assert!(promise.contains("status scheduled"), "{promise}");
    assert!(promise.contains(">30%<"), "{promise}");
    // The checkout layer as a picture: each experiment's range of its buckets.
    assert!(list
        .text
        .contains("aria-label=\"the enrolment buckets of layer checkout"));
    assert!(list
        .text
        .contains("checkout-layout: buckets 0 to 40000 (40%)"));
    assert!(list
        .text
        .contains("shipping-promise: buckets 40000 to 70000 (30%)"));

    // Two shoppers in the US evaluate the experiment: its page shows its
    // usage over time by variant, as a flag's page does.
    for id in ["u-5003", "u-7"] {
        let (status, body) = evaluate_with(&server, "checkout-layout", shopper(id)).await;
        assert_eq!(status, 200, "{body}");
    }
    let page = b.get("/admin/experiments/checkout-layout").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("No event store"), "{}", page.text);
    assert!(
        page.text
            .contains("<span class=\"total\">2</span> evaluations"),
        "{}",
        page.text
    );
    assert!(page.text.contains("data-by=\"variant\""), "{}", page.text);
    assert!(
        page.text.contains("data-label=\"multi-page\""),
        "{}",
        page.text
    );
    // A view that does not exist is refused, not guessed.
    let bad = b.get("/admin/experiments/checkout-layout?mode=bayes").await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("no view `bayes`"), "{}", bad.text);
    // The inventory's link to an experiment leads there.
    let old = b.get("/admin/flags/checkout-layout").await;
    assert_eq!(old.location(), Some("/admin/experiments/checkout-layout"));
    assert_eq!(b.get("/admin/experiments/nope").await.status, 404);
    server.running.stop().await;
}

/// Sends events to `POST /v1/events` with the server key; all accepted.
async fn send_events(server: &Server, events: &[serde_json::Value]) {
    let (status, _, body) = server
        .post_raw(
            "/v1/events",
            serde_json::Value::from(events).to_string(),
            &[("authorization", "Bearer server-secret")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Exposures of units `u-{i}` to checkout-layout's one-page arm at `time`.
fn one_page(units: std::ops::Range<i32>, time: i64) -> Vec<serde_json::Value> {
    units
        .map(|i| serde_json::json!({ "type": "exposure", "experiment": "checkout-layout", "variant": "one-page", "unit": format!("u-{i}"), "time": time }))
        .collect()
}

/// 2026-12-02T12:00:00Z, in microseconds.
const DAY: i64 = 1_796_212_800_000_000;

/// 300 shoppers on each arm of checkout-layout; one-page converts more
/// (120 against 60).
fn checkout_events() -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut events = Vec::new();
    for i in 0..600 {
        let unit = format!("u-{i}");
        let variant = if i % 2 == 0 { "multi-page" } else { "one-page" };
        events.push(json!({ "type": "exposure", "experiment": "checkout-layout", "variant": variant, "unit": unit, "time": DAY }));
        let buys = if variant == "one-page" {
            i % 10 < 4
        } else {
            i % 10 == 0
        };
        if buys {
            events.push(json!({ "type": "track", "id": format!("o-{i}"), "event": "purchase", "unit": unit, "value": 30.0, "time": DAY + 3_600_000_000 }));
        }
    }
    events
}

#[tokio::test]
async fn an_experiment_shows_its_exposures_srm_and_the_analysis_vexil_analyze_gives() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = keyed();
    c.clock = vexil_server::Clock::fixed_by(|| DEC_5);
    let store = dir.path().join("events.db");
    c.events_db = Some(store.clone());
    // Each page waits for its analysis (the next test: one that does not).
    c.dashboard.analysis_wait_ms = 600_000;
    let mut config = c.clone();
    let server = start(c).await;
    for chunk in checkout_events().chunks(100) {
        send_events(&server, chunk).await;
    }

    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    let page = b.get("/admin/experiments/checkout-layout").await;
    assert_eq!(page.status, 200, "{}", page.text);
    // The same analysis `vexil analyze --sequential` runs, over the same
    // store: a dashboard is looked at every day, so its intervals and
    // p-values are the always-valid ones.
    let x = {
        let engine = vexil_runtime::Engine::from_dir(&shop(), Default::default()).unwrap();
        let snapshot = engine.snapshot();
        snapshot
            .bundle()
            .experiments
            .iter()
            .find(|x| x.name == "checkout-layout")
            .unwrap()
            .clone()
    };
    let analyze = |options: vexil_events::AnalysisOptions| {
        let store = vexil_events::Store::open_existing(&store).unwrap();
        vexil_events::analyze_experiment(&store, &x, &options).unwrap()
    };
    let sequential = analyze(vexil_events::AnalysisOptions::sequential());
    let fixed = analyze(Default::default());
    assert!(sequential.sequential && !fixed.sequential);
    for v in &sequential.variants {
        assert_eq!(v.units, 300);
        let at = page
            .text
            .find(&format!("<tr data-variant=\"{}\">", v.name))
            .expect("the variant's row");
        assert!(page.text[at..].contains("<td class=\"num units\">300</td>"));
    }
    assert!(
        page.text.contains("Sample ratio check: ok (p = 1.000)"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("Always-valid intervals and p-values"),
        "{}",
        page.text
    );
    assert!(page
        .text
        .contains("href=\"/admin/experiments/checkout-layout?mode=fixed\""));
    use vexil_events::present::percent;
    let conversion_row = |text: &str| {
        let at = text
            .find("data-metric=\"conversion\" data-variant=\"one-page\"")
            .expect("the conversion row");
        text[at..at + text[at..].find("</tr>").unwrap()].to_string()
    };
    let assert_row = |row: &str, report: &vexil_events::Report| {
        let lift = &report.metrics[0].comparisons[0];
        for part in [
            percent(lift.relative.point, 2, true),
            format!(
                "[{}, {}]",
                percent(lift.relative.ci_lower, 2, true),
                percent(lift.relative.ci_upper, 2, true)
            ),
            percent(lift.chance_to_win, 1, false),
        ] {
            assert!(row.contains(&part), "{part} in {row}");
        }
    };
    assert_row(&conversion_row(&page.text), &sequential);
    let (s, f) = (
        &sequential.metrics[0].comparisons[0].relative,
        &fixed.metrics[0].comparisons[0].relative,
    );
    // The confidence sequence is wider than the fixed-horizon interval.
    assert!(
        s.ci_lower < f.ci_lower && s.ci_upper > f.ci_upper,
        "{s:?} {f:?}"
    );
    assert!(s.point > 0.5, "{}", s.point);
    assert!(page
        .text
        .contains("aria-label=\"forest plot of relative lifts\""));
    let as_of = |text: &str| {
        let at = text
            .find("<p class=\"as-of\">")
            .expect("the time of the analysis");
        text[at..at + text[at..].find("</p>").unwrap()].to_string()
    };
    let first = as_of(&page.text);
    assert!(first.contains("From the event store as of"), "{first}");

    // The fixed-horizon view, on request, says what it is valid for.
    let fixed_page = b.get("/admin/experiments/checkout-layout?mode=fixed").await;
    assert_eq!(fixed_page.status, 200, "{}", fixed_page.text);
    assert!(fixed_page
        .text
        .contains("valid only for one look at the planned end (2027-01-15)"));
    assert_row(&conversion_row(&fixed_page.text), &fixed);

    // Ten more shoppers exposed: the page within the next minute shows the
    // analysis it made (the same time, the same units), not a new one.
    send_events(&server, &one_page(600..610, DAY)).await;
    let again = b.get("/admin/experiments/checkout-layout").await;
    assert_eq!(as_of(&again.text), first);
    assert!(!again.text.contains("<td class=\"num units\">310</td>"));
    // An experiment without exposures has no sample-ratio check to pass.
    let empty = b.get("/admin/experiments/shipping-promise").await;
    assert!(
        empty
            .text
            .contains("Sample ratio check: not computed (no exposures)."),
        "{}",
        empty.text
    );
    assert!(empty
        .text
        .contains("No exposures of <code>shipping-promise</code>"));
    server.running.stop().await;

    // With `analysis_cache_seconds = 0` every view reads the store.
    config.dashboard.analysis_cache_seconds = 0;
    let server = start(config).await;
    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    for (next, units) in [(610, "310"), (620, "320")] {
        let page = b.get("/admin/experiments/checkout-layout").await;
        assert!(
            page.text
                .contains(&format!("<td class=\"num units\">{units}</td>")),
            "{}",
            page.text
        );
        assert!(page.text.contains("for this view)."), "{}", page.text);
        send_events(&server, &one_page(next..next + 10, DAY)).await;
    }
    server.running.stop().await;
}

#[tokio::test]
async fn a_page_that_does_not_wait_for_its_analysis_links_the_section_which_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = keyed();
    c.clock = vexil_server::Clock::fixed_by(|| DEC_5);
    c.events_db = Some(dir.path().join("events.db"));
    c.dashboard.analysis_wait_ms = 0;
    let server = start(c).await;
    for chunk in checkout_events().chunks(100) {
        send_events(&server, chunk).await;
    }
    let mut b = Browser::new(&server);
    // The section needs a session like every page.
    let anonymous = b.get("/admin/experiments/checkout-layout/analysis").await;
    assert_ne!(anonymous.status, 200);
    assert!(!anonymous.text.contains("units"), "{}", anonymous.text);
    b.sign_in(VIEWER).await;

    for (view, query) in [("sequential", ""), ("fixed", "?mode=fixed")] {
        let page = b
            .get(&format!("/admin/experiments/checkout-layout{query}"))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        // Answered without the analysis, the rest of the page whole.
        let src = format!("/admin/experiments/checkout-layout/analysis{query}");
        assert!(
            page.text.contains(&format!(
                "<section id=\"analysis\" data-src=\"{src}\" aria-busy=\"true\">"
            )),
            "{view}: {}",
            page.text
        );
        assert!(
            page.text.contains("Reading the event store"),
            "{}",
            page.text
        );
        assert!(
            !page.text.contains("<tr data-variant=\"one-page\">"),
            "{}",
            page.text
        );
        assert!(
            page.text.contains("<code class=\"audience\">"),
            "{}",
            page.text
        );
        // The section alone: the analysis the page started, whole.
        let section = b.get(&src).await;
        assert_eq!(section.status, 200, "{}", section.text);
        assert_secure_headers(&section);
        assert!(
            section.text.starts_with("<section id=\"analysis\">"),
            "{}",
            section.text
        );
        assert!(
            section.text.contains("<td class=\"num units\">300</td>"),
            "{}",
            section.text
        );
        assert!(section
            .text
            .contains("data-metric=\"conversion\" data-variant=\"one-page\""));
        let validity = if view == "fixed" {
            "p class=\"validity fixed\""
        } else {
            "p class=\"validity sequential\""
        };
        assert!(section.text.contains(validity), "{view}: {}", section.text);
        assert!(
            !section.text.contains("<html"),
            "a fragment: {}",
            section.text
        );
        // Kept: the next view has it at once, with nothing to fetch.
        let again = b
            .get(&format!("/admin/experiments/checkout-layout{query}"))
            .await;
        assert!(
            again.text.contains("<section id=\"analysis\">"),
            "{}",
            again.text
        );
        assert!(again.text.contains("<td class=\"num units\">300</td>"));
    }
    assert_eq!(b.get("/admin/experiments/nope/analysis").await.status, 404);
    let bad = b
        .get("/admin/experiments/checkout-layout/analysis?mode=bayes")
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    server.running.stop().await;
}

#[tokio::test]
async fn a_session_survives_a_restart_on_the_same_store_and_signing_out_ends_it_there() {
    let config = keyed();
    let data = config.data_dir.clone().expect("a data directory");
    let first = start(config.clone()).await;
    let mut b = Browser::new(&first);
    assert_eq!(b.sign_in(ADMIN).await.status, 303);
    let cookie = b.cookie.clone().expect("a session cookie");
    let before = b.get("/admin/flags").await;
    assert_eq!(before.status, 200);
    let csrf = before.hidden("csrf");
    first.running.stop().await;

    // Another server on the same control store (a restart, or a fleet's
    // other member) knows the session and its CSRF token.
    let second = start(config).await;
    let mut again = Browser::new(&second);
    again.cookie = Some(cookie.clone());
    let after = again.get("/admin/flags").await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert!(after.text.contains("oncall"));
    assert_eq!(after.hidden("csrf"), csrf);
    // The store (its file and write-ahead log) keeps only the token's digest.
    let token = cookie.split_once('=').unwrap().1;
    let mut files = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("vexil.db")
        {
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()));
        }
    }
    assert!(files > 0, "the store is in {}", data.display());
    let out = again.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(again.get("/admin/flags").await.status, 303);
    second.running.stop().await;
}

async fn evaluate_with(
    server: &Server,
    flag: &str,
    context: serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = server
        .http
        .post(server.url(&format!("/ofrep/v1/evaluate/flags/{flag}")))
        .header("x-api-key", SERVER)
        .json(&serde_json::json!({ "context": context }))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_flag_shows_its_usage_over_time_its_rules_share_and_errors_by_code() {
    let server = start(keyed()).await;
    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    let quiet = b.get("/admin/flags/payment-provider").await;
    assert!(
        quiet.text.contains("No evaluations in the last 7 days."),
        "{}",
        quiet.text
    );
    // Three shoppers in the US get the default, one in Germany the rule.
    for i in 0..3 {
        let (status, body) =
            evaluate_with(&server, "payment-provider", shopper(&format!("u-{i}"))).await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (200, Some("DEFAULT")),
            "{body}"
        );
    }
    let mut german = shopper("u-9");
    german["location"]["country"] = "DE".into();
    let (status, body) = evaluate_with(&server, "payment-provider", german.clone()).await;
    assert_eq!(
        (status, body["variant"].as_str()),
        (200, Some("adyen")),
        "{body}"
    );
    let page = b.get("/admin/flags/payment-provider").await;
    assert_eq!(page.status, 200);
    assert_secure_headers(&page);
    let text = &page.text;
    assert!(
        text.contains("<span class=\"total\">4</span> evaluations"),
        "{text}"
    );
    for by in ["variant", "reason"] {
        assert!(text.contains(&format!("data-by=\"{by}\"")), "{text}");
    }
    for label in ["adyen", "stripe", "DEFAULT", "TARGETING_MATCH"] {
        assert!(
            text.contains(&format!("data-label=\"{label}\"")),
            "{label}: {text}"
        );
    }
    // The share each rule served, next to the rules.
    let rules_at = text.find("<ol class=\"rules\">").unwrap();
    let rules = &text[rules_at..rules_at + text[rules_at..].find("</ol>").unwrap()];
    assert!(
        rules.contains("europe</span>: serves adyen <span class=\"rule-share\""),
        "{rules}"
    );
    assert!(rules.contains(">25.0%</span>"), "{rules}");
    assert!(rules.contains(">75.0%</span>"), "{rules}");
    assert!(!text.contains("<script>"));
    // A shopper without an id in Europe: the ramp by user.id cannot bucket
    // them, an error counted by its code.
    let mut anonymous = german;
    anonymous["user"].as_object_mut().unwrap().remove("id");
    let (status, body) = evaluate_with(&server, "payments-v2", anonymous).await;
    assert_eq!(status, 400, "{body}");
    let code = body["errorCode"].as_str().unwrap().to_string();
    let page = b.get("/admin/flags/payments-v2").await;
    assert!(
        page.text.contains(&format!("<tr data-code=\"{code}\">")),
        "{}",
        page.text
    );
    server.running.stop().await;
}

/// The Flags page once the git facts of the version served are read (the
/// background task's first result), or after 30 s of asking.
async fn flags_with_git_facts(b: &Browser<'_>, query: &str) -> Page {
    for _ in 0..600 {
        let page = b.get(&format!("/admin/flags{query}")).await;
        if !page.text.contains("being read from git") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the git facts were never read");
}

fn row<'p>(page: &'p Page, flag: &str) -> &'p str {
    let at = page
        .text
        .find(&format!("data-flag=\"{flag}\""))
        .unwrap_or_else(|| panic!("{flag} is listed"));
    &page.text[at..at + page.text[at..].find("</tr>").unwrap()]
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "2020-01-02T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2020-01-02T10:00:00Z")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[tokio::test]
async fn stale_flags_and_last_commits_come_from_git_and_without_git_the_page_says_so() {
    // Outside git: no stale status, and the page says why.
    let plain = common::shop_copy();
    let server = start(config(plain.path())).await;
    let mut b = Browser::new(&server);
    b.sign_in("any").await;
    let page = flags_with_git_facts(&b, "").await;
    assert!(
        page.text.contains("No stale status and no last commits: `"),
        "{}",
        page.text
    );
    assert!(page.text.contains("is not in a git repository"));
    assert!(!page.text.contains("class=\"status stale\""));
    assert!(!row(&page, "new-checkout").contains("committed"));
    server.running.stop().await;

    // In git: a release flag switched off since a commit in 2020 is stale
    // (as `vexil stale` says), with its evidence; every flag's last change
    // is its last commit, unless the audit log has a later entry.
    let repo = common::shop_copy();
    std::fs::write(
        repo.path().join("old.flag"),
        "/// The winter banner of 2019.\nflag winter-banner: bool {\n  kind release\n  owner \"team-web\"\n  enabled false\n  default false\n}\n",
    )
    .unwrap();
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "the shop"]);
    let server = start(config(repo.path())).await;
    let mut b = Browser::new(&server);
    b.sign_in("any").await;
    let page = flags_with_git_facts(&b, "").await;
    assert!(!page.text.contains("No stale status"), "{}", page.text);
    let banner = row(&page, "winter-banner");
    assert!(banner.contains("class=\"status stale\""), "{banner}");
    assert!(
        banner.contains("switched off: serves `false` to everyone since 2020-01-02"),
        "{banner}"
    );
    assert!(banner.contains("2020-01-02 committed"), "{banner}");
    assert!(banner.contains(">git</span>"), "{banner}");
    // The commit itself: its short id, its subject line on hover.
    let head = std::process::Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("git runs");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(
        banner.contains(&format!(
            "<code class=\"commit\" title=\"the shop\">{}</code>",
            &head[..7]
        )),
        "{banner}"
    );
    let stale = flags_with_git_facts(&b, "?status=stale").await;
    assert!(stale.text.contains("data-flag=\"winter-banner\""));
    assert!(
        !stale.text.contains("data-flag=\"new-checkout\""),
        "new-checkout is rolling out, not stale"
    );
    // An override set now is later than the commit: the audit log's entry
    // is the last change.
    let flag_page = b.get("/admin/flags/payments-circuit-breaker").await;
    let set = b
        .post(
            "/admin/flags/payments-circuit-breaker/override",
            &[
                ("csrf", &flag_page.hidden("csrf")),
                ("version", &flag_page.hidden("version")),
                ("action", "off"),
                ("reason", "INC-9 provider down"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.text);
    let page = flags_with_git_facts(&b, "").await;
    let breaker = row(&page, "payments-circuit-breaker");
    assert!(breaker.contains("override set by"), "{breaker}");
    assert!(breaker.contains(">audit</span>"), "{breaker}");
    assert!(row(&page, "new-checkout").contains("2020-01-02 committed"));
    server.running.stop().await;
}

/// The Flags page once the code has been searched (the background task's
/// first result, or its next after `ready` first fails), or after 30 s.
async fn flags_once_searched(b: &Browser<'_>, query: &str, ready: impl Fn(&Page) -> bool) -> Page {
    for _ in 0..600 {
        let page = b.get(&format!("/admin/flags{query}")).await;
        if !page.text.contains("The code is being searched") && ready(&page) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the code was never searched, or never as expected");
}

#[tokio::test]
async fn a_flag_no_code_refers_to_is_stale_and_its_page_lists_where_code_reads_it() {
    let app = tempfile::tempdir().unwrap();
    let checkout = app.path().join("checkout.ts");
    std::fs::write(
        &checkout,
        "// search-ranking is tuned elsewhere (a comment is not a reference)\n\
         export const useNew = () => client.getBooleanValue('new-checkout', false);\n",
    )
    .unwrap();
    let mut c = config(&shop());
    c.dashboard.code = vec![app.path().to_path_buf()];
    c.dashboard.code_refresh_seconds = 1;
    let server = start(c).await;
    let mut b = Browser::new(&server);
    b.sign_in("any").await;

    // As `vexil stale --code` says: every flag but new-checkout is read by
    // no code, with the evidence on hover.
    let page = flags_once_searched(&b, "", |_| true).await;
    let ranking = row(&page, "search-ranking");
    assert!(ranking.contains("class=\"status stale\""), "{ranking}");
    assert!(
        ranking.contains("no reference in the code (1 file searched)"),
        "{ranking}"
    );
    let new_checkout = row(&page, "new-checkout");
    assert!(!new_checkout.contains("status stale"), "{new_checkout}");
    // An experiment no code reads is stale too.
    assert!(row(&page, "checkout-layout").contains("status stale"));

    // The flag's page: where, how, and the line.
    let flag = b.get("/admin/flags/new-checkout").await;
    let at = flag
        .text
        .find("<section id=\"code\">")
        .expect("a code section");
    let section = &flag.text[at..at + flag.text[at..].find("</section>").unwrap()];
    assert!(section.contains("1 reference in the code"), "{section}");
    assert!(
        section.contains(&format!("{}:2</code>", checkout.display())),
        "{section}"
    );
    assert!(
        section.contains("getBooleanValue('new-checkout', false)"),
        "{section}"
    );
    let ranking = b.get("/admin/flags/search-ranking").await;
    assert!(
        ranking
            .text
            .contains("No reference in the code (1 file searched"),
        "{}",
        ranking.text
    );

    // Code that starts reading a flag: searched again, no longer stale.
    std::fs::write(
        app.path().join("search.py"),
        "ranking = client.get_string_value(\"search-ranking\", \"classic\", ctx)\n",
    )
    .unwrap();
    let page = flags_once_searched(&b, "", |p| {
        !row(p, "search-ranking").contains("status stale")
    })
    .await;
    assert!(row(&page, "product-page-v3").contains("no reference in the code (2 files searched)"));
    server.running.stop().await;

    // A directory that does not exist: refused at start, named.
    let mut c = config(&shop());
    c.dashboard.code = vec![app.path().join("nowhere")];
    let Err(vexil_server::ServeError::Config(refused)) = vexil_server::start(c).await else {
        panic!("a server started with code that does not exist");
    };
    assert!(refused.contains("`dashboard.code` names `"), "{refused}");
    assert!(refused.contains("nowhere"), "{refused}");
}

#[tokio::test]
async fn a_flag_the_usage_rollups_show_unused_for_30_days_is_stale() {
    use std::sync::atomic::{AtomicI64, Ordering};
    const DAY: i64 = 86_400_000_000;
    let now = std::sync::Arc::new(AtomicI64::new(DEC_5));
    let mut c = keyed();
    let clock = now.clone();
    c.clock = vexil_server::Clock::fixed_by(move || clock.load(Ordering::SeqCst));
    let server = start(c).await;
    let mut b = Browser::new(&server);
    b.sign_in(VIEWER).await;
    let (status, body) = evaluate_with(&server, "new-checkout", shopper("u-1")).await;
    assert_eq!(status, 200, "{body}");
    // The history starts now: it cannot show 30 days without an
    // evaluation, and the page says so rather than calling flags unused.
    let page = b.get("/admin/flags").await;
    assert!(
        page.text.contains("Stale from usage: the usage history"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("no evaluation in 30 days"));
    assert!(!page.text.contains("never evaluated in this server"));

    // 31 days later: new-checkout's last evaluation is 31 days old, one
    // flag is evaluated again, one never was.
    now.store(DEC_5 + 31 * DAY, Ordering::SeqCst);
    let (status, body) = evaluate_with(&server, "gift-options", shopper("u-1")).await;
    assert_eq!(status, 200, "{body}");
    let page = b.get("/admin/flags?status=stale").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(!page.text.contains("Stale from usage:"), "{}", page.text);
    let row = |name: &str| {
        let at = page.text.find(&format!("data-flag=\"{name}\""))?;
        let end = page.text[at..].find("</tr>")?;
        Some(page.text[at..at + end].to_string())
    };
    let old = row("new-checkout").expect("new-checkout is stale");
    assert!(
        old.contains("no evaluation in 30 days in this server")
            && old.contains("last evaluated 2026-12-05 (31 days ago)"),
        "{old}"
    );
    let never = row("payments-circuit-breaker").expect("a flag never evaluated is stale");
    assert!(
        never.contains("never evaluated in this server") && never.contains("(31 days ago)"),
        "{never}"
    );
    // Evaluated today: not unused (stale only if git says so).
    if let Some(fresh) = row("gift-options") {
        assert!(!fresh.contains("usage rollups"), "{fresh}");
    }
    server.running.stop().await;
}
