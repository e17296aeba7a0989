//! A service embedding Vexil: load the shop's flags, resolve the context's
//! fields once, then answer "requests" by filling a context per request and
//! evaluating flags against one snapshot. Exposures of experiments go to a
//! JSON Lines file that `vexil` analytics can ingest.
//!
//! Run from the repository root: `cargo run -p vexil-example-embed`. With
//! `-- --follow http://127.0.0.1:8080` (and `VEXIL_KEY`, a `server` key),
//! it follows a `vexil serve` server instead (`follow.rs`).

mod follow;

mod flags;

use std::sync::Arc;
use std::time::Duration;

use vexil_runtime::{DedupSink, Engine, EngineOptions, JsonLinesSink};

/// What a request handler knows about the caller.
struct Request<'a> {
    user_id: &'a str,
    email: &'a str,
    tier: &'a str,
    country: &'a str,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, server] = args.as_slice() {
        if flag == "--follow" {
            return follow::run(server);
        }
    }
    let dir = args
        .first()
        .cloned()
        .unwrap_or_else(|| "examples/shop".to_string());
    let exposures = std::env::temp_dir().join("vexil-exposures.jsonl");
    // Each user's assignment is written once, not once per request.
    let sink = Arc::new(DedupSink::new(
        JsonLinesSink::new(std::fs::File::create(&exposures)?),
        100_000,
    ));
    let engine = Arc::new(Engine::from_dir(
        dir.as_ref(),
        EngineOptions {
            exposure_sink: Some(sink),
            ..EngineOptions::default()
        },
    )?);
    println!("loaded {dir} on the {} backend", engine.backend_name());

    // Hot reload: poll the directory; a broken edit keeps the running flags.
    let _watcher = engine.watch(Duration::from_secs(2), |result| match result {
        Ok(r) => println!("reloaded: version {:?}", r.version),
        Err(e) => eprintln!("reload failed, still serving the last good flags:\n{e}"),
    });

    // Resolve the fields the service sets, once.
    let snapshot = engine.current();
    let layout = snapshot.layout();
    let field = |ctx: &str, name: &str| {
        layout
            .field(ctx, name)
            .ok_or_else(|| format!("the schema has no `{ctx}.{name}`"))
    };
    let (id, email, tier, country, env) = (
        field("user", "id")?,
        field("user", "email")?,
        field("user", "tier")?,
        field("location", "country")?,
        field("env", "name")?,
    );
    let roles = field("user", "roles")?;

    let requests = [
        Request {
            user_id: "u-1001",
            email: "vera@gmail.com",
            tier: "platinum",
            country: "DE",
        },
        Request {
            user_id: "u-2002",
            email: "sam@shop.example",
            tier: "bronze",
            country: "US",
        },
        Request {
            user_id: "u-3003",
            email: "li@outlook.com",
            tier: "silver",
            country: "CA",
        },
    ];
    let mut ctx = layout.context();
    for r in &requests {
        // One context per request, reusing its allocations.
        ctx.clear();
        ctx.set_str(id, r.user_id);
        ctx.set_str(email, r.email);
        ctx.set_parsed(layout, tier, r.tier);
        ctx.set_str(country, r.country);
        ctx.set_parsed(layout, env, "production");
        let staff: &[&str] = if r.email.ends_with("@shop.example") {
            &["staff"]
        } else {
            &[]
        };
        ctx.set_str_list(roles, staff.iter().copied());
        // A fixed time inside the holiday season, so that the demo shows
        // the scheduled rules; a service passes `vexil_runtime::now()`.
        let now = vexil_runtime::ir::value::parse_timestamp("2026-12-05T10:00:00Z")?;
        let threshold = snapshot.float_value("free-shipping-threshold", &ctx, now, 49.0);
        let ranking = snapshot.evaluate("search-ranking", &ctx, now);
        let new_checkout = snapshot.bool_value("new-checkout", &ctx, now, false);
        println!(
            "{}: free shipping from {threshold} EUR, search ranking {} ({}), new checkout: {new_checkout}",
            r.user_id,
            ranking.value.map_or("?".into(), |v| v.to_string()),
            ranking.reason.as_str(),
        );
    }

    // Or through the accessors `vexil codegen --lang rust` generated
    // (src/flags.rs): a misspelt flag or a wrong enum value is a compile
    // error, and a field the flags no longer declare fails here, at start.
    let fields = flags::Fields::resolve(layout)?;
    let mut ctx = fields.context();
    fields
        .user(&mut ctx)
        .id("u-5008")
        .email("ben@yahoo.com")
        .tier(flags::UserTier::Silver)
        .roles(&[]);
    fields.location(&mut ctx).country("CA");
    let now = vexil_runtime::ir::value::parse_timestamp("2026-12-10T12:00:00Z")?;
    let typed = flags::Flags::at(&snapshot, now);
    println!(
        "u-5008 (typed): checkout layout {}, gift options {}",
        typed.checkout_layout(&ctx).as_str(),
        typed.gift_options(&ctx)
    );

    // Or, from the JSON a request carries:
    let ctx = layout.context_from_json(&serde_json::json!({
        "user": { "id": "u-4004", "tier": "gold", "roles": ["support", "support-lead"] },
        "env": { "name": "production" }
    }));
    let details = snapshot
        .evaluate("refund-override", &ctx, vexil_runtime::now())
        .to_details();
    println!(
        "refund-override for u-4004: {}",
        serde_json::to_string(&details)?
    );
    println!("exposures written to {}", exposures.display());
    Ok(())
}
