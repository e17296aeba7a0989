//! A small SQL syntax tree, just large enough for the metric query, and its
//! rendering in each dialect the query runs on. The query is defined once
//! (`aggregate.rs` builds the tree); only the renderer knows how a dialect
//! spells what differs: quoting of names and text, `MOD`, and turning a
//! timestamp column into microseconds since the epoch.

use std::fmt::Write;

/// A SQL dialect the metric query is rendered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite (the embedded store; needs the store's `MOD` function).
    Sqlite,
    /// PostgreSQL (and Redshift, which reads the same text).
    Postgres,
    /// Google BigQuery (GoogleSQL).
    BigQuery,
    /// Snowflake.
    Snowflake,
    /// ClickHouse.
    ClickHouse,
    /// DuckDB.
    DuckDb,
    /// Databricks SQL (Spark SQL 3.1 and later).
    Databricks,
}

impl Dialect {
    /// Every dialect, in the order `--dialect` lists them.
    pub const ALL: [Dialect; 7] = [
        Dialect::Postgres,
        Dialect::BigQuery,
        Dialect::Snowflake,
        Dialect::ClickHouse,
        Dialect::DuckDb,
        Dialect::Databricks,
        Dialect::Sqlite,
    ];

    /// The dialect's name on the command line (and sqlglot's name for it).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::BigQuery => "bigquery",
            Dialect::Snowflake => "snowflake",
            Dialect::ClickHouse => "clickhouse",
            Dialect::DuckDb => "duckdb",
            Dialect::Databricks => "databricks",
        }
    }

    /// The dialect named `name`.
    pub fn from_name(name: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.name() == name)
    }

    fn quote(self) -> char {
        match self {
            Dialect::BigQuery | Dialect::ClickHouse | Dialect::Databricks => '`',
            _ => '"',
        }
    }

    /// Whether a backslash in a string literal starts an escape.
    fn backslash_escapes(self) -> bool {
        matches!(
            self,
            Dialect::BigQuery | Dialect::Snowflake | Dialect::ClickHouse | Dialect::Databricks
        )
    }
}

/// How a time column counts time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeUnit {
    /// Integer microseconds since the epoch (Vexil's own tables).
    #[default]
    Microseconds,
    /// Integer milliseconds since the epoch.
    Milliseconds,
    /// Integer seconds since the epoch.
    Seconds,
    /// A timestamp type of the database.
    Timestamp,
}

/// How values (event names, the experiment's name) appear in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// As the driver's placeholders (`?`, or `$1, $2, ...` on PostgreSQL),
    /// the values returned beside the text in order.
    Placeholders,
    /// As string literals, quoted for the dialect: text to paste into a
    /// warehouse's console.
    Literals,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    /// `alias.name`, or `name` without an alias.
    Column(Option<&'static str>, String),
    /// A value: a placeholder or a literal, as the rendering asks.
    Value(String),
    Int(i64),
    Null,
    /// `expr IS NOT NULL`.
    IsNotNull(Box<Expr>),
    /// `left OP right`.
    Binary(Box<Expr>, &'static str, Box<Expr>),
    /// Conditions joined by `AND`.
    And(Vec<Expr>),
    /// `expr IN (items)`.
    In(Box<Expr>, Vec<Expr>),
    /// `CASE WHEN cond THEN a ELSE b END`.
    Case(Box<Expr>, Box<Expr>, Box<Expr>),
    /// An aggregate or function every dialect spells alike: `SUM`, `MIN`,
    /// `MAX`, `COALESCE`.
    Call(&'static str, Vec<Expr>),
    CountAll,
    /// The remainder of integers, its sign the dividend's.
    Mod(Box<Expr>, Box<Expr>),
    /// A time column's value in microseconds since the epoch.
    Micros(Box<Expr>, TimeUnit),
}

impl Expr {
    pub(crate) fn col(alias: &'static str, name: &str) -> Expr {
        Expr::Column(Some(alias), name.to_string())
    }

    pub(crate) fn name(name: &str) -> Expr {
        Expr::Column(None, name.to_string())
    }

    pub(crate) fn bin(self, op: &'static str, right: Expr) -> Expr {
        Expr::Binary(Box::new(self), op, Box::new(right))
    }

    pub(crate) fn call(function: &'static str, arg: Expr) -> Expr {
        Expr::Call(function, vec![arg])
    }
}

/// A table or a subquery in `FROM` or `JOIN`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// A table, its name in dot-separated parts (`dataset.table`).
    Table(Vec<String>),
    Query(Box<Select>),
}

/// One `SELECT`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Select {
    pub columns: Vec<(Expr, Option<String>)>,
    pub from: (Source, Option<&'static str>),
    /// `LEFT JOIN source alias ON condition`.
    pub left_join: Option<(Source, &'static str, Expr)>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub order_by: Vec<Expr>,
}

impl Select {
    pub(crate) fn from(source: Source, alias: Option<&'static str>) -> Select {
        Select {
            columns: Vec::new(),
            from: (source, alias),
            left_join: None,
            filter: None,
            group_by: Vec::new(),
            order_by: Vec::new(),
        }
    }
}

/// `WITH name AS (...), ... body`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Query {
    pub with: Vec<(&'static str, Select)>,
    pub body: Select,
}

/// Writes a query in a dialect.
struct Renderer {
    dialect: Dialect,
    values: Values,
    out: String,
    params: Vec<String>,
}

/// The text of `query` in `dialect`, and the values of its placeholders in
/// order (none with [`Values::Literals`]).
pub(crate) fn render(query: &Query, dialect: Dialect, values: Values) -> (String, Vec<String>) {
    let mut r = Renderer {
        dialect,
        values,
        out: String::new(),
        params: Vec::new(),
    };
    r.query(query);
    (r.out, r.params)
}

/// A name that every dialect reads unquoted: lowercase ASCII letters,
/// digits and `_`, not starting with a digit, and not a word any of them
/// reserves.
fn plain(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all", "and", "as", "by", "case", "cast", "create", "cross", "current", "default", "desc",
        "distinct", "else", "end", "exists", "false", "from", "full", "group", "having", "in",
        "inner", "interval", "into", "is", "join", "left", "like", "limit", "natural", "not",
        "null", "on", "or", "order", "outer", "right", "rows", "select", "set", "table", "then",
        "to", "true", "union", "using", "when", "where", "window", "with", "user", "offset",
        "fetch", "both", "leading", "trailing", "array", "grant", "qualify", "range", "within",
    ];
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name)
}

impl Renderer {
    fn ident(&mut self, name: &str) {
        if plain(name) {
            self.out.push_str(name);
            return;
        }
        let q = self.dialect.quote();
        self.out.push(q);
        for c in name.chars() {
            if c == q {
                self.out.push(q);
            }
            self.out.push(c);
        }
        self.out.push(q);
    }

    fn value(&mut self, text: &str) {
        match self.values {
            Values::Placeholders => {
                self.params.push(text.to_string());
                if self.dialect == Dialect::Postgres {
                    let _ = write!(self.out, "${}", self.params.len());
                } else {
                    self.out.push('?');
                }
            }
            Values::Literals => {
                self.out.push('\'');
                for c in text.chars() {
                    match c {
                        '\'' => self.out.push_str("''"),
                        '\\' if self.dialect.backslash_escapes() => self.out.push_str("\\\\"),
                        c => self.out.push(c),
                    }
                }
                self.out.push('\'');
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Column(alias, name) => {
                if let Some(alias) = alias {
                    self.out.push_str(alias);
                    self.out.push('.');
                }
                self.ident(name);
            }
            Expr::Value(text) => self.value(text),
            Expr::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Expr::Null => self.out.push_str("NULL"),
            Expr::IsNotNull(e) => {
                self.expr(e);
                self.out.push_str(" IS NOT NULL");
            }
            Expr::Binary(left, op, right) => {
                self.expr(left);
                let _ = write!(self.out, " {op} ");
                self.expr(right);
            }
            Expr::And(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(" AND ");
                    }
                    self.expr(part);
                }
            }
            Expr::In(e, items) => {
                self.expr(e);
                self.out.push_str(" IN (");
                self.list(items);
                self.out.push(')');
            }
            Expr::Case(when, then, otherwise) => {
                self.out.push_str("CASE WHEN ");
                self.expr(when);
                self.out.push_str(" THEN ");
                self.expr(then);
                self.out.push_str(" ELSE ");
                self.expr(otherwise);
                self.out.push_str(" END");
            }
            Expr::Call(function, args) => {
                self.out.push_str(function);
                self.out.push('(');
                self.list(args);
                self.out.push(')');
            }
            Expr::CountAll => self.out.push_str("COUNT(*)"),
            Expr::Mod(a, b) => match self.dialect {
                // DuckDB has no two-argument MOD; its `%` truncates, as
                // MOD does elsewhere.
                Dialect::DuckDb => {
                    self.out.push('(');
                    self.expr(a);
                    self.out.push_str(" % ");
                    self.expr(b);
                    self.out.push(')');
                }
                Dialect::ClickHouse => self.function("modulo", &[a, b]),
                _ => self.function("MOD", &[a, b]),
            },
            Expr::Micros(e, unit) => self.micros(e, *unit),
        }
    }

    fn function(&mut self, name: &str, args: &[&Expr]) {
        self.out.push_str(name);
        self.out.push('(');
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(a);
        }
        self.out.push(')');
    }

    fn micros(&mut self, e: &Expr, unit: TimeUnit) {
        match unit {
            TimeUnit::Microseconds => self.expr(e),
            TimeUnit::Milliseconds => {
                self.expr(e);
                self.out.push_str(" * 1000");
            }
            TimeUnit::Seconds => {
                self.expr(e);
                self.out.push_str(" * 1000000");
            }
            TimeUnit::Timestamp => match self.dialect {
                Dialect::Sqlite => {
                    self.out.push_str("CAST(ROUND(unixepoch(");
                    self.expr(e);
                    self.out.push_str(", 'subsec') * 1000000) AS INTEGER)");
                }
                Dialect::Postgres => {
                    self.out.push_str("CAST(EXTRACT(EPOCH FROM ");
                    self.expr(e);
                    self.out.push_str(") * 1000000 AS BIGINT)");
                }
                Dialect::BigQuery => self.function("UNIX_MICROS", &[e]),
                Dialect::Snowflake => {
                    self.out.push_str("DATE_PART(EPOCH_MICROSECOND, ");
                    self.expr(e);
                    self.out.push(')');
                }
                Dialect::ClickHouse => self.function("toUnixTimestamp64Micro", &[e]),
                Dialect::DuckDb => self.function("epoch_us", &[e]),
                Dialect::Databricks => self.function("UNIX_MICROS", &[e]),
            },
        }
    }

    fn list(&mut self, items: &[Expr]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(item);
        }
    }

    fn source(&mut self, source: &Source, alias: Option<&str>, indent: usize) {
        match source {
            Source::Table(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        self.out.push('.');
                    }
                    self.ident(part);
                }
            }
            Source::Query(select) => {
                self.out.push_str("(\n");
                self.select(select, indent + 4);
                self.out.push('\n');
                self.out.push_str(&" ".repeat(indent));
                self.out.push(')');
            }
        }
        if let Some(alias) = alias {
            self.out.push_str(" AS ");
            self.out.push_str(alias);
        }
    }

    /// A SELECT, each clause on its own line at `indent`.
    fn select(&mut self, s: &Select, indent: usize) {
        let pad = " ".repeat(indent);
        self.out.push_str(&pad);
        self.out.push_str("SELECT ");
        for (i, (e, alias)) in s.columns.iter().enumerate() {
            if i > 0 {
                self.out.push_str(",\n");
                self.out.push_str(&pad);
                self.out.push_str("       ");
            }
            self.expr(e);
            if let Some(alias) = alias {
                self.out.push_str(" AS ");
                self.ident(alias);
            }
        }
        self.out.push('\n');
        self.out.push_str(&pad);
        self.out.push_str("FROM ");
        self.source(&s.from.0, s.from.1, indent);
        if let Some((source, alias, on)) = &s.left_join {
            self.out.push('\n');
            self.out.push_str(&pad);
            self.out.push_str("LEFT JOIN ");
            self.source(source, Some(alias), indent);
            self.out.push_str(" ON ");
            self.expr(on);
        }
        if let Some(filter) = &s.filter {
            self.out.push('\n');
            self.out.push_str(&pad);
            self.out.push_str("WHERE ");
            self.expr(filter);
        }
        if !s.group_by.is_empty() {
            self.out.push('\n');
            self.out.push_str(&pad);
            self.out.push_str("GROUP BY ");
            self.list(&s.group_by);
        }
        if !s.order_by.is_empty() {
            self.out.push('\n');
            self.out.push_str(&pad);
            self.out.push_str("ORDER BY ");
            self.list(&s.order_by);
        }
    }

    fn query(&mut self, q: &Query) {
        for (i, (name, select)) in q.with.iter().enumerate() {
            self.out.push_str(if i == 0 { "WITH " } else { ",\n" });
            self.out.push_str(name);
            self.out.push_str(" AS (\n");
            self.select(select, 4);
            self.out.push_str("\n)");
        }
        if !q.with.is_empty() {
            self.out.push('\n');
        }
        self.select(&q.body, 0);
    }
}

/// A table's dotted name as `dialect` reads it (each part quoted when it
/// must be).
pub(crate) fn table_name(parts: &[String], dialect: Dialect) -> String {
    let mut r = Renderer {
        dialect,
        values: Values::Literals,
        out: String::new(),
        params: Vec::new(),
    };
    r.source(&Source::Table(parts.to_vec()), None, 0);
    r.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(e: &Expr, dialect: Dialect, values: Values) -> (String, Vec<String>) {
        let mut r = Renderer {
            dialect,
            values,
            out: String::new(),
            params: Vec::new(),
        };
        r.expr(e);
        (r.out, r.params)
    }

    #[test]
    fn names_are_quoted_only_when_they_must_be() {
        let e = Expr::And(vec![
            Expr::col("x", "user_id").bin("=", Expr::col("x", "Event Name")),
            Expr::col("x", "select").bin("=", Expr::col("x", "a\"b`c")),
        ]);
        assert_eq!(
            rendered(&e, Dialect::Postgres, Values::Literals).0,
            r#"x.user_id = x."Event Name" AND x."select" = x."a""b`c""#
        );
        assert_eq!(
            rendered(&e, Dialect::BigQuery, Values::Literals).0,
            "x.user_id = x.`Event Name` AND x.`select` = x.`a\"b``c`"
        );
    }

    #[test]
    fn values_are_placeholders_or_literals_quoted_for_the_dialect() {
        let e = Expr::In(
            Box::new(Expr::name("event")),
            vec![Expr::Value("it's".into()), Expr::Value("a\\b".into())],
        );
        assert_eq!(
            rendered(&e, Dialect::Postgres, Values::Placeholders),
            (
                "event IN ($1, $2)".to_string(),
                vec!["it's".to_string(), "a\\b".to_string()]
            )
        );
        assert_eq!(
            rendered(&e, Dialect::Sqlite, Values::Placeholders).0,
            "event IN (?, ?)"
        );
        assert_eq!(
            rendered(&e, Dialect::DuckDb, Values::Literals).0,
            r"event IN ('it''s', 'a\b')"
        );
        assert_eq!(
            rendered(&e, Dialect::Snowflake, Values::Literals).0,
            r"event IN ('it''s', 'a\\b')"
        );
    }

    #[test]
    fn each_dialect_spells_mod_and_timestamps_its_own_way() {
        let e = Expr::Mod(
            Box::new(Expr::Micros(
                Box::new(Expr::col("x", "ts")),
                TimeUnit::Timestamp,
            )),
            Box::new(Expr::Int(86_400_000_000)),
        );
        let spelled: Vec<String> = Dialect::ALL
            .iter()
            .map(|&d| rendered(&e, d, Values::Literals).0)
            .collect();
        assert_eq!(
            spelled,
            [
                "MOD(CAST(EXTRACT(EPOCH FROM x.ts) * 1000000 AS BIGINT), 86400000000)",
                "MOD(UNIX_MICROS(x.ts), 86400000000)",
                "MOD(DATE_PART(EPOCH_MICROSECOND, x.ts), 86400000000)",
                "modulo(toUnixTimestamp64Micro(x.ts), 86400000000)",
                "(epoch_us(x.ts) % 86400000000)",
                "MOD(UNIX_MICROS(x.ts), 86400000000)",
                "MOD(CAST(ROUND(unixepoch(x.ts, 'subsec') * 1000000) AS INTEGER), 86400000000)",
            ]
        );
    }
}
