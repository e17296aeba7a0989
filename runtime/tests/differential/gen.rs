//! Random well-typed programs and contexts, built from a seed.
//!
//! Values come from small pools full of edge cases (extreme integers,
//! `-0.0`, NaN constants, pre-releases, non-ASCII text, strings that are
//! prefixes of one another, out-of-range enum indices) so that constants
//! and context values actually meet. Every bundle is accepted by
//! `vexil_ir::validate`.

use serde_json::json;
use vexil_runtime::ir::bucket::BUCKETS;
use vexil_runtime::ir::*;
use vexil_runtime::{Context, Layout};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

pub const STRINGS: &[&str] = &[
    "",
    "a",
    "A",
    "ab",
    "AB",
    "US",
    "us",
    "DE",
    "FR",
    "abc",
    // Four bytes fit in a string slot's prefix, five do not; a NUL byte
    // pads the prefix as it does: only the length tells these apart.
    "abcd",
    "abcde",
    "a\0",
    "\0",
    "abcdefg",
    "abcdefgh",
    "abcdefghi",
    "k",
    "K",
    "\u{212A}",
    "İ",
    "i\u{307}",
    "straße",
    "STRASSE",
    "ß",
    "é",
    "É",
    "日本",
    "日本語",
    "qa+1@shop.example",
    "QA+1@SHOP.EXAMPLE",
    "x@example.com",
    "@example.com",
    "a\0",
    "\0",
    "anon-0123456789abcdef",
    "the quick brown fox jumps over the lazy dog, the quick brown fox jumps",
    "the quick brown fox jumps over the lazy dog, the quick brown fox jumpS",
    "the quick brown fox jumps over the lazy dog",
];

pub const PATTERNS: &[&str] = &[
    "^a",
    "b$",
    "^qa\\+[0-9]+@",
    "us",
    "日本",
    "^$",
    "a|b",
    ".*",
    "ß",
    "^.{3}$",
];

pub const INTS: &[i64] = &[
    i64::MIN,
    i64::MIN + 1,
    -1_000_000,
    -42,
    -1,
    0,
    1,
    2,
    42,
    1000,
    i64::MAX - 1,
    i64::MAX,
];

pub const FLOATS: &[f64] = &[
    -1e300,
    -2.5,
    -1.0,
    -0.0,
    0.0,
    0.5,
    1.0,
    2.5,
    42.0,
    1e300,
    f64::MIN_POSITIVE,
    4.2e-12,
    -1000000.0,
];

/// Constants only: a context never holds these.
const ODD_FLOATS: &[f64] = &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

pub const VERSIONS: &[&str] = &[
    "0.0.0",
    "0.0.1",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.0+build.5",
    "1.5.0",
    "2.3.0-rc.1",
    "2.3.0",
    "2.10.0",
    "4294967295.4294967295.1",
];

/// Addresses that meet the ranges below at their edges, IPv4 in both
/// forms (`::ffff:10.0.0.1` is `10.0.0.1`; `::10.0.0.1` is not).
pub const IPS: &[&str] = &[
    "10.0.0.1",
    "::ffff:10.0.0.1",
    "::10.0.0.1",
    "10.255.255.255",
    "11.0.0.0",
    "11.0.0.1",
    "192.168.1.7",
    "0.0.0.0",
    "255.255.255.255",
    "::",
    "::1",
    "2001:db8::1",
    "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db8:8000::",
    "2001:db9::",
    "fe80::1",
];

pub const RANGES: &[&str] = &[
    "10.0.0.0/8",
    "10.0.0.1/32",
    "10.0.0.1",
    "11.0.0.0/31",
    "0.0.0.0/0",
    "::/0",
    "::/1",
    "8000::/1",
    "::ffff:0:0/96",
    "2001:db8::/32",
    "2001:db8::/33",
    "2001:db8::1/128",
    "192.168.0.0/16",
    "fe80::/10",
];

/// Out of the packable range: invalid in a context (validation refuses
/// it as a constant, which the mutation test covers).
pub const HUGE_VERSION: &str = "4294967296.0.0";

pub const T0: i64 = 1_790_000_000_000_000;
pub const T1: i64 = 1_800_000_000_000_000;
pub const TIMES: &[i64] = &[i64::MIN, -1, 0, T0 - 1, T0, T0 + 1, T1, i64::MAX];
pub const NOWS: &[i64] = &[
    0,
    T0 - 1,
    T0,
    T0 + 1,
    T1,
    T1 + 1,
    // Far ends, where `now - 30d` and `now + 1h` saturate.
    i64::MIN + 1,
    i64::MAX - 1,
];

/// How far `now - 30d` and the like move the time: the distances between
/// the pool's times, a day, and the extremes (which saturate).
pub const OFFSETS: &[i64] = &[
    1,
    -1,
    T1 - T0,
    T0 - T1,
    T0,
    -T0,
    86_400_000_000,
    -2_592_000_000_000,
    i64::MAX,
    i64::MIN,
];

const SALTS: &[&str] = &["", "s", "flag-a", "日本", "experiment-3way"];

/// Every comparison operator, the two that apply to any type first.
pub const COMPARE_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Lt,
    CompareOp::Le,
    CompareOp::Gt,
    CompareOp::Ge,
];

#[derive(Clone, Debug)]
pub struct FieldInfo {
    pub slot: u32,
    pub ty: FieldType,
    pub context: String,
    pub name: String,
}

fn version(text: &str) -> Semver {
    Semver::parse(text).expect("pool versions parse")
}

pub struct CaseGen {
    pub rng: Rng,
    pub size: usize,
    pub fields: Vec<FieldInfo>,
    segments: usize,
    /// The leaves of the flag being generated, which its later rules
    /// sometimes test again (compiled code computes such a leaf once).
    leaves: Vec<Expr>,
}

impl CaseGen {
    pub fn new(seed: u64, size: usize) -> CaseGen {
        CaseGen {
            rng: Rng::new(seed),
            size,
            fields: Vec::new(),
            leaves: Vec::new(),
            segments: 0,
        }
    }

    fn scalar_type(&mut self) -> FieldType {
        match self.rng.below(9) {
            8 => FieldType::Ip,
            0 => FieldType::Bool,
            1 => FieldType::Int,
            2 => FieldType::Float,
            3 | 4 => FieldType::String,
            5 => FieldType::Semver,
            6 => FieldType::Timestamp,
            _ => {
                let n = if self.rng.chance(10) {
                    70
                } else {
                    1 + self.rng.below(5)
                };
                FieldType::Enum((0..n).map(|i| format!("e{i}")).collect())
            }
        }
    }

    pub fn schema(&mut self) -> Schema {
        let mut contexts = Vec::new();
        // Now and then the fields start late, so that some fall past slot
        // 64, beyond the context header's bits.
        let mut slot = if self.rng.chance(25) {
            55 + self.rng.below(15) as u32
        } else {
            0
        };
        let n_contexts = 1 + self.rng.below(3);
        for c in 0..n_contexts {
            let name = format!("c{c}");
            let mut fields = Vec::new();
            let n_fields = 1 + self.rng.below(3 + self.size.min(5));
            for f in 0..n_fields {
                let ty = if self.rng.chance(15) {
                    // No list holds addresses.
                    let mut item = self.scalar_type();
                    while item == FieldType::Ip {
                        item = self.scalar_type();
                    }
                    FieldType::List(Box::new(item))
                } else {
                    self.scalar_type()
                };
                fields.push(FieldSchema {
                    name: format!("f{f}"),
                    ty: ty.clone(),
                    optional: self.rng.chance(30),
                    slot,
                    doc: None,
                });
                self.fields.push(FieldInfo {
                    slot,
                    ty,
                    context: name.clone(),
                    name: format!("f{f}"),
                });
                // Now and then a gap: slots need not be dense.
                slot += if self.rng.chance(5) { 2 } else { 1 };
            }
            let key = fields
                .iter()
                .find(|f| matches!(f.ty, FieldType::String | FieldType::Int))
                .filter(|_| self.rng.chance(70))
                .map(|f| f.slot);
            contexts.push(ContextSchema {
                name,
                key,
                fields,
                doc: None,
            });
        }
        Schema {
            contexts,
            slot_count: slot + self.rng.below(2) as u32,
        }
    }

    fn fields_where(&self, p: impl Fn(&FieldType) -> bool) -> Vec<FieldInfo> {
        self.fields.iter().filter(|f| p(&f.ty)).cloned().collect()
    }

    fn enum_len(ty: &FieldType) -> usize {
        match ty {
            FieldType::Enum(v) => v.len(),
            _ => 0,
        }
    }

    /// A constant of a scalar type.
    fn constant(&mut self, ty: &FieldType) -> Const {
        match ty {
            FieldType::Bool => Const::Bool(self.rng.chance(50)),
            FieldType::Int => Const::Int(self.rng.pick(INTS)),
            FieldType::Float => {
                if self.rng.chance(5) {
                    Const::Float(self.rng.pick(ODD_FLOATS))
                } else {
                    Const::Float(self.rng.pick(FLOATS))
                }
            }
            FieldType::String => Const::String(self.string()),
            FieldType::Semver => Const::Semver(version(self.rng.pick(VERSIONS))),
            FieldType::Timestamp => Const::Timestamp(self.rng.pick(TIMES)),
            FieldType::Enum(v) => Const::Enum(self.rng.below(v.len()) as u32),
            FieldType::Ip => {
                Const::Ip(ip::Ip::parse(self.rng.pick(IPS)).expect("pool addresses parse"))
            }
            FieldType::List(_) => Const::Bool(true),
        }
    }

    fn string(&mut self) -> String {
        if self.rng.chance(10) {
            // A fresh short string, so that large sets can be built.
            let n = self.rng.below(10);
            (0..n)
                .map(|_| (b'a' + self.rng.below(4) as u8) as char)
                .collect()
        } else {
            self.rng.pick(STRINGS).to_string()
        }
    }

    fn set_len(&mut self) -> usize {
        match self.rng.below(20) {
            0 => 40 + self.rng.below(60),
            1 if self.rng.chance(20) => 600 + self.rng.below(100),
            _ => self.rng.below(7),
        }
    }

    fn const_set(&mut self, ty: &FieldType) -> ConstSet {
        let n = self.set_len();
        match ty {
            FieldType::Bool => ConstSet::Bool((0..n.min(3)).map(|_| self.rng.chance(50)).collect()),
            FieldType::Int => ConstSet::Int(
                (0..n)
                    .map(|i| {
                        if self.rng.chance(50) {
                            self.rng.pick(INTS)
                        } else {
                            i as i64 * 7 - 20
                        }
                    })
                    .collect(),
            ),
            FieldType::Float => ConstSet::Float(
                (0..n)
                    .map(|i| {
                        if self.rng.chance(10) {
                            self.rng.pick(ODD_FLOATS)
                        } else if self.rng.chance(60) {
                            self.rng.pick(FLOATS)
                        } else {
                            i as f64 * 0.5
                        }
                    })
                    .collect(),
            ),
            FieldType::String => ConstSet::String((0..n).map(|_| self.string()).collect()),
            FieldType::Semver => ConstSet::Semver(
                (0..n.min(20))
                    .map(|_| version(self.rng.pick(VERSIONS)))
                    .collect(),
            ),
            FieldType::Timestamp => ConstSet::Timestamp(
                (0..n)
                    .map(|i| {
                        if self.rng.chance(50) {
                            self.rng.pick(TIMES)
                        } else {
                            T0 + i as i64
                        }
                    })
                    .collect(),
            ),
            FieldType::Enum(v) => {
                ConstSet::Enum((0..n).map(|_| self.rng.below(v.len()) as u32).collect())
            }
            FieldType::Ip => ConstSet::Cidr(
                (0..n.min(8))
                    .map(|_| ip::Cidr::parse(self.rng.pick(RANGES)).expect("pool ranges parse"))
                    .collect(),
            ),
            FieldType::List(_) => ConstSet::Bool(Vec::new()),
        }
    }

    /// The evaluation time, now and then moved (`now - 30d`).
    fn now(&mut self) -> Operand {
        if self.rng.chance(40) {
            Operand::NowOffset(self.rng.pick(OFFSETS))
        } else {
            Operand::Now
        }
    }

    fn op(&mut self, ordering: bool) -> CompareOp {
        if ordering {
            self.rng.pick(COMPARE_OPS)
        } else {
            self.rng.pick(&COMPARE_OPS[..2])
        }
    }

    fn compare(&mut self) -> Expr {
        let scalars = self.fields_where(|t| !matches!(t, FieldType::List(_)));
        if scalars.is_empty() || self.rng.chance(5) {
            // `now` against a time.
            return Expr::Compare {
                lhs: self.now(),
                op: self.op(true),
                rhs: Operand::Const(Const::Timestamp(self.rng.pick(TIMES))),
            };
        }
        let f = self.rng.pick(&scalars);
        let ordering = !matches!(f.ty, FieldType::Bool | FieldType::String | FieldType::Ip);
        let op = self.op(ordering);
        let lhs = Operand::Field(f.slot);
        let rhs = match self.rng.below(10) {
            0..=6 => {
                let k = match &f.ty {
                    FieldType::Int if self.rng.chance(25) => Const::Float(self.rng.pick(FLOATS)),
                    FieldType::Float if self.rng.chance(25) => Const::Int(self.rng.pick(INTS)),
                    ty => self.constant(ty),
                };
                Operand::Const(k)
            }
            7 if matches!(f.ty, FieldType::Timestamp) => self.now(),
            _ => {
                let same: Vec<FieldInfo> = scalars
                    .iter()
                    .filter(|g| {
                        g.ty == f.ty
                            || matches!(
                                (&f.ty, &g.ty),
                                (FieldType::Int, FieldType::Float)
                                    | (FieldType::Float, FieldType::Int)
                            )
                    })
                    .cloned()
                    .collect();
                Operand::Field(self.rng.pick(&same).slot)
            }
        };
        if self.rng.chance(25) {
            Expr::Compare {
                lhs: rhs,
                op,
                rhs: lhs,
            }
        } else {
            Expr::Compare { lhs, op, rhs }
        }
    }

    fn in_set(&mut self) -> Expr {
        let scalars = self.fields_where(|t| !matches!(t, FieldType::List(_)));
        if scalars.is_empty() || self.rng.chance(3) {
            return Expr::InSet {
                operand: self.now(),
                set: self.const_set(&FieldType::Timestamp),
            };
        }
        let f = self.rng.pick(&scalars);
        Expr::InSet {
            operand: Operand::Field(f.slot),
            set: self.const_set(&f.ty),
        }
    }

    fn list_contains(&mut self) -> Expr {
        let lists = self.fields_where(|t| matches!(t, FieldType::List(_)));
        if lists.is_empty() {
            return self.compare();
        }
        let l = self.rng.pick(&lists);
        let FieldType::List(elem) = &l.ty else {
            unreachable!()
        };
        let elem = elem.as_ref().clone();
        if self.rng.chance(35) {
            // `contains any [..]` / `contains all [..]`.
            let set = self.const_set(&elem);
            return if self.rng.chance(50) {
                Expr::ListContainsAny { list: l.slot, set }
            } else {
                Expr::ListContainsAll { list: l.slot, set }
            };
        }
        let same = self.fields_where(|t| *t == elem);
        let value = match self.rng.below(10) {
            0..=5 => Operand::Const(self.constant(&elem)),
            6 if elem == FieldType::Timestamp => self.now(),
            _ if !same.is_empty() => Operand::Field(self.rng.pick(&same).slot),
            _ => Operand::Const(self.constant(&elem)),
        };
        Expr::ListContains {
            list: l.slot,
            value,
        }
    }

    fn string_op(&mut self) -> Expr {
        let strings = self.fields_where(|t| *t == FieldType::String);
        if strings.is_empty() {
            return self.compare();
        }
        let f = self.rng.pick(&strings);
        let ci = self.rng.chance(40);
        if self.rng.chance(20) {
            return Expr::StringOp {
                lhs: Operand::Field(f.slot),
                op: StringOp::Matches,
                case_insensitive: ci,
                rhs: Operand::Const(Const::String(self.rng.pick(PATTERNS).to_string())),
            };
        }
        let op = self.rng.pick(&[
            StringOp::Equals,
            StringOp::StartsWith,
            StringOp::EndsWith,
            StringOp::Contains,
        ]);
        let lhs = if self.rng.chance(10) {
            Operand::Const(Const::String(self.string()))
        } else {
            Operand::Field(f.slot)
        };
        let rhs = if self.rng.chance(20) {
            Operand::Field(self.rng.pick(&strings).slot)
        } else {
            Operand::Const(Const::String(self.string()))
        };
        // A constant on the left needs a field on the right.
        let lhs = match (lhs, &rhs) {
            (Operand::Const(_), Operand::Const(_)) => Operand::Field(f.slot),
            (lhs, _) => lhs,
        };
        Expr::StringOp {
            lhs,
            op,
            case_insensitive: ci,
            rhs,
        }
    }

    fn leaf(&mut self) -> Expr {
        if !self.leaves.is_empty() && self.rng.chance(20) {
            return self.rng.pick(&self.leaves.clone());
        }
        let leaf = self.new_leaf();
        self.leaves.push(leaf.clone());
        leaf
    }

    fn new_leaf(&mut self) -> Expr {
        match self.rng.below(60) {
            0..=2 => Expr::Const(self.rng.chance(50)),
            3..=7 => {
                let bools = self.fields_where(|t| *t == FieldType::Bool);
                if bools.is_empty() {
                    self.compare()
                } else {
                    Expr::Field(self.rng.pick(&bools).slot)
                }
            }
            8..=11 => {
                let f = self.rng.pick(&self.fields.clone());
                Expr::IsSet(f.slot)
            }
            12..=31 => self.compare(),
            32..=41 => self.in_set(),
            42..=47 => self.list_contains(),
            48..=55 => self.string_op(),
            _ if self.segments > 0 => Expr::Segment(self.rng.below(self.segments) as u32),
            _ => self.compare(),
        }
    }

    pub fn expr(&mut self, depth: usize) -> Expr {
        if depth == 0 || self.rng.chance(35) {
            return self.leaf();
        }
        match self.rng.below(5) {
            0 | 1 => Expr::And(
                (0..self.rng.below(4))
                    .map(|_| self.expr(depth - 1))
                    .collect(),
            ),
            2 | 3 => Expr::Or(
                (0..self.rng.below(4))
                    .map(|_| self.expr(depth - 1))
                    .collect(),
            ),
            _ => Expr::Not(Box::new(self.expr(depth - 1))),
        }
    }

    fn depth(&mut self) -> usize {
        1 + self.rng.below(2 + self.size.min(4))
    }

    fn value(&mut self, ty: ValueType, i: usize) -> FlagValue {
        match ty {
            ValueType::Bool => FlagValue::Bool(i % 2 == 1),
            ValueType::String => {
                FlagValue::String(self.rng.pick(&["on", "off", "", "日本", "x"]).to_string())
            }
            ValueType::Int => FlagValue::Int(self.rng.pick(&[0, 1, -1, 42, i64::MAX])),
            ValueType::Float => FlagValue::Float(self.rng.pick(&[0.0, -0.0, 1.5, 42.0])),
            ValueType::Json => FlagValue::Json(json!({ "k": self.rng.below(3) })),
        }
    }

    fn bucketing(&mut self) -> Option<Bucketing> {
        let units = self.fields_where(|t| matches!(t, FieldType::String | FieldType::Int));
        if units.is_empty() {
            return None;
        }
        Some(Bucketing {
            unit: self.rng.pick(&units).slot,
            salt: self.rng.pick(SALTS).to_string(),
        })
    }

    /// Exclusive upper bounds of `n` arms, non-decreasing, the last BUCKETS.
    fn uppers(&mut self, n: usize) -> Vec<u32> {
        let mut cuts: Vec<u32> = (1..n)
            .map(|_| match self.rng.below(4) {
                0 => 0,
                1 => BUCKETS,
                _ => self.rng.below(BUCKETS as usize + 1) as u32,
            })
            .collect();
        cuts.sort_unstable();
        cuts.push(BUCKETS);
        cuts
    }

    /// A staged rollout's stages: one to four, starting at distinct times
    /// of `TIMES` (its ends and the microseconds around `T0` included), by
    /// ascending start, with buckets that never fall (equal ones included,
    /// which validation allows and the checker refuses).
    fn stages(&mut self) -> Vec<Stage> {
        let mut starts: Vec<i64> = (0..1 + self.rng.below(4))
            .map(|_| self.rng.pick(TIMES))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let mut buckets: Vec<u32> = starts
            .iter()
            .map(|_| self.rng.pick(&[0, 1, 25_000, 50_000, 99_999, BUCKETS]))
            .collect();
        buckets.sort_unstable();
        starts
            .into_iter()
            .zip(buckets)
            .map(|(starts, buckets)| Stage { starts, buckets })
            .collect()
    }

    fn timed(&mut self, condition: Expr) -> Expr {
        // A rule's `from`/`until`, as the compiler folds them.
        if !self.rng.chance(20) {
            return condition;
        }
        let mut parts = vec![Expr::Compare {
            lhs: Operand::Now,
            op: CompareOp::Ge,
            rhs: Operand::Const(Const::Timestamp(self.rng.pick(TIMES))),
        }];
        if self.rng.chance(50) {
            parts.push(Expr::Compare {
                lhs: Operand::Now,
                op: CompareOp::Lt,
                rhs: Operand::Const(Const::Timestamp(self.rng.pick(TIMES))),
            });
        }
        parts.push(condition);
        Expr::And(parts)
    }

    fn flag(&mut self, index: usize, flags: &[Flag]) -> Flag {
        let value_type = self.rng.pick(&[
            ValueType::Bool,
            ValueType::Bool,
            ValueType::String,
            ValueType::Int,
            ValueType::Float,
            ValueType::Json,
        ]);
        let n_values = 1 + self.rng.below(4);
        let values: Vec<ServedValue> = (0..n_values)
            .map(|i| ServedValue {
                value: self.value(value_type, i),
                variant: self.rng.chance(50).then(|| format!("v{i}")),
            })
            .collect();
        let mut prerequisites = Vec::new();
        if index > 0 && self.rng.chance(35) {
            for _ in 0..1 + self.rng.below(2) {
                let p = self.rng.below(index);
                let target = &flags[p];
                let expect = if self.rng.chance(30) {
                    PrerequisiteValue::Variant(
                        self.rng.pick(&["v0", "v1", "v2", "nope"]).to_string(),
                    )
                } else if self.rng.chance(80) {
                    PrerequisiteValue::Value(self.rng.pick(&target.values).value)
                } else {
                    PrerequisiteValue::Value(self.value(target.value_type, 1))
                };
                prerequisites.push(Prerequisite {
                    flag: p as u32,
                    negated: self.rng.chance(30),
                    expect,
                });
            }
        }
        let mut rules = Vec::new();
        self.leaves.clear();
        // `enabled when`: its leaves may repeat in the rules, as a switch
        // on `env` and a rule on `env` would.
        let enabled_when = if self.rng.chance(25) {
            let depth = self.depth();
            let switch = self.expr(depth);
            Some(self.timed(switch))
        } else {
            None
        };
        for r in 0..self.rng.below(2 + self.size.min(4)) {
            let depth = self.depth();
            let condition = if self.rng.chance(10) {
                Expr::And(Vec::new())
            } else {
                self.expr(depth)
            };
            let condition = self.timed(condition);
            let result = match (self.rng.below(10), self.bucketing()) {
                (0..=1, Some(bucketing)) => RuleResult::Rollout {
                    bucketing,
                    buckets: self.rng.pick(&[0, 1, 25_000, 50_000, 99_999, BUCKETS]),
                    value: self.rng.below(n_values) as u32,
                },
                (3, Some(bucketing)) => RuleResult::Staged {
                    bucketing,
                    stages: self.stages(),
                    value: self.rng.below(n_values) as u32,
                },
                (2, Some(bucketing)) => {
                    let n = 1 + self.rng.below(3);
                    let uppers = self.uppers(n);
                    RuleResult::Split {
                        bucketing,
                        arms: uppers
                            .into_iter()
                            .map(|upper| SplitArm {
                                upper,
                                value: self.rng.below(n_values) as u32,
                            })
                            .collect(),
                    }
                }
                _ => RuleResult::Serve(self.rng.below(n_values) as u32),
            };
            rules.push(Rule {
                name: self.rng.chance(50).then(|| format!("r{r}")),
                condition,
                result,
                guardrails: None,
            });
        }
        Flag {
            name: format!("flag-{index}"),
            kind: FlagKind::Release,
            value_type,
            enabled: !self.rng.chance(10),
            enabled_when,
            default: self.rng.below(n_values) as u32,
            values,
            prerequisites,
            rules,
            meta: Metadata::default(),
        }
    }

    pub fn bundle(&mut self) -> Bundle {
        let schema = self.schema();
        let mut segments = Vec::new();
        for i in 0..self.rng.below(1 + self.size.min(3)) {
            let depth = self.depth();
            let condition = self.expr(depth);
            segments.push(Segment {
                name: format!("seg-{i}"),
                condition,
            });
            self.segments += 1;
        }
        let mut flags = Vec::new();
        for i in 0..1 + self.rng.below(1 + self.size.min(4)) {
            let f = self.flag(i, &flags);
            flags.push(f);
        }
        let mut layers: Vec<Layer> = Vec::new();
        let mut layer_next: Vec<u32> = Vec::new();
        let mut experiments = Vec::new();
        for i in 0..self.rng.below(1 + self.size.min(3)) {
            let Some(bucketing) = self.bucketing() else {
                break;
            };
            let n = 1 + self.rng.below(3);
            let uppers = self.uppers(n);
            let value_type = self
                .rng
                .pick(&[ValueType::String, ValueType::Bool, ValueType::Int]);
            let variants: Vec<Variant> = uppers
                .into_iter()
                .enumerate()
                .map(|(j, upper)| Variant {
                    name: format!("arm{j}"),
                    value: self.value(value_type, j),
                    upper,
                })
                .collect();
            let width = self.rng.pick(&[0u32, 1, 30_000, 50_000, BUCKETS]);
            let (layer, enrolment_salt, enrolment_range) = if self.rng.chance(40) {
                if layers.is_empty() || self.rng.chance(30) {
                    layers.push(Layer {
                        name: format!("layer-{}", layers.len()),
                        experiments: Vec::new(),
                    });
                    layer_next.push(0);
                }
                let l = self.rng.below(layers.len());
                let lo = layer_next[l];
                let hi = (lo + width).min(BUCKETS);
                layer_next[l] = hi;
                layers[l].experiments.push(i as u32);
                (
                    Some(l as u32),
                    format!("layer:{}", layers[l].name),
                    (lo, hi),
                )
            } else {
                let lo = self.rng.pick(&[0u32, 0, 10_000, 99_999]);
                let hi = (lo + width).min(BUCKETS);
                (None, format!("traffic:{}", bucketing.salt), (lo, hi))
            };
            let depth = self.depth();
            let audience = if self.rng.chance(30) {
                Expr::Const(true)
            } else {
                self.expr(depth)
            };
            experiments.push(Experiment {
                name: format!("exp-{i}"),
                value_type,
                control: self.rng.below(variants.len()) as u32,
                variants,
                bucketing,
                enrolment_salt,
                enrolment_range,
                layer,
                audience,
                start: self.rng.chance(30).then(|| self.rng.pick(TIMES)),
                end: self.rng.chance(30).then(|| self.rng.pick(TIMES)),
                metrics: Vec::new(),
                planning: None,
                meta: Metadata::default(),
            });
        }
        Bundle {
            format: FORMAT_NAME.to_string(),
            format_version: FORMAT_VERSION,
            schema,
            segments,
            flags,
            experiments,
            layers,
            tests: Vec::new(),
        }
    }

    fn set_value(&mut self, ctx: &mut Context, layout: &Layout, f: &FieldInfo) {
        let h = layout.field(&f.context, &f.name).expect("generated field");
        match self.rng.below(10) {
            0..=2 => return,
            3 => return ctx.set_invalid(h),
            _ => {}
        }
        match &f.ty {
            FieldType::Bool => ctx.set_bool(h, self.rng.chance(50)),
            FieldType::Int => ctx.set_int(h, self.rng.pick(INTS)),
            FieldType::Float => ctx.set_float(h, self.rng.pick(FLOATS)),
            FieldType::String => {
                let s = self.string();
                ctx.set_str(h, &s)
            }
            FieldType::Semver => {
                let text = if self.rng.chance(5) {
                    HUGE_VERSION
                } else {
                    self.rng.pick(VERSIONS)
                };
                ctx.set_semver(h, &version(text).0)
            }
            FieldType::Timestamp => ctx.set_timestamp(h, self.rng.pick(TIMES)),
            FieldType::Ip => {
                let ip = self.rng.pick(IPS).parse().expect("pool addresses parse");
                ctx.set_ip(h, ip)
            }
            FieldType::Enum(v) => {
                let i = if self.rng.chance(10) {
                    self.rng.pick(&[v.len() as u32, 64, 1000])
                } else {
                    self.rng.below(v.len()) as u32
                };
                ctx.set_enum_index(h, i)
            }
            FieldType::List(elem) => {
                let n = self.rng.below(4);
                let texts: Vec<String> = (0..n)
                    .map(|_| match elem.as_ref() {
                        FieldType::Bool => self.rng.pick(&["true", "false"]).to_string(),
                        FieldType::Int => self.rng.pick(INTS).to_string(),
                        FieldType::Float => self.rng.pick(FLOATS).to_string(),
                        FieldType::String => self.string(),
                        FieldType::Semver => self.rng.pick(VERSIONS).to_string(),
                        FieldType::Timestamp => format_timestamp(self.rng.pick(&TIMES[2..7])),
                        FieldType::Enum(v) => {
                            let n = CaseGen::enum_len(&FieldType::Enum(v.clone()));
                            v[self.rng.below(n)].clone()
                        }
                        FieldType::Ip | FieldType::List(_) => String::new(),
                    })
                    .collect();
                ctx.set_list_parsed(layout, h, texts.iter().map(String::as_str));
            }
        }
    }

    pub fn context(&mut self, layout: &Layout) -> Context {
        let mut ctx = layout.context();
        for f in self.fields.clone() {
            self.set_value(&mut ctx, layout, &f);
        }
        ctx
    }
}

fn format_timestamp(micros: i64) -> String {
    vexil_runtime::ir::value::format_timestamp(micros)
}
