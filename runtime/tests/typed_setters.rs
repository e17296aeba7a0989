//! The typed `Context` setters check their handle's field type: a setter
//! of the wrong type (`set_int` on a string field, an enum index past its
//! values, strings into a `list<int>`) marks the field invalid, so flags
//! that read it answer `INVALID_CONTEXT` naming the field, alike on every
//! backend, and never read another type's bits as a string's offset.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use vexil_runtime::{BackendChoice, Context, Details, ErrorCode, FieldHandle, Layout, Snapshot};

/// Every backend this build has, the interpreter (the reference) first.
fn backends() -> Vec<BackendChoice> {
    let mut b = vec![BackendChoice::Interpreter];
    if vexil_runtime::jit_status().is_ok() {
        b.push(BackendChoice::Jit);
    }
    b
}

/// One flag per field, each reading only that field, plus one reading none.
const FLAGS: &str = r#"
flag by_email: bool {
  kind release
  default false
  rule r: when user.email starts_with "ab" => true
}
flag by_age: bool {
  kind release
  default false
  rule r: when user.age >= 18 => true
}
flag by_plan: bool {
  kind release
  default false
  rule r: when user.plan == pro => true
}
flag by_lucky: bool {
  kind release
  default false
  rule r: when 7 in user.lucky => true
}
flag by_roles: bool {
  kind release
  default false
  rule r: when "admin" in user.roles => true
}
flag by_created: bool {
  kind release
  default false
  rule r: when user.created_at < now => true
}
flag by_version: bool {
  kind release
  default false
  rule r: when user.app_version >= 2.0.0 => true
}
flag by_beta: bool {
  kind release
  default false
  rule r: when user.beta => true
}
flag by_score: bool {
  kind release
  default false
  rule r: when user.score > 0.5 => true
}
context net {
  addr: ip
}
flag by_addr: bool {
  kind release
  default false
  rule r: when net.addr in ["10.0.0.0/8"] => true
}
flag always: bool {
  kind release
  default false
  rule r: when true => true
}
"#;

const NOW_MICROS: i64 = 1_796_464_800_000_000;

/// A field by its name in `user`, or by its path in another context.
fn field(layout: &Layout, name: &str) -> FieldHandle {
    let path = path(name);
    let (context, name) = path.split_once('.').unwrap();
    layout.field(context, name).unwrap()
}

fn path(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("user.{name}")
    }
}

fn eval(s: &Snapshot, flag: &str, ctx: &Context) -> Details {
    s.evaluate(flag, ctx, NOW_MICROS).to_details()
}

fn assert_invalid(s: &Snapshot, flag: &str, ctx: &Context, field: &str) {
    let d = eval(s, flag, ctx);
    assert_eq!(
        d.error_code,
        Some(ErrorCode::InvalidContext),
        "{flag} on {}: {d:?}",
        s.backend_name()
    );
    assert_eq!(d.value, Some(serde_json::Value::Bool(false)));
    let message = d.error_message.unwrap_or_default();
    let path = path(field);
    assert!(
        message.contains(&path),
        "{flag} on {}: `{message}` does not name {path}",
        s.backend_name()
    );
}

fn assert_on(s: &Snapshot, flag: &str, ctx: &Context) {
    let d = eval(s, flag, ctx);
    assert_eq!(d.error_code, None, "{flag} on {}: {d:?}", s.backend_name());
    assert_eq!(
        d.value,
        Some(serde_json::Value::Bool(true)),
        "{flag} on {}: {d:?}",
        s.backend_name()
    );
}

#[test]
fn setters_of_the_right_type_set_values() {
    for choice in backends() {
        let s = snapshot_with(FLAGS, choice);
        let layout = s.layout();
        let mut ctx = layout.context();
        ctx.set_str(field(layout, "email"), "abc@example.com");
        ctx.set_int(field(layout, "age"), 30);
        ctx.set_enum_index(field(layout, "plan"), 1);
        ctx.set_str_list(field(layout, "roles"), ["viewer", "admin"]);
        ctx.set_list_parsed(layout, field(layout, "lucky"), ["3", "7"]);
        ctx.set_timestamp(field(layout, "created_at"), NOW_MICROS - 1);
        ctx.set_semver(field(layout, "app_version"), &semver::Version::new(2, 1, 0));
        ctx.set_bool(field(layout, "beta"), true);
        ctx.set_float(field(layout, "score"), 0.75);
        ctx.set_ip(
            field(layout, "net.addr"),
            "::ffff:10.1.2.3".parse().unwrap(),
        );
        for flag in [
            "by_email",
            "by_age",
            "by_plan",
            "by_roles",
            "by_lucky",
            "by_created",
            "by_version",
            "by_beta",
            "by_score",
            "by_addr",
        ] {
            assert_on(&s, flag, &ctx);
        }
    }
}

#[test]
fn a_setter_of_the_wrong_type_makes_the_field_invalid_on_every_backend() {
    type Wrong = fn(&Layout, &mut Context);
    let cases: [(&str, &str, Wrong); 14] = [
        // An int where the code reads a string's offset and length.
        ("by_email", "email", |l, c| {
            c.set_int(field(l, "email"), 1 << 40)
        }),
        ("by_email", "email", |l, c| {
            c.set_timestamp(field(l, "email"), i64::MAX)
        }),
        ("by_email", "email", |l, c| {
            c.set_str_list(field(l, "email"), ["ab"])
        }),
        ("by_age", "age", |l, c| c.set_str(field(l, "age"), "18")),
        ("by_age", "age", |l, c| c.set_float(field(l, "age"), 30.0)),
        // Past the enum's three values.
        ("by_plan", "plan", |l, c| {
            c.set_enum_index(field(l, "plan"), 3)
        }),
        // Strings into a list of ints.
        ("by_lucky", "lucky", |l, c| {
            c.set_str_list(field(l, "lucky"), ["7"])
        }),
        ("by_roles", "roles", |l, c| {
            c.set_int(field(l, "roles"), 1 << 40)
        }),
        ("by_created", "created_at", |l, c| {
            c.set_int(field(l, "created_at"), 0)
        }),
        ("by_version", "app_version", |l, c| {
            c.set_str(field(l, "app_version"), "2.1.0")
        }),
        ("by_beta", "beta", |l, c| c.set_int(field(l, "beta"), 1)),
        // An address's 128 bits where the code reads a string's offset
        // and length, and a string where it reads an address.
        ("by_email", "email", |l, c| {
            c.set_ip(field(l, "email"), "2001:db8::1".parse().unwrap())
        }),
        ("by_addr", "net.addr", |l, c| {
            c.set_str(field(l, "net.addr"), "10.1.2.3")
        }),
        ("by_addr", "net.addr", |l, c| {
            c.set_int(field(l, "net.addr"), 0x0a01_0203)
        }),
    ];
    for choice in backends() {
        let s = snapshot_with(FLAGS, choice);
        let layout = s.layout();
        for (flag, name, wrong) in cases {
            let mut ctx = layout.context();
            // A valid value first: the wrong setter replaces it.
            ctx.set_parsed(layout, field(layout, name), valid_text(name));
            wrong(layout, &mut ctx);
            assert_invalid(&s, flag, &ctx, name);
            // A flag that does not read the field is unaffected.
            assert_on(&s, "always", &ctx);
        }
    }
}

/// A value of each field that its flag holds for, as text.
fn valid_text(name: &str) -> &'static str {
    match name {
        "email" => "abc@example.com",
        "age" => "30",
        "plan" => "pro",
        "created_at" => "2020-01-01T00:00:00Z",
        "app_version" => "2.1.0",
        "beta" => "true",
        "net.addr" => "10.1.2.3",
        // Lists are not set from one text; they start missing.
        _ => "",
    }
}

#[test]
fn a_wrong_setter_then_the_right_one_sets_the_value() {
    for choice in backends() {
        let s = snapshot_with(FLAGS, choice);
        let layout = s.layout();
        let mut ctx = layout.context();
        ctx.set_int(field(layout, "email"), 5);
        assert_invalid(&s, "by_email", &ctx, "email");
        ctx.set_str(field(layout, "email"), "abz");
        assert_on(&s, "by_email", &ctx);
    }
}
