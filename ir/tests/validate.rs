//! Validation decides every refusal: each rule below is shown refusing a
//! bundle that breaks it, and a bundle that keeps them all is accepted.
//! (The runtime's mutation test checks, on random corruptions, that what
//! is accepted runs alike on both backends.)

// The helpers below are test code too: a panic is a failed test.
#![allow(clippy::panic)]

use vexil_ir::bucket::BUCKETS;
use vexil_ir::*;

fn field(name: &str, ty: FieldType, slot: Slot) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        ty,
        optional: true,
        slot,
        doc: None,
    }
}

const ID: Operand = Operand::Field(0);
const AGE: Operand = Operand::Field(1);
const SCORE: Operand = Operand::Field(2);
const PLAN: Operand = Operand::Field(3);
const VERSION: Operand = Operand::Field(4);
const ROLES: Slot = 6;

/// `user { id: string, age: int, score: float, plan: enum { free, pro },
/// version: semver, beta: bool, roles: list<string>, created: timestamp }`
/// and a flag `f` whose one rule has `condition`.
fn bundle_with(condition: Expr) -> Bundle {
    let fields = vec![
        field("id", FieldType::String, 0),
        field("age", FieldType::Int, 1),
        field("score", FieldType::Float, 2),
        field(
            "plan",
            FieldType::Enum(vec!["free".into(), "pro".into()]),
            3,
        ),
        field("version", FieldType::Semver, 4),
        field("beta", FieldType::Bool, 5),
        field("roles", FieldType::List(Box::new(FieldType::String)), ROLES),
        field("created", FieldType::Timestamp, 7),
    ];
    Bundle {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        schema: Schema {
            contexts: vec![ContextSchema {
                name: "user".into(),
                key: Some(0),
                fields,
                doc: None,
            }],
            slot_count: 8,
        },
        segments: Vec::new(),
        flags: vec![Flag {
            name: "f".into(),
            kind: FlagKind::Release,
            value_type: ValueType::Bool,
            enabled: true,
            enabled_when: None,
            values: vec![
                ServedValue {
                    value: FlagValue::Bool(false),
                    variant: None,
                },
                ServedValue {
                    value: FlagValue::Bool(true),
                    variant: None,
                },
            ],
            default: 0,
            prerequisites: Vec::new(),
            rules: vec![Rule {
                name: None,
                condition,
                result: RuleResult::Serve(1),
                guardrails: None,
            }],
            meta: Metadata::default(),
        }],
        experiments: Vec::new(),
        layers: Vec::new(),
        tests: Vec::new(),
    }
}

fn compare(lhs: Operand, op: CompareOp, rhs: Operand) -> Expr {
    Expr::Compare { lhs, op, rhs }
}

fn int(i: i64) -> Operand {
    Operand::Const(Const::Int(i))
}

fn version(text: &str) -> Semver {
    Semver::parse(text).expect("a version")
}

fn matches(lhs: Operand, pattern: &str, case_insensitive: bool) -> Expr {
    Expr::StringOp {
        lhs,
        op: StringOp::Matches,
        case_insensitive,
        rhs: Operand::Const(Const::String(pattern.into())),
    }
}

/// The problem validation reports for `bundle`, which must be refused.
fn refusal(bundle: Bundle) -> String {
    match validate(bundle) {
        Err(BundleError::Invalid { problem, .. }) => problem,
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_bundle_that_keeps_every_rule_is_accepted_with_its_patterns_compiled() {
    let condition = Expr::And(vec![
        compare(AGE, CompareOp::Ge, int(18)),
        // An int meets a float at float.
        compare(AGE, CompareOp::Lt, SCORE),
        compare(PLAN, CompareOp::Eq, Operand::Const(Const::Enum(1))),
        compare(
            VERSION,
            CompareOp::Ge,
            Operand::Const(Const::Semver(version("4294967295.4294967295.1"))),
        ),
        matches(ID, "^abc", true),
        Expr::ListContains {
            list: ROLES,
            value: Operand::Const(Const::String("admin".into())),
        },
        compare(Operand::Now, CompareOp::Lt, Operand::Field(7)),
    ]);
    let valid = validate(bundle_with(condition)).expect("valid");
    assert_eq!(valid.flags.len(), 1);
    let re = valid.pattern("^abc", true).expect("compiled");
    assert!(re.is_match("ABCD"));
    assert!(valid.pattern("^abc", false).is_none());
    assert!(valid.pattern("^xyz", true).is_none());
    // Through JSON, too.
    let again = Bundle::from_json(&valid.to_json()).expect("valid");
    assert_eq!(again, valid);
}

#[test]
fn two_constants_are_refused_in_comparisons_and_string_operators() {
    let p = refusal(bundle_with(compare(int(1), CompareOp::Eq, int(1))));
    assert_eq!(p, "comparison of two constants");
    let both = Expr::StringOp {
        lhs: Operand::Const(Const::String("a".into())),
        op: StringOp::Contains,
        case_insensitive: false,
        rhs: Operand::Const(Const::String("b".into())),
    };
    assert_eq!(
        refusal(bundle_with(both)),
        "string operator between two constants"
    );
}

#[test]
fn in_needs_a_field_or_now() {
    let e = Expr::InSet {
        operand: int(1),
        set: ConstSet::Int(vec![1, 2]),
    };
    assert_eq!(refusal(bundle_with(e)), "`in` on a constant");
}

#[test]
fn matches_needs_a_field_and_a_pattern_that_compiles() {
    let constant = Operand::Const(Const::String("abc".into()));
    assert_eq!(
        refusal(bundle_with(matches(constant, "^a", false))),
        "string operator between two constants"
    );
    let p = refusal(bundle_with(matches(ID, "(", false)));
    assert!(p.starts_with("pattern `(` does not compile: "), "{p}");
}

#[test]
fn versions_must_pack() {
    let huge = || Operand::Const(Const::Semver(version("4294967296.0.0")));
    let p = refusal(bundle_with(compare(VERSION, CompareOp::Ge, huge())));
    assert!(
        p.starts_with("version `4294967296.0.0` is out of range"),
        "{p}"
    );
    let set = Expr::InSet {
        operand: VERSION,
        set: ConstSet::Semver(vec![version("1.0.0"), version("0.4294967296.0")]),
    };
    assert!(refusal(bundle_with(set)).contains("out of range"));
    let mut bundle = bundle_with(Expr::Const(true));
    if let Some(f) = bundle.schema.contexts[0].fields.get_mut(ROLES as usize) {
        f.ty = FieldType::List(Box::new(FieldType::Semver));
    }
    bundle.flags[0].rules[0].condition = Expr::ListContains {
        list: ROLES,
        value: huge(),
    };
    assert!(refusal(bundle).contains("out of range"));
}

#[test]
fn types_must_meet() {
    let p = refusal(bundle_with(compare(ID, CompareOp::Eq, int(1))));
    assert_eq!(p, "comparison of string with int");
    let p = refusal(bundle_with(compare(ID, CompareOp::Lt, ID)));
    assert_eq!(p, "ordering comparison of string values");
    let p = refusal(bundle_with(compare(
        PLAN,
        CompareOp::Eq,
        Operand::Const(Const::Enum(2)),
    )));
    assert_eq!(p, "enum value 2 out of range (the enum has 2)");
    let p = refusal(bundle_with(compare(
        Operand::Field(ROLES),
        CompareOp::Eq,
        int(1),
    )));
    assert_eq!(p, "slot 6 holds a list, not a value");
    let p = refusal(bundle_with(Expr::Field(1)));
    assert_eq!(p, "slot 1 used as a condition is not a bool");
}

#[test]
fn a_flag_switch_is_validated_as_a_rule_condition_is() {
    let switched = |switch: Expr| {
        let mut bundle = bundle_with(Expr::Const(true));
        bundle.flags[0].enabled_when = Some(switch);
        bundle
    };
    assert!(validate(switched(compare(AGE, CompareOp::Ge, int(18)))).is_ok());
    let p = refusal(switched(compare(ID, CompareOp::Eq, int(1))));
    assert_eq!(p, "comparison of string with int");
    assert_eq!(refusal(switched(Expr::IsSet(8))), "slot 8 is not a field");
    assert_eq!(
        refusal(switched(Expr::Segment(0))),
        refusal(bundle_with(Expr::Segment(0)))
    );
}

#[test]
fn slots_are_bounded() {
    let mut bundle = bundle_with(Expr::Const(true));
    bundle.schema.slot_count = MAX_SLOTS + 1;
    assert!(refusal(bundle).contains("more than the 65536"));
    let mut bundle = bundle_with(Expr::Const(true));
    bundle.schema.slot_count = MAX_SLOTS;
    assert!(
        validate(bundle).is_ok(),
        "gaps after the last field are fine"
    );
    let bundle = bundle_with(Expr::IsSet(8));
    assert_eq!(refusal(bundle), "slot 8 is not a field");
}

/// A chain of segments, each using the one before: acyclic by order, and
/// refused once the conditions nest deeper than `MAX_DEPTH` expanded.
#[test]
fn segments_refer_backwards_and_nest_boundedly() {
    let chain = |n: usize| {
        let mut bundle = bundle_with(Expr::Segment(n as u32 - 1));
        bundle.segments = (0..n)
            .map(|i| Segment {
                name: format!("s{i}"),
                condition: match i {
                    0 => Expr::Field(5),
                    _ => Expr::Not(Box::new(Expr::Segment(i as u32 - 1))),
                },
            })
            .collect();
        bundle
    };
    assert!(validate(chain(100)).is_ok());
    assert!(refusal(chain(200)).starts_with("condition nested more than 256 deep"));
    let mut forward = chain(3);
    forward.segments[0].condition = Expr::Segment(2);
    assert_eq!(refusal(forward), "segment 2 is not declared before its use");
    let mut deep = Expr::Field(5);
    for _ in 0..MAX_DEPTH {
        deep = Expr::Not(Box::new(deep));
    }
    assert!(refusal(bundle_with(deep)).starts_with("condition nested more than"));
}

#[test]
fn split_arms_and_values_are_in_range() {
    let mut bundle = bundle_with(Expr::Const(true));
    bundle.flags[0].rules[0].result = RuleResult::Split {
        bucketing: Bucketing {
            unit: 0,
            salt: "s".into(),
        },
        arms: vec![
            SplitArm {
                upper: 60_000,
                value: 0,
            },
            SplitArm {
                upper: 50_000,
                value: 1,
            },
            SplitArm {
                upper: BUCKETS,
                value: 1,
            },
        ],
    };
    assert_eq!(refusal(bundle), "split arms out of order or out of range");
    let mut bundle = bundle_with(Expr::Const(true));
    bundle.flags[0].default = 2;
    assert_eq!(refusal(bundle), "default is not one of its values");
}

#[test]
fn now_moved_is_a_timestamp_and_reads_the_clock() {
    let moved = compare(
        Operand::Field(7),
        CompareOp::Gt,
        Operand::NowOffset(-2_592_000_000_000),
    );
    let valid = validate(bundle_with(moved)).expect("valid");
    assert_eq!(valid.flags_reading_clock(), [true]);
    let p = refusal(bundle_with(compare(
        AGE,
        CompareOp::Lt,
        Operand::NowOffset(1),
    )));
    assert_eq!(p, "comparison of int with timestamp");
    let json = Bundle::from_json(&valid.to_json()).expect("valid");
    assert_eq!(json, valid);
    let text = valid.to_json().replace([' ', '\n'], "");
    assert!(text.contains(r#""now_offset":-2592000000000"#), "{text}");
}

/// An address compares with `==`/`!=` and sits `in` ranges; it has no
/// order, no list holds addresses, and a range's prefix is at most 128.
#[test]
fn addresses_are_compared_for_equality_and_ranges_only() {
    let with_addr = |condition: Expr, ty: FieldType| {
        let mut bundle = bundle_with(condition);
        bundle.schema.contexts[0].fields.push(field("addr", ty, 8));
        bundle.schema.slot_count = 9;
        bundle
    };
    let addr = Operand::Field(8);
    let ip = |t: &str| Operand::Const(Const::Ip(ip::Ip::parse(t).expect("an address")));
    let ranges = |ts: &[&str]| {
        ConstSet::Cidr(
            ts.iter()
                .map(|t| ip::Cidr::parse(t).expect("a range"))
                .collect(),
        )
    };
    let ok = [
        compare(addr.clone(), CompareOp::Eq, ip("10.1.2.3")),
        compare(ip("2001:db8::1"), CompareOp::Ne, addr.clone()),
        compare(addr.clone(), CompareOp::Eq, addr.clone()),
        Expr::InSet {
            operand: addr.clone(),
            set: ranges(&["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]),
        },
    ];
    for condition in ok {
        assert!(
            validate(with_addr(condition.clone(), FieldType::Ip)).is_ok(),
            "{condition:?}"
        );
    }
    let p = refusal(with_addr(
        compare(addr.clone(), CompareOp::Lt, ip("10.0.0.0")),
        FieldType::Ip,
    ));
    assert_eq!(p, "ordering comparison of ip values");
    let p = refusal(with_addr(
        compare(
            addr.clone(),
            CompareOp::Eq,
            Operand::Const(Const::String("10.0.0.1".into())),
        ),
        FieldType::Ip,
    ));
    assert_eq!(p, "comparison of ip with string");
    let p = refusal(with_addr(
        Expr::InSet {
            operand: ID,
            set: ranges(&["10.0.0.0/8"]),
        },
        FieldType::Ip,
    ));
    assert!(p.contains("string"), "{p}");
    let mut wide = ip::Cidr::parse("::/0").expect("a range");
    wide.prefix = 129;
    let p = refusal(with_addr(
        Expr::InSet {
            operand: addr.clone(),
            set: ConstSet::Cidr(vec![wide]),
        },
        FieldType::Ip,
    ));
    assert_eq!(p, "range prefix 129 above 128");
    let p = refusal(with_addr(
        Expr::Const(true),
        FieldType::List(Box::new(FieldType::Ip)),
    ));
    assert!(p.contains("a list of addresses"), "{p}");
}
