//! [`BAD_LINES`]: one entry per way a line gets rejected (docs/CONTRACT.md §6),
//! cycled through when `invalid_rate` asks for bad lines, and how each is
//! written.

use super::event::{Field, F};
use super::rng::Rng;
use super::Ctx;

/// How an otherwise realistic event is spoiled.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mutation {
    None,
    Omit(Field),
    /// The field's value is this JSON text (or these bytes).
    Replace(Field, &'static [u8]),
    /// The field appears twice.
    Duplicate(Field),
}

#[derive(Debug, Clone, Copy)]
enum BadKind {
    /// A realistic event cut short.
    Truncated,
    /// A whole line of text.
    Text(&'static [u8]),
    Event(Mutation),
}

/// One kind of line teamlog rejects.
#[derive(Debug, Clone, Copy)]
pub(super) struct BadLine {
    #[cfg_attr(not(test), allow(dead_code))] // documents the entry; tests check uniqueness
    pub(super) name: &'static str,
    kind: BadKind,
}

const fn text(name: &'static str, line: &'static [u8]) -> BadLine {
    BadLine {
        name,
        kind: BadKind::Text(line),
    }
}

const fn mutate(name: &'static str, m: Mutation) -> BadLine {
    BadLine {
        name,
        kind: BadKind::Event(m),
    }
}

const fn bad_time(name: &'static str, quoted: &'static [u8]) -> BadLine {
    mutate(name, Mutation::Replace(F::Timestamp, quoted))
}

const fn bad_actor(name: &'static str, actor: &'static [u8]) -> BadLine {
    mutate(name, Mutation::Replace(F::Actor, actor))
}

/// Every kind of bad line, cycled through in this order (docs/CONTRACT.md §2, §3, §4, §6).
pub(super) const BAD_LINES: &[BadLine] = &[
    BadLine {
        name: "truncated JSON",
        kind: BadKind::Truncated,
    },
    text("garbage text", b"this is not json at all"),
    text(
        "HTML error page",
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    ),
    text(
        "Python repr",
        b"{'timestamp': '2017-01-25T15:51:30Z', 'event_type': 'login_success'}",
    ),
    text(
        "terminal escapes",
        b"\x1b[31mALERT\x1b[0m \x1b]0;pwned\x07 \xe2\x80\xaeevil",
    ),
    text("JSON null", b"null"),
    text("JSON number", b"42"),
    text("JSON string", b"\"2017-01-25T15:51:30Z\""),
    text(
        "JSON array of events",
        b"[{\"timestamp\":\"2017-01-25T15:51:30Z\",\"event_category\":{\".tag\":\"logins\"}}]",
    ),
    text(
        "two objects on one line",
        b"{\"timestamp\":\"2017-01-25T15:51:30Z\"} {\"timestamp\":\"2017-01-25T15:51:31Z\"}",
    ),
    text("empty object", b"{}"),
    mutate("missing timestamp", Mutation::Omit(F::Timestamp)),
    mutate("missing event_type", Mutation::Omit(F::EventType)),
    mutate("missing event_category", Mutation::Omit(F::EventCategory)),
    mutate("missing details", Mutation::Omit(F::Details)),
    bad_time("null timestamp", b"null"),
    mutate("null details", Mutation::Replace(F::Details, b"null")),
    mutate("event_type as number", Mutation::Replace(F::EventType, b"42")),
    mutate(
        "event_type as array",
        Mutation::Replace(F::EventType, b"[\"login_success\"]"),
    ),
    mutate(
        "event_type without .tag",
        Mutation::Replace(F::EventType, b"{\"description\":\"(logins) Signed in\"}"),
    ),
    mutate(
        "event_category .tag as object",
        Mutation::Replace(F::EventCategory, b"{\".tag\":{\"name\":\"logins\"}}"),
    ),
    mutate(
        "event_category .tag null",
        Mutation::Replace(F::EventCategory, b"{\".tag\":null}"),
    ),
    bad_time("timestamp as number", b"1485359490"),
    bad_actor(
        "actor.user.email as object",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"John Smith\",\"email\":{\"address\":\"john_smith@acmecorp.com\"}}}",
    ),
    mutate(
        "context.display_name as array",
        Mutation::Replace(
            F::Context,
            b"{\".tag\":\"team_member\",\"display_name\":[\"John\",\"Smith\"],\"email\":\"john_smith@acmecorp.com\"}",
        ),
    ),
    mutate(
        "involve_non_team_member not a boolean",
        Mutation::Replace(F::InvolveNonTeamMember, b"\"maybe\""),
    ),
    mutate(
        "participants as object",
        Mutation::Replace(F::Participants, b"{\".tag\":\"user\"}"),
    ),
    mutate(
        "origin.geo_location.ip_address as object",
        Mutation::Replace(
            F::Origin,
            b"{\"geo_location\":{\"ip_address\":{\"v4\":\"45.56.78.100\"}}}",
        ),
    ),
    bad_time("timestamp month 13", b"\"2017-13-01T00:00:00Z\""),
    bad_time("timestamp lowercase t", b"\"2017-01-25t15:51:30Z\""),
    bad_time("timestamp lowercase z", b"\"2017-01-25T15:51:30z\""),
    bad_time("timestamp offset +0000", b"\"2017-01-25T15:51:30+0000\""),
    bad_time("timestamp hour 24", b"\"2017-01-25T24:00:00Z\""),
    bad_time("timestamp second 60", b"\"2016-12-31T23:59:60Z\""),
    bad_time("timestamp February 30", b"\"2017-02-30T10:00:00Z\""),
    bad_time("timestamp February 29 of 2019", b"\"2019-02-29T12:00:00Z\""),
    bad_time("timestamp with surrounding spaces", b"\" 2017-01-25T15:51:30Z \""),
    bad_time("timestamp 10 fraction digits", b"\"2017-01-25T15:51:30.1234567890Z\""),
    bad_time("timestamp empty fraction", b"\"2017-01-25T15:51:30.Z\""),
    bad_time("timestamp without zone", b"\"2017-01-25T15:51:30\""),
    bad_time("timestamp one-digit month", b"\"2017-1-25T15:51:30Z\""),
    bad_time("timestamp empty", b"\"\""),
    bad_time("timestamp day first", b"\"25/01/2017 15:51:30\""),
    bad_actor(
        "invalid UTF-8: 0xff",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"J\xffrg\",\"email\":\"jorg@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: lone continuation byte",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"Ren\x80e\",\"email\":\"renee@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: truncated sequence",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"\xe6\x97\",\"email\":\"hi@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: overlong encoding",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"..\xc0\xaf..\",\"email\":\"x@acmecorp.com\"}}",
    ),
    bad_actor(
        "invalid UTF-8: encoded surrogate",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"\xed\xa0\x80\",\"email\":\"s@acmecorp.com\"}}",
    ),
    mutate(
        "invalid UTF-8: Latin-1 in details",
        Mutation::Replace(
            F::Details,
            b"{\".tag\":\"login_success_details\",\"note\":\"caf\xe9\"}",
        ),
    ),
    text(
        "API error: invalid_cursor",
        b"{\"error_summary\":\"invalid_cursor/..\",\"error\":{\".tag\":\"invalid_cursor\"}}",
    ),
    text(
        "API error: expired_access_token",
        b"{\"error_summary\":\"expired_access_token/\",\"error\":{\".tag\":\"expired_access_token\"}}",
    ),
    text(
        "API error: too_many_requests",
        b"{\"error_summary\":\"too_many_requests/...\",\"error\":{\"reason\":{\".tag\":\"too_many_requests\"},\"retry_after\":300}}",
    ),
    text(
        "API error: missing_scope",
        b"{\"error_summary\":\"missing_scope/.\",\"error\":{\".tag\":\"missing_scope\",\"required_scope\":\"events.read\"}}",
    ),
    mutate("duplicate key timestamp", Mutation::Duplicate(F::Timestamp)),
    mutate("duplicate key details", Mutation::Duplicate(F::Details)),
    mutate("duplicate key event_type", Mutation::Duplicate(F::EventType)),
    mutate(
        "duplicate key event_type.tag",
        Mutation::Replace(
            F::EventType,
            b"{\".tag\":\"login_success\",\".tag\":\"logout\",\"description\":\"(logins) Signed in\"}",
        ),
    ),
    mutate(
        "both .tag and _tag",
        Mutation::Replace(F::EventCategory, b"{\".tag\":\"logins\",\"_tag\":\"logins\"}"),
    ),
    bad_actor(
        "duplicate key actor.user.email",
        b"{\".tag\":\"user\",\"user\":{\".tag\":\"team_member\",\"display_name\":\"Mallory\",\"email\":\"mallory@acmecorp.com\",\"email\":\"ceo@acmecorp.com\"}}",
    ),
];

impl Ctx {
    /// Writes one line of the kind `bad` (no newline).
    pub(super) fn bad_line(&self, rng: &mut Rng, line: u64, bad: &BadLine, out: &mut Vec<u8>) {
        match bad.kind {
            BadKind::Text(t) => out.extend_from_slice(t),
            BadKind::Event(m) => self.event(rng, line, m, out),
            BadKind::Truncated => {
                let start = out.len();
                self.event(rng, line, Mutation::None, out);
                let len = out.len() - start;
                let mut cut = start + 1 + rng.below(len as u64 - 2) as usize;
                // Cut at a character boundary: a truncated line is bad JSON,
                // not also bad UTF-8.
                while out[cut] & 0xC0 == 0x80 {
                    cut -= 1;
                }
                out.truncate(cut.max(start + 1));
            }
        }
    }
}
