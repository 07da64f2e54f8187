//! One event line: its top-level fields in one of three key orders, each
//! present or not, the values drawn from the pools, the shapes and the type's
//! `details` template, spoiled by a [`Mutation`] for bad lines.

use super::bad_lines::Mutation;
use super::catalogue::EventType;
use super::rng::Rng;
use super::shapes::{ACCESS_METHODS, ACTORS, CONTEXTS, PARTICIPANTS};
use super::values::{push_ip, push_timestamp, push_token, push_u64, B64URL, HEX};
use super::Ctx;

/// A top-level field of an event, in the API's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Timestamp,
    EventCategory,
    Actor,
    Origin,
    InvolveNonTeamMember,
    Context,
    Participants,
    Assets,
    EventType,
    Details,
}

impl Field {
    /// The quoted key and its colon.
    fn key(self) -> &'static [u8] {
        match self {
            Field::Timestamp => b"\"timestamp\":",
            Field::EventCategory => b"\"event_category\":",
            Field::Actor => b"\"actor\":",
            Field::Origin => b"\"origin\":",
            Field::InvolveNonTeamMember => b"\"involve_non_team_member\":",
            Field::Context => b"\"context\":",
            Field::Participants => b"\"participants\":",
            Field::Assets => b"\"assets\":",
            Field::EventType => b"\"event_type\":",
            Field::Details => b"\"details\":",
        }
    }
}

pub(super) use Field as F;

/// The order Stone serializes `TeamEvent` in.
const API_ORDER: [Field; 10] = [
    F::Timestamp,
    F::EventCategory,
    F::Actor,
    F::Origin,
    F::InvolveNonTeamMember,
    F::Context,
    F::Participants,
    F::Assets,
    F::EventType,
    F::Details,
];
/// Sorted keys, as `jq -S` or Python's `sort_keys=True` leave them.
const SORTED_ORDER: [Field; 10] = [
    F::Actor,
    F::Assets,
    F::Context,
    F::Details,
    F::EventCategory,
    F::EventType,
    F::InvolveNonTeamMember,
    F::Origin,
    F::Participants,
    F::Timestamp,
];
const REVERSED_ORDER: [Field; 10] = [
    F::Details,
    F::EventType,
    F::Assets,
    F::Participants,
    F::Context,
    F::InvolveNonTeamMember,
    F::Origin,
    F::Actor,
    F::EventCategory,
    F::Timestamp,
];

/// Large events: the ~2% tail of real logs.
#[derive(Debug, Clone, Copy, Default)]
struct Tail {
    big_details: bool,
    many_participants: bool,
}
impl Ctx {
    /// The event type of line `line`.
    fn pick_type(&self, rng: &mut Rng, line: u64) -> &EventType {
        let cat = self.cat;
        // Even lines walk the whole catalogue so that every type shows up in
        // any sample of 2x its size; odd lines follow real-world frequencies.
        if line % 2 == 0 {
            let i = (line / 2 % self.order.len() as u64) as usize;
            &cat.types[self.order[i] as usize]
        } else {
            let c = &cat.categories[rng.weighted(&cat.weights)];
            &cat.types[*rng.pick(&c.types)]
        }
    }

    /// Writes one event object (no newline).
    pub(super) fn event(&self, rng: &mut Rng, line: u64, m: Mutation, out: &mut Vec<u8>) {
        let ascii = rng.below(10) == 0;
        let ty = self.pick_type(rng, line);
        let tail = if rng.below(50) == 0 {
            // Half with big details, a third with many participants, the
            // rest with both.
            let k = rng.below(20);
            Tail {
                big_details: k <= 9 || k >= 17,
                many_participants: k >= 10,
            }
        } else {
            Tail::default()
        };
        let order: &[Field] = match rng.below(100) {
            0..=89 => &API_ORDER,
            90..=97 => &SORTED_ORDER,
            _ => &REVERSED_ORDER,
        };
        out.push(b'{');
        let mut first = true;
        for &f in order {
            let present = match m {
                Mutation::Omit(g) if g == f => false,
                Mutation::Replace(g, _) if g == f => true,
                _ => self.present(rng, f, tail),
            };
            if !present {
                continue;
            }
            let copies = match m {
                Mutation::Duplicate(g) if g == f => 2,
                _ => 1,
            };
            for _ in 0..copies {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(f.key());
                match m {
                    Mutation::Replace(g, raw) if g == f => out.extend_from_slice(raw),
                    _ => self.value(rng, f, ty, tail, ascii, out),
                }
            }
        }
        out.push(b'}');
    }

    /// Whether field `f` is written (the required ones always are).
    fn present(&self, rng: &mut Rng, f: Field, tail: Tail) -> bool {
        match f {
            F::Timestamp | F::EventCategory | F::EventType | F::Details => true,
            F::Actor => !rng.chance(10),
            F::Origin => !rng.chance(80),
            F::InvolveNonTeamMember => !rng.chance(30),
            F::Context => !rng.chance(50),
            F::Participants => tail.many_participants || !rng.chance(350),
            F::Assets => !rng.chance(300),
        }
    }

    /// Writes the value of field `f`.
    fn value(
        &self,
        rng: &mut Rng,
        f: Field,
        ty: &EventType,
        tail: Tail,
        ascii: bool,
        out: &mut Vec<u8>,
    ) {
        let p = &self.pools;
        match f {
            F::Timestamp => push_timestamp(out, rng),
            F::EventCategory => {
                let c = &self.cat.categories[ty.category];
                out.extend_from_slice(if rng.chance(20) {
                    &c.compact
                } else {
                    &c.object
                });
            }
            F::EventType => out.extend_from_slice(ty.frag.get(ascii)),
            F::Details => {
                ty.details.fill(rng, p, ascii, out);
                if tail.big_details {
                    out.pop(); // the closing brace
                    self.big_details(rng, ascii, out);
                    out.push(b'}');
                }
            }
            F::Actor => rng.pick_weighted(ACTORS).write(rng, p, ascii, out),
            F::Origin => {
                out.extend_from_slice(b"{\"access_method\":");
                rng.pick_weighted(ACCESS_METHODS).write(rng, p, ascii, out);
                if !rng.chance(100) {
                    out.extend_from_slice(b",\"geo_location\":{\"ip_address\":");
                    if rng.chance(3) {
                        // Padded: indicators must trim it.
                        out.extend_from_slice(b"\" 45.56.78.100 \"");
                    } else {
                        push_ip(out, rng);
                    }
                    if !rng.chance(100) {
                        out.extend_from_slice(rng.pick(&p.places).get(ascii));
                    }
                    out.push(b'}');
                }
                out.push(b'}');
            }
            F::InvolveNonTeamMember => {
                out.extend_from_slice(if rng.below(5) == 0 { b"true" } else { b"false" })
            }
            F::Context => rng.pick_weighted(CONTEXTS).write(rng, p, ascii, out),
            F::Participants => {
                let n = if tail.many_participants {
                    rng.range(20, 200)
                } else {
                    [0, 0, 1, 1, 1, 1, 2, 3, 4, 5][rng.below(10) as usize]
                };
                out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    rng.pick_weighted(PARTICIPANTS).write(rng, p, ascii, out);
                }
                out.push(b']');
            }
            F::Assets => {
                let n = [0, 0, 1, 1, 1, 1, 1, 2, 3, 4][rng.below(10) as usize];
                out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(rng.pick(&p.assets).get(ascii));
                }
                out.push(b']');
            }
        }
    }

    /// Appends to an open `details` object a list of affected files bringing
    /// it to 10–60 KB, as bulk operations produce.
    fn big_details(&self, rng: &mut Rng, ascii: bool, out: &mut Vec<u8>) {
        let target = out.len() + rng.range(10_000, 60_000) as usize;
        out.extend_from_slice(b",\"affected_files\":[");
        let mut first = true;
        while out.len() < target {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(b"{\"path\":");
            out.extend_from_slice(rng.pick(&self.pools.paths).get(ascii));
            out.extend_from_slice(b",\"file_id\":\"id:");
            push_token(out, rng, 22, B64URL);
            out.extend_from_slice(b"\",\"size\":");
            push_u64(out, rng.below(1 << 30));
            out.extend_from_slice(b",\"rev\":\"");
            push_token(out, rng, 16, HEX);
            out.extend_from_slice(b"\"}");
        }
        out.push(b']');
    }
}
