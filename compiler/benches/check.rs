//! How long checking takes on a generated repository: 10,000 flags in 100
//! files sharing one schema, checked from scratch (what `vexil check` does).

use criterion::{criterion_group, criterion_main, Criterion};
use vexil_compiler::Project;

const SCHEMA: &str = "context user {\n  key id: string\n  email: string\n  country: string\n  plan: enum { free, pro, enterprise }\n  age: int\n  app_version: semver\n  beta: bool\n  created_at: timestamp\n  roles: list<string>\n}\n\ncontext env {\n  name: enum { development, staging, production }\n}\n\nsegment staff {\n  user.email ends_with \"@shop.example\" or \"staff\" in user.roles\n}\n";

/// A repository of `files` files with `per_file` flags each, of mixed shapes.
pub fn generate(files: usize, per_file: usize) -> Vec<(String, String)> {
    let mut out = vec![("schema.flag".to_string(), SCHEMA.to_string())];
    for f in 0..files {
        let mut text = String::new();
        for i in 0..per_file {
            let n = f * per_file + i;
            let body = match n % 4 {
                0 => "  rule staff: when staff => true\n  rule launch: from 2026-12-01 when user.country in [\"US\", \"CA\", \"GB\"] and user.plan >= pro => 25% by user.id\n".to_string(),
                1 => format!(
                    "  rule old: when user.app_version < 2.{}.0 and not user.beta => false\n  rule env: when env.name != production => true\n",
                    n % 10
                ),
                2 => format!(
                    "  rule adults: when user.age >= {} and user.created_at < 2025-06-01 => true\n  rule qa: when user.email starts_with \"qa+\" => true\n",
                    18 + n % 50
                ),
                _ => "  rule halves: => split by user.id { true 50%, false 50% }\n".to_string(),
            };
            text.push_str(&format!(
                "/// Generated flag {n}.\nflag gen-{n}: bool {{\n  kind release\n  owner \"team-{}\"\n  default false\n{body}}}\n\n",
                n % 12
            ));
        }
        out.push((format!("flags-{f:03}.flag"), text));
    }
    out
}

fn check(c: &mut Criterion) {
    let files = generate(100, 100);
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("10000-flags", |b| {
        b.iter(|| {
            let mut project = Project::new();
            for (path, text) in &files {
                project.set_source(path, text.clone());
            }
            let diagnostics = project.diagnostics();
            assert!(
                diagnostics.is_empty(),
                "{}",
                project.render(&diagnostics, false)
            );
            diagnostics.len()
        })
    });
    group.bench_function("10000-flags-and-build", |b| {
        b.iter(|| {
            let mut project = Project::new();
            for (path, text) in &files {
                project.set_source(path, text.clone());
            }
            project.bundle(false).map(|b| b.flags.len()).unwrap_or(0)
        })
    });
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
