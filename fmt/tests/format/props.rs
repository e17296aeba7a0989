//! Random well-formed sources for the formatter's invariants. Each item is
//! built as a list of tokens from small generators (names, literals,
//! conditions, rules, properties...), and any gap between two tokens gets
//! random whitespace: spaces, newlines, blank lines, or a comment — trailing,
//! on its own line, or a stray `///` — so comments land in every position
//! the grammar allows.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

type Toks = Vec<String>;

fn t(s: &str) -> Toks {
    vec![s.to_string()]
}

fn cat(parts: impl IntoIterator<Item = Toks>) -> Toks {
    parts.into_iter().flatten().collect()
}

fn opt(part: Option<Toks>) -> Toks {
    part.unwrap_or_default()
}

fn one(choices: &[&'static str]) -> impl Strategy<Value = Toks> + Clone {
    select(choices.to_vec()).prop_map(t)
}

fn name() -> impl Strategy<Value = Toks> + Clone {
    one(&["a", "b-c", "d_1", "staff", "x9", "new-checkout"])
}

fn string() -> impl Strategy<Value = Toks> + Clone {
    one(&[
        r#""text""#,
        r#""esc \" \\ \n \t \u{1F600}""#,
        r#""é 😀""#,
        r#""""#,
    ])
}

fn literal() -> impl Strategy<Value = Toks> + Clone {
    prop_oneof![
        one(&[
            "true",
            "false",
            "42",
            "-3",
            "0.25",
            "1e6",
            "2.3.0",
            "1.0.0-beta.2"
        ]),
        one(&["2026-12-01", "2026-12-01T09:30:00Z", "7d"]),
        string(),
    ]
}

fn percent() -> impl Strategy<Value = Toks> + Clone {
    one(&["25%", "33.3%", "100%", "0%"])
}

fn time() -> impl Strategy<Value = Toks> + Clone {
    one(&["2026-12-01", "2026-12-01T09:30:00Z", r#""2027-01-01""#])
}

/// `user.id` (with room for whitespace around the dot) or `user`.
fn path() -> impl Strategy<Value = Toks> + Clone {
    (name(), name()).prop_map(|(c, f)| cat([c, t("."), f]))
}

fn unit() -> impl Strategy<Value = Toks> + Clone {
    prop_oneof![name(), path()]
}

fn operand() -> impl Strategy<Value = Toks> + Clone {
    prop_oneof![
        name(),
        path(),
        Just(t("now")),
        // `now - 30d`, `now + 1h`, and the forms the checker refuses.
        (
            one(&["-", "+"]),
            one(&["30d", "1h", "2w", "90s", "15m", "30"])
        )
            .prop_map(|(sign, amount)| cat([t("now"), sign, amount])),
        literal(),
    ]
}

/// `[a, b, ...]` of atoms, maybe long, maybe with a trailing comma.
fn list(atom: impl Strategy<Value = Toks> + Clone) -> impl Strategy<Value = Toks> + Clone {
    (vec(atom, 0..30), any::<bool>()).prop_map(|(items, trailing)| {
        let mut toks = t("[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                toks.push(",".into());
            }
            toks.extend(item.iter().cloned());
        }
        if trailing && !items.is_empty() {
            toks.push(",".into());
        }
        toks.push("]".into());
        toks
    })
}

fn predicate() -> impl Strategy<Value = Toks> + Clone {
    let compare = one(&["==", "!=", "<", "<=", ">", ">="]);
    let string_op = one(&[
        "starts_with",
        "iends_with",
        "contains",
        "imatches",
        "iequals",
    ]);
    prop_oneof![
        (operand(), compare, operand()).prop_map(|(l, op, r)| cat([l, op, r])),
        (
            operand(),
            any::<bool>(),
            one(&["in", "iin"]),
            list(prop_oneof![literal(), name()])
        )
            .prop_map(|(l, negated, op, items)| cat([
                l,
                if negated { t("not") } else { vec![] },
                op,
                items
            ])),
        (literal(), path()).prop_map(|(l, r)| cat([l, t("in"), r])),
        (
            path(),
            one(&["any", "all"]),
            list(prop_oneof![literal(), name()])
        )
            .prop_map(|(l, q, items)| cat([l, t("contains"), q, items])),
        (path(), string_op, string()).prop_map(|(l, op, r)| cat([l, op, r])),
        (path(), any::<bool>()).prop_map(|(p, negated)| cat([
            p,
            t("is"),
            if negated { t("not") } else { vec![] },
            t("set")
        ])),
        operand(),
    ]
}

fn condition() -> impl Strategy<Value = Toks> + Clone {
    predicate().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| cat([t("not"), c])),
            inner.clone().prop_map(|c| cat([t("("), c, t(")")])),
            vec(inner.clone(), 2..5).prop_map(|cs| join(cs, "and")),
            vec(inner, 2..5).prop_map(|cs| join(cs, "or")),
        ]
    })
}

fn join(parts: Vec<Toks>, sep: &str) -> Toks {
    let mut toks = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            toks.push(sep.to_string());
        }
        toks.extend(part);
    }
    toks
}

fn json() -> impl Strategy<Value = Toks> + Clone {
    let leaf = prop_oneof![one(&["null", "true", "1", "-2.5", "1e3"]), string()];
    leaf.prop_recursive(3, 16, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(|items| bracketed("[", items, "]")),
            vec((string(), inner), 0..5).prop_map(json_object),
        ]
    })
}

fn json_object(members: Vec<(Toks, Toks)>) -> Toks {
    let members = members
        .into_iter()
        .map(|(k, v)| cat([k, t(":"), v]))
        .collect();
    bracketed("{", members, "}")
}

fn bracketed(open: &str, items: Vec<Toks>, close: &str) -> Toks {
    cat([t(open), join_commas(items), t(close)])
}

fn join_commas(items: Vec<Toks>) -> Toks {
    join(items, ",")
}

fn value() -> impl Strategy<Value = Toks> + Clone {
    prop_oneof![
        literal(),
        name(),
        vec((string(), json()), 0..6).prop_map(json_object),
    ]
}

fn salt() -> impl Strategy<Value = Toks> + Clone {
    proptest::option::of(string().prop_map(|s| cat([t("salt"), s]))).prop_map(opt)
}

fn result() -> impl Strategy<Value = Toks> + Clone {
    let rollout = (proptest::option::of(value()), percent(), unit(), salt())
        .prop_map(|(v, p, u, s)| cat([opt(v.map(|v| cat([v, t("for")]))), p, t("by"), u, s]));
    let arm = (value(), percent()).prop_map(|(v, p)| cat([v, p]));
    let split = (unit(), salt(), vec(arm, 1..5))
        .prop_map(|(u, s, arms)| cat([t("split"), t("by"), u, s, bracketed("{", arms, "}")]));
    prop_oneof![value(), rollout, split]
}

fn rule() -> impl Strategy<Value = Toks> + Clone {
    (
        proptest::option::of(name()),
        proptest::option::of(time()),
        proptest::option::of(time()),
        proptest::option::of(condition()),
        result(),
    )
        .prop_map(|(n, from, until, when, r)| {
            cat([
                t("rule"),
                opt(n.map(|n| cat([n, t(":")]))),
                opt(from.map(|f| cat([t("from"), f]))),
                opt(until.map(|u| cat([t("until"), u]))),
                opt(when.map(|c| cat([t("when"), c]))),
                t("=>"),
                r,
            ])
        })
}

/// A comma that may follow a member of a block.
fn maybe_comma() -> impl Strategy<Value = Toks> + Clone {
    any::<bool>().prop_map(|c| if c { t(",") } else { vec![] })
}

fn block(keyword: &str, members: Vec<Toks>) -> Toks {
    cat([t(keyword), t("{"), members.concat(), t("}")])
}

fn variants() -> impl Strategy<Value = Toks> + Clone {
    let variant = (
        name(),
        value(),
        proptest::option::of(percent()),
        maybe_comma(),
    )
        .prop_map(|(n, v, w, c)| cat([n, t("="), v, opt(w), c]));
    vec(variant, 0..4).prop_map(|vs| block("variants", vs))
}

fn metrics() -> impl Strategy<Value = Toks> + Clone {
    let event = prop_oneof![name(), string()];
    let metric = (
        one(&["primary", "secondary", "guardrail"]),
        name(),
        one(&["conversion", "mean", "ratio"]),
        vec(event, 1..3),
        any::<bool>(),
        one(&["increase", "decrease"]),
        proptest::option::of(percent()),
        maybe_comma(),
    )
        .prop_map(|(role, n, f, events, within, goal, threshold, c)| {
            cat([
                role,
                n,
                t(":"),
                f,
                t("("),
                join_commas(events),
                t(")"),
                if within {
                    cat([t("within"), t("7d")])
                } else {
                    vec![]
                },
                goal,
                opt(threshold.map(|p| cat([t("threshold"), p]))),
                c,
            ])
        });
    vec(metric, 0..3).prop_map(|ms| block("metrics", ms))
}

fn planning() -> impl Strategy<Value = Toks> + Clone {
    let entry = (
        one(&["baseline", "stddev", "mde", "alpha", "power", "daily_units"]),
        prop_oneof![percent(), one(&["0.05", "12000"])],
        maybe_comma(),
    )
        .prop_map(|(k, v, c)| cat([k, v, c]));
    vec(entry, 0..4).prop_map(|es| block("planning", es))
}

fn property() -> impl Strategy<Value = Toks> + Clone {
    let keyed =
        |keyword: &'static str, s: BoxedStrategy<Toks>| s.prop_map(move |v| cat([t(keyword), v]));
    let requires = (name(), proptest::option::of((one(&["==", "!="]), value())))
        .prop_map(|(n, e)| cat([t("requires"), n, opt(e.map(|(op, v)| cat([op, v])))]));
    prop_oneof![
        keyed("kind", name().boxed()),
        keyed("owner", string().boxed()),
        keyed("tags", list(string()).boxed()),
        keyed("expires", time().boxed()),
        keyed("default", value().boxed()),
        keyed("enabled", one(&["true", "false"]).boxed()),
        keyed("enabled when", condition().boxed()),
        Just(t("client")),
        keyed("salt", string().boxed()),
        requires,
        variants(),
        rule(),
        rule(),
        keyed("unit", unit().boxed()),
        keyed("layer", name().boxed()),
        keyed("traffic", percent().boxed()),
        keyed("audience", condition().boxed()),
        keyed("start", time().boxed()),
        keyed("end", time().boxed()),
        keyed("control", name().boxed()),
        metrics(),
        planning(),
    ]
}

fn type_expr() -> impl Strategy<Value = Toks> + Clone {
    // Every field type the grammar names (`json` is a flag's value type).
    let fields: Vec<&'static str> = vexil_grammar::lex::TYPE_NAMES
        .iter()
        .copied()
        .filter(|t| *t != "json")
        .collect();
    let prim = one(&fields);
    let base = prim.prop_recursive(2, 6, 1, |inner| {
        prop_oneof![
            inner.prop_map(|ty| cat([t("list"), t("<"), ty, t(">")])),
            vec(name(), 0..12)
                .prop_map(|ms| bracketed("{", ms, "}"))
                .prop_map(|b| cat([t("enum"), b])),
        ]
    });
    (base, any::<bool>())
        .prop_map(|(ty, optional)| cat([ty, if optional { t("?") } else { vec![] }]))
}

fn field() -> impl Strategy<Value = Toks> + Clone {
    // The `key` marker must be followed by the name and colon with nothing
    // but whitespace, so they make one token here.
    let head = prop_oneof![
        name().prop_map(|n| cat([n, t(":")])),
        select(vec!["key id:", "key d_1:"]).prop_map(t),
    ];
    (head, type_expr(), maybe_comma()).prop_map(|(h, ty, c)| cat([h, ty, c]))
}

fn test_member() -> impl Strategy<Value = Toks> + Clone {
    let test_value = prop_oneof![list(prop_oneof![literal(), name()]), literal(), name()];
    let field_value =
        (name(), test_value, maybe_comma()).prop_map(|(f, v, c)| cat([f, t(":"), v, c]));
    let context_value =
        (name(), vec(field_value, 0..5)).prop_map(|(n, fs)| cat([n, t("{"), fs.concat(), t("}")]));
    let expectation = prop_oneof![
        value().prop_map(|v| cat([t("=="), v])),
        name().prop_map(|n| cat([t("variant"), n])),
        name().prop_map(|n| cat([t("reason"), n])),
        prop_oneof![name(), one(&["2"])].prop_map(|n| cat([t("rule"), n])),
        name().prop_map(|n| cat([t("error"), n])),
    ];
    prop_oneof![
        vec(context_value, 0..3).prop_map(|cs| block("context", cs)),
        time().prop_map(|tm| cat([t("now"), tm])),
        (name(), expectation).prop_map(|(n, e)| cat([t("expect"), n, e])),
    ]
}

fn item() -> impl Strategy<Value = Toks> {
    let value_type = one(&["bool", "string", "int", "float", "json"]);
    prop_oneof![
        (name(), vec(field(), 0..5)).prop_map(|(n, fs)| cat([
            t("context"),
            n,
            t("{"),
            fs.concat(),
            t("}")
        ])),
        (name(), condition()).prop_map(|(n, c)| cat([t("segment"), n, t("{"), c, t("}")])),
        (
            one(&["flag", "experiment"]),
            name(),
            value_type,
            vec(property(), 0..7)
        )
            .prop_map(|(kw, n, ty, ps)| cat([
                kw,
                n,
                t(":"),
                ty,
                t("{"),
                ps.concat(),
                t("}")
            ])),
        (string(), vec(test_member(), 0..4)).prop_map(|(s, ms)| cat([
            t("test"),
            s,
            t("{"),
            ms.concat(),
            t("}")
        ])),
    ]
}

/// What may fill the gap between two tokens.
fn gap() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        12 => Just(" "),
        3 => Just("\n  "),
        1 => Just("\n\n"),
        1 => Just("\t"),
        1 => Just(" // trailing\n"),
        1 => Just("\n  // own line\n  "),
        1 => Just("\n\n// after a blank\n\n"),
        1 => Just(" /// stray doc\n"),
        1 => Just("\n/// doc line\n"),
    ]
}

fn source() -> impl Strategy<Value = String> {
    vec(item(), 1..4)
        .prop_map(|items| join(items, "\n"))
        .prop_flat_map(|toks| {
            let n = toks.len();
            (Just(toks), vec(gap(), n))
        })
        .prop_map(|(toks, gaps)| {
            let mut src = String::new();
            for (tok, gap) in toks.iter().zip(gaps) {
                // A token of a newline only separates items.
                if tok != "\n" {
                    src.push_str(tok);
                }
                src.push_str(gap);
            }
            src
        })
}

/// A few hundred cases keep the test to seconds; set `PROPTEST_CASES` to
/// search longer.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn format_of_random_sources_round_trips_and_is_idempotent(src in source()) {
        super::check_invariants("random source", &src);
    }
}
