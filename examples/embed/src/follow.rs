//! `--follow URL`: the same service, its flags followed from a `vexil
//! serve` server instead of a directory. Evaluates in a loop, as requests
//! would, and prints what changes: every evaluation is in-process; only the
//! follower's own thread talks to the server.

use std::sync::Arc;
use std::time::Duration;

use vexil_follow::{Event, FollowOptions, Follower, Key, Origin};

/// The flags the loop shows.
const FLAGS: [&str; 3] = ["payments-circuit-breaker", "new-checkout", "search-ranking"];

pub fn run(server: &str) -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("VEXIL_KEY")
        .map_err(|_| "set VEXIL_KEY to a `server` key of the server to follow")?;
    let mut options = FollowOptions::new(server, Key::new(key));
    options.cache = Some(std::env::temp_dir().join("vexil-embed-follow.json"));
    options.on_event = Some(Arc::new(|event: &Event| match event {
        Event::Loaded {
            version,
            flags_changed,
            overrides,
            origin: Origin::Server,
        } => println!(
            "version {version}: {} with {overrides} override(s)",
            if *flags_changed {
                "new flags"
            } else {
                "same flags"
            }
        ),
        Event::Loaded {
            version,
            origin: Origin::Cache { saved_at },
            ..
        } => println!(
            "the server is unreachable: starting from the cache of {saved_at} (version {version})"
        ),
        Event::Connected => println!("connected to the server"),
        Event::Disconnected { error } => {
            println!("server unreachable, still serving the last flags: {error}")
        }
        Event::Refused { version, error } => {
            println!("version {version} does not load here, still serving the last flags: {error}")
        }
        Event::CacheFailed { error } => println!("cannot cache the flags: {error}"),
    }));
    let follower = Follower::start(options)?;
    let engine = follower.engine();

    let mut last: Vec<String> = Vec::new();
    loop {
        // One snapshot per "request"; a context as a handler would fill it.
        let snapshot = engine.current();
        let ctx = snapshot.layout().context_from_json(&serde_json::json!({
            "user": { "id": "u-1001", "tier": "gold", "email": "vera@gmail.com" },
            "env": { "name": "production" },
            "location": { "country": "DE" }
        }));
        let now = vexil_runtime::now();
        let shown: Vec<String> = FLAGS
            .iter()
            .map(|flag| {
                let e = snapshot.evaluate(flag, &ctx, now);
                let value = e.value.map_or("?".into(), |v| v.to_string());
                format!("{flag} = {value} ({})", e.reason.as_str())
            })
            .collect();
        if shown != last {
            for line in &shown {
                println!("  {line}");
            }
            last = shown;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
