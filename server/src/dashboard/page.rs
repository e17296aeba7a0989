//! The frame every page shares: the head (the one stylesheet and script,
//! both served from `/admin/assets`), the navigation, who is signed in.

use maud::{html, Markup, DOCTYPE};

use super::session::User;

/// The pages in the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Flags,
    Experiments,
    Rollouts,
    Why,
    Schedule,
    Audit,
    Health,
}

const NAV: [(Nav, &str, &str); 7] = [
    (Nav::Flags, "/admin/flags", "Flags"),
    (Nav::Experiments, "/admin/experiments", "Experiments"),
    (Nav::Rollouts, "/admin/rollouts", "Rollouts"),
    (Nav::Why, "/admin/why", "Why"),
    (Nav::Schedule, "/admin/schedule", "Schedule"),
    (Nav::Audit, "/admin/audit", "Audit log"),
    (Nav::Health, "/admin/health", "Health"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Vexil" }
            link rel="stylesheet" href="/admin/assets/dashboard.css";
            link rel="icon" href="/admin/assets/favicon.svg" type="image/svg+xml";
            script src="/admin/assets/dashboard.js" defer {}
        }
    }
}

fn development_banner(development: bool) -> Markup {
    html! {
        @if development {
            p.development role="alert" {
                "Development mode: no API keys are configured, so anyone who reaches this loopback address is an admin."
            }
        }
    }
}

/// A page for a signed-in person.
pub fn shell(title: &str, user: &User, nav: Nav, development: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/admin/flags" { "Vexil" }
                    nav {
                        @for (item, href, label) in NAV {
                            @if item == nav {
                                a.current href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    span.who {
                        (&*user.name) " · " span.scope { (user.scope.as_str()) }
                    }
                    form.logout method="post" action="/admin/logout" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                (development_banner(development))
                main { (body) }
            }
        }
    }
}

/// A page without the navigation (signing in).
pub fn bare(title: &str, development: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                (development_banner(development))
                main { (body) }
            }
        }
    }
}

/// A short page that says one thing (a refusal, an error).
pub fn message(title: &str, text: &str) -> Markup {
    bare(
        title,
        false,
        html! {
            h1 { (title) }
            p.error role="alert" { (text) }
            p { a href="/admin/flags" { "Back to the flags" } }
        },
    )
}

/// A filter's value, when one is given (an empty field does not filter).
pub fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A time in microseconds since the epoch, as UTC to the second.
pub fn time_micros(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// A timestamp as UTC to the second.
pub fn time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}
