//! The engine's event catalogue (`teamlog_core::catalogue`) prepared for
//! drawing: the current categories with their weights, and each event type's
//! `event_type` object and `details` template.

use super::shapes::{object, V};
use super::templates::Template;
use super::values::Frag;
use std::sync::OnceLock;
use teamlog_core::catalogue::CategoryStatus;

/// One event type, ready to write.
pub(super) struct EventType {
    #[cfg_attr(not(test), allow(dead_code))] // read by the coverage tests
    pub(super) tag: &'static str,
    /// Its index in [`Catalogue::categories`].
    pub(super) category: usize,
    /// `{".tag":"t","description":"(category) Description"}`
    pub(super) frag: Frag,
    pub(super) details: Template,
}

/// One current category, ready to write.
pub(super) struct Category {
    pub(super) tag: &'static str,
    /// `{".tag":"c"}`
    pub(super) object: Box<[u8]>,
    /// `"c"`, Stone's compact form of a void union member.
    pub(super) compact: Box<[u8]>,
    /// Its types, as indices in [`Catalogue::types`].
    pub(super) types: Vec<usize>,
    /// How common the category is in real team logs (for the half of the
    /// events not drawn round-robin).
    weight: u32,
}

/// The catalogue as the generator draws from it.
pub(super) struct Catalogue {
    pub(super) types: Vec<EventType>,
    pub(super) categories: Vec<Category>,
    /// Each category's weight, in the order of `categories`.
    pub(super) weights: Vec<u32>,
}

/// How common a category is in real team logs.
fn category_weight(tag: &str) -> u32 {
    match tag {
        "logins" => 20,
        "file_operations" | "sharing" => 18,
        "members" => 6,
        "devices" | "paper" => 5,
        "team_policies" => 4,
        "passwords" => 3,
        "apps" | "comments" | "groups" | "sso" | "tfa" => 2,
        _ => 1,
    }
}

/// The prepared catalogue, made on first use.
pub(super) fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::load)
}

impl Catalogue {
    /// The engine's catalogue (`teamlog_core::catalogue`), prepared for
    /// drawing: current categories only, each type's fragments and template.
    fn load() -> Catalogue {
        let data = teamlog_core::catalogue::Catalogue::get();
        let mut categories: Vec<Category> = data
            .categories
            .iter()
            .filter(|c| c.status == CategoryStatus::Current)
            .map(|c| {
                let tag = c.tag;
                Category {
                    tag,
                    object: format!("{{\".tag\":\"{tag}\"}}").into_bytes().into(),
                    compact: format!("\"{tag}\"").into_bytes().into(),
                    types: Vec::new(),
                    weight: category_weight(tag),
                }
            })
            .collect();
        let mut types = Vec::new();
        for t in &data.types {
            let (tag, cat, desc) = (t.tag, t.category, t.description);
            let category = categories
                .iter()
                .position(|c| c.tag == cat)
                .unwrap_or_else(|| {
                    panic!("the catalogue files {tag} under {cat}, not a current category")
                });
            let description = format!("({cat}) {desc}");
            let frag = object(&[(".tag", V::Str(tag)), ("description", V::Str(&description))]);
            let details = match data.example_details(tag) {
                Some(raw) => Template::compile(raw),
                None => Template::compile(&format!("{{\".tag\":\"{tag}_details\"}}")),
            };
            categories[category].types.push(types.len());
            types.push(EventType {
                tag,
                category,
                frag,
                details,
            });
        }
        categories.retain(|c| !c.types.is_empty());
        for (ci, c) in categories.iter().enumerate() {
            for &t in &c.types {
                types[t].category = ci;
            }
        }
        let weights = categories.iter().map(|c| c.weight).collect();
        Catalogue {
            types,
            categories,
            weights,
        }
    }
}
