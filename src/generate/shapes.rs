//! The wire shapes, as tables. The objects the pools hold (users, groups,
//! apps, resellers, organization teams, the five kinds of asset) are each a
//! list of fields written by one writer ([`object`]); the union members an
//! event draws for its actor, context, participants and access method are
//! rows of weighted tables of [`Shape`]s ([`ACTORS`], [`CONTEXTS`],
//! [`PARTICIPANTS`], [`ACCESS_METHODS`]).
//!
//! The order of the draws from the stream is part of every corpus: a change
//! to a builder's draws changes the bytes of every seed.

use super::pools::{
    email, external_id, path_string, person_name, Pick, Pools, APP_NAMES, DOC_TITLES, GROUP_NAMES,
    ORG_TEAMS, OUTSIDE_DOMAINS, TEAM_DOMAINS, TEAM_NAMES,
};
use super::rng::Rng;
use super::values::{push_digits, push_str, push_token, push_u64, token, Frag, B64URL, HEX};

// ---------------------------------------------------------------------------
// Objects

/// A field's value in an object written by [`object`].
#[derive(Debug, Clone, Copy)]
pub(super) enum V<'a> {
    /// No such field: key and value are both left out.
    Absent,
    Str(&'a str),
    U64(u64),
    Bool(bool),
    Obj(&'a [(&'a str, V<'a>)]),
}

impl<'a> V<'a> {
    fn opt(s: Option<&'a str>) -> V<'a> {
        s.map_or(V::Absent, V::Str)
    }
}

fn write_object(o: &mut Vec<u8>, fields: &[(&str, V)], ascii: bool) {
    o.push(b'{');
    let mut first = true;
    for &(key, value) in fields {
        if matches!(value, V::Absent) {
            continue;
        }
        if !first {
            o.push(b',');
        }
        first = false;
        o.push(b'"');
        o.extend_from_slice(key.as_bytes());
        o.extend_from_slice(b"\":");
        match value {
            V::Absent => {}
            V::Str(s) => push_str(o, s, ascii),
            V::U64(n) => push_u64(o, n),
            V::Bool(b) => o.extend_from_slice(if b { b"true" } else { b"false" }),
            V::Obj(inner) => write_object(o, inner, ascii),
        }
    }
    o.push(b'}');
}

/// The JSON object of these fields, in this order.
pub(super) fn object(fields: &[(&str, V)]) -> Frag {
    Frag::build(|o, ascii| write_object(o, fields, ascii))
}

/// A user object: `team_member`, `non_team_member` or
/// `trusted_non_team_member`.
pub(super) struct User {
    tag: &'static str,
    account_id: String,
    pub(super) display_name: String,
    pub(super) email: String,
    team_member_id: Option<String>,
    external_id: Option<String>,
    trusted_type: Option<&'static str>,
    team: Option<&'static str>,
}

impl User {
    pub(super) fn frag(&self) -> Frag {
        let trusted_type = self.trusted_type.map(|t| [(".tag", V::Str(t))]);
        let team = self.team.map(|t| [("display_name", V::Str(t))]);
        object(&[
            (".tag", V::Str(self.tag)),
            ("account_id", V::Str(&self.account_id)),
            ("display_name", V::Str(&self.display_name)),
            ("email", V::Str(&self.email)),
            ("team_member_id", V::opt(self.team_member_id.as_deref())),
            ("member_external_id", V::opt(self.external_id.as_deref())),
            (
                "trusted_non_team_member_type",
                trusted_type.as_ref().map_or(V::Absent, |f| V::Obj(f)),
            ),
            ("team", team.as_ref().map_or(V::Absent, |f| V::Obj(f))),
        ])
    }
}

fn account_id(rng: &mut Rng) -> String {
    token(rng, "dbid:AA", 36, B64URL)
}

/// A member of the team `home_team` (one in ten of another team).
pub(super) fn member(rng: &mut Rng, home_team: &'static str) -> User {
    let (display_name, handle) = person_name(rng);
    let domain = *rng.pick(TEAM_DOMAINS);
    let email = email(rng, &handle, domain);
    User {
        tag: "team_member",
        account_id: account_id(rng),
        display_name,
        email,
        team_member_id: Some(token(rng, "dbmid:AA", 36, B64URL)),
        external_id: external_id(rng),
        trusted_type: None,
        team: Some(if rng.below(10) == 0 {
            *rng.pick(TEAM_NAMES)
        } else {
            home_team
        }),
    }
}

/// Someone outside the team, at an outside domain.
pub(super) fn outsider(rng: &mut Rng) -> User {
    let (display_name, handle) = person_name(rng);
    let domain = *rng.pick(OUTSIDE_DOMAINS);
    let account_id = account_id(rng);
    User {
        tag: "non_team_member",
        account_id,
        email: email(rng, &handle, domain),
        display_name,
        team_member_id: None,
        external_id: None,
        trusted_type: None,
        team: None,
    }
}

/// A trusted non-team member of an organization team.
pub(super) fn trusted(rng: &mut Rng) -> User {
    let (display_name, handle) = person_name(rng);
    let account_id = account_id(rng);
    User {
        tag: "trusted_non_team_member",
        account_id,
        email: email(rng, &handle, "partner.example"),
        display_name,
        team_member_id: None,
        external_id: None,
        trusted_type: Some(if rng.below(4) == 0 {
            "other"
        } else {
            "multi_instance_admin"
        }),
        team: Some(*rng.pick(ORG_TEAMS)),
    }
}

/// An inlined participant group, with its name (a details value too).
pub(super) fn group(rng: &mut Rng) -> (Frag, &'static str) {
    let id = token(rng, "g:", 32, HEX);
    let name = *rng.pick(GROUP_NAMES);
    let external = external_id(rng);
    let group = object(&[
        (".tag", V::Str("group")),
        ("group_id", V::Str(&id)),
        ("display_name", V::Str(name)),
        ("external_id", V::opt(external.as_deref())),
    ]);
    (group, name)
}

/// A team-linked or (one in three) user-linked app.
pub(super) fn app(rng: &mut Rng) -> Frag {
    let tag = if rng.below(3) == 0 {
        "user_linked_app"
    } else {
        "team_linked_app"
    };
    let id = token(rng, "dbaid:AA", 36, B64URL);
    let name = *rng.pick(APP_NAMES);
    object(&[
        (".tag", V::Str(tag)),
        ("app_id", V::Str(&id)),
        ("display_name", V::Str(name)),
    ])
}

/// An inlined reseller actor.
pub(super) fn reseller(name: &str, email: &str) -> Frag {
    object(&[
        (".tag", V::Str("reseller")),
        ("reseller_name", V::Str(name)),
        ("reseller_email", V::Str(email)),
    ])
}

/// An `organization_team` context.
pub(super) fn org_team(name: &str) -> Frag {
    object(&[
        (".tag", V::Str("organization_team")),
        ("display_name", V::Str(name)),
    ])
}

// ---------------------------------------------------------------------------
// Assets

/// A member of the asset union.
enum AssetKind {
    /// A file or folder: its tag, the path component that names it (counted
    /// from the end), the key of its size or count, and the bound of ordinary
    /// sizes.
    Path {
        tag: &'static str,
        name_from_end: usize,
        count_key: &'static str,
        count_below: u64,
    },
    /// Named by an id (a prefix and random characters) and a title.
    Titled {
        tag: &'static str,
        id_key: &'static str,
        id_prefix: &'static str,
        id_len: usize,
        title_key: &'static str,
        titles: &'static [&'static str],
    },
}

/// The five asset shapes, with how common each is.
const ASSETS: &[(u32, AssetKind)] = &[
    (
        50,
        AssetKind::Path {
            tag: "file",
            name_from_end: 0,
            count_key: "file_size",
            count_below: 50_000_000,
        },
    ),
    (
        20,
        AssetKind::Path {
            tag: "folder",
            name_from_end: 1,
            count_key: "file_count",
            count_below: 5000,
        },
    ),
    (
        12,
        AssetKind::Titled {
            tag: "paper_document",
            id_key: "doc_id",
            id_prefix: "",
            id_len: 21,
            title_key: "doc_title",
            titles: DOC_TITLES,
        },
    ),
    (
        8,
        AssetKind::Titled {
            tag: "paper_folder",
            id_key: "folder_id",
            id_prefix: "e.",
            id_len: 40,
            title_key: "folder_name",
            titles: GROUP_NAMES,
        },
    ),
    (
        5,
        AssetKind::Titled {
            tag: "showcase_document",
            id_key: "showcase_id",
            id_prefix: "",
            id_len: 21,
            title_key: "showcase_title",
            titles: DOC_TITLES,
        },
    ),
];

/// One asset of any of the five shapes.
pub(super) fn asset(rng: &mut Rng) -> Frag {
    match *rng.pick_weighted(ASSETS) {
        AssetKind::Path {
            tag,
            name_from_end,
            count_key,
            count_below,
        } => {
            let path = path_string(rng);
            let ns_id = rng.range(1000, 9_999_999_999).to_string();
            let shared = rng.below(3) == 0;
            let display = path.rsplit('/').nth(name_from_end).unwrap_or("");
            let file_id = token(rng, "id:", 22, B64URL);
            // Now and then above 2^53: integers in `assets` must survive.
            let count = if rng.chance(5) {
                (1u64 << 53) + 1 + rng.below(1 << 20)
            } else {
                rng.below(count_below)
            };
            let contextual = if rng.below(10) != 0 {
                V::Str(&path)
            } else {
                V::Absent
            };
            let relative = [
                ("ns_id", V::Str(&ns_id)),
                ("relative_path", V::Str(&path)),
                ("is_shared_namespace", V::Bool(shared)),
            ];
            let path_object = [
                ("contextual", contextual),
                ("namespace_relative", V::Obj(&relative)),
            ];
            object(&[
                (".tag", V::Str(tag)),
                ("path", V::Obj(&path_object)),
                ("display_name", V::Str(display)),
                ("file_id", V::Str(&file_id)),
                (count_key, V::U64(count)),
            ])
        }
        AssetKind::Titled {
            tag,
            id_key,
            id_prefix,
            id_len,
            title_key,
            titles,
        } => {
            let id = token(rng, id_prefix, id_len, B64URL);
            let title = *rng.pick(titles);
            object(&[
                (".tag", V::Str(tag)),
                (id_key, V::Str(&id)),
                (title_key, V::Str(title)),
            ])
        }
    }
}

// ---------------------------------------------------------------------------
// Union members drawn per event

/// What a [`Shape`] draws between its fixed head and tail.
#[derive(Debug, Clone, Copy)]
enum Fill {
    Nothing,
    /// A member of a pool, as it is.
    Pool(Pick),
    /// This many random decimal digits.
    Digits(usize),
    /// This many random lowercase hex digits.
    Hex(usize),
}

/// One member of a union as written: fixed JSON text, a drawn value, fixed
/// JSON text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    head: &'static [u8],
    fill: Fill,
    tail: &'static [u8],
}

impl Shape {
    /// Appends one value of this shape.
    pub(super) fn write(&self, rng: &mut Rng, pools: &Pools, ascii: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(self.head);
        match self.fill {
            Fill::Nothing => {}
            Fill::Pool(pick) => out.extend_from_slice(pools.draw(rng, pick).get(ascii)),
            Fill::Digits(n) => push_digits(out, rng, n),
            Fill::Hex(n) => push_token(out, rng, n, HEX),
        }
        out.extend_from_slice(self.tail);
    }
}

/// Fixed JSON text.
const fn fixed(text: &'static [u8]) -> Shape {
    Shape {
        head: text,
        fill: Fill::Nothing,
        tail: b"",
    }
}

/// A pool member as it is.
const fn pooled(pick: Pick) -> Shape {
    Shape {
        head: b"",
        fill: Fill::Pool(pick),
        tail: b"",
    }
}

/// A pool member inside a union wrapper (`head` opens it, up to the colon).
const fn wrapped(head: &'static [u8], pick: Pick) -> Shape {
    Shape {
        head,
        fill: Fill::Pool(pick),
        tail: b"}",
    }
}

/// A session id of 39 digits after `head` (which ends with the id's prefix);
/// `tail` closes the string and the objects.
const fn session(head: &'static [u8], tail: &'static [u8]) -> Shape {
    Shape {
        head,
        fill: Fill::Digits(39),
        tail,
    }
}

const USER: &[u8] = b"{\".tag\":\"user\",\"user\":";

/// `actor`: a user (mostly a member), an admin, an app, a reseller, Dropbox
/// itself or anonymous.
pub(super) const ACTORS: &[(u32, Shape)] = &[
    (55, wrapped(USER, Pick::Members)),
    (8, wrapped(USER, Pick::NonMembers)),
    (
        15,
        wrapped(b"{\".tag\":\"admin\",\"admin\":", Pick::Members),
    ),
    (8, wrapped(b"{\".tag\":\"app\",\"app\":", Pick::Apps)),
    (2, pooled(Pick::Resellers)),
    (7, fixed(b"{\".tag\":\"dropbox\"}")),
    (5, fixed(b"{\".tag\":\"anonymous\"}")),
];

/// `context`: a user, an organization team, the team or anonymous.
pub(super) const CONTEXTS: &[(u32, Shape)] = &[
    (60, pooled(Pick::Members)),
    (10, pooled(Pick::Outsiders)),
    (4, pooled(Pick::Trusted)),
    (3, pooled(Pick::OrgTeams)),
    (20, fixed(b"{\".tag\":\"team\"}")),
    (3, fixed(b"{\".tag\":\"anonymous\"}")),
];

/// One of `participants`: a user or a group.
pub(super) const PARTICIPANTS: &[(u32, Shape)] = &[
    (40, wrapped(USER, Pick::Members)),
    (30, wrapped(USER, Pick::Outsiders)),
    (30, pooled(Pick::Groups)),
];

/// `origin.access_method`: an end user's client, an admin's session or an
/// API request.
pub(super) const ACCESS_METHODS: &[(u32, Shape)] = &[
    (
        35,
        session(
            b"{\".tag\":\"end_user\",\"end_user\":{\".tag\":\"web\",\"session_id\":\"dbwsid:",
            b"\"}}",
        ),
    ),
    (
        25,
        session(
            b"{\".tag\":\"end_user\",\"end_user\":{\".tag\":\"desktop\",\"session_id\":\"dbdsid:",
            b"\"}}",
        ),
    ),
    (
        12,
        fixed(b"{\".tag\":\"end_user\",\"end_user\":{\".tag\":\"mobile\"}}"),
    ),
    (
        3,
        session(b"{\".tag\":\"sign_in_as\",\"session_id\":\"dbwsid:", b"\"}"),
    ),
    (
        12,
        session(
            b"{\".tag\":\"admin_console\",\"session_id\":\"dbwsid:",
            b"\"}",
        ),
    ),
    (
        3,
        session(
            b"{\".tag\":\"content_manager\",\"session_id\":\"dbwsid:",
            b"\"}",
        ),
    ),
    (
        3,
        session(
            b"{\".tag\":\"enterprise_console\",\"session_id\":\"dbwsid:",
            b"\"}",
        ),
    ),
    (
        7,
        Shape {
            head: b"{\".tag\":\"api\",\"request_id\":\"dbarid:",
            fill: Fill::Hex(32),
            tail: b"\"}",
        },
    ),
];
